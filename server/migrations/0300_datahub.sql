-- Instruments, subjects, sessions and records (docs/instruments.md, "Data hub").
-- Every change is a ledger entry; these tables are projections kept in the same transaction,
-- shaped for fast reads and streamed exports.

-- One row per published edition. `definition` is exactly what was validated, never rewritten:
-- a record always renders with the edition it was captured with.
CREATE TABLE instruments (
  name text NOT NULL,
  edition integer NOT NULL CHECK (edition >= 1),
  kind text NOT NULL CHECK (kind IN ('form', 'series')),
  definition jsonb NOT NULL,
  definition_hash bytea NOT NULL,
  source text NOT NULL CHECK (source IN ('library', 'upload')),
  created_by_kind text NOT NULL,
  created_by_id text,
  created_at timestamptz NOT NULL,
  retired_at timestamptz,
  retired_reason text,
  PRIMARY KEY (name, edition)
);

-- Per-workspace settings of the data hub (a pattern custom subject identifiers must match).
CREATE TABLE datahub_settings (
  workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
  subject_id_pattern text
);

CREATE TABLE subjects (
  id uuid PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES workspaces(id),
  identifier text NOT NULL,
  identifier_kind text NOT NULL CHECK (identifier_kind IN ('custom', 'derived')),
  date_of_birth date,
  sex text CHECK (sex IN ('female', 'male', 'other')),
  created_at timestamptz NOT NULL,
  UNIQUE (workspace_id, identifier)
);
CREATE INDEX subjects_search_idx ON subjects (workspace_id, lower(identifier) text_pattern_ops);

CREATE TABLE datahub_sessions (
  id uuid PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES workspaces(id),
  subject_id uuid NOT NULL REFERENCES subjects(id),
  kind text NOT NULL CHECK (kind IN ('in_person', 'retrospective', 'remote')),
  -- When the data refers to: now for in-person sessions, in the past for retrospective ones.
  date timestamptz NOT NULL,
  started_at timestamptz NOT NULL,
  ended_at timestamptz,
  created_by_kind text NOT NULL,
  created_by_id text
);
-- One active session per subject at a time, enforced by the database, not by a check-then-act.
CREATE UNIQUE INDEX datahub_sessions_one_active ON datahub_sessions (subject_id) WHERE ended_at IS NULL;
CREATE INDEX datahub_sessions_subject_idx ON datahub_sessions (subject_id, started_at);

CREATE TABLE records (
  id uuid PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES workspaces(id),
  subject_id uuid NOT NULL REFERENCES subjects(id),
  session_id uuid NOT NULL REFERENCES datahub_sessions(id),
  instrument_name text NOT NULL,
  instrument_edition integer NOT NULL,
  date timestamptz NOT NULL,
  data jsonb NOT NULL,
  measures jsonb NOT NULL,
  version integer NOT NULL DEFAULT 1,
  import_id uuid,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  created_by_kind text NOT NULL,
  created_by_id text,
  deleted_at timestamptz,
  deleted_reason text,
  FOREIGN KEY (instrument_name, instrument_edition) REFERENCES instruments(name, edition)
);
-- Exports and dashboards read a workspace's live records of one instrument in date order.
CREATE INDEX records_export_idx ON records (workspace_id, instrument_name, instrument_edition, date, id) WHERE deleted_at IS NULL;
CREATE INDEX records_subject_idx ON records (subject_id, instrument_name, date) WHERE deleted_at IS NULL;
CREATE INDEX records_workspace_date_idx ON records (workspace_id, date) WHERE deleted_at IS NULL;
