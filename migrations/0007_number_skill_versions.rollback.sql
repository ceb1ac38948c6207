-- Stop numbering skill versions in the database.

DROP TRIGGER skill_versions_assign_version ON skill_versions;
DROP FUNCTION assign_skill_version();
ALTER TABLE skills DROP COLUMN latest_version;
