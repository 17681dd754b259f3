-- A short readable label for a subject (issue 17), e.g. "P-017" for a subject whose identifier is a
-- derived 64-digit hash: optional, 1-60 characters, unique in its workspace whatever the case, and
-- found by the subject search like the identifier (docs/instruments.md, "Subject labels").
-- No trigram index here: pg_trgm arrives in a later migration (0750), and 0310 runs before it on a
-- new install; the search reads labels among the workspace's rows.
ALTER TABLE subjects ADD COLUMN label text CHECK (label IS NULL OR char_length(label) BETWEEN 1 AND 60);
CREATE UNIQUE INDEX subjects_workspace_label_key ON subjects (workspace_id, lower(label)) WHERE label IS NOT NULL;
