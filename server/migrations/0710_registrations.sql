-- Civil registration (docs/registrations.md).

-- Registration types: JSON documents, one row per saved version; a registration keeps the
-- version it was declared under. Shipped types (birth, death) are inserted on first use.
CREATE TABLE registration_types (
  id text NOT NULL,
  version integer NOT NULL,
  document jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by uuid,
  PRIMARY KEY (id, version)
);

-- The Standard Webhooks signing secret of a type's action hooks, encrypted under the instance key.
CREATE TABLE registration_type_secrets (
  type_id text PRIMARY KEY,
  secret_enc text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A user's registration role and office (a workspace of kind 'office'). Kept beside the Cairn
-- role (admin/member) rather than in it: registration roles reach a part of the workspace tree.
CREATE TABLE registration_users (
  user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  office_id uuid REFERENCES workspaces(id),
  role text CHECK (role IN ('field-agent', 'registration-agent', 'local-registrar', 'national-registrar')),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Current state of each registration: a fold of its stream's entries (registrations.fold.ts),
-- written in the writer's transaction (assignment is a write lock, so writers must read their
-- writes) and rebuildable from the ledger. No foreign keys: a rebuild swaps the table.
CREATE TABLE registrations (
  id uuid PRIMARY KEY,
  tracking_id text NOT NULL,
  type text NOT NULL,
  type_version integer NOT NULL,
  status text NOT NULL,
  flags text[] NOT NULL DEFAULT '{}',
  rule_flags text[] NOT NULL DEFAULT '{}',
  data jsonb NOT NULL,
  derived jsonb NOT NULL DEFAULT '{}',
  registration_number text,
  office_id uuid NOT NULL,
  -- The office's materialised path when the registration was created: jurisdiction checks are one
  -- prefix match (workspaces.path uses the same format).
  office_path text NOT NULL,
  event_date date,
  event_location_id uuid,
  event_location_path text,
  assigned_to uuid,
  duplicate_of uuid[] NOT NULL DEFAULT '{}',
  printed_copies integer NOT NULL DEFAULT 0,
  correction jsonb,
  created_by uuid,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  registered_at timestamptz,
  version integer NOT NULL
);
CREATE UNIQUE INDEX registrations_tracking_id_key ON registrations (tracking_id);
CREATE UNIQUE INDEX registrations_number_key ON registrations (registration_number) WHERE registration_number IS NOT NULL;
-- Lists page by (updated_at desc, id) within a jurisdiction.
CREATE INDEX registrations_office_updated_idx ON registrations (office_path text_pattern_ops, updated_at DESC, id);
CREATE INDEX registrations_updated_idx ON registrations (updated_at DESC, id);
CREATE INDEX registrations_assigned_idx ON registrations (assigned_to) WHERE assigned_to IS NOT NULL;
CREATE INDEX registrations_event_location_idx ON registrations (event_location_path text_pattern_ops);
-- Workqueues are small active subsets of a large register: one partial index each, so a count
-- reads only the rows in the queue (docs/registrations.md, "Workqueues").
CREATE INDEX registrations_q_in_progress ON registrations (office_path text_pattern_ops) WHERE status IN ('created', 'notified');
CREATE INDEX registrations_q_review ON registrations (office_path text_pattern_ops) WHERE status IN ('declared', 'validated') AND NOT ('rejected' = ANY (flags));
CREATE INDEX registrations_q_updates ON registrations (office_path text_pattern_ops) WHERE 'rejected' = ANY (flags) AND status <> 'archived';
CREATE INDEX registrations_q_print ON registrations (office_path text_pattern_ops) WHERE status = 'registered' AND NOT ('printed' = ANY (flags));
CREATE INDEX registrations_q_external ON registrations (office_path text_pattern_ops) WHERE 'waiting-for-external-validation' = ANY (flags);
CREATE INDEX registrations_q_duplicates ON registrations (office_path text_pattern_ops) WHERE 'potential-duplicate' = ANY (flags) AND status <> 'archived';

-- Yearly counters behind registration numbers made from a pattern ({seq:N}).
CREATE TABLE registration_counters (
  key text PRIMARY KEY,
  value bigint NOT NULL
);

-- Supporting documents and signatures: the bytes are in the blob store, keyed by SHA-256.
CREATE TABLE registration_documents (
  sha256 text PRIMARY KEY,
  media_type text NOT NULL,
  size bigint NOT NULL,
  uploaded_by uuid,
  created_at timestamptz NOT NULL DEFAULT now()
);
