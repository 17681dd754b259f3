-- The data hub's subject search finds identifiers containing the query ("005" finds DEMO-005) and
-- the similar-subject check compares identifiers by trigrams (docs/search.md, "The data hub"):
-- both served by one trigram index on the lower-cased identifier.
CREATE INDEX subjects_identifier_trgm_idx ON subjects USING gin (lower(identifier) gin_trgm_ops);
