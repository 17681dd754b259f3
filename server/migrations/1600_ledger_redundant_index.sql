-- Every index on ledger_entries is paid on each append, so each must earn its place.
-- (type, occurred_at) is a prefix of (type, occurred_at, id) from migration 0200: any query it
-- serves, the longer one serves as well, so it only cost writes. Dropped.
DROP INDEX IF EXISTS ledger_type_occurred_idx;

-- What remains on ledger_entries, and why:
--   PRIMARY KEY (tx, position)        ledger order; every cursor page and consumer reads by it.
--   UNIQUE (id)                       entries are fetched and referenced by id (history, replays).
--   ledger_type_order_idx             (type, tx, position): one type in ledger order (consumers,
--                                     projections, the events list without a time window).
--   ledger_type_occurred_id_idx       (type, occurred_at, id): a type in an occurredAt window with
--                                     a keyset cursor (events list with from/to, views' queries).
--   ledger_stream_seq_key             (stream, stream_seq) partial: a stream's order and its
--                                     uniqueness, the guard of the per-stream hash chain.
--   ledger_transaction_key            (actor_kind, actor_id, transaction_id) partial: idempotent
--                                     retries answer the original entry.
--   ledger_actor_idx                  (actor_kind, actor_id, tx, position): what one app or user
--                                     wrote (own-entries scope, an app's recent activity).
--   ledger_erased_type_idx            partial on ledger.erased: the newest erasure per type.
