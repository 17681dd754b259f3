-- Projections: named, durable consumers of the ledger (docs/architecture.md, "Projections").
-- One row per projection: the row lock is what lets any number of nodes run the projector
-- without two applying the same entry, and the cursor is written in the same transaction as the
-- state it stands for, so each entry is applied exactly once.
CREATE TABLE projections (
  name text PRIMARY KEY,
  -- The version of the fold whose state the live tables hold.
  version integer NOT NULL,
  -- 'inline': applied inside the writer's transaction (no cursor); 'async': applied by the projector.
  mode text NOT NULL CHECK (mode IN ('inline', 'async')),
  -- Last entry applied, in ledger order (tx, position); NULL before the first.
  cursor_tx xid8,
  cursor_position bigint,
  applied bigint NOT NULL DEFAULT 0,
  -- The entry the projection stopped on (it does not skip it), with the error, until it applies.
  failing_entry uuid,
  failing_error text,
  failing_since timestamptz,
  -- A rebuild in progress: the new state is built in shadow tables, then swapped in.
  rebuild_version integer,
  rebuild_cursor_tx xid8,
  rebuild_cursor_position bigint,
  rebuild_applied bigint,
  rebuild_total bigint,
  rebuild_started_at timestamptz,
  rebuild_failing_entry uuid,
  rebuild_failing_error text,
  rebuilt_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((cursor_tx IS NULL) = (cursor_position IS NULL))
);
