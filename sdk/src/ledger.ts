import type { HttpClient } from './http.js';

export interface VerifyProblem {
  /** e.g. hash_mismatch, missing_entry, chain_broken, checkpoint_mismatch (as the server names them). */
  kind: string;
  entryId?: string;
  position?: number;
  stream?: string | null;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  /** Entries whose hashes were recomputed. */
  checked: number;
  /** Checkpoints whose seals were checked. */
  checkpoints: number;
  /**
   * Entries committed since the last checkpoint seal (at most one checkpoint interval old): a
   * deletion among them is detected only once the next seal covers them, unless they belong to a
   * stream (docs/security.md, "What `cairn ledger verify` guarantees").
   */
  unsealed?: number;
  problems: VerifyProblem[];
}

export class LedgerApi {
  constructor(private readonly http: HttpClient) {}

  /** Recomputes the hash chains and checkpoints (admin). */
  verify(): Promise<VerifyReport> {
    return this.http.post('/api/v1/ledger/verify');
  }
}
