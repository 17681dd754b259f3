-- Typos found by exact look-ups (docs/search.md, "How names are found"): each name word keeps
-- its single-letter deletions, so a query word one edit away (a letter missing, added, changed,
-- or two neighbours swapped) meets it in an index look-up: the word itself or one of its own
-- deletions is among the query word's, or among the word's deletions. A trigram scan of the
-- lexicon is left for words this does not find.
ALTER TABLE registration_name_words ADD COLUMN deletes text[] NOT NULL DEFAULT '{}';
-- Words whose deletions meet the query word's forms.
CREATE INDEX registration_name_words_deletes_idx ON registration_name_words USING gin (deletes);
-- Words starting with what is typed so far (LIKE 'prefix%').
CREATE INDEX registration_name_words_prefix_idx ON registration_name_words (word text_pattern_ops);
