-- Stop guarding skill messages in the database.

DROP TRIGGER skill_messages_guard_update ON skill_messages;
DROP FUNCTION guard_skill_message_update();
ALTER TABLE skill_messages DROP CONSTRAINT skill_messages_parent_not_subject;
ALTER TABLE skill_messages DROP CONSTRAINT skill_messages_not_to_sender;
