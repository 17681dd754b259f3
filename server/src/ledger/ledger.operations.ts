import { sql } from 'kysely';
import type { Db } from '../database/database.js';
import type { LedgerCursor } from './ledger.store.js';
import { recordVerification, verifyLedger, type VerifyReport } from './ledger.verify.js';

/**
 * What the ledger's routes need beside LedgerService and that reads the database itself: where a
 * live tail starts, and a verification run (recorded for the System page). Kept out of the routes
 * so no route holds a database handle.
 */
export class LedgerOperations {
  constructor(private readonly db: Db) {}

  /** The cursor `backlog` entries before the end of the readable ledger (below the running-transaction horizon). */
  async tailStart(backlog: number): Promise<LedgerCursor | undefined> {
    const r = await sql<{ tx: string; position: number }>`
      SELECT tx::text AS tx, position FROM ledger_entries WHERE tx < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY ledger_entries.tx DESC, ledger_entries.position DESC OFFSET ${backlog} LIMIT 1`.execute(this.db);
    if (r.rows[0]) return r.rows[0];
    return backlog > 0 ? undefined : { tx: '0', position: 0 };
  }

  /** Recomputes every hash, chain and seal, and keeps the outcome's counts. */
  async verify(actorId: string | null): Promise<VerifyReport> {
    const started = performance.now();
    const report = await verifyLedger(this.db);
    await recordVerification(this.db, report, performance.now() - started, actorId);
    return report;
  }
}
