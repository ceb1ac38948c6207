-- Drop workshop_steps.

DROP TABLE workshop_steps;
