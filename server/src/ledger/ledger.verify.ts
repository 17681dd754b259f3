import type { Db } from '../database/database.js';
import { sql } from 'kysely';
import { checkpointHash, dataHash, entryHash } from './ledger.hash.js';
import { ledgerStore, type LedgerCursor } from './ledger.store.js';

export interface VerifyProblem {
  kind: 'entry_modified' | 'data_modified' | 'chain_broken' | 'entry_missing' | 'stream_head_mismatch' | 'checkpoint_mismatch' | 'erasure_unrecorded';
  entryId?: string;
  position?: number;
  stream?: string;
  checkpoint?: number;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  checked: number;
  checkpoints: number;
  problems: VerifyProblem[];
}

/** The ledger type that records an erasure; erased entries keep their hashes so chains still verify. */
export const ERASURE_TYPE = 'ledger.erased';

/**
 * Walks the whole ledger in order and recomputes everything: each entry's data hash and hash,
 * each stream's chain (gapless sequence, each entry pointing at its predecessor's hash, the head
 * pointing at the last), and each checkpoint's seal over every entry below it. An edited row
 * fails its hash; a deleted row breaks its stream's chain or a checkpoint's seal.
 */
export async function verifyLedger(db: Db, opts: { maxProblems?: number; pageSize?: number } = {}): Promise<VerifyReport> {
  const maxProblems = opts.maxProblems ?? 100;
  const pageSize = opts.pageSize ?? 5000;
  const problems: VerifyProblem[] = [];
  const add = (p: VerifyProblem) => {
    if (problems.length < maxProblems) problems.push(p);
  };

  const erased = new Set(
    (await sql<{ target: string }>`SELECT data->>'entryId' AS target FROM ledger_entries WHERE type = ${ERASURE_TYPE}`.execute(db)).rows.map((r) => r.target),
  );
  const checkpoints = await ledgerStore.checkpoints(db);
  let cpIndex = 0;
  let cpPrev: Buffer | null = null;
  let cpHashes: Buffer[] = [];
  let cpCount = 0;
  const closeCheckpoint = () => {
    const cp = checkpoints[cpIndex]!;
    const h = checkpointHash(cpPrev, cpHashes);
    if (!h.equals(cp.hash) || cpCount !== cp.entry_count || !(cp.prev_hash ?? Buffer.alloc(0)).equals(cpPrev ?? Buffer.alloc(0))) {
      add({
        kind: 'checkpoint_mismatch',
        checkpoint: cp.id,
        position: cp.upto_position,
        message: `checkpoint ${cp.id} (up to position ${cp.upto_position}) sealed ${cp.entry_count} entries; recomputing finds ${cpCount}${h.equals(cp.hash) ? '' : ' and a different hash'}: an entry below it was deleted or altered`,
      });
    }
    cpPrev = cp.hash;
    cpHashes = [];
    cpCount = 0;
    cpIndex++;
  };
  const beyond = (tx: string, position: number, cp: { upto_tx: string; upto_position: number }) => {
    const a = BigInt(tx), b = BigInt(cp.upto_tx);
    return a > b || (a === b && position > cp.upto_position);
  };

  let after: LedgerCursor | undefined;
  let checked = 0;
  for (;;) {
    const rows = await ledgerStore.scan(db, after, pageSize);
    if (!rows.length) break;
    for (const r of rows) {
      while (cpIndex < checkpoints.length && beyond(r.tx, r.position, checkpoints[cpIndex]!)) closeCheckpoint();
      checked++;
      if (r.data === null) {
        if (!erased.has(r.id)) add({ kind: 'erasure_unrecorded', entryId: r.id, position: r.position, message: `entry ${r.id} (position ${r.position}) has no data and no erasure record` });
      } else if (!dataHash(r.data).equals(r.data_hash)) {
        add({ kind: 'data_modified', entryId: r.id, position: r.position, message: `entry ${r.id} (position ${r.position}): its data no longer matches its hash` });
      }
      const recomputed = entryHash({
        id: r.id,
        stream: r.stream,
        streamSeq: r.stream_seq,
        type: r.type,
        typeVersion: r.type_version,
        dataHash: r.data_hash,
        actorKind: r.actor_kind,
        actorId: r.actor_id,
        occurredAt: r.occurred_at,
        recordedAt: r.recorded_at,
        transactionId: r.transaction_id,
        prevHash: r.prev_hash,
      });
      if (!recomputed.equals(r.hash)) {
        add({ kind: 'entry_modified', entryId: r.id, position: r.position, message: `entry ${r.id} (position ${r.position}) was changed after it was written` });
      }
      if (cpIndex < checkpoints.length) {
        cpHashes.push(r.hash);
        cpCount++;
      }
    }
    const last = rows[rows.length - 1]!;
    after = { tx: last.tx, position: last.position };
  }
  while (cpIndex < checkpoints.length) closeCheckpoint();

  // Chains are checked in stream order (a stream's sequence), which need not match ledger order
  // when a caller's transaction wrote something else before appending.
  const streams = new Map<string, { seq: number; hash: Buffer }>();
  let afterStream: string | null = null;
  for (;;) {
    const rows = await ledgerStore.streamChains(db, afterStream, 1000);
    if (!rows.length) break;
    let prev: { stream: string; seq: number; hash: Buffer } | undefined;
    for (const r of rows) {
      if (prev?.stream !== r.stream) prev = undefined;
      const expectedSeq = (prev?.seq ?? 0) + 1;
      const linked = prev ? r.prev_hash !== null && r.prev_hash.equals(prev.hash) : r.prev_hash === null;
      if (r.stream_seq !== expectedSeq) {
        add({ kind: 'entry_missing', entryId: r.id, position: r.position, stream: r.stream, message: `stream ${r.stream}: entry #${expectedSeq} is missing before entry ${r.id} (#${r.stream_seq})` });
      } else if (!linked) {
        add({ kind: 'chain_broken', entryId: r.id, position: r.position, stream: r.stream, message: `stream ${r.stream}: entry ${r.id} (#${r.stream_seq}) does not link to its predecessor` });
      }
      prev = { stream: r.stream, seq: r.stream_seq, hash: r.hash };
      streams.set(r.stream, { seq: r.stream_seq, hash: r.hash });
    }
    afterStream = rows[rows.length - 1]!.stream;
  }

  for (const head of await ledgerStore.streamHeads(db)) {
    const seen = streams.get(head.stream);
    if (!seen || seen.seq !== head.seq || !seen.hash.equals(head.hash)) {
      add({
        kind: 'stream_head_mismatch',
        stream: head.stream,
        message: `stream ${head.stream}: the head says ${head.seq} entries, the ledger holds ${seen?.seq ?? 0}: its latest entries were deleted or altered`,
      });
    }
  }
  return { ok: problems.length === 0, checked, checkpoints: checkpoints.length, problems };
}

/**
 * Seals everything appended since the last checkpoint (below the running-transaction horizon, so
 * no late commit can fall inside a sealed range). Runs under an advisory lock: with several
 * servers, one seals at a time.
 */
export async function sealCheckpoint(db: Db, maxEntries = 200_000): Promise<{ sealed: number } | undefined> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(${0x6c656467}) AS locked`.execute(trx);
    if (!rows[0]?.locked) return undefined;
    const last = await ledgerStore.lastCheckpoint(trx);
    const after = last ? { tx: last.upto_tx, position: last.upto_position } : undefined;
    const range = await ledgerStore.sealRange(trx, after, last?.hash ?? null, maxEntries);
    if (!range.n) return { sealed: 0 };
    await ledgerStore.insertCheckpoint(trx, {
      uptoTx: range.tx!,
      uptoPosition: range.position!,
      entryCount: range.n,
      prevHash: last?.hash ?? null,
      hash: range.hash!,
    });
    return { sealed: range.n };
  });
}
