-- Create workshop_steps: each workshop's progress through each step.
-- depends: 0016_insert_step_definitions
--
-- The timestamps follow the status: started_at is set from in_progress on,
-- completed_at exactly when complete.

CREATE TABLE workshop_steps (
    id key_text NOT NULL CONSTRAINT workshop_steps_pkey PRIMARY KEY,
    workshop_id key_text NOT NULL
        CONSTRAINT workshop_steps_workshop_id_fkey REFERENCES workshops (id) ON DELETE CASCADE,
    step_id text NOT NULL
        CONSTRAINT workshop_steps_step_id_fkey REFERENCES step_definitions (id),
    status text NOT NULL DEFAULT 'not_started'
        CONSTRAINT workshop_steps_status_valid CHECK (status IN ('not_started', 'in_progress', 'complete')),
    output jsonb CONSTRAINT workshop_steps_output_object CHECK (jsonb_typeof(output) = 'object'),
    started_at moment,
    completed_at moment,
    created_at moment NOT NULL DEFAULT now(),
    updated_at moment NOT NULL DEFAULT now(),
    CONSTRAINT workshop_steps_workshop_id_step_id_key UNIQUE (workshop_id, step_id),
    CONSTRAINT workshop_steps_timestamps_follow_status CHECK (
        (started_at IS NULL) = (status = 'not_started')
        AND (completed_at IS NULL) = (status <> 'complete')
        AND completed_at >= started_at
    )
);

COMMENT ON TABLE workshop_steps IS 'A workshop''s progress through one step definition, with the step''s output.';
COMMENT ON COLUMN workshop_steps.output IS 'What the step produced (a json object), NULL before any.';

CREATE INDEX workshop_steps_workshop_id_idx ON workshop_steps (workshop_id);
CREATE INDEX workshop_steps_step_id_idx ON workshop_steps (step_id);
CREATE INDEX workshop_steps_status_idx ON workshop_steps (status);

CREATE TRIGGER workshop_steps_set_updated_at BEFORE UPDATE ON workshop_steps
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
