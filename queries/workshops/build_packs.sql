-- build_packs: documents assembled from a workshop's step outputs. The content is built
-- here, in the statement that stores it, from the outputs as they are at that moment:
-- markdown with one section per completed step in step order, or one json document.

-- name: create_markdown_build_pack(workshop_id, build_pack_id, title)^
-- Stores a markdown build pack: a title, the original idea, then for each completed step
-- in order a section "## <order>. <name>" listing the output's keys (strings as they are,
-- other values as json). Fails row-level security unless the person is an owner or editor.
INSERT INTO build_packs (id, workshop_id, title, format_type, content)
SELECT
    :build_pack_id, w.id, :title, 'markdown',
    format(E'# %%s\n\n%%s\n', w.title, w.original_idea) || coalesce((
        SELECT string_agg(
            format(E'\n## %%s. %%s\n\n', d."order", d.name) || coalesce((
                SELECT string_agg(
                    format(E'- **%%s**: %%s\n', o.key,
                        CASE jsonb_typeof(o.value) WHEN 'string' THEN o.value #>> '{}' ELSE o.value::text END),
                    '' ORDER BY o.key)
                FROM jsonb_each(ws.output) AS o
            ), E'(no output)\n'),
            '' ORDER BY d."order")
        FROM workshop_steps ws
        JOIN step_definitions d ON d.id = ws.step_id
        WHERE ws.workshop_id = w.id AND ws.status = 'complete'
    ), '')
FROM workshops w
WHERE w.id = :workshop_id
RETURNING id, workshop_id, title, format_type, content, created_at, updated_at;

-- name: create_json_build_pack(workshop_id, build_pack_id, title)^
-- Stores a json build pack: one document with the workshop and its completed steps in
-- order ({"workshop": {...}, "steps": [{"step_id", "order", "name", "output"}, ...]}).
INSERT INTO build_packs (id, workshop_id, title, format_type, content)
SELECT
    :build_pack_id, w.id, :title, 'json',
    jsonb_build_object(
        'workshop', jsonb_build_object('id', w.id, 'title', w.title, 'original_idea', w.original_idea),
        'steps', coalesce((
            SELECT jsonb_agg(
                jsonb_build_object('step_id', d.id, 'order', d."order", 'name', d.name, 'output', ws.output)
                ORDER BY d."order")
            FROM workshop_steps ws
            JOIN step_definitions d ON d.id = ws.step_id
            WHERE ws.workshop_id = w.id AND ws.status = 'complete'
        ), '[]')
    )::text
FROM workshops w
WHERE w.id = :workshop_id
RETURNING id, workshop_id, title, format_type, content, created_at, updated_at;
