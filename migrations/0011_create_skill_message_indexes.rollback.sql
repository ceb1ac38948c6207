-- Drop the inbox indexes and restore the recipient index they replaced.

CREATE INDEX skill_messages_to_user_id_idx ON skill_messages (tenant_id, to_user_id, read_at);
DROP INDEX skill_messages_unread_idx;
DROP INDEX skill_messages_inbox_idx;
