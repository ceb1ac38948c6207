-- Drop ratings, the skills' version pointers, and skill_versions.

DROP TABLE ratings;
ALTER TABLE skills
    DROP CONSTRAINT skills_published_version_id_fkey,
    DROP CONSTRAINT skills_draft_version_id_fkey;
DROP TABLE skill_versions;
