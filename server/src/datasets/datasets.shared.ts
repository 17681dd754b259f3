import type { Kysely } from 'kysely';
import type { Database } from '../database/database.js';
import type { AuthContext } from '../kernel/access.js';
import type { LedgerService } from '../ledger/ledger.service.js';

/** A dataset's ledger entry (its stream, its id in the data), in the transaction that made the change. */
export async function recordDatasetEntry(ledger: LedgerService, trx: Kysely<Database>, ctx: AuthContext, datasetId: string, type: string, data: Record<string, unknown>) {
  await ledger.append(ctx, ledger.prepare(ctx, [{ type, stream: `dataset:${datasetId}`, data: { datasetId, ...data } }], { allowSystemTypes: true }), { db: trx });
}
