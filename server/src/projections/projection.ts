import type { Kysely } from 'kysely';
import type { Database } from '../database/database.js';
import type { ConsumedEntry, TypeFilter } from '../ledger/ledger.service.js';

export type { ConsumedEntry, TypeFilter };

/**
 * Physical names of a projection's tables for one apply: the live names normally, the shadow
 * names (`<table>__rebuild`) while a rebuild builds the new state beside the old one. Always
 * write through these (`sql.table(tables.records)`), never through a hard-coded name.
 */
export type ProjectionTables = Readonly<Record<string, string>>;

/**
 * What a domain registers with the projector (`services.projector.register(...)`): a fold of the
 * ledger entries it consumes into tables it owns. See docs/architecture.md, "Projections".
 *
 * - `apply` receives entries in ledger order, in batches, inside the transaction that also moves
 *   the projection's position: it must write only through `tables`, and must be a pure function
 *   of the entries and the projection's own state (no clock, no other domain's mutable tables),
 *   so that a rebuild from the ledger comes out identical. Throwing stops the projection on that
 *   entry (it is never skipped) until a later attempt succeeds.
 * - `mode: 'inline'` runs `apply` inside the writer's own transaction for the entries it just
 *   wrote: the state commits with them (read-your-writes, uniqueness checks by the state's own
 *   constraints). `mode: 'async'` is applied by the projector after commit, on whichever node
 *   holds the projection's lock; readers may briefly see it behind (its lag is in /health).
 * - A rebuild creates each table's shadow (`CREATE TABLE ... (LIKE live INCLUDING ALL)`), calls
 *   `reset` on it if given (e.g. to seed rows), refolds every consumed entry into it, and swaps it
 *   in atomically once caught up. Tables must carry no foreign keys, in or out (the swap must not
 *   lock other domains' tables); the writer checks references.
 * - Bump `version` when the fold changes: a node that starts with a new version rebuilds.
 */
export interface Projection {
  /** Unique, lower-case: `[a-z][a-z0-9_.-]*`. */
  name: string;
  version: number;
  consumes: TypeFilter;
  mode: 'inline' | 'async';
  /** Tables holding the state (existing, created by the domain's migration). */
  tables: string[];
  apply(trx: Kysely<Database>, entries: ConsumedEntry[], tables: ProjectionTables): Promise<void>;
  reset?(trx: Kysely<Database>, tables: ProjectionTables): Promise<void>;
  /** Entries per apply call when catching up or rebuilding (default 1000). */
  batchSize?: number;
  /**
   * Build the shadow's plain (non-unique) indexes only once it has caught up, just before the swap,
   * rather than maintain them row by row: faster for large tables. Only for a fold whose `apply`
   * finds rows through unique keys alone (plain indexes are absent while it rebuilds).
   */
  deferIndexes?: boolean;
  /**
   * A rebuild's fast first step: fill the fresh (empty) shadow tables with the state of every
   * consumed entry committed before transaction `horizon` (all of them have finished) in one pass,
   * in whatever order the projection can show gives the same state as `apply` in ledger order (a
   * fold per stream, say); the rebuild then goes on from `(horizon, 0)` in ledger order as usual.
   * Answers how many entries it covered, or null to decline (the rebuild then applies batches).
   */
  bulkRebuild?(trx: Kysely<Database>, tables: ProjectionTables, horizon: string): Promise<number | null>;
}
