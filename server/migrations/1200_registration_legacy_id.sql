-- A legacy import skips rows whose legacy id the register already holds (a file imported again
-- after an interruption): one look-up per batch of rows, by type and legacy id (docs/search.md).
CREATE INDEX registration_search_legacy_idx ON registration_search (type, legacy_id) WHERE legacy_id IS NOT NULL;
