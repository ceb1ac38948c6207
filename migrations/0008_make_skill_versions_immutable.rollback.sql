-- Let skill_versions be updated, deleted and truncated again.

DROP TRIGGER skill_versions_no_truncate ON skill_versions;
DROP TRIGGER skill_versions_immutable ON skill_versions;
DROP FUNCTION reject_skill_version_change();
