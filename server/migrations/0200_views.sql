-- Views (docs/views.md): admin-registered templates (versioned source), app-owned instances,
-- cached results, and the two access paths the view runtime reads the ledger through.

CREATE TABLE view_templates (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE,
  latest_version integer NOT NULL,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A version is immutable once written: instances pin the version they were created from.
CREATE TABLE view_template_versions (
  template_id uuid NOT NULL REFERENCES view_templates(id) ON DELETE CASCADE,
  version integer NOT NULL CHECK (version >= 1),
  runtime text NOT NULL CHECK (runtime IN ('javascript', 'python')),
  description text NOT NULL DEFAULT '',
  files jsonb NOT NULL,
  event_types text[] NOT NULL,
  limits jsonb NOT NULL,
  -- sha256 over runtime, files, event types and limits: "is this the same version" cheaply.
  content_hash bytea NOT NULL,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (template_id, version)
);

CREATE TABLE view_instances (
  id uuid PRIMARY KEY,
  app_id uuid NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  template_id uuid NOT NULL,
  template_version integer NOT NULL,
  configuration jsonb NOT NULL,
  -- The permission requests filed when the instance was created: [{eventType, requestId|null}].
  permission_requests jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Run statistics for the Control Centre (cache hits count as runs).
  runs bigint NOT NULL DEFAULT 0,
  cache_hits bigint NOT NULL DEFAULT 0,
  failures bigint NOT NULL DEFAULT 0,
  events_read bigint NOT NULL DEFAULT 0,
  total_duration_ms bigint NOT NULL DEFAULT 0,
  last_run_at timestamptz,
  last_duration_ms integer,
  last_error_code text,
  -- RESTRICT: a template version cannot disappear under an instance (deleting a template while
  -- instances use it is refused, even when two requests race).
  FOREIGN KEY (template_id, template_version) REFERENCES view_template_versions(template_id, version) ON DELETE RESTRICT
);
CREATE INDEX view_instances_app_idx ON view_instances (app_id, created_at);
CREATE INDEX view_instances_template_idx ON view_instances (template_id);

-- One cached result per (instance, input). state_key says which events it was computed over
-- (see ViewsStore.stateKey): a lookup is a hit only while the key is unchanged.
CREATE TABLE view_results (
  instance_id uuid NOT NULL REFERENCES view_instances(id) ON DELETE CASCADE,
  input_hash bytea NOT NULL,
  state_key text NOT NULL,
  result_json text NOT NULL,
  events_read integer NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (instance_id, input_hash)
);

-- events.query pages one type in occurredAt order with an (occurred_at, id) keyset cursor.
CREATE INDEX ledger_type_occurred_id_idx ON ledger_entries (type, occurred_at, id);

-- Deleting an event erases its data and appends a ledger.erased entry naming the type; the
-- cache key looks up the newest such entry per type through this (small, partial) index.
CREATE INDEX ledger_erased_type_idx ON ledger_entries ((data->>'type'), tx, position) WHERE type = 'ledger.erased';
