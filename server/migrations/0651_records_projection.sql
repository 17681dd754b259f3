-- The data hub's `records` table becomes a projection of the ledger (datahub/records.projection.ts),
-- rebuildable beside the live table and swapped in (docs/architecture.md, "Projections").
-- Its foreign keys go: a projection's table must be swappable without locking other domains'
-- tables (dropping a table that references workspaces would lock workspaces, which every request
-- reads), and a projection states what the ledger says rather than re-judging it. The writer
-- checks the references before appending (the session, its subject and workspace, the
-- instrument edition), and none of the referenced rows is ever deleted.
ALTER TABLE records DROP CONSTRAINT IF EXISTS records_workspace_id_fkey;
ALTER TABLE records DROP CONSTRAINT IF EXISTS records_subject_id_fkey;
ALTER TABLE records DROP CONSTRAINT IF EXISTS records_session_id_fkey;
ALTER TABLE records DROP CONSTRAINT IF EXISTS records_instrument_name_instrument_edition_fkey;
