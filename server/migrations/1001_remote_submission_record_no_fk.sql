-- records is a projection of the ledger (datahub.records): a rebuild builds a new table beside it
-- and swaps, so no table may hold a foreign key into it (the projector refuses to rebuild one that
-- is referenced). A remote submission keeps the id of the record it became as a plain uuid; the
-- record's entry in the ledger carries the same id, so the link survives any rebuild.
ALTER TABLE remote_submissions DROP CONSTRAINT IF EXISTS remote_submissions_record_id_fkey;
COMMENT ON COLUMN remote_submissions.record_id IS 'the record this submission became (records.id; no foreign key: records is a rebuilt projection)';
