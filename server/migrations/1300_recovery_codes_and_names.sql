-- Accounts for a new user (issue 17): one-time recovery codes for a lost second-factor device, and
-- a person's name beside the username so people pick each other by name.
--
-- Recovery codes are stored as HMAC-SHA256 under a key derived from the instance secret (not argon2):
-- each code carries 50 random bits, so a slow hash adds nothing against guessing, while a keyed
-- hash makes a stolen database dump useless without the instance secret, and checking one code
-- stays one indexed lookup (docs/security.md, "Recovery codes").
CREATE TABLE recovery_codes (
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  used_at timestamptz,
  PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE users ADD COLUMN display_name text CHECK (display_name IS NULL OR length(display_name) BETWEEN 1 AND 120);
-- The user picker searches usernames and names anywhere in the text as a person types.
CREATE INDEX users_username_trgm_idx ON users USING gin (lower(username) gin_trgm_ops);
CREATE INDEX users_display_name_trgm_idx ON users USING gin (lower(display_name) gin_trgm_ops);
