-- The personal event store: typed events (versioned JSON Schemas), third-party apps, their
-- permission requests and grants, per-token event grants for people, and the projection that
-- says which ledger entries were superseded by a newer version (PATCH /events/{id}).

CREATE TABLE event_types (
  name text PRIMARY KEY,
  description text NOT NULL DEFAULT '',
  -- Who may add versions: the app that registered the type first, or NULL (user-registered:
  -- any holder of event-types:manage).
  owner_app_id uuid,
  latest_version integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE event_type_versions (
  name text NOT NULL REFERENCES event_types(name),
  version integer NOT NULL CHECK (version >= 1),
  schema jsonb NOT NULL,
  -- sha256 of the canonical JSON of the schema: "is this the same schema" without comparing jsonb.
  schema_hash bytea NOT NULL,
  created_by_kind text NOT NULL,
  created_by_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, version)
);

CREATE TABLE apps (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- One outstanding association code at a time, stored as sha256; NULL once used.
  association_code_hash bytea UNIQUE,
  association_expires_at timestamptz,
  associated_at timestamptz,
  client_secret_hash bytea,
  -- Tokens issued before this instant are dead (re-association rotates the secret).
  credentials_since timestamptz,
  rate_limit_per_minute integer NOT NULL DEFAULT 600 CHECK (rate_limit_per_minute > 0),
  revoked_at timestamptz
);

-- Short-lived opaque access tokens (OAuth2 client credentials), sha256 at rest.
CREATE TABLE app_access_tokens (
  token_hash bytea PRIMARY KEY,
  app_id uuid NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  issued_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX app_access_tokens_app_idx ON app_access_tokens (app_id);
CREATE INDEX app_access_tokens_expiry_idx ON app_access_tokens (expires_at);

CREATE TABLE app_permission_requests (
  id uuid PRIMARY KEY,
  app_id uuid NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  event_type text NOT NULL REFERENCES event_types(name),
  can_read boolean NOT NULL,
  can_create boolean NOT NULL,
  can_modify boolean NOT NULL,
  can_delete boolean NOT NULL,
  message text NOT NULL DEFAULT '',
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'revoked', 'superseded')),
  created_at timestamptz NOT NULL DEFAULT now(),
  decided_at timestamptz,
  decided_by uuid
);
CREATE INDEX app_permission_requests_status_idx ON app_permission_requests (status, created_at);
CREATE INDEX app_permission_requests_app_idx ON app_permission_requests (app_id, created_at);
-- At most one live grant per app and type: approving a newer request supersedes the older one.
CREATE UNIQUE INDEX app_permission_requests_grant_key ON app_permission_requests (app_id, event_type) WHERE status = 'approved';

-- A person's API token can be narrowed to event types, with the same four rights an app gets.
CREATE TABLE token_event_grants (
  token_id uuid NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,
  event_type text NOT NULL REFERENCES event_types(name),
  can_read boolean NOT NULL,
  can_create boolean NOT NULL,
  can_modify boolean NOT NULL,
  can_delete boolean NOT NULL,
  PRIMARY KEY (token_id, event_type)
);

-- Entries replaced by a newer version. The ledger itself never changes: a modification is a new
-- entry, and this projection (rebuildable from the cairn.event.modified entries) says which
-- entry is no longer current. root_id is the event's first version, its stable identity.
CREATE TABLE ledger_superseded (
  entry_id uuid PRIMARY KEY,
  superseded_by uuid NOT NULL UNIQUE,
  root_id uuid NOT NULL
);
CREATE INDEX ledger_superseded_root_idx ON ledger_superseded (root_id);

-- Listing one type in an occurredAt window: without this, a narrow window scans every entry of
-- the type in ledger order.
CREATE INDEX ledger_type_occurred_idx ON ledger_entries (type, occurred_at);
