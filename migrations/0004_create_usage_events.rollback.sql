-- Drop usage_events.

DROP TABLE usage_events;
