import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../test/harness.js';
import type { Services } from '../services.js';
import { allFlags, apply, fold, refusal, type EntryData, type FoldEntry, type RegState } from './registrations.fold.js';
import { registrationsProjection, rowToState } from './registrations.projection.js';
import { COUNTED_QUEUES, QUEUES, type RegistrationRow } from './registrations.store.js';

/**
 * Status and flags are a pure fold over a registration's actions. These properties drive it with
 * random action sequences (only the actions the workflow allows at each step are applied, as the
 * service does) and check what must always hold. FUZZ_SEED=<n> replays a failing run.
 */
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
console.log(`registrations.fold properties: FUZZ_SEED=${seed}`);

const ID = '0190a0a0-0000-7000-8000-000000000001';
const OTHER = '0190a0a0-0000-7000-8000-000000000002';
const USERS = ['u1', 'u2', 'u3'];
const ACTIONS = [
  'declare', 'validate', 'register', 'reject', 'archive', 'print-certificate', 'request-correction', 'approve-correction', 'reject-correction',
  'assign', 'unassign', 'duplicate-detected', 'mark-not-duplicate', 'mark-as-duplicate', 'escalate', 'read',
] as const;

type Step = { action: (typeof ACTIONS)[number]; user: number; pending: boolean; system: boolean; value: number };
const step = fc.record({ action: fc.constantFrom(...ACTIONS), user: fc.nat(2), pending: fc.boolean(), system: fc.boolean(), value: fc.nat(1000) });

/** The entry the service would write for a step (its data is what the service decided). */
function entryFor(s: RegState, st: Step, n: number): FoldEntry {
  const data: EntryData = { registrationId: ID };
  switch (st.action) {
    case 'declare':
    case 'validate':
      data.data = { ...s.data, 'child.lastName': `name-${st.value}` };
      data.ruleFlags = st.value % 3 === 0 ? ['late-registration'] : [];
      break;
    case 'register':
      if (st.pending && !s.coreFlags.includes('waiting-for-external-validation')) data.pending = true;
      else data.registrationNumber = `B${n}`;
      break;
    case 'reject':
    case 'mark-not-duplicate':
    case 'mark-as-duplicate':
      data.reason = 'why';
      break;
    case 'print-certificate':
      data.copies = 1 + (st.value % 3);
      break;
    case 'request-correction':
      data.correction = { data: { ...s.data, 'child.firstName': `fix-${st.value}` }, derived: {} };
      break;
    case 'assign':
      data.assignee = USERS[st.user];
      break;
    case 'duplicate-detected':
      data.matches = [OTHER];
      break;
    case 'escalate':
      data.addsFlags = ['escalated'];
      break;
  }
  return { action: st.action, at: new Date(Date.UTC(2026, 0, 1) + n * 1000), actorId: USERS[st.user]!, data };
}

/** Runs steps through the workflow's own gate; answers the entries it accepted and the states after each. */
function run(create: 'notify' | 'declare', steps: Step[]) {
  const first: FoldEntry = {
    action: create,
    at: new Date(Date.UTC(2026, 0, 1)),
    actorId: 'u1',
    data: { registrationId: ID, create: { trackingId: 'ACDEFGH', type: 'birth', typeVersion: 1, officeId: OTHER, officePath: '/a/b/' }, data: { 'child.lastName': 'x' } },
  };
  const entries = [first];
  const states = [apply(null, first)];
  steps.forEach((st, i) => {
    const s = states[states.length - 1]!;
    const system = st.system && st.action === 'register';
    if (refusal(s, st.action, { system }) !== null) return;
    const e = entryFor(s, st, i + 1);
    entries.push(e);
    states.push(apply(s, e));
  });
  return { entries, states };
}

const runs = fc.tuple(fc.constantFrom('notify' as const, 'declare' as const), fc.array(step, { maxLength: 40 }));

describe('the registration fold', () => {
  it('is the same whether folded at once or applied entry by entry (what the writer stores and a rebuild computes)', () => {
    fc.assert(
      fc.property(runs, ([create, steps]) => {
        const { entries, states } = run(create, steps);
        expect(fold(entries)).toEqual(states[states.length - 1]);
        // Folding any prefix gives the state the writer stored after that entry.
        for (let k = 1; k <= entries.length; k++) expect(fold(entries.slice(0, k))).toEqual(states[k - 1]);
      }),
      { seed, numRuns: 300 },
    );
  });

  it('keeps the workflow’s invariants over any sequence of allowed actions', () => {
    fc.assert(
      fc.property(runs, ([create, steps]) => {
        const { entries, states } = run(create, steps);
        let wasRegistered = false;
        let wasArchived = false;
        states.forEach((s, i) => {
          const flags = allFlags(s);
          expect(new Set(flags).size).toBe(flags.length);
          expect([...flags].sort()).toEqual(flags);
          // Registered means a number, and once registered it never goes back.
          if (s.status === 'registered') expect(s.registrationNumber).not.toBeNull();
          if (wasRegistered) expect(s.status).toBe('registered');
          if (wasArchived) expect(s.status).toBe('archived');
          wasRegistered ||= s.status === 'registered';
          wasArchived ||= s.status === 'archived';
          // incomplete only ever on notified records; printed only on registered ones.
          if (flags.includes('incomplete')) expect(s.status === 'notified' || s.status === 'archived' || flags.includes('rejected')).toBe(true);
          if (flags.includes('printed')) expect(s.status).toBe('registered');
          if (flags.includes('potential-duplicate')) expect(s.duplicateOf.length).toBeGreaterThan(0);
          // Reads change nothing; every other action counts.
          if (i > 0) {
            const e = entries[i]!;
            const prev = states[i - 1]!;
            expect(s.version).toBe(e.action === 'read' ? prev.version : prev.version + 1);
            // A flagged potential duplicate was never validated or registered while flagged.
            if (allFlags(prev).includes('potential-duplicate')) expect(['validate', 'register'].includes(e.action) && !prev.coreFlags.includes('waiting-for-external-validation')).toBe(false);
          }
          expect(s.printedCopies).toBeGreaterThanOrEqual(0);
        });
      }),
      { seed, numRuns: 300 },
    );
  });

  it('refuses what the workflow forbids', () => {
    const { states } = run('notify', []);
    const notified = states[0]!;
    expect(notified.status).toBe('notified');
    expect(allFlags(notified)).toEqual(['incomplete']);
    expect(refusal(notified, 'register')?.code).toBe('action_not_allowed');
    expect(refusal(notified, 'validate')?.code).toBe('action_not_allowed');
    expect(refusal(notified, 'declare')).toBeNull();
    const flagged = apply(apply(notified, entryFor(notified, { action: 'declare', user: 0, pending: false, system: false, value: 1 }, 1)), {
      action: 'duplicate-detected',
      at: new Date(),
      actorId: null,
      data: { registrationId: ID, matches: [OTHER] },
    });
    expect(refusal(flagged, 'register')?.code).toBe('potential_duplicate_unresolved');
    expect(refusal(flagged, 'validate')?.code).toBe('potential_duplicate_unresolved');
    expect(() => apply(null, { action: 'validate', at: new Date(), actorId: null, data: { registrationId: ID } })).toThrow();
  });
});

/**
 * A rebuild folds the ledger two ways: the bulk pass (each stream whole, in stream order, straight
 * into the shadow) and the entry batches in ledger order (what catches up after it, and what runs
 * when the bulk pass declines). Random registrations, their entries interleaved in the ledger, must
 * come out of both row for row as the JS fold of their own entries.
 */
describe('the registrations projection rebuilt from the ledger', () => {
  let services: Services;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ services, stop } = await createTestApp());
  });
  afterAll(async () => stop?.());

  it('comes out of the bulk pass and of ledger-order batches identical to the fold, row for row', async () => {
    const db = services.db;
    const streams = fc.sample(runs, { seed, numRuns: 80 }).map(([create, steps], k) => {
      const id = `0190a0a0-0000-7000-8000-${String(1000 + k).padStart(12, '0')}`;
      // Each registration gets its own id and tracking id (unique in the table), nothing else changes.
      // Users are uuids in the table.
      const user = (u: string | null | undefined) => (u ? `0190a0a0-0000-7000-9000-00000000000${u.slice(1)}` : u);
      const entries = run(create, steps).entries.map((e, i) => {
        const data = { ...e.data, registrationId: id } as EntryData;
        // Offices in two districts, so the workqueue counters have several offices to keep apart.
        if (i === 0) data.create = { ...data.create!, trackingId: `T${String(k).padStart(6, '0')}`, officePath: `/a/d${k % 2}/o${k % 3}/` };
        if (data.assignee) data.assignee = user(data.assignee)!;
        if (data.registrationNumber) data.registrationNumber = `${k}-${data.registrationNumber}`;
        return { ...e, actorId: user(e.actorId) ?? null, data };
      });
      return { id, entries };
    });
    // Interleave the streams in the ledger, as concurrent writers do (a stream keeps its own order).
    const cursors = streams.map(() => 0);
    const order: Array<{ k: number; i: number }> = [];
    for (let left = streams.reduce((n, s) => n + s.entries.length, 0), x = seed; left > 0; left--) {
      let k = (x = (x * 1103515245 + 12345) % 2 ** 31) % streams.length;
      while (cursors[k]! >= streams[k]!.entries.length) k = (k + 1) % streams.length;
      order.push({ k, i: cursors[k]!++ });
    }
    await db.transaction().execute(async (trx) => {
      for (const { k, i } of order) {
        const e = streams[k]!.entries[i]!;
        await sql`INSERT INTO ledger_entries (id, stream, stream_seq, type, data, data_hash, actor_kind, actor_id, occurred_at, recorded_at, hash)
          VALUES (gen_random_uuid(), ${`registration:${streams[k]!.id}`}, ${i + 1}, ${`registration.${e.action}`}, ${JSON.stringify(e.data)}::jsonb, '\\x00'::bytea,
            ${e.actorId === null ? 'system' : 'user'}, ${e.actorId}, ${e.at}, ${e.at}, '\\x00'::bytea)`.execute(trx);
      }
    });
    const expected = new Map(streams.map((s) => [s.id, fold(s.entries)!]));
    const rowsOf = async (table: string) =>
      (await sql<RegistrationRow>`SELECT *, event_date::text AS event_date FROM ${sql.table(table)} ORDER BY id`.execute(db)).rows;
    const countersOf = async (table: string) =>
      (await sql<{ office_path: string; queue: string; n: number }>`SELECT office_path, queue, n FROM ${sql.table(table)} ORDER BY office_path, queue`.execute(db)).rows;
    // What the counters must hold: count(*) of each queue's rows per office, with the lists' own predicates.
    const recounted = async (table: string) =>
      (
        await sql<{ office_path: string; queue: string; n: number }>`${sql.join(
          COUNTED_QUEUES.map((q) => sql`SELECT office_path, ${q}::text AS queue, count(*)::int AS n FROM ${sql.table(table)} WHERE ${QUEUES[q]!()} GROUP BY office_path`),
          sql` UNION ALL `,
        )} ORDER BY office_path, queue`.execute(db)
      ).rows;

    // The bulk pass on its own: it covers every entry but the reads, and declines nothing.
    await sql`CREATE TABLE registrations_bulk (LIKE registrations INCLUDING ALL)`.execute(db);
    await sql`CREATE TABLE registration_queue_counts_bulk (LIKE registration_queue_counts INCLUDING ALL)`.execute(db);
    const covered = await db.transaction().execute(async (trx) => {
      const horizon = (await sql<{ h: string }>`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS h`.execute(trx)).rows[0]!.h;
      return registrationsProjection.bulkRebuild(trx, { registrations: 'registrations_bulk', registration_queue_counts: 'registration_queue_counts_bulk' }, horizon);
    });
    expect(covered).toBe(streams.reduce((n, s) => n + s.entries.filter((e) => e.action !== 'read').length, 0));
    const bulk = await rowsOf('registrations_bulk');
    expect(bulk).toHaveLength(streams.length);
    for (const r of bulk) expect(rowToState(r)).toEqual(expected.get(r.id));
    const counters = await countersOf('registration_queue_counts_bulk');
    expect(counters).toEqual(await recounted('registrations_bulk'));
    expect(new Set(counters.map((c) => c.office_path)).size).toBeGreaterThan(2);

    // The projector's rebuild (bulk pass, then catching up in ledger order, then the swap).
    await services.projector.rebuildNow('registrations');
    expect(await rowsOf('registrations')).toEqual(bulk);
    expect(await countersOf('registration_queue_counts')).toEqual(counters);

    // Ledger order, in small batches that split streams, into a table of the same shape.
    await sql`DROP TABLE IF EXISTS registrations_batched`.execute(db);
    await sql`CREATE TABLE registrations_batched (LIKE registrations INCLUDING ALL)`.execute(db);
    await sql`DROP TABLE IF EXISTS registration_queue_counts_batched`.execute(db);
    await sql`CREATE TABLE registration_queue_counts_batched (LIKE registration_queue_counts INCLUDING ALL)`.execute(db);
    for (let after: Parameters<Services['ledger']['readAfter']>[1]; ; ) {
      const page = await services.ledger.readAfter(db, after, registrationsProjection.consumes, 7);
      if (!page.entries.length) break;
      await registrationsProjection.apply(db, page.entries, { registrations: 'registrations_batched', registration_queue_counts: 'registration_queue_counts_batched' });
      after = page.entries[page.entries.length - 1]!.cursor;
    }
    expect(await rowsOf('registrations_batched')).toEqual(bulk);
    // Moved entry by entry (old queues out, new queues in), the counters end where the recount does.
    expect(await countersOf('registration_queue_counts_batched')).toEqual(counters);
  });
});
