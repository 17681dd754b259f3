-- Security fixes (issue 10): a TOTP code is used once, and sign-in lockout does not reveal which
-- usernames exist.

-- The last TOTP time step accepted for the user (RFC 6238 counter). A code whose step is at or
-- below it is refused, so a code seen over a shoulder or in a log cannot be replayed in its
-- window. Cleared when a new seed is enrolled.
ALTER TABLE users ADD COLUMN totp_last_step bigint;

-- Failed sign-ins counted per submitted username, whether or not an account has that name, so an
-- unknown username locks exactly like a real one (423 account_locked after the same number of
-- failures) and lockout cannot be used to enumerate accounts. Keyed by an HMAC of the lower-cased
-- name under the instance secret: a password typed into the username field is not stored
-- readable. Rows live only while they matter (see AuthService.pruneLoginFailures), which bounds
-- the table by the sign-in rate limit times the lockout window.
CREATE TABLE login_failures (
  username_key bytea PRIMARY KEY,
  failures integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_updated_idx ON login_failures (updated_at);
