-- Drop skill_messages.

DROP TABLE skill_messages;
