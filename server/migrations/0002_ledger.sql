-- The append-only ledger. See docs/architecture.md#ledger for the ordering and tamper-evidence design.
CREATE TABLE ledger_entries (
  position bigint GENERATED ALWAYS AS IDENTITY,
  -- The writing transaction's id. Readers only read below the oldest running transaction
  -- (pg_snapshot_xmin), ordered by (tx, position): nothing can commit into a range already read.
  tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
  id uuid NOT NULL UNIQUE,
  stream text,
  stream_seq integer,
  type text NOT NULL,
  type_version integer,
  data jsonb,
  data_hash bytea NOT NULL,
  actor_kind text NOT NULL CHECK (actor_kind IN ('user', 'app', 'system', 'anonymous')),
  actor_id text,
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL,
  transaction_id text,
  prev_hash bytea,
  hash bytea NOT NULL,
  CHECK ((stream IS NULL) = (stream_seq IS NULL)),
  -- Ledger order is the key: every tail and page reads along it.
  PRIMARY KEY (tx, position)
);
CREATE INDEX ledger_type_order_idx ON ledger_entries (type, tx, position);
CREATE UNIQUE INDEX ledger_stream_seq_key ON ledger_entries (stream, stream_seq) WHERE stream IS NOT NULL;
CREATE UNIQUE INDEX ledger_transaction_key ON ledger_entries (actor_kind, actor_id, transaction_id) WHERE transaction_id IS NOT NULL;
CREATE INDEX ledger_actor_idx ON ledger_entries (actor_kind, actor_id, tx, position);

-- Head of each stream's hash chain; its row lock is what serialises appends to one stream
-- while appends to other streams proceed in parallel.
CREATE TABLE ledger_streams (
  stream text PRIMARY KEY,
  seq integer NOT NULL,
  hash bytea NOT NULL
);

-- Periodic seals over everything below a ledger position, chained to each other: deleting or
-- editing any sealed entry (streamed or not) changes a recomputed seal.
CREATE TABLE ledger_checkpoints (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  upto_tx xid8 NOT NULL,
  upto_position bigint NOT NULL,
  entry_count bigint NOT NULL,
  prev_hash bytea,
  hash bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
