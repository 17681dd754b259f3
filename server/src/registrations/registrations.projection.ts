import type { Kysely } from 'kysely';
import type { JsonValue } from '@cairn/sdk';
import type { Database } from '../database/database.js';
import { ENTRY_PREFIX, READ_ACTION, allFlags, apply, fold, type EntryData, type FoldEntry, type RegState, type Status } from './registrations.fold.js';
import { queuesOf, registrationsStore, type QueueDelta, type RegistrationRow } from './registrations.store.js';

/**
 * The `registrations` table as a projection of the ledger: the same `apply` the writer runs in
 * its transaction, applied to batches of entries read back from the ledger. Shaped like the
 * projector's `Projection` (server/src/projections/) so it can be registered there as an inline
 * projection; until then RegistrationsService.rebuild drives it.
 */
export interface LedgerEntryLike {
  type: string;
  stream: string | null;
  streamSeq: number | null;
  data: unknown;
  actor: { kind: string; id: string | null };
  occurredAt: Date;
}

export const toFoldEntry = (e: LedgerEntryLike): FoldEntry => ({
  action: e.type.slice(ENTRY_PREFIX.length),
  at: e.occurredAt,
  actorId: e.actor.kind === 'user' || e.actor.kind === 'app' ? e.actor.id : null,
  data: e.data as EntryData,
});

export function rowToState(r: RegistrationRow): RegState {
  const rule = new Set(r.rule_flags);
  return {
    id: r.id,
    trackingId: r.tracking_id,
    type: r.type,
    typeVersion: r.type_version,
    status: r.status as Status,
    coreFlags: r.flags.filter((f) => !rule.has(f)).sort(),
    ruleFlags: [...r.rule_flags].sort(),
    data: r.data as Record<string, JsonValue>,
    derived: r.derived as Record<string, JsonValue>,
    registrationNumber: r.registration_number,
    officeId: r.office_id,
    officePath: r.office_path,
    eventDate: r.event_date,
    eventLocationId: r.event_location_id,
    eventLocationPath: r.event_location_path,
    assignedTo: r.assigned_to,
    duplicateOf: [...r.duplicate_of].sort(),
    printedCopies: r.printed_copies,
    correction: (r.correction ?? null) as RegState['correction'],
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    registeredAt: r.registered_at,
    version: r.version,
  };
}


export async function writeState(db: Kysely<Database>, s: RegState, table = 'registrations'): Promise<void> {
  await registrationsStore.upsert(db, s, allFlags(s), table);
}

/**
 * How a batch's writes move each office's workqueue counters: every registration leaves the
 * queues its old row was in and joins those its new state is in (nothing, for an action that
 * changes neither, such as assign). Keyed by office path and queue.
 */
export function queueDeltas(changes: Array<{ before: { officePath: string; status: string; flags: readonly string[] } | null; after: RegState }>): QueueDelta[] {
  const sums = new Map<string, QueueDelta>();
  const add = (officePath: string, queue: string, n: number) => {
    const key = `${officePath}\u0000${queue}`;
    const d = sums.get(key) ?? { officePath, queue, n: 0 };
    d.n += n;
    sums.set(key, d);
  };
  for (const { before, after } of changes) {
    if (before) for (const q of queuesOf(before.status, before.flags)) add(before.officePath, q, -1);
    for (const q of queuesOf(after.status, allFlags(after))) add(after.officePath, q, 1);
  }
  return [...sums.values()].filter((d) => d.n !== 0);
}

/**
 * The states this projection has just written to the live table in a transaction, for the inline
 * projections applied after it in the same transaction (the search index) to read without asking
 * PostgreSQL for the rows it was just sent. Keyed by the transaction object, so nothing outlives it.
 */
const writtenIn = new WeakMap<object, Map<string, RegState>>();

export function statesWrittenIn(trx: Kysely<Database>): ReadonlyMap<string, RegState> | undefined {
  return writtenIn.get(trx);
}

export const registrationsProjection = {
  name: 'registrations',
  version: 1,
  consumes: { typePrefixes: [ENTRY_PREFIX] },
  mode: 'inline' as const,
  // The registrations' state, and per office the number of them in each workqueue (written in the
  // same transaction: a count must agree with the list a registrar opens right after acting).
  tables: ['registrations', 'registration_queue_counts'],
  batchSize: 5000,
  // apply finds rows by primary key only: the workqueue and list indexes are built once, at the end.
  deferIndexes: true,
  /**
   * Folds a batch of entries (in ledger order) into the table named by `tables.registrations`, and
   * moves the workqueue counters of `tables.registration_queue_counts` by what the rows' queues did.
   */
  async apply(trx: Kysely<Database>, entries: LedgerEntryLike[], tables: Readonly<Record<string, string>>): Promise<void> {
    const { table, counters } = tablesOf(tables);
    const byId = new Map<string, LedgerEntryLike[]>();
    for (const e of entries) {
      if (!e.type.startsWith(ENTRY_PREFIX) || e.type === ENTRY_PREFIX + READ_ACTION) continue;
      const id = (e.data as EntryData).registrationId;
      const list = byId.get(id) ?? [];
      list.push(e);
      byId.set(id, list);
    }
    if (!byId.size) return;
    const rows = await registrationsStore.rowsIn(trx, table, [...byId.keys()]);
    const current = new Map(rows.map((r) => [r.id, rowToState(r)]));
    const stored = new Map(rows.map((r) => [r.id, { officePath: r.office_path, status: r.status, flags: r.flags }]));
    const out: RegState[] = [];
    for (const [id, list] of byId) {
      // Stream order: a stream's entries may sit in another ledger order only when a writer's
      // transaction wrote before appending (docs/architecture.md).
      list.sort((a, b) => (a.streamSeq ?? 0) - (b.streamSeq ?? 0));
      let s = current.get(id) ?? null;
      for (const e of list) s = apply(s, toFoldEntry(e));
      if (s) out.push(s);
    }
    // One registration (a writer's transaction): one plain upsert; a batch (a rebuild): one statement.
    if (out.length === 1) await writeState(trx, out[0]!, table);
    else await registrationsStore.upsertMany(trx, out.map((s) => ({ s, flags: allFlags(s) })), table);
    if (table === 'registrations') {
      const mine = writtenIn.get(trx) ?? new Map<string, RegState>();
      for (const s of out) mine.set(s.id, s);
      writtenIn.set(trx, mine);
    }
    // Last, so the counter rows (shared by an office's writers) are held for as little as can be.
    await registrationsStore.addToCounts(trx, queueDeltas(out.map((s) => ({ before: stored.get(s.id) ?? null, after: s }))), counters);
  },
  /**
   * A rebuild's bulk pass: every stream folded whole, in stream order, straight into the empty
   * shadow. A registration's state is a function of its own stream's entries alone (`fold`), and
   * `apply` folds each stream's entries in stream order too, so the order streams come in does not
   * change any row (registrations.fold.test.ts compares the two paths row for row). Declines when
   * a registration entry sits outside its registration's stream (the batches then handle it).
   * The workqueue counters are then counted from the rebuilt rows in one GROUP BY; the batches
   * after it move them as the live writers do.
   */
  async bulkRebuild(trx: Kysely<Database>, tables: Readonly<Record<string, string>>, horizon: string): Promise<number | null> {
    const { table, counters } = tablesOf(tables);
    const expected = await registrationsStore.entriesBelow(trx, horizon);
    if (expected.stray) return null;
    let seen = 0;
    let after: { stream: string; seq: number } | null = null;
    // The last stream of a page may go on in the next one: it is held back until it is whole.
    let open = null as { stream: string; entries: FoldEntry[] } | null;
    for (;;) {
      const page = await registrationsStore.streamEntries(trx, horizon, after, BULK_PAGE);
      const out: RegState[] = [];
      for (const r of page) {
        const id = r.stream.slice('registration:'.length);
        if ((r.data as EntryData | null)?.registrationId !== id) return null;
        if (open?.stream !== r.stream) {
          if (open) out.push(foldStream(open.entries));
          open = { stream: r.stream, entries: [] };
        }
        open.entries.push(toFoldEntry({ type: r.type, stream: r.stream, streamSeq: r.stream_seq, data: r.data, actor: { kind: r.actor_kind, id: r.actor_id }, occurredAt: new Date(r.occurred_ms) }));
      }
      seen += page.length;
      const last = page[page.length - 1];
      if (!last || page.length < BULK_PAGE) {
        if (open) out.push(foldStream(open.entries));
        open = null;
      }
      for (let i = 0; i < out.length; i += BULK_WRITE) await registrationsStore.upsertMany(trx, out.slice(i, i + BULK_WRITE).map((s) => ({ s, flags: allFlags(s) })), table);
      if (!last || page.length < BULK_PAGE) break;
      after = { stream: last.stream, seq: last.stream_seq };
    }
    // Entries committed meanwhile below the horizon cannot exist; a mismatch means the stream scan missed some.
    if (seen !== expected.folded) return null;
    await registrationsStore.recount(trx, table, counters);
    return seen;
  },
};

/** The state table and its counters (the live ones by default; a shadow state table needs its shadow counters named too). */
function tablesOf(tables: Readonly<Record<string, string>>): { table: string; counters: string } {
  const table = tables.registrations ?? 'registrations';
  const counters = tables.registration_queue_counts ?? (table === 'registrations' ? 'registration_queue_counts' : undefined);
  if (!counters) throw new Error(`registrations projection: ${table} needs its counter table named (registration_queue_counts)`);
  return { table, counters };
}

const BULK_PAGE = 20_000;
const BULK_WRITE = 5_000;

function foldStream(entries: FoldEntry[]): RegState {
  const s = fold(entries);
  if (!s) throw new Error('a registration stream without entries');
  return s;
}
