-- Civil registration's administrative hierarchy is the workspace tree (country → province →
-- district → office). A workspace may be an `area` or an `office`; `external_id` is the id a
-- country's own location list gives it (the `id` column of `cairn workspaces import`), unique so an
-- import is idempotent. Plain workspaces (research groups) leave both null.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

ALTER TABLE workspaces ADD COLUMN kind text CHECK (kind IN ('area', 'office'));
ALTER TABLE workspaces ADD COLUMN external_id text;
CREATE UNIQUE INDEX workspaces_external_id_key ON workspaces (external_id) WHERE external_id IS NOT NULL;
-- The location picker searches 100,000 names as a person types: trigram index on the lower-cased name.
CREATE INDEX workspaces_name_trgm_idx ON workspaces USING gin (lower(name) gin_trgm_ops);
