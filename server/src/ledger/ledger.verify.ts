import { createHash, type Hash } from 'node:crypto';
import type { Db } from '../database/database.js';
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
  /**
   * Entries no checkpoint covers yet (committed since the last seal, at most one checkpoint
   * interval ago). Their deletion is detected only if they belong to a stream (docs/security.md).
   */
  unsealed: number;
  problems: VerifyProblem[];
}

interface Snapshot {
  xmin: bigint;
  xmax: bigint;
  xip: Set<bigint>;
}

/** pg_snapshot's text form, `xmin:xmax:xip,xip,…`. */
export function parseSnapshot(text: string): Snapshot {
  const [xmin = '', xmax = '', xip = ''] = text.split(':');
  return { xmin: BigInt(xmin), xmax: BigInt(xmax), xip: new Set(xip ? xip.split(',').map((x) => BigInt(x)) : []) };
}

/** Whether a transaction that wrote rows (so committed) had committed when the snapshot was taken. */
const visibleIn = (tx: bigint, s: Snapshot) => tx < s.xmin || (tx < s.xmax && !s.xip.has(tx));

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
    await ledgerStore.erasureTargets(db, ERASURE_TYPE),
  );
  const checkpoints = await ledgerStore.checkpoints(db);
  // Range seals (before migration 0630) come first and cover ledger-order ranges; commit seals
  // follow and each covers the entries first visible in its snapshot (see sealCheckpoint).
  const firstCommitSeal = checkpoints.findIndex((c) => c.snapshot !== null);
  const rangeSeals = firstCommitSeal < 0 ? checkpoints.length : firstCommitSeal;
  const commitSeals = checkpoints.slice(rangeSeals).map((cp, i) => ({ cp, index: rangeSeals + i, snap: parseSnapshot(cp.snapshot ?? '0:0:') }));
  const sealState = new Map<number, { hash: Hash; count: number }>();
  let nextToClose = 0;
  let unsealed = 0;
  const closeCommitSeal = (k: number) => {
    const { cp, index } = commitSeals[k]!;
    const prev = index > 0 ? checkpoints[index - 1]!.hash : null;
    const state = sealState.get(k);
    sealState.delete(k);
    const h = state ? state.hash.digest() : checkpointHash(prev, []);
    const count = state?.count ?? 0;
    if (!h.equals(cp.hash) || count !== cp.entry_count || !(cp.prev_hash ?? Buffer.alloc(0)).equals(prev ?? Buffer.alloc(0))) {
      add({
        kind: 'checkpoint_mismatch',
        checkpoint: cp.id,
        position: cp.upto_position,
        message: `checkpoint ${cp.id} sealed ${cp.entry_count} entries committed before it; recomputing finds ${count}${h.equals(cp.hash) ? '' : ' and a different hash'}: one of them was deleted or altered`,
      });
    }
  };
  /** The first commit seal whose snapshot saw this transaction committed (visibility only grows). */
  const commitSealOf = (tx: bigint): number | undefined => {
    let lo = 0;
    let hi = commitSeals.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (visibleIn(tx, commitSeals[mid]!.snap)) hi = mid;
      else lo = mid + 1;
    }
    return lo < commitSeals.length ? lo : undefined;
  };
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
      while (cpIndex < rangeSeals && beyond(r.tx, r.position, checkpoints[cpIndex]!)) closeCheckpoint();
      const tx = BigInt(r.tx);
      // Rows come in transaction order: a commit seal whose snapshot predates this transaction can get no more.
      while (nextToClose < commitSeals.length && tx >= commitSeals[nextToClose]!.snap.xmax) closeCommitSeal(nextToClose++);
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
      if (cpIndex < rangeSeals) {
        cpHashes.push(r.hash);
        cpCount++;
      } else {
        const k = commitSealOf(tx);
        if (k === undefined) {
          unsealed++;
        } else {
          let state = sealState.get(k);
          if (!state) {
            const index = commitSeals[k]!.index;
            state = { hash: createHash('sha256').update(index > 0 ? checkpoints[index - 1]!.hash : Buffer.alloc(32)), count: 0 };
            sealState.set(k, state);
          }
          state.hash.update(r.hash);
          state.count++;
        }
      }
    }
    const last = rows[rows.length - 1]!;
    after = { tx: last.tx, position: last.position };
  }
  while (cpIndex < rangeSeals) closeCheckpoint();
  while (nextToClose < commitSeals.length) closeCommitSeal(nextToClose++);

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
  return { ok: problems.length === 0, checked, checkpoints: checkpoints.length, unsealed, problems };
}

/**
 * Seals every entry committed since the last checkpoint: those whose transaction is visible in this
 * seal's snapshot (committed before it was taken) and was not visible in the previous seal's. A
 * transaction left open for a long time delays only its own entries (sealed by the first seal after
 * it commits), never the entries other transactions commit meanwhile: a deletion of any committed
 * entry is detectable once the next seal has run (every `CAIRN_CHECKPOINT_INTERVAL_MS`). The
 * snapshot is stored with the seal so verify can recompute which entries each seal covers.
 * Runs under an advisory lock: with several servers, one seals at a time, so each snapshot is
 * later than the previous seal's and visibility only grows from one seal to the next.
 */
export async function sealCheckpoint(db: Db): Promise<{ sealed: number } | undefined> {
  return db.transaction().execute(async (trx) => {
    if (!(await ledgerStore.trySealLock(trx))) return undefined;
    const last = await ledgerStore.lastCheckpoint(trx);
    let unsealed: { xmax: string; xip: string[] } | LedgerCursor | undefined;
    if (last?.snapshot) {
      const snap = parseSnapshot(last.snapshot);
      unsealed = { xmax: String(snap.xmax), xip: [...snap.xip].map(String) };
    } else if (last) {
      unsealed = { tx: last.upto_tx, position: last.upto_position };
    }
    const seal = await ledgerStore.sealCommitted(trx, unsealed, last?.hash ?? null);
    if (!seal.n) return { sealed: 0 };
    await ledgerStore.insertCommitSeal(trx, {
      uptoTx: seal.tx!,
      uptoPosition: seal.position!,
      entryCount: seal.n,
      prevHash: last?.hash ?? null,
      hash: seal.hash!,
      snapshot: seal.snapshot,
    });
    return { sealed: seal.n };
  });
}

/** Keeps a verification's outcome for the System page (only counts: problems may quote data). */
export async function recordVerification(db: Db, report: VerifyReport, durationMs: number, actorId: string | null): Promise<void> {
  await ledgerStore.insertVerification(db, { durationMs: Math.round(durationMs), ok: report.ok, checked: report.checked, checkpoints: report.checkpoints, problems: report.problems.length, actorId });
}
