-- Datasets: versioned file trees of content-addressed blobs (docs/datasets.md).
CREATE SEQUENCE dataset_accession_seq START 1;

CREATE TABLE datasets (
  id uuid PRIMARY KEY,
  -- ds000001, ds000002 ...: from a sequence, so never reused even after a failed create.
  accession text NOT NULL UNIQUE,
  title text NOT NULL,
  description text NOT NULL DEFAULT '',
  license text NOT NULL DEFAULT '',
  authors jsonb NOT NULL DEFAULT '[]',
  modalities text[] NOT NULL DEFAULT '{}',
  profile text NOT NULL DEFAULT 'generic' CHECK (profile IN ('generic', 'bids')),
  public boolean NOT NULL DEFAULT false,
  owner_id uuid NOT NULL REFERENCES users(id),
  -- Overrides the instance default quota on the draft's total size; null = default.
  quota_bytes bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', coalesce(accession, '') || ' ' || coalesce(title, '')), 'A') ||
    setweight(to_tsvector('simple', coalesce(description, '')), 'B')
  ) STORED
);
CREATE INDEX datasets_search_idx ON datasets USING gin (search);
CREATE INDEX datasets_modalities_idx ON datasets USING gin (modalities);

CREATE TABLE dataset_members (
  dataset_id uuid NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('read', 'edit', 'admin')),
  PRIMARY KEY (dataset_id, user_id)
);
CREATE INDEX dataset_members_user_idx ON dataset_members (user_id);

CREATE TABLE dataset_versions (
  id uuid PRIMARY KEY,
  dataset_id uuid NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('draft', 'snapshot')),
  tag text,
  changelog text,
  root_hash text NOT NULL,
  file_count integer NOT NULL DEFAULT 0,
  size bigint NOT NULL DEFAULT 0,
  -- Draft only: bumped by every change, so a validation result can say which state it describes.
  revision integer NOT NULL DEFAULT 0,
  validated_revision integer,
  validation_status text NOT NULL DEFAULT 'pending' CHECK (validation_status IN ('pending', 'passed', 'warnings', 'failed')),
  created_by uuid REFERENCES users(id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deprecated_at timestamptz,
  deprecated_reason text,
  CHECK ((kind = 'draft') = (tag IS NULL))
);
CREATE UNIQUE INDEX dataset_versions_draft_key ON dataset_versions (dataset_id) WHERE kind = 'draft';
CREATE UNIQUE INDEX dataset_versions_tag_key ON dataset_versions (dataset_id, tag) WHERE tag IS NOT NULL;

CREATE TABLE dataset_files (
  version_id uuid NOT NULL REFERENCES dataset_versions(id) ON DELETE CASCADE,
  path text NOT NULL COLLATE "C",
  sha256 text NOT NULL,
  size bigint NOT NULL,
  PRIMARY KEY (version_id, path)
);
CREATE INDEX dataset_files_sha_idx ON dataset_files (sha256);

-- Snapshots never change: refuse edits to their rows and files at the database level too.
CREATE FUNCTION dataset_snapshot_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'dataset_files' THEN
    IF EXISTS (SELECT 1 FROM dataset_versions v WHERE v.id = OLD.version_id AND v.kind = 'snapshot') THEN
      RAISE EXCEPTION 'snapshot files are immutable' USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.kind = 'snapshot' AND (NEW.root_hash <> OLD.root_hash OR NEW.tag IS DISTINCT FROM OLD.tag OR NEW.changelog IS DISTINCT FROM OLD.changelog OR NEW.kind <> OLD.kind) THEN
    RAISE EXCEPTION 'snapshots are immutable' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER dataset_files_immutable BEFORE UPDATE OR DELETE ON dataset_files
  FOR EACH ROW EXECUTE FUNCTION dataset_snapshot_immutable();
CREATE TRIGGER dataset_versions_immutable BEFORE UPDATE ON dataset_versions
  FOR EACH ROW EXECUTE FUNCTION dataset_snapshot_immutable();

CREATE TABLE dataset_issues (
  version_id uuid NOT NULL REFERENCES dataset_versions(id) ON DELETE CASCADE,
  revision integer NOT NULL,
  seq integer NOT NULL,
  code text NOT NULL,
  severity text NOT NULL CHECK (severity IN ('error', 'warning')),
  file text,
  message text NOT NULL,
  PRIMARY KEY (version_id, seq)
);

CREATE TABLE dataset_reviewer_links (
  id uuid PRIMARY KEY,
  dataset_id uuid NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  token_hash bytea NOT NULL UNIQUE,
  note text NOT NULL DEFAULT '',
  created_by uuid NOT NULL REFERENCES users(id),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX dataset_reviewer_links_dataset_idx ON dataset_reviewer_links (dataset_id);

CREATE TABLE dataset_upload_sessions (
  id uuid PRIMARY KEY,
  dataset_id uuid NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'committed', 'aborted')),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX dataset_upload_sessions_user_idx ON dataset_upload_sessions (user_id) WHERE status = 'open';

-- One row per resumable (tus) upload: created when the upload starts, so a crash between the last
-- byte and ingestion can be finished later from the staged file.
CREATE TABLE dataset_uploads (
  id text PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES dataset_upload_sessions(id) ON DELETE CASCADE,
  size bigint NOT NULL,
  expected_sha256 text,
  sha256 text,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX dataset_uploads_session_idx ON dataset_uploads (session_id);
CREATE INDEX dataset_uploads_sha_idx ON dataset_uploads (sha256) WHERE sha256 IS NOT NULL;

-- Blobs seen unreferenced by garbage collection, and since when (two-phase delete with a grace period).
CREATE TABLE blob_gc_candidates (
  sha256 text PRIMARY KEY,
  first_seen timestamptz NOT NULL DEFAULT now()
);
