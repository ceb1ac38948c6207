-- Remove the ten design-thinking steps.

DELETE FROM step_definitions
WHERE id IN ('challenge', 'empathize', 'personas', 'journey_map', 'define', 'ideate', 'prioritize',
             'prototype', 'test', 'build_plan');
