-- Drop skills and the updated_at trigger function.

DROP TABLE skills;
DROP FUNCTION set_updated_at();
