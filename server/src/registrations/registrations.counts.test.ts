import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnError, type RegistrationActionName, type WorkqueueCounts } from '@cairn/sdk';
import type { TestServer } from '../../test/harness.js';
import { birthAnswers, place, registrationWorld, type RegistrationClient } from '../../test/registration-world.js';
import { COUNTED_QUEUES, QUEUES } from './registrations.store.js';

/**
 * The workqueue counters (registration_queue_counts, part of the inline registrations projection):
 * random histories of actions by registrars of several offices in several jurisdictions, after
 * which every counter must equal count(*) over the table with the queue's own predicate, every
 * caller must get exactly the counts of their reach, and a rebuild from the ledger must give the
 * same counter rows. FUZZ_SEED=<n> replays a run.
 */
const PASSWORD = 'correct horse battery staple';
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

let server: TestServer;
let offices: Record<'o1' | 'o1b' | 'o2' | 'o3', string>;
let registrars: Record<'o1' | 'o1b' | 'o2' | 'o3', RegistrationClient>;
let national: RegistrationClient;
let district1: string;

/** A small deterministic generator (the run's seed), so a failing history replays. */
function random(s: number) {
  let x = s >>> 0 || 1;
  return (n: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
}

const db = () => server.services.db;
/** A name of letters only (a personName takes no digits): 0 → Ba, 1 → Be, ... */
const nameFor = (i: number) => `B${'aeiou'[i % 5]}${'bdfgklmnprst'[Math.floor(i / 5) % 12]}${'aeiou'[Math.floor(i / 60) % 5]}`;

/** Every counter row, in key order. */
const counterRows = async () =>
  (await sql<{ office_path: string; queue: string; n: number }>`SELECT office_path, queue, n FROM registration_queue_counts ORDER BY office_path COLLATE "C", queue`.execute(db())).rows;

/** What the counters must hold: count(*) over the table per office and queue, with the lists' predicates (zeros left out). */
async function recounted() {
  const out: Array<{ office_path: string; queue: string; n: number }> = [];
  for (const q of COUNTED_QUEUES) {
    const r = await sql<{ office_path: string; n: number }>`SELECT office_path, count(*)::int AS n FROM registrations WHERE ${QUEUES[q]!()} GROUP BY office_path`.execute(db());
    out.push(...r.rows.map((x) => ({ office_path: x.office_path, queue: q, n: x.n })));
  }
  return out.sort((a, b) => (a.office_path < b.office_path ? -1 : a.office_path > b.office_path ? 1 : a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0));
}

/** count(*) of each queue within a reach (null: the country) for a user, as the counts must answer. */
async function countedIn(reach: string | null, userId: string): Promise<WorkqueueCounts> {
  const inReach = reach === null ? sql`true` : sql`office_path LIKE ${`${reach}%`}`;
  const out: Record<string, number> = {};
  for (const q of Object.keys(QUEUES)) out[q] = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM registrations WHERE ${inReach} AND ${QUEUES[q]!(userId)}`.execute(db())).rows[0]!.n;
  return out as unknown as WorkqueueCounts;
}

const pathOf = async (id: string) => (await sql<{ path: string }>`SELECT path FROM workspaces WHERE id = ${id}`.execute(db())).rows[0]!.path;

/** Each caller's counts equal count(*) over their reach; the registrars of one district see the same. */
async function expectEveryCallerRight() {
  const reachOf = async (office: string) => (await pathOf(office)).replace(/[^/]+\/$/, '');
  for (const k of Object.keys(registrars) as Array<keyof typeof registrars>) {
    const c = registrars[k];
    expect(await c.registrations.workqueues(), `counts of the registrar of ${k}`).toEqual(await countedIn(await reachOf(offices[k]), c.userId));
  }
  expect(await national.registrations.workqueues()).toEqual(await countedIn(null, national.userId));
}

beforeAll(async () => {
  const world = await registrationWorld(PASSWORD);
  server = world.server;
  const d = db();
  const { tree } = world;
  district1 = tree.district1;
  // A second office in district 1 (same jurisdiction as office 1), and another province.
  const o1b = await place(d, 'Office One B', 'office', tree.district1);
  const province2 = await place(d, 'Province Two', 'area', tree.country);
  const district3 = await place(d, 'District Three', 'area', province2);
  const o3 = await place(d, 'Office Three', 'office', district3);
  offices = { o1: tree.office1, o1b, o2: tree.office2, o3 };
  server.services.registrations.duplicateCheckers.length = 0;
  const people = await world.users({
    o1: ['reg-o1', 'local-registrar', offices.o1],
    o1b: ['reg-o1b', 'local-registrar', offices.o1b],
    o2: ['reg-o2', 'local-registrar', offices.o2],
    o3: ['reg-o3', 'local-registrar', offices.o3],
    national: ['national', 'national-registrar', offices.o2],
  });
  ({ national, ...registrars } = people);
});
afterAll(async () => {
  await server?.stop();
});

describe('workqueue counters', () => {
  it('equal count(*) over the table after a random history across offices and jurisdictions, for every caller', async () => {
    const next = random(seed);
    const keys = Object.keys(offices) as Array<keyof typeof offices>;
    const made: Array<{ id: string; office: keyof typeof offices; archived?: boolean }> = [];
    // A declaration whose child is called "Dupe" is a potential duplicate of the first registration.
    server.services.registrations.duplicateCheckers.push(async (_db, reg) => ({ matches: reg.data['child.firstName'] === 'Dupe' && made[0] ? [made[0].id] : [] }));
    const ACTIONS: Array<[RegistrationActionName, (id: string, who: RegistrationClient) => Promise<Record<string, unknown>>]> = [
      ['declare', async () => ({ data: birthAnswers(district1, { 'child.firstName': next(4) === 0 ? 'Dupe' : 'Amina' }) })],
      ['validate', async () => ({})],
      ['register', async () => ({})],
      ['reject', async () => ({ reason: 'missing papers' })],
      ['archive', async () => ({})],
      ['print-certificate', async () => ({ data: { collector: { relation: 'mother', name: 'Awa Diallo' } } })],
      ['request-correction', async () => ({ reason: 'misspelt', data: { 'child.firstName': 'Mariama' } })],
      ['approve-correction', async () => ({})],
      ['reject-correction', async () => ({ reason: 'no proof' })],
      ['mark-not-duplicate', async () => ({ reason: 'different mothers' })],
      ['mark-as-duplicate', async (id, who) => ({ reason: 'same child', data: { duplicateOf: (await who.registrations.get(id)).duplicateOf[0] ?? made[0]!.id } })],
      ['unassign', async () => ({})],
    ];
    let applied = 0;
    let refused = 0;
    for (let step = 0; step < 90; step++) {
      if (!made.length || next(4) === 0) {
        const office = keys[next(keys.length)]!;
        const notify = next(3) === 0;
        const data = notify ? { 'child.lastName': 'Diallo' } : birthAnswers(district1, { 'child.firstName': made.length && next(5) === 0 ? 'Dupe' : nameFor(step) });
        const r = await registrars[office].registrations.create({ type: 'birth', action: notify ? 'notify' : 'declare', data });
        made.push({ id: r.id, office });
        continue;
      }
      // Archived registrations take no more actions: the history goes on with the others.
      const open = made.filter((m) => !m.archived);
      if (!open.length) continue;
      const target = open[next(open.length)]!;
      const who = registrars[target.office];
      try {
        await who.registrations.action(target.id, 'assign', { force: true });
        // Mostly an action the workflow allows now (so histories go far), sometimes any (refusals write nothing).
        const allowed = new Set((await who.registrations.get(target.id)).actions.filter((x) => x.allowed).map((x) => x.action));
        const choices = next(5) === 0 ? ACTIONS : ACTIONS.filter(([name]) => allowed.has(name));
        const [action, input] = (choices.length ? choices : ACTIONS)[next(choices.length || ACTIONS.length)]!;
        const done = await who.registrations.action(target.id, action, (await input(target.id, who)) as never);
        target.archived = done.registration.status === 'archived';
        applied++;
      } catch (e) {
        // Refused by the workflow (the wrong status, unresolved duplicates, a rule): nothing written.
        if (!(e instanceof CairnError) || e.status >= 500) throw e;
        refused++;
      }
      if (step % 30 === 29) {
        expect(await counterRows()).toEqual(await recounted());
        await expectEveryCallerRight();
      }
    }
    console.log(`registrations.counts: FUZZ_SEED=${seed}, ${applied} actions applied, ${refused} refused by the workflow`);
    expect(applied, `seed ${seed}: ${applied} actions applied, ${refused} refused`).toBeGreaterThan(10);
    const rows = await counterRows();
    expect(rows).toEqual(await recounted());
    // The history reached more than one queue in more than one office, and no counter is left at zero.
    expect(new Set(rows.map((r) => r.queue)).size).toBeGreaterThan(2);
    expect(new Set(rows.map((r) => r.office_path)).size).toBeGreaterThan(2);
    expect(rows.every((r) => r.n > 0)).toBe(true);
    await expectEveryCallerRight();
    // A count agrees with the list the registrar opens right after acting.
    for (const q of COUNTED_QUEUES) {
      const list = await registrars.o1.registrations.list({ queue: q, limit: 200 });
      expect((await registrars.o1.registrations.workqueues())[q], q).toBe(list.items.length);
    }
    server.services.registrations.duplicateCheckers.length = 0;
  });

  it('count only within the caller’s reach', async () => {
    const before = {
      o1: await registrars.o1.registrations.workqueues(),
      o2: await registrars.o2.registrations.workqueues(),
      o3: await registrars.o3.registrations.workqueues(),
      national: await national.registrations.workqueues(),
    };
    const r = await registrars.o1b.registrations.create({ type: 'birth', action: 'declare', data: birthAnswers(district1, { 'child.firstName': 'Reach' }) });
    expect((await registrars.o1.registrations.workqueues())['ready-for-review']).toBe(before.o1['ready-for-review'] + 1); // same district, other office
    expect(await registrars.o2.registrations.workqueues()).toEqual(before.o2);
    expect(await registrars.o3.registrations.workqueues()).toEqual(before.o3);
    expect((await national.registrations.workqueues())['ready-for-review']).toBe(before.national['ready-for-review'] + 1);
    await registrars.o1b.registrations.action(r.id, 'assign');
    await registrars.o1b.registrations.action(r.id, 'register');
    const after = await registrars.o1.registrations.workqueues();
    expect(after['ready-for-review']).toBe(before.o1['ready-for-review']);
    expect(after['ready-to-print']).toBe(before.o1['ready-to-print'] + 1);
    expect(await registrars.o2.registrations.workqueues()).toEqual(before.o2);
  });

  it('stay right under concurrent writers in the same and in other offices (no deadlock)', async () => {
    const keys = Object.keys(offices) as Array<keyof typeof offices>;
    const created = await Promise.all(
      Array.from({ length: 16 }, (_, i) => registrars[keys[i % keys.length]!].registrations.create({ type: 'birth', action: i % 3 ? 'declare' : 'notify', data: i % 3 ? birthAnswers(district1, { 'child.firstName': nameFor(100 + i) }) : { 'child.lastName': 'Busy' } })),
    );
    await Promise.all(
      created.map(async (r, i) => {
        const who = registrars[keys[i % keys.length]!];
        await who.registrations.action(r.id, 'assign');
        await who.registrations.action(r.id, r.status === 'notified' ? 'archive' : 'register');
      }),
    );
    expect(await counterRows()).toEqual(await recounted());
  });

  it('count a legacy import’s registrations', async () => {
    const before = await counterRows();
    const csv = ['legacyId,child.firstName,child.lastName,child.sex,child.dob,child.placeOfBirth,mother.firstName,mother.lastName',
      ...Array.from({ length: 12 }, (_, i) => `CNT-${i},${nameFor(200 + i)},Traoré,female,1990-01-0${1 + (i % 9)},${district1},Kadiatou,Traoré`)].join('\n');
    const declared = await registrars.o3.registrations.importCsv(csv, { type: 'birth', action: 'declare' });
    expect(declared.created).toBe(12);
    const notified = await registrars.o1.registrations.importCsv(csv.replace(/CNT-/g, 'CNN-'), { type: 'birth', action: 'notify' });
    expect(notified.created).toBe(12);
    const rows = await counterRows();
    expect(rows).not.toEqual(before);
    expect(rows).toEqual(await recounted());
    const n = (list: typeof rows, office: string, queue: string) => list.find((r) => r.office_path.endsWith(`/${office}/`) && r.queue === queue)?.n ?? 0;
    // Declared, duplicates or not, they wait for review in office 3; notified ones are in progress in office 1.
    expect(n(rows, offices.o3, 'ready-for-review')).toBe(n(before, offices.o3, 'ready-for-review') + 12);
    expect(n(rows, offices.o1, 'in-progress')).toBe(n(before, offices.o1, 'in-progress') + 12);
    await expectEveryCallerRight();
  });

  it('are rebuilt from the ledger identical row for row, and repaired when tampered with', async () => {
    const before = await counterRows();
    expect(before.length).toBeGreaterThan(4);
    await server.services.projector.rebuildNow('registrations');
    expect(await counterRows()).toEqual(before);
    await sql`UPDATE registration_queue_counts SET n = n + 7 WHERE queue = 'ready-to-print'`.execute(db());
    await sql`INSERT INTO registration_queue_counts (office_path, queue, n) VALUES ('/nowhere/', 'in-progress', 3)`.execute(db());
    expect(await counterRows()).not.toEqual(before);
    await server.services.projector.rebuildNow('registrations');
    expect(await counterRows()).toEqual(before);
    await expectEveryCallerRight();
  });
});
