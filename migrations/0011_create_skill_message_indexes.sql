-- Create the indexes behind a recipient's inbox: newest first, and the unread count.
-- depends: 0010_maintain_skill_metrics
--
-- list_messages_for_user reads one backward range scan of skill_messages_inbox_idx
-- (equality on tenant and recipient, then the keyset (created_at, id)), however deep
-- the page; count_unread_messages_for_user counts the partial index of unread
-- messages, which holds only what is still unread. The inbox index leads with
-- (tenant_id, to_user_id), so it also covers the foreign key to users that the
-- replaced (tenant_id, to_user_id, read_at) index covered.

CREATE INDEX skill_messages_inbox_idx ON skill_messages (tenant_id, to_user_id, created_at, id);
CREATE INDEX skill_messages_unread_idx ON skill_messages (tenant_id, to_user_id) WHERE read_at IS NULL;
DROP INDEX skill_messages_to_user_id_idx;
