-- Issue 17: the public datasets list is searched by author and modality as well as title and
-- description (OpenNeuro's front page does). The generated search vector gains both; authors (jsonb)
-- go through to_tsvector's jsonb form, modalities through an immutable wrapper (array_to_string is
-- only stable, which a generated column refuses).
CREATE FUNCTION cairn_words(text[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string($1, ' ') $$;

DROP INDEX datasets_search_idx;
ALTER TABLE datasets DROP COLUMN search;
ALTER TABLE datasets ADD COLUMN search tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('simple', coalesce(accession, '') || ' ' || coalesce(title, '')), 'A') ||
  setweight(to_tsvector('simple', authors), 'B') ||
  setweight(to_tsvector('simple', cairn_words(modalities)), 'B') ||
  setweight(to_tsvector('simple', coalesce(description, '')), 'C')
) STORED;
CREATE INDEX datasets_search_idx ON datasets USING gin (search);
