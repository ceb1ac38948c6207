-- Drop workshop_members.

DROP TABLE workshop_members;
