import type { DomainModule } from '../kernel/module.js';
import { ledgerRoutes, type LedgerDeps } from './ledger.routes.js';

export type { LedgerDeps };

/** The append-only ledger: append, read, tail, verify. `cairn.` is the prefix of every other domain's own audit types. */
export const ledgerModule: DomainModule<LedgerDeps> = {
  name: 'ledger',
  routes: ledgerRoutes,
  reservedTypePrefixes: ['ledger.', 'cairn.'],
  migrations: '0002, 0630 (commit seals), 1600 (indexes)',
};
