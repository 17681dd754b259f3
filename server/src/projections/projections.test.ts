import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, setupAdmin, startSiblingServer, startTestServer } from '../../test/harness.js';
import { factories } from '../../test/factories.js';
import type { App } from '../app.js';
import type { Services } from '../services.js';
import type { Logger } from '../kernel/logger.js';
import { systemContext } from '../kernel/access.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import { Projector } from './projector.js';
import type { Projection } from './projection.js';

let app: App;
let services: Services;
let stop: () => Promise<void>;
let admin: string;

beforeAll(async () => {
  ({ app, services, stop } = await createTestApp());
  admin = (await setupAdmin(app)).authorization;
});
afterAll(() => stop());

const inject = (method: string, url: string, authorization: string | undefined, payload?: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: method as 'GET', url, headers: { ...(authorization ? { authorization } : {}), ...headers }, ...(payload !== undefined ? { payload: payload as string } : {}) });

const rows = async (table: string, order: string) => (await services.pool.query(`SELECT * FROM ${table} ORDER BY ${order}`)).rows as Record<string, unknown>[];
const indexNames = async (table: string) => (await services.pool.query(`SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY 1`, [table])).rows.map((r: { indexname: string }) => r.indexname);

/** Rebuilds through the API and polls until the swap, as `cairn projections rebuild` does. */
async function rebuildViaApi(name: string) {
  const r = await inject('POST', `/api/v1/projections/${name}/rebuild`, admin);
  expect(r.statusCode, r.body).toBe(202);
  expect(r.json().projection.name).toBe(name);
  for (let i = 0; i < 400; i++) {
    const p = (await inject('GET', `/api/v1/projections/${name}`, admin)).json().projection;
    if (p.rebuild === null && p.rebuiltAt) return p;
    if (p.rebuild?.failing) throw new Error(`rebuild failing: ${p.rebuild.failing.error}`);
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error('rebuild did not finish');
}

/** A logger that keeps what the projector reports (the test's only stand-in: a sink for log lines). */
function captureLog() {
  const lines: { level: string; msg: string; obj: Record<string, unknown> }[] = [];
  const at = (level: string) => (obj: unknown, msg?: string) => lines.push({ level, msg: typeof obj === 'string' ? obj : (msg ?? ''), obj: typeof obj === 'object' && obj ? (obj as Record<string, unknown>) : {} });
  const log = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') } as unknown as Logger;
  return { log, lines };
}

async function appendTicks(ledger: LedgerService, n: number, type = 'proj.tick', extra: (i: number) => Record<string, unknown> = () => ({})) {
  const prepared = ledger.prepare(systemContext, Array.from({ length: n }, (_, i) => ({ type, data: { i, ...extra(i) } })));
  return ledger.append(systemContext, prepared);
}

describe('the event store\'s current versions (ledger_superseded) as an inline projection', () => {
  it('is written in the modifying transaction, and a rebuild from the ledger comes out identical, row for row', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await inject('POST', '/api/v1/events', admin, { events: [{ type: 'proj.note', stream: `note:${i}`, data: { text: `v0 ${i}` } }] });
      expect(r.statusCode, r.body).toBe(201);
      ids.push(r.json().events[0].id);
    }
    // Chains of versions: event 0 modified three times, 1-3 once; 4 modified then deleted.
    const modify = async (id: string, text: string) => {
      const r = await inject('PATCH', `/api/v1/events/${id}`, admin, { data: { text } });
      expect(r.statusCode, r.body).toBe(200);
      return r.json().id as string;
    };
    let cur = ids[0]!;
    for (let v = 1; v <= 3; v++) cur = await modify(cur, `v${v}`);
    for (const id of ids.slice(1, 4)) await modify(id, 'changed');
    const four = await modify(ids[4]!, 'changed');
    expect((await inject('DELETE', `/api/v1/events/${four}`, admin)).statusCode).toBe(204);
    // Read-your-writes and the uniqueness rule hold: the old version is no longer modifiable at once.
    expect((await inject('PATCH', `/api/v1/events/${ids[0]}`, admin, { data: { text: 'late' } })).statusCode).toBe(409);

    const before = await rows('ledger_superseded', 'entry_id');
    expect(before).toHaveLength(3 + 3 + 1);
    const beforeIdx = await indexNames('ledger_superseded');

    const status = await rebuildViaApi('event-store.superseded');
    expect(status).toMatchObject({ mode: 'inline', version: 1, behind: 0, failing: null });
    expect(await rows('ledger_superseded', 'entry_id')).toEqual(before);
    expect(await indexNames('ledger_superseded')).toEqual(beforeIdx);

    // Drop the state entirely, rebuild it from the ledger alone.
    await services.pool.query('DELETE FROM ledger_superseded');
    await services.projector.rebuildNow('event-store.superseded');
    expect(await rows('ledger_superseded', 'entry_id')).toEqual(before);
    // The rebuilt table still enforces the rule and still answers versions.
    expect((await inject('PATCH', `/api/v1/events/${ids[0]}`, admin, { data: { text: 'late' } })).statusCode).toBe(409);
    const versions = (await inject('GET', `/api/v1/events/${cur}/versions`, admin)).json();
    expect(versions.versions).toHaveLength(4);
    expect(versions.currentId).toBe(cur);
  });
});

describe('the data hub\'s records as an inline projection', () => {
  it('folds captures, edits, deletions and imports; dropped and rebuilt from the ledger it is identical, row for row', async () => {
    const make = factories(app, admin);
    const ws = await make.workspace('Projection clinic');
    const subjectIds: string[] = [];
    for (let i = 0; i < 3; i++) subjectIds.push(await make.subject(ws, `P-${i}`));
    const recordIds: string[] = [];
    for (const s of subjectIds) {
      const session = await make.session(s);
      for (let k = 0; k < 3; k++) {
        const symptoms = Object.fromEntries(Array.from({ length: 7 }, (_, q) => [`q${q + 1}`, (q + k) % 4]));
        const r = await inject('POST', `/api/v1/sessions/${session}/records`, admin, { instrument: { name: 'gad-7', edition: 1 }, data: { symptoms, difficulty: 1 } });
        expect(r.statusCode, r.body).toBe(201);
        // Read-your-writes: the answer is the stored row.
        expect(r.json().record.version).toBe(1);
        recordIds.push(r.json().record.id);
      }
    }
    const edited = await inject('PUT', `/api/v1/records/${recordIds[0]}`, admin, { version: 1, data: { symptoms: { q1: 3, q2: 3, q3: 3, q4: 3, q5: 3, q6: 3, q7: 3 }, difficulty: 3 } });
    expect(edited.statusCode, edited.body).toBe(200);
    expect(edited.json().record).toMatchObject({ version: 2, measures: expect.objectContaining({}) });
    // Optimistic concurrency still answers from the projected row in the writer's transaction.
    expect((await inject('PUT', `/api/v1/records/${recordIds[0]}`, admin, { version: 1, data: { symptoms: { q1: 0, q2: 0, q3: 0, q4: 0, q5: 0, q6: 0, q7: 0 } } })).statusCode).toBe(409);
    expect((await inject('DELETE', `/api/v1/records/${recordIds[1]}`, admin, { reason: 'entered twice' })).statusCode).toBe(204);
    const header = 'subject,date,' + Array.from({ length: 7 }, (_, q) => `symptoms.q${q + 1}`).join(',') + ',difficulty';
    const csv = [header, ...Array.from({ length: 40 }, (_, i) => `IMP-${i % 7},2024-0${1 + (i % 9)}-1${i % 10},${[1, 2, 0, 1, 2, 3, 0].join(',')},1`)].join('\n') + '\n';
    const imp = await app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/imports?instrument=gad-7&edition=1`, headers: { authorization: admin, 'content-type': 'text/csv' }, payload: csv });
    expect(imp.statusCode, imp.body).toBe(201);

    const before = await rows('records', 'id');
    expect(before.length).toBe(9 + 40);
    expect(before.filter((r) => r.deleted_at !== null)).toHaveLength(1);
    const beforeIdx = await indexNames('records');

    await rebuildViaApi('datahub.records');
    expect(await rows('records', 'id')).toEqual(before);
    expect(await indexNames('records')).toEqual(beforeIdx);

    await services.pool.query('TRUNCATE records');
    expect((await inject('GET', `/api/v1/records/${recordIds[0]}`, admin)).statusCode).toBe(404);
    await services.projector.rebuildNow('datahub.records');
    expect(await rows('records', 'id')).toEqual(before);
    const back = await inject('GET', `/api/v1/records/${recordIds[0]}`, admin);
    expect(back.statusCode).toBe(200);
    expect(back.json().record.version).toBe(2);
  });
});

describe('rebuilding an inline projection while writers write', () => {
  it('loses and doubles nothing across the swap: the result equals a quiet rebuild of the same ledger', async () => {
    const make = factories(app, admin);
    const ws = await make.workspace('Busy clinic');
    const session = await make.session(await make.subject(ws, 'BUSY-1'));
    const capture = async (k: number) => {
      const symptoms = Object.fromEntries(Array.from({ length: 7 }, (_, q) => [`q${q + 1}`, (q + k) % 4]));
      const r = await inject('POST', `/api/v1/sessions/${session}/records`, admin, { instrument: { name: 'gad-7', edition: 1 }, data: { symptoms, difficulty: 1 } });
      expect(r.statusCode, r.body).toBe(201);
      const id = r.json().record.id as string;
      if (k % 3 === 0) expect((await inject('PUT', `/api/v1/records/${id}`, admin, { version: 1, data: { symptoms, difficulty: 2 } })).statusCode).toBe(200);
    };
    await Promise.all(Array.from({ length: 10 }, (_, k) => capture(k)));
    // Writers keep capturing and editing while the rebuild runs and swaps.
    let writing = true;
    let written = 10;
    const writers = Array.from({ length: 3 }, async () => {
      while (writing) await capture(written++);
    });
    await services.projector.rebuildNow('datahub.records');
    writing = false;
    await Promise.all(writers);
    const live = await rows('records', 'id');
    expect(live.filter((r) => r.workspace_id === ws)).toHaveLength(written);
    await services.projector.rebuildNow('datahub.records');
    expect(await rows('records', 'id')).toEqual(live);
  });
});

describe('async projections', () => {
  const table = 'proj_test_applied';
  let poison = true;
  const make = (over: Partial<Projection> = {}): Projection => ({
    name: 'test.applied',
    version: 1,
    mode: 'async',
    consumes: { typePrefixes: ['proj.async.'] },
    tables: [table],
    batchSize: 7,
    async apply(trx, entries, tables) {
      for (const e of entries) {
        if (poison && (e.data as { poison?: boolean }).poison) throw new Error('cannot fold a poisoned entry');
        await sql`INSERT INTO ${sql.table(tables[table]!)} (entry_id, type, n) VALUES (${e.id}::uuid, ${e.type}, ${(e.data as { i: number }).i})`.execute(trx);
      }
    },
    ...over,
  });

  beforeAll(async () => {
    await services.pool.query(`CREATE TABLE ${table} (entry_id uuid NOT NULL, type text NOT NULL, n int NOT NULL)`);
    await services.pool.query(`CREATE INDEX ${table}_type_idx ON ${table} (type, n)`);
  });

  it('applies each entry exactly once in ledger order, stops on a failing entry without skipping it, reports it, and resumes', async () => {
    const { log, lines } = captureLog();
    const projector = new Projector(services.db, services.ledger, log, { retryMs: 0 });
    projector.register(make());
    await appendTicks(services.ledger, 20, 'proj.async.tick');
    const poisoned = await appendTicks(services.ledger, 1, 'proj.async.tick', () => ({ i: 99, poison: true }));
    await appendTicks(services.ledger, 5, 'proj.async.tick', (i) => ({ i: 100 + i }));
    await appendTicks(services.ledger, 3, 'proj.other'); // not consumed

    await projector.catchUp();
    const applied = (await services.pool.query(`SELECT entry_id, n FROM ${table}`)).rows;
    expect(applied).toHaveLength(20);
    let status = (await projector.list()).find((p) => p.name === 'test.applied')!;
    expect(status.failing?.entryId).toBe(poisoned[0]!.id);
    expect(status.failing?.error).toContain('poisoned');
    expect(status.behind).toBe(6);
    expect(status.secondsBehind).toBeGreaterThanOrEqual(0);
    const failures = lines.filter((l) => l.level === 'error');
    expect(failures).toHaveLength(1);
    expect(failures[0]!.msg).toContain('test.applied');
    expect(failures[0]!.msg).toContain(poisoned[0]!.id);

    // Trying again does not skip it nor log it again.
    await projector.catchUp();
    expect((await services.pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(20);
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);

    // /health shows where it stands (without the error text, which may quote data).
    const projectionsInHealth = async () => (await inject('GET', '/api/v1/health', undefined)).json().projections as { name: string; failingEntry: string | null; behind: number }[];
    // The app's own projector does not know test.applied; register it there too (no loop runs in createTestApp).
    services.projector.register(make({ apply: async () => { throw new Error('never called'); } }));
    const h = (await projectionsInHealth()).find((p) => p.name === 'test.applied')!;
    expect(h).toMatchObject({ failingEntry: poisoned[0]!.id, behind: 6 });

    poison = false;
    await projector.catchUp();
    status = (await projector.list()).find((p) => p.name === 'test.applied')!;
    expect(status).toMatchObject({ failing: null, behind: 0, applied: 26 });
    const all = (await services.pool.query(`SELECT entry_id, count(*)::int AS c FROM ${table} GROUP BY 1`)).rows;
    expect(all).toHaveLength(26);
    expect(all.every((r: { c: number }) => r.c === 1)).toBe(true);
    // Ledger order: n follows the append order.
    const ns = (await services.pool.query(`SELECT n FROM ${table} ORDER BY n`)).rows.map((r: { n: number }) => r.n);
    expect(ns).toEqual([...Array.from({ length: 20 }, (_, i) => i), 99, 100, 101, 102, 103, 104]);
    expect((await projectionsInHealth()).find((p) => p.name === 'test.applied')).toMatchObject({ failingEntry: null, behind: 0 });
  });

  it('catches up after downtime from its stored position, and rebuilds beside the live table, swapping once caught up', async () => {
    await appendTicks(services.ledger, 30, 'proj.async.tick', (i) => ({ i: 1000 + i }));
    // A new process (a restarted node) continues from the stored position: nothing twice.
    const later = new Projector(services.db, services.ledger, captureLog().log);
    later.register(make());
    await later.catchUp();
    const count = async (t = table) => (await services.pool.query(`SELECT count(*)::int AS n, count(DISTINCT entry_id)::int AS d FROM ${t}`)).rows[0] as { n: number; d: number };
    expect(await count()).toEqual({ n: 56, d: 56 });
    const before = await rows(table, 'entry_id');

    // Half-way through a rebuild, readers still see the whole live state; the shadow holds the part built.
    await later.beginRebuild('test.applied');
    expect(await later.rebuildStep('test.applied')).toBe('progress');
    expect(await count()).toEqual({ n: 56, d: 56 });
    expect((await count(`${table}__rebuild`)).n).toBe(7);
    const progress = (await later.list()).find((p) => p.name === 'test.applied')!.rebuild!;
    expect(progress).toMatchObject({ applied: 7, total: 56, version: 1 });
    // Entries appended meanwhile reach the rebuilt state too.
    await appendTicks(services.ledger, 4, 'proj.async.tick', (i) => ({ i: 2000 + i }));
    await later.rebuildNow('test.applied');
    const after = await rows(table, 'entry_id');
    expect(after).toHaveLength(60);
    expect(after.filter((r) => (r.n as number) < 2000)).toEqual(before);
    expect(await indexNames(table)).toEqual([`${table}_type_idx`]);
    const st = (await later.list()).find((p) => p.name === 'test.applied')!;
    expect(st).toMatchObject({ rebuild: null, behind: 0, applied: 60 });
    // and the live projector carries on from the rebuilt position
    await appendTicks(services.ledger, 2, 'proj.async.tick', (i) => ({ i: 3000 + i }));
    await later.catchUp();
    expect(await count()).toEqual({ n: 62, d: 62 });

    // A node starting with a new version of the fold rebuilds it, and its loop follows the ledger.
    const v2 = new Projector(services.db, services.ledger, captureLog().log, { pollMs: 20 });
    v2.register(make({ version: 2 }));
    await v2.start();
    try {
      await appendTicks(services.ledger, 3, 'proj.async.tick', (i) => ({ i: 4000 + i }));
      let st = (await v2.list()).find((p) => p.name === 'test.applied')!;
      for (let i = 0; i < 400 && (st.version !== 2 || st.rebuild !== null || st.behind > 0); i++) {
        await new Promise((r) => setTimeout(r, 25));
        st = (await v2.list()).find((p) => p.name === 'test.applied')!;
      }
      expect(st).toMatchObject({ version: 2, rebuild: null, behind: 0, applied: 65 });
    } finally {
      await v2.stop();
    }
    expect(await count()).toEqual({ n: 65, d: 65 });

    // An upgrade arriving mid-rebuild starts the rebuild over: the older version's shadow has the
    // shape the table had then, which the new version's migration changed.
    const old = new Projector(services.db, services.ledger, captureLog().log);
    old.register(make({ version: 2 }));
    await old.beginRebuild('test.applied');
    expect(await old.rebuildStep('test.applied')).toBe('progress');
    await services.pool.query(`ALTER TABLE ${table} ADD COLUMN note text`);
    const v3 = new Projector(services.db, services.ledger, captureLog().log);
    v3.register(make({ version: 3 }));
    await v3.beginRebuild('test.applied');
    expect((await v3.list()).find((p) => p.name === 'test.applied')!.rebuild).toMatchObject({ version: 3, applied: 0 });
    await services.pool.query(`SELECT note FROM ${table}__rebuild`);
    await v3.rebuildNow('test.applied');
    expect(await count()).toEqual({ n: 65, d: 65 });
    await services.pool.query(`ALTER TABLE ${table} DROP COLUMN note`);
  });

  it('lists and rebuilds for admins only, with stable errors', async () => {
    await inject('POST', '/api/v1/users', admin, { username: 'pmember', password: 'member password 1', role: 'member' });
    const member = `Bearer ${(await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'pmember', password: 'member password 1' } })).json().accessToken}`;
    expect((await inject('GET', '/api/v1/projections', member)).json().error.code).toBe('forbidden');
    expect((await inject('POST', '/api/v1/projections/datahub.records/rebuild', member)).statusCode).toBe(403);
    expect((await inject('GET', '/api/v1/projections', undefined)).statusCode).toBe(401);
    const missing = await inject('POST', '/api/v1/projections/no-such/rebuild', admin);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
    expect((await inject('POST', '/api/v1/projections/Bad%20Name/rebuild', admin)).statusCode).toBe(400);
    const list = (await inject('GET', '/api/v1/projections', admin)).json().projections as { name: string }[];
    expect(list.map((p) => p.name)).toEqual(expect.arrayContaining(['datahub.records', 'event-store.superseded']));
  });
});

describe('two nodes', () => {
  it('run the projector concurrently without applying any entry twice', async () => {
    const a = await startTestServer();
    const b = await startSiblingServer(a);
    try {
      await a.services.pool.query('CREATE TABLE proj_nodes (entry_id uuid NOT NULL, node text NOT NULL)');
      const onNode = (node: string): Projection => ({
        name: 'test.nodes',
        version: 1,
        mode: 'async',
        consumes: { types: ['proj.node'] },
        tables: ['proj_nodes'],
        batchSize: 5,
        async apply(trx, entries, tables) {
          await sql`INSERT INTO ${sql.table(tables.proj_nodes!)} (entry_id, node) SELECT unnest(${entries.map((e) => e.id)}::uuid[]), ${node}`.execute(trx);
          await sql`SELECT pg_sleep(0.005)`.execute(trx);
        },
      });
      a.services.projector.register(onNode('a'));
      b.services.projector.register(onNode('b'));
      // Appends through both nodes wake both projectors; keep going until each has applied some.
      let total = 0;
      const by = async () => (await a.services.pool.query('SELECT node, count(*)::int AS n FROM proj_nodes GROUP BY node')).rows as { node: string; n: number }[];
      for (let round = 0; round < 40; round++) {
        await Promise.all([appendTicks(a.services.ledger, 10, 'proj.node'), appendTicks(b.services.ledger, 10, 'proj.node')]);
        total += 20;
        const nodes = await by();
        if (round >= 4 && nodes.length === 2) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      // One node took the lock every time (seen once in three CI runs on two cores): its projector
      // stops, and the other must go on from the position it left, without applying anything twice.
      const applied = await by();
      if (applied.length === 1) {
        await (applied[0]!.node === 'a' ? a : b).services.projector.stop();
        await Promise.all([appendTicks(a.services.ledger, 10, 'proj.node'), appendTicks(b.services.ledger, 10, 'proj.node')]);
        total += 20;
      }
      for (let i = 0; i < 400; i++) {
        const n = (await a.services.pool.query('SELECT count(*)::int AS n FROM proj_nodes')).rows[0].n as number;
        if (n >= total) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      const stats = (await a.services.pool.query('SELECT count(*)::int AS n, count(DISTINCT entry_id)::int AS d FROM proj_nodes')).rows[0];
      expect(stats).toEqual({ n: total, d: total });
      const nodes = await by();
      expect(nodes.map((x) => x.node).sort()).toEqual(['a', 'b']);
      const st = (await a.services.projector.list()).find((p) => p.name === 'test.nodes')!;
      expect(st).toMatchObject({ behind: 0, applied: total, failing: null });
    } finally {
      await b.stop();
      await a.stop();
    }
  });
});
