-- The registration search index (docs/search.md): one row per registration, maintained by the
-- inline projection `registration-search` in the writer's transaction (de-duplication on declare
-- must see every registration already committed), rebuildable from the ledger. No foreign keys:
-- a rebuild swaps the table.
CREATE TABLE registration_search (
  id uuid PRIMARY KEY,
  type text NOT NULL,
  status text NOT NULL,
  flags text[] NOT NULL DEFAULT '{}',
  office_path text NOT NULL,
  event_location_path text,
  event_date date,
  tracking_id text NOT NULL,
  registration_number text,
  legacy_id text,
  -- Normalised identifiers: tracking id, registration number, legacy id, national ids, phone digits.
  identifiers text[] NOT NULL DEFAULT '{}',
  -- Every name word of every person on the record, folded (no accents, lower case).
  names text NOT NULL DEFAULT '',
  -- Spelling keys (transliteration-tolerant) of each name word, bare and prefixed with the field id.
  name_keys text[] NOT NULL DEFAULT '{}',
  -- De-duplication blocking keys of the type's linkage model.
  block_keys text[] NOT NULL DEFAULT '{}',
  -- The comparable answers, flat (field id → text), for scoring and advanced search.
  fields jsonb NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL
);
-- Exact identifier look-ups (quick search's first tier).
CREATE INDEX registration_search_identifiers_idx ON registration_search USING gin (identifiers);
-- Names in any order, with transliterations: key containment; typos: trigrams of the folded names.
CREATE INDEX registration_search_name_keys_idx ON registration_search USING gin (name_keys);
CREATE INDEX registration_search_names_trgm_idx ON registration_search USING gin (names gin_trgm_ops);
-- Candidate retrieval for de-duplication.
CREATE INDEX registration_search_block_keys_idx ON registration_search USING gin (block_keys);
-- Jurisdiction filters are a path prefix.
CREATE INDEX registration_search_office_idx ON registration_search (office_path text_pattern_ops);
CREATE INDEX registration_search_event_date_idx ON registration_search (type, event_date);
