-- Let skill_versions be updated and deleted again.

DROP TRIGGER skill_versions_immutable ON skill_versions;
DROP FUNCTION reject_skill_version_change();
