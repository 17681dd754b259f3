import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import type { Database, Db } from '../database/database.js';
import { AppError, fail } from '../kernel/errors.js';
import { actorRef, can, requireAuthenticated, type AuthContext } from '../kernel/access.js';
import { newId, isUuid } from '../kernel/ids.js';
import type { Clock } from '../kernel/clock.js';
import { JsonValueError, canonicalJsonChecked, chainedHashHex, entryHashParts, entryHashRest, jsonHashHex, type HashParts } from './ledger.hash.js';
import { concatRows, encodeLinks, encodeStagedColumns, ledgerStore, type ConsumeRow, type EncodedRows, type StagedColumns, type EntryRow, type LedgerCursor, type NewEntryRow, type ReadScope } from './ledger.store.js';

export const MAX_DATA_BYTES = 1024 * 1024;
export const MAX_BATCH = 10_000;
/** Batches up to this size are grouped with others into one INSERT (see appendGrouped). */
const GROUP_BATCH_MAX = 50;
export const TYPE_RE = /^[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?)+(?:\/[a-z0-9](?:[a-z0-9_.-]*[a-z0-9])?)*$/;
export const STREAM_RE = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$/;
/** Types the system writes about itself; nobody appends them through the API. */
export const SYSTEM_TYPE_PREFIXES = ['auth.', 'user.', 'token.', 'ledger.', 'workspace.', 'settings.', 'cairn.', 'instrument.', 'subject.', 'session.', 'record.', 'datahub.', 'dataset.', 'registration.', 'registration-type.'];
export const isSystemType = (t: string) => SYSTEM_TYPE_PREFIXES.some((p) => t.startsWith(p));

export interface AppendInput {
  type: string;
  stream?: string | null;
  data: Record<string, unknown>;
  occurredAt?: string | Date;
  transactionId?: string;
}

export interface PreparedEntry {
  type: string;
  typeVersion: number | null;
  stream: string | null;
  data: Record<string, unknown>;
  /** Canonical JSON of data, computed once while checking it. */
  dataJson: string;
  occurredAt: Date;
  transactionId: string | null;
  /**
   * What a replay of this entry's transactionId must match to answer the original: by default
   * its type and stream; `type` for an entry whose stream is minted per write (a new record's),
   * whose caller then checks the target (e.g. the session) itself.
   */
  replayTarget?: 'type';
}

export interface ListQueryInput {
  after?: string;
  type?: string;
  stream?: string;
  from?: string;
  to?: string;
  limit?: number;
  excludeErased?: boolean;
}

export interface AppendResult {
  id: string;
  position: number;
  /** Opaque resume point just after this entry. */
  cursor: string;
  /** True when a retry with an already-used transactionId returned the original entry. */
  replayed: boolean;
}

export interface PublicEntry {
  id: string;
  position: number;
  type: string;
  typeVersion: number | null;
  stream: string | null;
  streamSeq: number | null;
  data: unknown;
  actor: { kind: string; id: string | null };
  occurredAt: string;
  recordedAt: string;
  transactionId: string | null;
  hash: string;
}

/**
 * Extension points for later domains (event types, apps) without editing the ledger: they can
 * validate or stamp a batch before it is written, and narrow what a caller may read.
 */
export interface LedgerHooks {
  beforeAppend: Array<(ctx: AuthContext, entries: PreparedEntry[], db: Kysely<Database>) => Promise<void>>;
  readScope: Array<(ctx: AuthContext, db: Kysely<Database>) => Promise<ReadScope | undefined>>;
  /**
   * Consumers run inside the appending transaction with the entries it just wrote, before it
   * commits (inline projections): what they write commits or rolls back with the entries. A batch
   * holding a type one of them wants always gets its own transaction (never the grouped INSERT).
   */
  inTransaction: Array<{ wants(type: string): boolean; run(trx: Kysely<Database>, entries: ConsumedEntry[]): Promise<void> }>;
}

/** An entry as a consumer of the ledger (a projection) receives it, in ledger order. */
export interface ConsumedEntry {
  id: string;
  cursor: LedgerCursor;
  type: string;
  typeVersion: number | null;
  stream: string | null;
  streamSeq: number | null;
  data: unknown;
  actor: { kind: string; id: string | null };
  occurredAt: Date;
  recordedAt: Date;
  transactionId: string | null;
}

/** What a consumer subscribes to: exact types and/or type prefixes (e.g. `record.`). */
export interface TypeFilter {
  types?: string[];
  typePrefixes?: string[];
}

const consumed = (r: ConsumeRow): ConsumedEntry => ({
  id: r.id,
  cursor: { tx: r.tx, position: r.position },
  type: r.type,
  typeVersion: r.type_version,
  stream: r.stream,
  streamSeq: r.stream_seq,
  data: r.data,
  actor: { kind: r.actor_kind, id: r.actor_id },
  occurredAt: new Date(r.occurred_ms),
  recordedAt: new Date(r.recorded_ms),
  transactionId: r.transaction_id,
});

export function encodeCursor(c: LedgerCursor): string {
  return Buffer.from(`${c.tx}.${c.position}`).toString('base64url');
}

export function decodeCursor(s: string): LedgerCursor {
  const bad = () => new AppError('invalid_cursor', 'The cursor is not one this server issued');
  if (typeof s !== 'string' || s.length > 64 || !/^[A-Za-z0-9_-]+$/.test(s)) throw bad();
  const m = /^(\d{1,19})\.(\d{1,19})$/.exec(Buffer.from(s, 'base64url').toString('latin1'));
  if (!m) throw bad();
  const position = Number(m[2]);
  if (!Number.isSafeInteger(position) || BigInt(m[1]!) > 2n ** 63n - 1n) throw bad();
  return { tx: m[1]!, position };
}

export function toPublicEntry(r: Omit<EntryRow, 'data_hash' | 'prev_hash'>): PublicEntry {
  return {
    id: r.id,
    position: r.position,
    type: r.type,
    typeVersion: r.type_version,
    stream: r.stream,
    streamSeq: r.stream_seq,
    data: r.data,
    actor: { kind: r.actor_kind, id: r.actor_id },
    occurredAt: r.occurred_at.toISOString(),
    recordedAt: r.recorded_at.toISOString(),
    transactionId: r.transaction_id,
    hash: r.hash.toString('hex'),
  };
}

interface StreamBatch {
  ctx: AuthContext;
  entries: PreparedEntry[];
  /** Staged on arrival, before the group's locks: everything its streams' heads do not decide. */
  staged: StagedRow[];
  /** The staged columns, already encoded for the INSERT. */
  columns: StagedColumns;
  resolve: (r: AppendResult[]) => void;
  reject: (e: unknown) => void;
}

type Head = { seq: number; hash: Buffer };

/**
 * A row with everything fixed that does not depend on its stream's head: id, recording time,
 * data hash and the entry hash's text around the stream sequence (entryHashParts). Chaining it
 * (chainLinks) then costs one sha256 per entry.
 */
interface StagedRow extends Omit<NewEntryRow, 'streamSeq' | 'prevHash' | 'hash'> {
  parts: HashParts;
}

/**
 * The next links of their streams' chains for `staged`, in order: each entry's stream sequence,
 * predecessor's hash and hash (hex); `heads` advance to the last link of each stream.
 */
function chainLinks(staged: StagedRow[], heads: Map<string, Head>): { seq: (number | null)[]; prev: (string | null)[]; hash: string[] } {
  const seq: (number | null)[] = new Array(staged.length);
  const prev: (string | null)[] = new Array(staged.length);
  const hash: string[] = new Array(staged.length);
  const links = new Map<string, { seq: number; hex: string }>();
  for (let i = 0; i < staged.length; i++) {
    const r = staged[i]!;
    if (!r.stream) {
      seq[i] = null;
      prev[i] = null;
      hash[i] = chainedHashHex('', null, r.parts);
      continue;
    }
    let head = links.get(r.stream);
    if (!head) {
      const h = heads.get(r.stream)!;
      head = { seq: h.seq, hex: h.seq === 0 ? '' : h.hash.toString('hex') };
      links.set(r.stream, head);
    }
    const s = head.seq + 1;
    seq[i] = s;
    prev[i] = head.seq === 0 ? null : head.hex;
    hash[i] = chainedHashHex(head.hex, s, r.parts);
    head.seq = s;
    head.hex = hash[i]!;
  }
  for (const [stream, h] of links) heads.set(stream, { seq: h.seq, hash: Buffer.from(h.hex, 'hex') });
  return { seq, prev, hash };
}

interface GroupedBatch {
  rows: NewEntryRow[];
  resolve: (r: AppendResult[]) => void;
  reject: (e: unknown) => void;
}

const appendResult = (row: { id: string }, ins: { position: number; tx: string }): AppendResult => ({
  id: row.id,
  position: ins.position,
  cursor: encodeCursor({ tx: ins.tx, position: ins.position }),
  replayed: false,
});

/**
 * Drains a group-commit queue: groups of whole batches of up to MAX_BATCH entries (one statement
 * stays a reasonable size), each written by `write`; a failed group is written again batch by
 * batch with `alone`, so only a faulty batch fails.
 */
async function drainGroups<B extends { reject: (e: unknown) => void }>(queue: B[], size: (b: B) => number, write: (group: B[]) => Promise<void>, alone: (b: B) => Promise<void>): Promise<void> {
  while (queue.length) {
    let n = 0;
    let count = 0;
    while (n < queue.length && (n === 0 || count + size(queue[n]!) <= MAX_BATCH)) count += size(queue[n++]!);
    const group = queue.splice(0, n);
    try {
      await write(group);
    } catch (e) {
      if (group.length === 1) group[0]!.reject(e);
      else for (const b of group) await alone(b).catch((err: unknown) => b.reject(err));
    }
  }
}

/** The writing transaction of a result's new entries, where one statement wrote them all (saves decoding every cursor). */
const resultTx = new WeakMap<AppendResult[], bigint>();

const isRetryable = (e: unknown) => {
  const code = (e as { code?: string }).code;
  // deadlock, serialization failure, a concurrent retry claiming the same transactionId
  return code === '40P01' || code === '40001' || code === '23505';
};

export class LedgerService {
  /** Wakes live tails in this process as soon as our own appends commit. */
  readonly appended = new EventEmitter().setMaxListeners(0);
  readonly hooks: LedgerHooks = { beforeAppend: [], readScope: [], inTransaction: [] };
  /**
   * Entries this process appended (not replays), for /metrics. Appends inside a caller's
   * transaction count when written, so one the caller then rolls back is counted too.
   */
  entriesAppended = 0;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** Validates shape and allowed types; the caller's permission to write is checked by the route. */
  prepare(ctx: AuthContext, inputs: AppendInput[], opts: { allowSystemTypes?: boolean } = {}): PreparedEntry[] {
    if (!Array.isArray(inputs) || inputs.length === 0) throw fail('validation_failed', 'Send at least one event');
    if (inputs.length > MAX_BATCH) throw fail('payload_too_large', `A batch holds at most ${MAX_BATCH} events`);
    const seenTx = new Set<string>();
    return inputs.map((e, i) => {
      const at = (field: string) => `/events/${i}${field}`;
      if (typeof e.type !== 'string' || !TYPE_RE.test(e.type) || e.type.length > 200) {
        throw fail('validation_failed', `Event ${i}: type must be a dotted lower-case name such as note.created`, [{ pointer: at('/type'), message: 'invalid type name' }]);
      }
      if (isSystemType(e.type) && !opts.allowSystemTypes) {
        throw fail('forbidden', `Event ${i}: the ${e.type.split('.')[0]}.* types are written by Cairn itself`, [{ pointer: at('/type'), message: 'reserved type' }]);
      }
      if (e.stream != null && (typeof e.stream !== 'string' || !STREAM_RE.test(e.stream))) {
        throw fail('validation_failed', `Event ${i}: stream must be 1-200 characters of letters, digits and ._:/@-`, [{ pointer: at('/stream'), message: 'invalid stream name' }]);
      }
      if (e.data === null || typeof e.data !== 'object' || Array.isArray(e.data)) {
        throw fail('validation_failed', `Event ${i}: data must be a JSON object`, [{ pointer: at('/data'), message: 'must be an object' }]);
      }
      let occurredAt = this.clock.now();
      if (e.occurredAt !== undefined) {
        const d = e.occurredAt instanceof Date ? e.occurredAt : typeof e.occurredAt === 'string' && /^\d{4}-\d\d-\d\dT/.test(e.occurredAt) ? new Date(e.occurredAt) : new Date(NaN);
        if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1 || d.getUTCFullYear() > 9999) {
          throw fail('validation_failed', `Event ${i}: occurredAt must be an RFC 3339 date-time`, [{ pointer: at('/occurredAt'), message: 'invalid date-time' }]);
        }
        occurredAt = d;
      }
      let transactionId: string | null = null;
      if (e.transactionId !== undefined) {
        if (typeof e.transactionId !== 'string' || e.transactionId.length < 1 || e.transactionId.length > 200) {
          throw fail('validation_failed', `Event ${i}: transactionId must be 1-200 characters`, [{ pointer: at('/transactionId'), message: 'invalid transactionId' }]);
        }
        if (seenTx.has(e.transactionId)) throw fail('validation_failed', `Event ${i}: transactionId repeats within the batch`, [{ pointer: at('/transactionId'), message: 'duplicate' }]);
        seenTx.add(e.transactionId);
        transactionId = e.transactionId;
      }
      let dataJson: string;
      try {
        dataJson = canonicalJsonChecked(e.data, at('/data'));
      } catch (err) {
        if (err instanceof JsonValueError) throw fail('unprocessable', `Event ${i}: the value at ${err.pointer} ${err.message}`, { pointer: err.pointer });
        throw err;
      }
      if (dataJson.length > MAX_DATA_BYTES / 4 && Buffer.byteLength(dataJson) > MAX_DATA_BYTES) {
        throw fail('payload_too_large', `Event ${i}: data is larger than ${MAX_DATA_BYTES} bytes`);
      }
      return { type: e.type, typeVersion: null, stream: e.stream ?? null, data: e.data, dataJson, occurredAt, transactionId };
    });
  }

  /**
   * Appends a batch atomically: all entries or none. Pass `db` to append inside a transaction the
   * caller already holds (so a state change and its ledger entry commit together).
   */
  /**
   * `relaxedCommit`: for entries whose loss in a database crash is tolerable (a read's audit
   * entry), the batch's own transaction commits without waiting for its WAL to reach the disk
   * (synchronous_commit off for that transaction only). It is still written in ledger order: a
   * later durable commit flushes it too, so only the last fraction of a second before a crash of
   * PostgreSQL itself can be lost (docs/security.md). Applies where the batch has its own
   * transaction; grouped and caller-held transactions keep their commit.
   */
  async append(ctx: AuthContext, entries: PreparedEntry[], opts: { db?: Kysely<Database>; relaxedCommit?: boolean } = {}): Promise<AppendResult[]> {
    for (const hook of this.hooks.beforeAppend) await hook(ctx, entries, opts.db ?? this.db);
    if (opts.db) return this.countAppended(await this.appendIn(opts.db, ctx, entries));
    // A batch with no streams and no transactionIds needs no locks and no lookups: one INSERT
    // statement is atomic on its own. Small ones join the next grouped INSERT; large ones already
    // amortise a statement and go at once, in parallel (grouping them would put every batch
    // behind one statement on one database core). Anything else needs its own transaction.
    const consumers = this.hooks.inTransaction;
    const plain = entries.every((e) => !e.transactionId && !consumers.some((c) => c.wants(e.type)));
    const simple = plain && entries.every((e) => !e.stream);
    for (let attempt = 0; ; attempt++) {
      try {
        const result = !simple
          ? plain
            ? await this.appendStreamsGrouped(ctx, entries)
            : await this.db.transaction().execute(async (trx) => {
                if (opts.relaxedCommit) await ledgerStore.relaxCommit(trx);
                return this.appendIn(trx, ctx, entries);
              })
          : entries.length <= GROUP_BATCH_MAX
            ? await this.appendGrouped(ctx, entries)
            : await this.appendIn(this.db, ctx, entries);
        if (result.some((r) => !r.replayed)) {
          await this.waitVisible(result);
          this.appended.emit('append');
        }
        return this.countAppended(result);
      } catch (e) {
        if (attempt < 4 && isRetryable(e)) continue;
        throw e;
      }
    }
  }

  /**
   * Group commit for simple batches: while one INSERT is in flight, the batches that arrive meanwhile
   * wait and then go together in the next one, a single statement and so a single transaction
   * (one in flight at a time).
   * Each batch stays all-or-nothing (the statement is); should a grouped statement fail, its batches
   * are retried one by one so only the faulty one fails. Under load this turns many commits (and
   * many socket writes, which dominate on small machines) into few, at no cost when idle: a batch
   * arriving with nothing in flight is sent at once.
   */
  private appendGrouped(ctx: AuthContext, entries: PreparedEntry[]): Promise<AppendResult[]> {
    const rows = this.buildRows(ctx, entries, new Map());
    return new Promise<AppendResult[]>((resolve, reject) => {
      this.group.push({ rows, resolve, reject });
      if (!this.flushing) void this.flushGroup();
    });
  }

  private readonly group: GroupedBatch[] = [];
  /** A grouped INSERT is in flight (one at a time: two measured no better on two cores, and one forms bigger groups). */
  private flushing = false;

  private async flushGroup(): Promise<void> {
    this.flushing = true;
    try {
      await drainGroups(this.group, (b) => b.rows.length, (g) => this.insertGroup(g), (b) => this.insertGroup([b]));
    } finally {
      this.flushing = false;
      if (this.visibilityWaiters.length && !this.polling) void this.pollVisibility();
    }
  }

  private async insertGroup(batch: GroupedBatch[]): Promise<void> {
    const inserted = await ledgerStore.insertEntries(this.db, batch.flatMap((b) => b.rows), { withHorizon: true });
    if (inserted[0]?.horizon) this.noteHorizon(BigInt(inserted[0].horizon));
    const byId = new Map(inserted.map((r) => [r.id, r]));
    for (const b of batch) b.resolve(b.rows.map((row) => appendResult(row, byId.get(row.id)!)));
  }

  /**
   * Group commit for stream batches without transactionIds or in-transaction consumers: the batches
   * that arrive while one group is in flight go together in the next, which takes the union of
   * their streams' locks once, chains each batch's entries after the previous batch's, and writes
   * all rows and heads at once. Writers sharing streams serialise on those locks anyway; grouped,
   * they do it with one round of lock, insert, upsert and commit instead of one each, and the node
   * parses the next requests while the database writes. Each batch is staged (ids, data hashes,
   * hashed text, encoded columns) as it arrives, and a group is chained on the heads the last one
   * left (knownHeads), so a group is one statement, one round trip, with no work of the node's in
   * between (the ratio to COPY: 0.35 per batch, 0.41 grouped, then the figures in
   * docs/performance.md). A failed group is retried batch by batch, so only a faulty batch fails.
   */
  private appendStreamsGrouped(ctx: AuthContext, entries: PreparedEntry[]): Promise<AppendResult[]> {
    // Staged and encoded now, while the group before it holds the locks, not once it holds them.
    const staged = this.stageRows(ctx, entries);
    const columns = encodeStagedColumns(staged);
    return new Promise<AppendResult[]>((resolve, reject) => {
      this.streamGroup.push({ ctx, entries, staged, columns, resolve, reject });
      if (!this.flushingStreams) void this.flushStreamGroup();
    });
  }

  private readonly streamGroup: StreamBatch[] = [];
  private flushingStreams = false;

  private async flushStreamGroup(): Promise<void> {
    this.flushingStreams = true;
    try {
      await drainGroups(
        this.streamGroup,
        (b) => b.entries.length,
        async (g) => {
          const results = await this.insertStreamGroup(g);
          g.forEach((b, i) => b.resolve(results[i]!));
        },
        async (b) => b.resolve(await this.db.transaction().execute((trx) => this.appendIn(trx, b.ctx, b.entries))),
      );
    } finally {
      this.flushingStreams = false;
    }
  }


  /**
   * Stream heads as this process's last stream group left them: the next group chains on them
   * before taking any lock, and its statement writes only if they are still the heads (see
   * ledgerStore.insertEntries' `expect`). Otherwise (another server, or a write outside the
   * groups, moved a stream) the group reads the heads under its locks and chains again. A hint,
   * never trusted: forgetting it costs a round trip or two.
   */
  private readonly knownHeads = new Map<string, Head>();

  private async insertStreamGroup(batch: StreamBatch[]): Promise<AppendResult[][]> {
    const streams = [...new Set(batch.flatMap((b) => b.staged.flatMap((r) => (r.stream ? [r.stream] : []))))];
    // In arrival order, so each batch's entries follow the previous batch's in their streams.
    const chain = (heads: Map<string, Head>) => concatRows(batch.map((b): EncodedRows => ({ ...b.columns, ...encodeLinks(chainLinks(b.staged, heads)) })));
    const count = batch.reduce((n, b) => n + b.staged.length, 0);
    let expect: Map<string, Head> | undefined;
    let heads: Map<string, Head> | undefined;
    let rows: EncodedRows | undefined;
    if (streams.every((s) => this.knownHeads.has(s))) {
      expect = new Map(streams.map((s) => [s, this.knownHeads.get(s)!]));
      heads = new Map(expect);
      rows = chain(heads);
    }
    try {
      // One statement (autocommitted) takes the locks, checks the heads the rows were chained on
      // and writes rows and new heads: one round trip for the group. If a head was not as
      // expected, it wrote nothing: then a transaction of its own locks, reads the heads, chains again.
      let inserted = rows ? await ledgerStore.insertEntries(this.db, rows, { heads, expect }) : [];
      if (inserted.length !== count) {
        inserted = await this.db.transaction().execute(async (trx) => {
          heads = await ledgerStore.lockStreamHeads(trx, streams);
          return ledgerStore.insertEntries(trx, chain(heads), { heads });
        });
      }
      if (this.knownHeads.size > 100_000) this.knownHeads.clear();
      for (const [s, h] of heads!) this.knownHeads.set(s, h);
      const byId = new Map(inserted.map((r) => [r.id, r]));
      const tx = BigInt(inserted[0]!.tx);
      return batch.map((b) => {
        const result = b.staged.map((row) => appendResult(row, byId.get(row.id)!));
        resultTx.set(result, tx);
        return result;
      });
    } catch (e) {
      for (const s of streams) this.knownHeads.delete(s);
      throw e;
    }
  }

  /** Every transaction below this has ended (the highest snapshot xmin seen; it never goes back). */
  private visibleBelow = 0n;
  private visibilityWaiters: { tx: bigint; until: number; resolve: () => void }[] = [];
  private polling = false;

  /**
   * Read-your-writes: readers never pass the oldest running transaction, so an entry is visible
   * only once every older writing transaction has ended. Answering only then means a client that
   * lists right after appending sees what it wrote. Under load the grouped INSERTs bring the
   * horizon back with their answers, which releases the appends before them; otherwise one poller
   * answers every waiting append with one small query per round.
   * The wait is bounded so one stuck transaction elsewhere cannot hold appends hostage.
   */
  private async waitVisible(result: AppendResult[]): Promise<void> {
    let newest = resultTx.get(result) ?? 0n;
    if (!newest) {
      for (const r of result) {
        if (r.replayed) continue;
        const tx = BigInt(decodeCursor(r.cursor).tx);
        if (tx > newest) newest = tx;
      }
    }
    if (newest < this.visibleBelow) return;
    await new Promise<void>((resolve) => {
      this.visibilityWaiters.push({ tx: newest, until: Date.now() + 1000, resolve });
      if (!this.polling && !this.flushing) void this.pollVisibility();
    });
  }

  /** Releases the appends waiting for read-your-writes that this horizon covers, and those whose wait is up. */
  private noteHorizon(horizon: bigint): void {
    if (horizon > this.visibleBelow) this.visibleBelow = horizon;
    const now = Date.now();
    const waiting = this.visibilityWaiters;
    this.visibilityWaiters = [];
    for (const w of waiting) {
      if (w.tx < this.visibleBelow || now > w.until) w.resolve();
      else this.visibilityWaiters.push(w);
    }
  }

  private async pollVisibility(): Promise<void> {
    this.polling = true;
    try {
      while (this.visibilityWaiters.length) {
        // A grouped INSERT in flight brings a fresh horizon with its answer, and polling resumes
        // when the grouping stops (flushGroup): no query of our own meanwhile.
        if (this.flushing) return;
        this.noteHorizon(BigInt(await ledgerStore.horizon(this.db)));
        // What is still waiting waits on another transaction's commit, usually a moment away.
        if (this.visibilityWaiters.length) await new Promise((r) => setTimeout(r, 1));
      }
    } catch {
      // The entries are committed; visibility is a courtesy, never a reason to fail an append.
      for (const w of this.visibilityWaiters) w.resolve();
      this.visibilityWaiters = [];
    } finally {
      this.polling = false;
    }
  }

  private countAppended(result: AppendResult[]): AppendResult[] {
    for (const r of result) if (!r.replayed) this.entriesAppended++;
    return result;
  }

  /** Notifies live tails after a caller-managed transaction that appended has committed. */
  notifyAppended(): void {
    this.appended.emit('append');
  }

  /** What does not depend on the streams' heads (see StagedRow). */
  private stageRows(ctx: AuthContext, fresh: PreparedEntry[]): StagedRow[] {
    const actor = actorRef(ctx);
    const recordedAt = this.clock.now();
    const staged: StagedRow[] = new Array(fresh.length);
    let rest = '';
    let prev: PreparedEntry | undefined;
    for (let i = 0; i < fresh.length; i++) {
      const e = fresh[i]!;
      // The hashed text after the stream sequence is the same for a run of entries of one type and time.
      if (!prev || e.type !== prev.type || e.typeVersion !== prev.typeVersion || e.transactionId !== prev.transactionId || e.occurredAt.getTime() !== prev.occurredAt.getTime()) {
        rest = entryHashRest({ type: e.type, typeVersion: e.typeVersion, actorKind: actor.kind, actorId: actor.id, occurredAt: e.occurredAt, recordedAt, transactionId: e.transactionId });
      }
      prev = e;
      const id = newId();
      const dataHash = jsonHashHex(e.dataJson);
      staged[i] = {
        id,
        stream: e.stream,
        type: e.type,
        typeVersion: e.typeVersion,
        dataJson: e.dataJson,
        dataHash,
        actorKind: actor.kind,
        actorId: actor.id,
        occurredAt: e.occurredAt,
        recordedAt,
        transactionId: e.transactionId,
        parts: entryHashParts(id, e.stream, rest, dataHash),
      };
    }
    return staged;
  }

  /** Rows ready to insert; stream entries take the next link of their stream's chain from `heads`. */
  private buildRows(ctx: AuthContext, fresh: PreparedEntry[], heads: Map<string, Head>): NewEntryRow[] {
    const staged = this.stageRows(ctx, fresh);
    const links = chainLinks(staged, heads);
    return staged.map(({ parts: _, ...r }, i) => ({ ...r, streamSeq: links.seq[i] ?? null, prevHash: links.prev[i] ?? null, hash: links.hash[i]! }));
  }

  private async appendIn(trx: Kysely<Database>, ctx: AuthContext, entries: PreparedEntry[]): Promise<AppendResult[]> {
    const actor = actorRef(ctx);
    const txIds = entries.flatMap((e) => (e.transactionId ? [e.transactionId] : []));
    const existing = new Map((await ledgerStore.findByTransactionIds(trx, actor.kind, actor.id, txIds)).map((r) => [r.transaction_id, r]));
    // A replay answers the original only for the same target: a transactionId reused for another
    // type or stream is a client bug, or an attempt to read back an entry through a door it was
    // not written through; either way nothing is written and nothing is answered.
    entries.forEach((e, i) => {
      const prior = e.transactionId ? existing.get(e.transactionId) : undefined;
      if (prior && (prior.type !== e.type || (e.replayTarget !== 'type' && prior.stream !== e.stream))) {
        throw fail('idempotency_conflict', `Event ${i}: this transactionId was already used for a different event (type or stream); use a new one`, [{ pointer: `/events/${i}/transactionId`, message: 'already used for another target' }]);
      }
    });
    const fresh = entries.filter((e) => !e.transactionId || !existing.has(e.transactionId));

    const streams = [...new Set(fresh.flatMap((e) => (e.stream ? [e.stream] : [])))];
    // Written outside the stream groups: their next one must read these heads (see knownHeads).
    for (const s of streams) this.knownHeads.delete(s);
    const heads = await ledgerStore.lockStreamHeads(trx, streams);
    const rows = this.buildRows(ctx, fresh, heads);
    const inserted = rows.length ? await ledgerStore.insertEntries(trx, rows, { heads }) : [];
    const byId = new Map(inserted.map((r) => [r.id, r]));
    for (const consumer of this.hooks.inTransaction) {
      const mine: ConsumedEntry[] = [];
      fresh.forEach((e, i) => {
        if (!consumer.wants(e.type)) return;
        const row = rows[i]!;
        const ins = byId.get(row.id)!;
        mine.push({
          id: row.id, cursor: { tx: ins.tx, position: ins.position }, type: row.type, typeVersion: row.typeVersion, stream: row.stream, streamSeq: row.streamSeq,
          data: e.data, actor: { kind: row.actorKind, id: row.actorId }, occurredAt: row.occurredAt, recordedAt: row.recordedAt, transactionId: row.transactionId,
        });
      });
      if (mine.length) await consumer.run(trx, mine);
    }

    let k = 0;
    return entries.map((e) => {
      const prior = e.transactionId ? existing.get(e.transactionId) : undefined;
      // The original cursor, so a client resuming after a lost answer can read on from the same place.
      if (prior) return { id: prior.id, position: prior.position, cursor: encodeCursor({ tx: prior.tx, position: prior.position }), replayed: true };
      const row = rows[k++]!;
      return appendResult(row, byId.get(row.id)!);
    });
  }

  async readScope(ctx: AuthContext): Promise<ReadScope> {
    requireAuthenticated(ctx);
    for (const hook of this.hooks.readScope) {
      const s = await hook(ctx, this.db);
      if (s) return s;
    }
    if (can(ctx, 'ledger:read')) return { kind: 'all' };
    const a = actorRef(ctx);
    if (a.id && can(ctx, 'events:read')) return { kind: 'actor', actorKind: a.kind, actorId: a.id, excludeTypePrefixes: SYSTEM_TYPE_PREFIXES };
    throw new AppError('forbidden', 'This needs the events:read permission');
  }

  private listFilter(scope: ReadScope, q: ListQueryInput) {
    checkTypeFilter(scope, q.type);
    const parseDate = (s: string | undefined, name: string) => {
      if (s === undefined) return undefined;
      const d = /^\d{4}-\d\d-\d\d/.test(s) ? new Date(s) : new Date(NaN);
      if (Number.isNaN(d.getTime())) throw fail('validation_failed', `${name} must be an RFC 3339 date-time`, [{ pointer: `/${name}`, message: 'invalid date-time' }]);
      return d;
    };
    return {
      after: q.after ? decodeCursor(q.after) : undefined,
      type: q.type,
      stream: q.stream,
      from: parseDate(q.from, 'from'),
      to: parseDate(q.to, 'to'),
      limit: Math.min(Math.max(q.limit ?? 100, 1), 1000),
      excludeErased: q.excludeErased,
    };
  }

  async listScoped(scope: ReadScope, q: ListQueryInput) {
    const rows = await ledgerStore.list(this.db, scope, this.listFilter(scope, q));
    const last = rows[rows.length - 1];
    return {
      events: rows.map(toPublicEntry),
      next: last ? encodeCursor({ tx: last.tx, position: last.position }) : (q.after ?? null),
    };
  }

  /** The list answer as JSON text, rendered by PostgreSQL (the HTTP hot path; same shape as listScoped). */
  async listJson(ctx: AuthContext, q: ListQueryInput): Promise<string> {
    const scope = await this.readScope(ctx);
    const page = await ledgerStore.listPageJson(this.db, scope, this.listFilter(scope, q));
    const [tx, position] = page.last ? page.last.split('.') : [];
    const next = tx ? encodeCursor({ tx, position: Number(position) }) : (q.after ?? null);
    return `{"events":[${page.json}],"next":${JSON.stringify(next)}}`;
  }

  /** Same as list, but with cursors per entry (for live tails). */
  async page(scope: ReadScope, after: LedgerCursor | undefined, filter: { type?: string; stream?: string }, limit: number) {
    const rows = await ledgerStore.list(this.db, scope, { after, type: filter.type, stream: filter.stream, limit });
    return rows.map((r) => ({ entry: toPublicEntry(r), cursor: { tx: r.tx, position: r.position } }));
  }

  /**
   * A consumer's next page after `after` in ledger order (never past the running-transaction
   * horizon unless `unbounded`), with the horizon it was read under (see ledgerStore.readAfter).
   * For projections; no caller scope: the consumer is the system itself.
   */
  async readAfter(db: Kysely<Database>, after: LedgerCursor | undefined, filter: TypeFilter, limit: number, opts: { unbounded?: boolean } = {}) {
    const page = await ledgerStore.readAfter(db, { after, types: filter.types, typePrefixes: filter.typePrefixes, limit, unbounded: opts.unbounded });
    return { entries: page.rows.map(consumed), horizon: page.horizon };
  }

  /** The running-transaction horizon (as xid8 text) seen by `db`'s snapshot: every transaction below it has ended. */
  horizon(db: Kysely<Database>): Promise<string> {
    return ledgerStore.horizon(db);
  }

  /** Entries matching `filter` after `after` (counted up to `cap`), and the oldest one's recording time. */
  lag(db: Kysely<Database>, after: LedgerCursor | undefined, filter: TypeFilter, cap: number) {
    return ledgerStore.lagAfter(db, { after, types: filter.types, typePrefixes: filter.typePrefixes }, cap);
  }

  async get(ctx: AuthContext, id: string): Promise<PublicEntry> {
    if (!isUuid(id)) throw fail('not_found', 'No such event');
    const scope = await this.readScope(ctx);
    const row = await ledgerStore.getById(this.db, id);
    if (!row || !inScope(scope, row)) throw fail('not_found', 'No such event');
    return toPublicEntry(row);
  }
}

export function inScope(scope: ReadScope, row: { type: string; actor_kind: string; actor_id: string | null }): boolean {
  switch (scope.kind) {
    case 'all':
      return true;
    case 'types':
      return scope.types.includes(row.type);
    case 'actor':
      return (
        row.actor_kind === scope.actorKind &&
        row.actor_id === scope.actorId &&
        !scope.excludeTypePrefixes.some((p) => row.type.startsWith(p)) &&
        (!scope.types || scope.types.includes(row.type))
      );
  }
}

/** Asking for a type the caller's grants do not cover is refused, not answered with an empty page. */
export function checkTypeFilter(scope: ReadScope, type: string | undefined): void {
  const types = scope.kind === 'all' ? undefined : scope.types;
  if (type !== undefined && types && !types.includes(type)) throw new AppError('forbidden', `You have no read grant on ${type}`);
}
