-- Insert the ten design-thinking steps, in order.
-- depends: 0015_create_step_definitions

INSERT INTO step_definitions (id, "order", name, description) VALUES
    ('challenge', 1, 'Frame the challenge', 'State the problem worth solving, for whom, and what success looks like.'),
    ('empathize', 2, 'Empathize', 'Learn from the people involved: interviews, observation, and what they say, think, do and feel.'),
    ('personas', 3, 'Personas', 'Condense the research into a few people to design for, with their goals and frustrations.'),
    ('journey_map', 4, 'Journey map', 'Walk through the persona''s experience step by step and mark the pain points.'),
    ('define', 5, 'Define', 'Frame the core problem as a point of view and "How might we ...?" questions.'),
    ('ideate', 6, 'Ideate', 'Generate many ideas for the chosen questions without judging them yet.'),
    ('prioritize', 7, 'Prioritize', 'Cluster the ideas and choose the few with the most value for the effort.'),
    ('prototype', 8, 'Prototype', 'Make the chosen idea tangible quickly and cheaply enough to show to users.'),
    ('test', 9, 'Test', 'Put the prototype in front of users, observe, and record what to keep and change.'),
    ('build_plan', 10, 'Build plan', 'Turn what was learned into a plan: scope, first milestones and open questions.');
