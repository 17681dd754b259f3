-- Search finds people by the words of their names, misspelt or not (docs/search.md, "How names
-- are found"): every distinct folded name word of the register once, with its spelling key. A
-- query word is looked up here by trigram similarity, among a country's few tens of thousands of
-- name words however large the register, and the register's rows are then read by the spelling
-- keys of the words found, through registration_search's name_keys GIN index. A trigram scan of
-- every record's names instead grew with the register (880 ms p95 at 1,000,000). Part of the
-- registration-search projection: a rebuild builds it anew beside the live one.
CREATE TABLE registration_name_words (
  word text PRIMARY KEY,
  key text NOT NULL
);
-- Words like a query word: trigram similarity (typos) and prefixes (a name being typed).
CREATE INDEX registration_name_words_trgm_idx ON registration_name_words USING gin (word gin_trgm_ops);
