-- Drop step_definitions.

DROP TABLE step_definitions;
