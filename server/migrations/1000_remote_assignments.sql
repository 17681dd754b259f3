-- Remote capture (docs/remote-capture.md): assignments a participant fills through the gateway,
-- and the sealed parts the core pulled back from it.
CREATE TABLE remote_assignments (
  id uuid PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES workspaces(id),
  subject_id uuid NOT NULL REFERENCES subjects(id),
  -- Assignments sent together (bulk) share a batch id.
  batch_id uuid,
  -- The unguessable id in the participant's link (32 random bytes, base64url); the gateway's key.
  link_id text NOT NULL UNIQUE,
  instrument_name text NOT NULL,
  instrument_edition integer NOT NULL,
  instrument_kind text NOT NULL CHECK (instrument_kind IN ('form', 'series')),
  -- The forms to fill, in order: [{ name, edition }] (one for a form, the series' content otherwise).
  parts jsonb NOT NULL,
  language text NOT NULL,
  expires_at timestamptz NOT NULL,
  public_key text NOT NULL,
  -- The HPKE private key, sealed under the instance secret (AES-256-GCM); emptied once completed.
  private_key_sealed text NOT NULL,
  emailed_at timestamptz,
  opened_at timestamptz,
  -- Parts the gateway reported as sent, and parts the core has pulled.
  gateway_parts integer NOT NULL DEFAULT 0,
  parts_pulled integer NOT NULL DEFAULT 0,
  session_id uuid REFERENCES datahub_sessions(id),
  completed_at timestamptz,
  cancelled_at timestamptz,
  -- A cancellation the gateway has not acknowledged yet (it was unreachable): retried by the puller.
  cancel_pending boolean NOT NULL DEFAULT false,
  created_by_kind text NOT NULL,
  created_by_id text,
  created_at timestamptz NOT NULL,
  FOREIGN KEY (instrument_name, instrument_edition) REFERENCES instruments(name, edition)
);
CREATE INDEX remote_assignments_workspace_idx ON remote_assignments (workspace_id, created_at DESC, id);
CREATE INDEX remote_assignments_subject_idx ON remote_assignments (subject_id, created_at DESC);
-- The puller asks the gateway about open assignments only.
CREATE INDEX remote_assignments_open_idx ON remote_assignments (expires_at) WHERE completed_at IS NULL AND cancelled_at IS NULL;

CREATE TABLE remote_submissions (
  -- The gateway's id for the sealed part: pulling the same part twice is a no-op.
  id uuid PRIMARY KEY,
  assignment_id uuid NOT NULL REFERENCES remote_assignments(id),
  part integer NOT NULL,
  received_at timestamptz NOT NULL,
  pulled_at timestamptz NOT NULL,
  status text NOT NULL CHECK (status IN ('recorded', 'invalid')),
  record_id uuid REFERENCES records(id),
  -- For a part kept aside: why, the validation errors, and the answers as decrypted (if they were).
  problem text,
  errors jsonb,
  data jsonb,
  UNIQUE (assignment_id, part)
);
