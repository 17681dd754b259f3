import type { Db } from '../database/database.js';
import { ledgerStore, type LedgerCursor } from './ledger.store.js';
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
    const found = await ledgerStore.tailStart(this.db, backlog);
    if (found) return found;
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
