-- The location picker matches names the way people type them: without accents, case or
-- punctuation ("cote d ivoire" finds "Côte-d'Ivoire"). Punctuation is listed rather than
-- "anything but [:alnum:]", which under the C locale would erase every non-Latin letter.
-- unaccent() is only STABLE (its dictionary could be replaced), so it cannot appear in an index;
-- this wrapper names the dictionary explicitly and is declared IMMUTABLE, the documented way to
-- index unaccented text. Created in whatever schema the extension lives in, so an external
-- database with its own layout works.
DO $$
DECLARE s text;
BEGIN
  SELECT n.nspname INTO s FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent';
  EXECUTE format(
    'CREATE FUNCTION cairn_search_norm(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS %L',
    format($b$SELECT btrim(regexp_replace(lower(%I.unaccent(%L::regdictionary, $1)), '[[:space:][:punct:]’‘“”«»–—]+', ' ', 'g'))$b$, s, s || '.unaccent'));
END $$;

-- The normalised name is stored (computed once per write, not once per index and per search),
-- and only locations (kind set) are indexed: research workspaces stay out of these indexes.
-- Trigrams answer substring and misspelt queries of 3+ characters; the btree answers 1-2
-- character prefixes, which trigrams cannot narrow down. They replace 0700's trigram index on
-- lower(name), which nothing queries and which doubled the cost of importing 100,000 locations.
ALTER TABLE workspaces ADD COLUMN search_name text GENERATED ALWAYS AS (cairn_search_norm(name)) STORED;
DROP INDEX IF EXISTS workspaces_name_trgm_idx;
CREATE INDEX workspaces_location_search_trgm_idx ON workspaces USING gin (search_name gin_trgm_ops) WHERE kind IS NOT NULL;
CREATE INDEX workspaces_location_search_prefix_idx ON workspaces (search_name text_pattern_ops) WHERE kind IS NOT NULL;
