import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import pg from 'pg';
import { startSiblingServer, startTestServer, type TestServer } from '../../test/harness.js';
import type { RunningServer } from '../main.js';
import { loadExample } from '../../test/fixtures/sandbox.js';

/**
 * Views over real HTTP: templates, instances, approval, runs, the cache and its invalidation,
 * scoping, escape attempts through the API, and bad input. The examples run here against
 * events stored through the events API.
 */
let server: TestServer;
let admin: string;
let member: string;
let db: pg.Pool;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Res = { status: number; body: any; text: string };
async function call(method: string, path: string, body?: unknown, authorization?: string, raw?: string): Promise<Res> {
  return callAt(server.url, method, path, body, authorization, raw);
}
async function callAt(base: string, method: string, path: string, body?: unknown, authorization?: string, raw?: string): Promise<Res> {
  const headers: Record<string, string> = {};
  if (authorization) headers.authorization = authorization;
  let payload: string | undefined = raw;
  if (body !== undefined) payload = JSON.stringify(body);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body: payload });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

const STEPS = 'activity.example/steps';
const CAL = 'calendar.example/entry';
const NOTE = 'notes.example/note';

async function newApp(name: string) {
  const reg = await call('POST', '/api/v1/apps', { name }, admin);
  expect(reg.status, reg.text).toBe(201);
  const assoc = await call('POST', '/api/v1/apps/associate', { associationCode: reg.body.associationCode });
  const res = await fetch(`${server.url}/api/v1/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: assoc.body.clientId, client_secret: assoc.body.clientSecret }).toString(),
  });
  const tok = (await res.json()) as { access_token: string };
  return { id: reg.body.id as string, auth: `Bearer ${tok.access_token}` };
}

async function grant(appAuth: string, eventType: string, rights: Record<string, boolean>) {
  const r = await call('POST', '/api/v1/apps/me/permission-requests', { eventType, ...rights, message: 'test' }, appAuth);
  expect(r.status, r.text).toBe(201);
  expect((await call('POST', `/api/v1/permission-requests/${r.body.id}/approve`, undefined, admin)).status).toBe(200);
}

async function approveAll(requests: { requestId: string | null; status: string }[]) {
  for (const r of requests) {
    if (r.status === 'pending') expect((await call('POST', `/api/v1/permission-requests/${r.requestId}/approve`, undefined, admin)).status).toBe(200);
  }
}

async function register(body: Record<string, unknown>) {
  const r = await call('POST', '/api/v1/view-templates', body, admin);
  expect([200, 201], r.text).toContain(r.status);
  return r.body as { id: string; latestVersion: number; version: number };
}

/** A ready-to-run instance of a fresh template for the given app. */
async function readyView(appAuth: string, name: string, files: Record<string, string>, opts: { runtime?: string; eventTypes?: string[]; limits?: Record<string, number>; configuration?: unknown } = {}) {
  const t = await register({ name, runtime: opts.runtime ?? 'javascript', files, eventTypes: opts.eventTypes ?? [], limits: opts.limits });
  const inst = await call('POST', '/api/v1/views', { templateId: t.id, configuration: opts.configuration ?? {} }, appAuth);
  expect(inst.status, inst.text).toBe(201);
  await approveAll(inst.body.permissionRequests);
  return inst.body.id as string;
}

const run = (appAuth: string, id: string, input?: unknown) => call('POST', `/api/v1/views/${id}/run`, input === undefined ? {} : { input }, appAuth);

/** Runs until the cache answers (a run's key only becomes cacheable once no older transaction is still open). */
async function runUntilCached(appAuth: string, id: string, input: unknown): Promise<Res> {
  for (let i = 0; i < 50; i++) {
    const r = await run(appAuth, id, input);
    expect(r.status, r.text).toBe(200);
    if (r.body.stats.cached) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('the result was never served from the cache');
}

let tracker: { id: string; auth: string };
let other: { id: string; auth: string };

beforeAll(async () => {
  server = await startTestServer({ CAIRN_WORKERS: 'false', CAIRN_LOGIN_RATE_LIMIT: '10000' });
  db = new pg.Pool({ connectionString: server.databaseUrl, max: 2 });
  const setup = await call('POST', '/api/v1/setup', { username: 'admin', password: 'correct horse battery staple' });
  admin = `Bearer ${setup.body.accessToken}`;
  await call('POST', '/api/v1/users', { username: 'mem', password: 'member password 1', role: 'member' }, admin);
  member = `Bearer ${(await call('POST', '/api/v1/auth/login', { username: 'mem', password: 'member password 1' })).body.accessToken}`;
  const obj = (props: Record<string, unknown>, required = Object.keys(props)) => ({ type: 'object', additionalProperties: false, required, properties: props });
  for (const [name, schema] of [
    [STEPS, obj({ steps: { type: 'integer' }, device: { type: 'string' } }, ['steps'])],
    [CAL, obj({ title: { type: 'string' }, end: { type: 'string', format: 'date-time' } })],
    [NOTE, obj({ text: { type: 'string' } })],
  ] as const) {
    const r = await call('POST', '/api/v1/event-types', { name, schema }, admin);
    expect(r.status, r.text).toBe(201);
  }
  tracker = await newApp('Tracker');
  other = await newApp('Other');
  await grant(tracker.auth, STEPS, { create: true, modify: true, delete: true });
  await grant(tracker.auth, CAL, { create: true });
  await grant(other.auth, NOTE, { create: true, read: true });
});
afterAll(async () => {
  await db?.end();
  await server?.stop();
});

async function append(appAuth: string, events: unknown[]) {
  const r = await call('POST', '/api/v1/events', { events }, appAuth);
  expect(r.status, r.text).toBe(201);
  return r.body;
}

/** Deterministic steps events over [start, start + days). */
function stepsEvents(count: number, start: string, days: number, seed: number) {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648), s / 2147483648);
  return Array.from({ length: count }, () => ({
    type: STEPS,
    occurredAt: new Date(Date.parse(start) + Math.floor(rnd() * days * 86_400_000)).toISOString(),
    data: { steps: Math.floor(rnd() * 5000) },
  }));
}

function expectedCounts(events: { occurredAt: string }[], from: string, to: string) {
  const counts: Record<string, number> = {};
  for (let t = Date.parse(from); t < Date.parse(to); t += 86_400_000) counts[new Date(t).toISOString().slice(0, 10)] = 0;
  for (const e of events) {
    const t = Date.parse(e.occurredAt);
    if (t >= Date.parse(from) && t < Date.parse(to)) counts[e.occurredAt.slice(0, 10)]! += 1;
  }
  return counts;
}

describe('templates', () => {
  it('only administrators register code; versions follow changes, identical sources are a no-op', async () => {
    const body = { name: 'Daily counts', runtime: 'javascript', files: loadExample('daily-counts-js'), eventTypes: [STEPS], description: 'Steps per day' };
    expect((await call('POST', '/api/v1/view-templates', body, member)).status).toBe(403);
    expect((await call('POST', '/api/v1/view-templates', body, tracker.auth)).status).toBe(403);
    expect((await call('POST', '/api/v1/view-templates', body)).status).toBe(401);

    const v1 = await call('POST', '/api/v1/view-templates', body, admin);
    expect(v1.status, v1.text).toBe(201);
    expect(v1.body).toMatchObject({ name: 'Daily counts', latestVersion: 1, version: 1, runtime: 'javascript', eventTypes: [STEPS], files: ['main.js'] });
    expect(v1.body.limits).toEqual({ memoryMb: 64, cpuMs: 2000, maxResultBytes: 1048576, maxQueryLimit: 1000 });
    const again = await call('POST', '/api/v1/view-templates', body, admin);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: v1.body.id, version: 1 });
    const changed = { ...body, files: { 'main.js': body.files['main.js'] + '\n// v2\n' }, limits: { cpuMs: 999_999, maxQueryLimit: 50 } };
    const v2 = await call('POST', '/api/v1/view-templates', changed, admin);
    expect(v2.status).toBe(201);
    expect(v2.body).toMatchObject({ id: v1.body.id, version: 2, latestVersion: 2 });
    expect(v2.body.limits).toMatchObject({ cpuMs: 30_000, maxQueryLimit: 50 });

    const detail = await call('GET', `/api/v1/view-templates/${v1.body.id}`, undefined, admin);
    expect(detail.body.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(detail.body.sources['main.js']).toContain('// v2');
    const old = await call('GET', `/api/v1/view-templates/${v1.body.id}/versions/1`, undefined, admin);
    expect(old.body.sources['main.js']).not.toContain('// v2');
    // Apps discover templates but do not read their code.
    const asApp = await call('GET', `/api/v1/view-templates/${v1.body.id}`, undefined, tracker.auth);
    expect(asApp.status).toBe(200);
    expect(asApp.body.sources).toBeUndefined();
    expect((await call('GET', `/api/v1/view-templates/${v1.body.id}/versions/1`, undefined, tracker.auth)).status).toBe(403);
    expect((await call('GET', '/api/v1/view-templates', undefined, member)).status).toBe(403);
    const list = await call('GET', '/api/v1/view-templates', undefined, tracker.auth);
    expect(list.body.templates.find((t: { id: string }) => t.id === v1.body.id)).toMatchObject({ latestVersion: 2, runtime: 'javascript' });

    // Every registration is in the ledger, with hashes of the sources.
    const audit = await db.query(`SELECT data FROM ledger_entries WHERE type = 'cairn.view.template_registered' AND data->>'templateId' = $1 ORDER BY position`, [v1.body.id]);
    expect(audit.rows.map((r) => r.data.version)).toEqual([1, 2]);
    expect(audit.rows[0].data.files['main.js']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('compiles files that import others in any order, including from folders', async () => {
    // The entry first: its imports must resolve against the other files, not against what was compiled before.
    const files = { 'main.js': "import { dayOf } from './lib/dates.js';\nexport default ({ input }) => dayOf(input.at);", 'lib/dates.js': "import { cut } from '../util.js';\nexport const dayOf = (iso) => cut(iso);", 'util.js': 'export const cut = (s) => s.slice(0, 10);' };
    const t = await call('POST', '/api/v1/view-templates', { name: 'Folders', runtime: 'javascript', files }, admin);
    expect(t.status, t.text).toBe(201);
    expect(t.body.files).toEqual(['lib/dates.js', 'main.js', 'util.js']);
    const inst = await call('POST', '/api/v1/views', { templateId: t.body.id }, tracker.auth);
    const r = await run(tracker.auth, inst.body.id, { at: '2024-05-06T10:00:00Z' });
    expect(r.body.result).toBe('2024-05-06');
    const missing = await call('POST', '/api/v1/view-templates', { name: 'Missing import', runtime: 'javascript', files: { 'main.js': "import { x } from './nope.js';\nexport default () => x;" } }, admin);
    expect(missing.status).toBe(422);
    expect(missing.body.error.code).toBe('view_compile_error');
    expect(missing.body.error.message).toContain('nope.js');
  });

  it('refuses code that does not compile, with the file and line, and bad declarations', async () => {
    const broken = await call('POST', '/api/v1/view-templates', { name: 'Broken', runtime: 'javascript', files: { 'main.js': 'export default async function () {\n  return {;\n}' } }, admin);
    expect(broken.status).toBe(422);
    expect(broken.body.error.code).toBe('view_compile_error');
    expect(broken.body.error.message).toMatch(/main\.js/);
    const py = await call('POST', '/api/v1/view-templates', { name: 'Broken py', runtime: 'python', files: { 'main.py': 'async def main(c, i, e):\n    return (\n' } }, admin);
    expect(py.status, py.text).toBe(422);
    expect(py.body.error.code).toBe('view_compile_error');
    const noEntry = await call('POST', '/api/v1/view-templates', { name: 'No entry', runtime: 'javascript', files: { 'lib.js': 'export const x = 1;' } }, admin);
    expect(noEntry.body.error.code).toBe('view_compile_error');
    const traversal = await call('POST', '/api/v1/view-templates', { name: 'Traversal', runtime: 'javascript', files: { 'main.js': 'export default () => 1', '../x.js': '' } }, admin);
    expect(traversal.body.error.code).toBe('view_compile_error');
    const unknownType = await call('POST', '/api/v1/view-templates', { name: 'Unknown type', runtime: 'javascript', files: { 'main.js': 'export default () => 1' }, eventTypes: ['nothing.example/here'] }, admin);
    expect(unknownType.status).toBe(400);
    expect(unknownType.body.error.details[0].pointer).toBe('/eventTypes/0');
    const systemType = await call('POST', '/api/v1/view-templates', { name: 'System type', runtime: 'javascript', files: { 'main.js': 'export default () => 1' }, eventTypes: ['auth.login'] }, admin);
    expect(systemType.status).toBe(403);
    const badRuntime = await call('POST', '/api/v1/view-templates', { name: 'Ruby', runtime: 'ruby', files: { 'main.rb': '' } }, admin);
    expect(badRuntime.status).toBe(400);
    const badName = await call('POST', '/api/v1/view-templates', { name: '<script>', runtime: 'javascript', files: { 'main.js': 'export default () => 1' } }, admin);
    expect(badName.status).toBe(400);
    const tooMany = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [i ? `f${i}.js` : 'main.js', 'export default () => 1']));
    expect((await call('POST', '/api/v1/view-templates', { name: 'Many', runtime: 'javascript', files: tooMany }, admin)).status).toBe(400);
  });

  it('deletes a template only while no instance uses it', async () => {
    const t = await register({ name: 'Short-lived', runtime: 'javascript', files: { 'main.js': 'export default () => 1' } });
    const inst = await call('POST', '/api/v1/views', { templateId: t.id }, tracker.auth);
    expect(inst.status).toBe(201);
    const refused = await call('DELETE', `/api/v1/view-templates/${t.id}`, undefined, admin);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'view_template_in_use', details: { instances: 1 } });
    expect((await call('DELETE', `/api/v1/views/${inst.body.id}`, undefined, other.auth)).status).toBe(404);
    expect((await call('DELETE', `/api/v1/views/${inst.body.id}`, undefined, tracker.auth)).status).toBe(204);
    expect((await call('DELETE', `/api/v1/view-templates/${t.id}`, undefined, member)).status).toBe(403);
    expect((await call('DELETE', `/api/v1/view-templates/${t.id}`, undefined, admin)).status).toBe(204);
    expect((await call('GET', `/api/v1/view-templates/${t.id}`, undefined, admin)).status).toBe(404);
    expect((await call('DELETE', `/api/v1/view-templates/${t.id}`, undefined, admin)).status).toBe(404);
    // The name is free again.
    expect((await call('POST', '/api/v1/view-templates', { name: 'Short-lived', runtime: 'javascript', files: { 'main.js': 'export default () => 2' } }, admin)).status).toBe(201);
  });
});

describe('instances, approval and runs', () => {
  it('files read requests for the template types and runs once they are approved, keeping the app\'s other rights', async () => {
    const t = await register({ name: 'Week', runtime: 'javascript', files: loadExample('calendar-week'), eventTypes: [CAL] });
    // Only apps create instances.
    expect((await call('POST', '/api/v1/views', { templateId: t.id }, admin)).status).toBe(403);
    const inst = await call('POST', '/api/v1/views', { templateId: t.id, configuration: { eventType: CAL } }, tracker.auth);
    expect(inst.status, inst.text).toBe(201);
    expect(inst.body).toMatchObject({ templateId: t.id, templateVersion: 1, status: 'awaiting_approval', missingGrants: [CAL], configuration: { eventType: CAL } });
    expect(inst.body.permissionRequests).toEqual([{ eventType: CAL, requestId: expect.any(String), status: 'pending' }]);
    const pending = await call('GET', '/api/v1/permission-requests?status=pending', undefined, admin);
    const req = pending.body.requests.find((r: { id: string }) => r.id === inst.body.permissionRequests[0].requestId);
    // Approving the view's request must not take away the create right the app already held.
    expect(req).toMatchObject({ eventType: CAL, read: true, create: true, modify: false, delete: false });
    expect(req.message).toContain('Week');

    const early = await run(tracker.auth, inst.body.id, { from: '2024-05-06T00:00:00Z', to: '2024-05-13T00:00:00Z' });
    expect(early.status).toBe(403);
    expect(early.body.error).toMatchObject({ code: 'view_not_approved', details: { missingGrants: [CAL] } });

    // A second instance of the same template reuses the pending request instead of filing another.
    const second = await call('POST', '/api/v1/views', { templateId: t.id, configuration: { eventType: CAL } }, tracker.auth);
    expect(second.body.permissionRequests[0].requestId).toBe(inst.body.permissionRequests[0].requestId);

    await approveAll(inst.body.permissionRequests);
    const ready = await call('GET', `/api/v1/views/${inst.body.id}`, undefined, tracker.auth);
    expect(ready.body).toMatchObject({ status: 'ready', missingGrants: [], permissionRequests: [{ status: 'approved' }] });

    // The calendar week example: entries in [from, to), grouped by day, in start order.
    await append(tracker.auth, [
      { type: CAL, occurredAt: '2024-05-05T23:59:59.999Z', data: { title: 'before', end: '2024-05-06T01:00:00Z' } },
      { type: CAL, occurredAt: '2024-05-06T00:00:00.000Z', data: { title: 'first', end: '2024-05-06T01:00:00Z' } },
      { type: CAL, occurredAt: '2024-05-08T14:00:00.000Z', data: { title: 'later', end: '2024-05-08T15:00:00Z' } },
      { type: CAL, occurredAt: '2024-05-08T09:30:00.000Z', data: { title: 'earlier', end: '2024-05-08T10:00:00Z' } },
      { type: CAL, occurredAt: '2024-05-13T00:00:00.000Z', data: { title: 'next week', end: '2024-05-13T01:00:00Z' } },
    ]);
    const week = await run(tracker.auth, inst.body.id, { from: '2024-05-06T00:00:00Z', to: '2024-05-13T00:00:00Z' });
    expect(week.status, week.text).toBe(200);
    const days = week.body.result.days as Record<string, { title: string; start: string; end: string }[]>;
    expect(Object.keys(days).sort()).toEqual(['2024-05-06', '2024-05-08']);
    expect(days['2024-05-06']!.map((e) => e.title)).toEqual(['first']);
    expect(days['2024-05-08']!.map((e) => e.title)).toEqual(['earlier', 'later']);
    expect(days['2024-05-08']![0]).toMatchObject({ start: '2024-05-08T09:30:00.000Z', end: '2024-05-08T10:00:00Z' });
    expect(week.body.stats).toMatchObject({ eventsRead: 3, cached: false });
    expect(week.body.stats.durationMs).toEqual(expect.any(Number));

    // The app still creates calendar entries after its grant was superseded by the view's request.
    await append(tracker.auth, [{ type: CAL, occurredAt: '2024-06-01T10:00:00Z', data: { title: 'still allowed', end: '2024-06-01T11:00:00Z' } }]);

    // Nobody else sees or runs the instance.
    expect((await run(other.auth, inst.body.id, {})).status).toBe(404);
    expect((await call('GET', `/api/v1/views/${inst.body.id}`, undefined, other.auth)).status).toBe(404);
    expect((await call('GET', '/api/v1/views', undefined, other.auth)).body.views).toEqual([]);
    expect((await call('GET', `/api/v1/views/${inst.body.id}`, undefined, admin)).status).toBe(200);
    expect((await run(admin, inst.body.id, {})).status).toBe(403);
    const listed = await call('GET', `/api/v1/views?appId=${tracker.id}`, undefined, admin);
    expect(listed.body.views.find((v: { id: string }) => v.id === inst.body.id)).toMatchObject({ appName: 'Tracker', stats: { runs: 1, failures: 0, eventsRead: 3 } });
  });

  it('computes the same per-day counts in JavaScript and in Python, equal to a direct computation', async () => {
    const events = stepsEvents(400, '2024-03-01T00:00:00Z', 12, 7);
    await append(tracker.auth, events);
    const limits = { maxQueryLimit: 64 }; // several pages each
    const js = await readyView(tracker.auth, 'Counts JS', loadExample('daily-counts-js'), { eventTypes: [STEPS], limits, configuration: { eventType: STEPS } });
    const py = await readyView(tracker.auth, 'Counts Python', loadExample('daily-counts-py'), { runtime: 'python', eventTypes: [STEPS], limits, configuration: { eventType: STEPS } });
    const input = { from: '2024-03-02T00:00:00Z', to: '2024-03-10T00:00:00Z' };
    const a = await run(tracker.auth, js, input);
    const b = await run(tracker.auth, py, input);
    expect(a.status, a.text).toBe(200);
    expect(b.status, b.text).toBe(200);
    const expected = expectedCounts(events, input.from, input.to);
    expect(Object.keys(expected)).toHaveLength(8);
    expect(a.body.result).toEqual(expected);
    expect(b.body.result).toEqual(a.body.result);
    expect(b.body.stats.eventsRead).toBe(a.body.stats.eventsRead);
    expect(a.body.stats.eventsRead).toBe(Object.values(expected).reduce((x, y) => x + y, 0));
  });

  it('pages in occurredAt order with a cursor, honours limit and filter, and reads only current events', async () => {
    const base = Date.parse('2023-01-01T00:00:00Z');
    // Equal timestamps too: the cursor must not skip or repeat within a tie.
    const evs = Array.from({ length: 30 }, (_, i) => ({ type: STEPS, occurredAt: new Date(base + Math.floor(i / 3) * 1000).toISOString(), data: { steps: i, device: i % 2 ? 'watch' : 'phone' } }));
    const appended = await append(tracker.auth, evs.slice().reverse());
    const id = await readyView(
      tracker.auth,
      'Pager',
      {
        'main.js': `export default async function ({ input, events }) {
          const seen = []; let after = null; let pages = 0;
          do {
            const p = await events.query({ type: '${STEPS}', from: '2023-01-01T00:00:00Z', to: '2023-01-02T00:00:00Z', after, limit: input.limit, filter: input.filter });
            pages++;
            for (const e of p.events) seen.push([e.occurredAt, e.data.steps, Object.keys(e).sort().join(',')]);
            after = p.next;
          } while (after);
          return { pages, seen };
        }`,
      },
      { eventTypes: [STEPS] },
    );
    const all = await run(tracker.auth, id, { limit: 4 });
    expect(all.status, all.text).toBe(200);
    expect(all.body.result.seen).toHaveLength(30);
    expect(all.body.result.pages).toBe(8);
    expect(all.body.result.seen.map((s: unknown[]) => s[2])).toEqual(Array(30).fill('data,id,occurredAt,type'));
    const times = all.body.result.seen.map((s: string[]) => s[0]);
    expect(times).toEqual([...times].sort());
    expect(new Set(all.body.result.seen.map((s: number[]) => s[1])).size).toBe(30);
    const watch = await run(tracker.auth, id, { limit: 100, filter: { device: 'watch' } });
    expect(watch.body.result.seen).toHaveLength(15);

    // A modified event shows only its new version; a deleted one is gone.
    const ids = appended.events.map((e: { id: string }) => e.id);
    expect((await call('PATCH', `/api/v1/events/${ids[0]}`, { data: { steps: 1000, device: 'phone' } }, tracker.auth)).status).toBe(200);
    expect((await call('DELETE', `/api/v1/events/${ids[1]}`, undefined, tracker.auth)).status).toBe(204);
    const after = await run(tracker.auth, id, { limit: 7 });
    const steps = after.body.result.seen.map((s: number[]) => s[1]);
    expect(steps).toHaveLength(29);
    expect(steps).toContain(1000);
    expect(steps).not.toContain(29); // ids[0] was the last of the reversed batch: steps 29, now 1000
    expect(steps).not.toContain(28);

    // Forged cursors and invalid queries are the view's error, never the server's.
    const forged = await readyView(tracker.auth, 'Forger', {
      'main.js': `export default async function ({ input, events }) { return await events.query({ type: '${STEPS}', ...input }); }`,
    }, { eventTypes: [STEPS] });
    for (const q of [{ after: 'bm9wZQ' }, { after: '../../etc' }, { from: 'yesterday' }, { limit: 0 }, { limit: 5000 }, { filter: [1] }, { filter: 'steps' }, { unknown: 1 }, { type: NOTE }, { type: 'auth.login' }]) {
      const r = await run(tracker.auth, forged, q);
      expect(r.status, JSON.stringify(q) + r.text).toBe(422);
      expect(r.body.error.code).toBe('view_query_invalid');
    }
    // A filter the database could not store (a NUL made inside the view) is the view's error too.
    const nul = await readyView(tracker.auth, 'NUL filter', {
      'main.js': `export default async ({ events }) => events.query({ type: '${STEPS}', filter: { device: 'x' + String.fromCharCode(0) } })`,
    }, { eventTypes: [STEPS] });
    const nulRun = await run(tracker.auth, nul, {});
    expect(nulRun.status, nulRun.text).toBe(422);
    expect(nulRun.body.error.code).toBe('view_query_invalid');
    // Extreme but valid dates are clamped, not a database error.
    const far = await run(tracker.auth, forged, { from: '-271821-04-20T00:00:00Z', to: '+275760-09-13T00:00:00Z', limit: 1 });
    expect(far.status, far.text).toBe(200);
    expect(far.body.result.events).toHaveLength(1);
  });
});

describe('the result cache', () => {
  it('answers the same input from the cache until an event of its types is appended, modified or deleted', async () => {
    await append(tracker.auth, stepsEvents(50, '2022-06-01T00:00:00Z', 5, 99));
    const id = await readyView(tracker.auth, 'Cached counts', loadExample('daily-counts-js'), { eventTypes: [STEPS], configuration: { eventType: STEPS } });
    const input = { from: '2022-06-01T00:00:00Z', to: '2022-06-06T00:00:00Z' };
    const first = await run(tracker.auth, id, input);
    expect(first.body.stats.cached).toBe(false);
    const cached = await runUntilCached(tracker.auth, id, input);
    expect(cached.body.result).toEqual(first.body.result);
    expect(cached.body.stats.eventsRead).toBe(0);
    const total = (r: Res) => Object.values(r.body.result as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(total(cached)).toBe(50);

    // Another input is computed on its own.
    const other = await run(tracker.auth, id, { from: '2022-06-01T00:00:00Z', to: '2022-06-02T00:00:00Z' });
    expect(other.body.stats.cached).toBe(false);

    // An event of another type changes nothing.
    await append(tracker.auth, [{ type: CAL, occurredAt: '2022-06-02T00:00:00Z', data: { title: 'x', end: '2022-06-02T01:00:00Z' } }]);
    expect((await runUntilCached(tracker.auth, id, input)).body.result).toEqual(first.body.result);

    // An append of its type invalidates.
    const added = await append(tracker.auth, [{ type: STEPS, occurredAt: '2022-06-03T12:00:00Z', data: { steps: 5 } }]);
    const afterAppend = await run(tracker.auth, id, input);
    expect(afterAppend.body.stats.cached).toBe(false);
    expect(total(afterAppend)).toBe(51);
    await runUntilCached(tracker.auth, id, input);

    // A modification invalidates (moving the event to another day changes the counts).
    const moved = await call('PATCH', `/api/v1/events/${added.events[0].id}`, { data: { steps: 6 }, occurredAt: '2022-06-04T12:00:00Z' }, tracker.auth);
    expect(moved.status, moved.text).toBe(200);
    const afterModify = await run(tracker.auth, id, input);
    expect(afterModify.body.stats.cached).toBe(false);
    expect(afterModify.body.result['2022-06-04']).toBe(afterAppend.body.result['2022-06-04'] + 1);
    await runUntilCached(tracker.auth, id, input);

    // A deletion invalidates.
    expect((await call('DELETE', `/api/v1/events/${moved.body.id}`, undefined, tracker.auth)).status).toBe(204);
    const afterDelete = await run(tracker.auth, id, input);
    expect(afterDelete.body.stats.cached).toBe(false);
    expect(total(afterDelete)).toBe(50);
    expect(afterDelete.body.result).toEqual(first.body.result);

    const stats = (await call('GET', `/api/v1/views/${id}`, undefined, tracker.auth)).body.stats;
    expect(stats.cacheHits).toBeGreaterThanOrEqual(4);
    expect(stats.runs).toBeGreaterThan(stats.cacheHits);
    expect(stats.failures).toBe(0);
  });

  it('does not vouch for a result while an older transaction may still commit under the newest entry', async () => {
    const id = await readyView(tracker.auth, 'Late commit', loadExample('daily-counts-js'), { eventTypes: [STEPS], configuration: { eventType: STEPS } });
    const input = { from: '2021-01-01T00:00:00Z', to: '2021-01-02T00:00:00Z' };
    // A transaction that starts (takes its id) first and commits last, as a slow writer would.
    const slow = await db.connect();
    try {
      await slow.query('BEGIN');
      await slow.query('SELECT pg_current_xact_id()');
      await append(tracker.auth, [{ type: STEPS, occurredAt: '2021-01-01T10:00:00Z', data: { steps: 1 } }]);
      const r1 = await run(tracker.auth, id, input);
      expect(r1.body.result['2021-01-01']).toBe(1);
      const r2 = await run(tracker.auth, id, input);
      expect(r2.body.stats.cached).toBe(false); // not stored: the key was not stable
      // The slow transaction writes an entry of the type now, with an id below the newest one.
      const row = (await db.query(`SELECT * FROM ledger_entries WHERE type = $1 ORDER BY position DESC LIMIT 1`, [STEPS])).rows[0];
      await slow.query(
        `INSERT INTO ledger_entries (id, type, type_version, data, data_hash, actor_kind, actor_id, occurred_at, recorded_at, hash)
         VALUES (gen_random_uuid(), $1, $2, '{"steps": 2}', $3, 'app', $4, '2021-01-01T11:00:00Z', now(), $5)`,
        [STEPS, row.type_version, row.data_hash, tracker.id, row.hash],
      );
      await slow.query('COMMIT');
    } finally {
      slow.release();
    }
    const r3 = await run(tracker.auth, id, input);
    expect(r3.body.result['2021-01-01']).toBe(2);
  });

  it('stops at once when the read grant is revoked, cached result or not', async () => {
    const app = await newApp('Revoked');
    await grant(app.auth, NOTE, { create: true });
    const t = await register({ name: 'Notes count', runtime: 'javascript', files: { 'main.js': `export default async ({ events }) => (await events.query({ type: '${NOTE}' })).events.length` }, eventTypes: [NOTE] });
    const inst = await call('POST', '/api/v1/views', { templateId: t.id }, app.auth);
    await approveAll(inst.body.permissionRequests);
    await append(app.auth, [{ type: NOTE, data: { text: 'hello' } }]);
    await runUntilCached(app.auth, inst.body.id, null);
    const grants = await call('GET', '/api/v1/apps/me', undefined, app.auth);
    const noteGrant = grants.body.grants.find((g: { eventType: string }) => g.eventType === NOTE);
    expect((await call('POST', `/api/v1/permission-requests/${noteGrant.id}/revoke`, undefined, admin)).status).toBe(200);
    const r = await run(app.auth, inst.body.id, null);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('view_not_approved');
  });
});

describe('several servers on one database', () => {
  // A second server process would be the same code on the same database: this one shares the
  // first one's database and data directory (so its secret), with its own memory.
  let second: RunningServer;
  beforeAll(async () => {
    second = await startSiblingServer(server);
  });
  afterAll(async () => {
    await second?.stop();
  });
  const runAt = (base: string, appAuth: string, id: string, input: unknown) => callAt(base, 'POST', `/api/v1/views/${id}/run`, { input }, appAuth);
  const storedRow = async (id: string) =>
    (await db.query('SELECT runs::int, cache_hits::int, failures::int FROM view_instances WHERE id = $1', [id])).rows[0] as { runs: number; cache_hits: number; failures: number } | undefined;

  it('serves a result another server stored, and not once the events changed', async () => {
    await append(tracker.auth, stepsEvents(20, '2023-03-01T00:00:00Z', 3, 7));
    const id = await readyView(tracker.auth, 'Shared cache', loadExample('daily-counts-js'), { eventTypes: [STEPS], configuration: { eventType: STEPS } });
    const input = { from: '2023-03-01T00:00:00Z', to: '2023-03-04T00:00:00Z' };
    const computed = await runUntilCached(tracker.auth, id, input);
    // Reading the instance writes this server's pending counters and results.
    expect((await call('GET', `/api/v1/views/${id}`, undefined, tracker.auth)).status).toBe(200);
    expect((await db.query('SELECT count(*)::int AS n FROM view_results WHERE instance_id = $1', [id])).rows[0].n).toBe(1);
    const there = await runAt(second.url, tracker.auth, id, input);
    expect(there.status, there.text).toBe(200);
    expect(there.body).toMatchObject({ result: computed.body.result, stats: { cached: true, eventsRead: 0 } });

    // A result only this server holds in memory answers here only while the events are the same.
    await append(tracker.auth, [{ type: STEPS, occurredAt: '2023-03-02T08:00:00Z', data: { steps: 1 } }]);
    const after = await runAt(second.url, tracker.auth, id, input);
    expect(after.body.stats.cached).toBe(false);
    expect(after.body.result['2023-03-02']).toBe(computed.body.result['2023-03-02'] + 1);
    // This server still holds the old result in memory; once the second server has written the
    // new one (reading an instance writes what is pending), this one serves the new one.
    expect((await callAt(second.url, 'GET', `/api/v1/views/${id}`, undefined, tracker.auth)).status).toBe(200);
    const again = await run(tracker.auth, id, input);
    expect(again.body.stats.cached).toBe(true);
    expect(again.body.result).toEqual(after.body.result);
  });

  it('stops an instance deleted through another server on its next run', async () => {
    const id = await readyView(tracker.auth, 'Deleted elsewhere', { 'main.js': 'export default ({ input }) => ({ n: input.n })' });
    // The second server now holds the instance's definition (and this result) in memory.
    expect((await runAt(second.url, tracker.auth, id, { n: 1 })).status).toBe(200);
    expect((await call('DELETE', `/api/v1/views/${id}`, undefined, tracker.auth)).status).toBe(204);
    for (const input of [{ n: 1 }, { n: 2 }]) {
      const r = await runAt(second.url, tracker.auth, id, input);
      expect(r.status, r.text).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    }
  });

  it('writes every run counter, at the latest when the server stops', async () => {
    const third = await startSiblingServer(server);
    let id: string;
    try {
      id = await readyView(tracker.auth, 'Counted at shutdown', { 'main.js': 'export default ({ input }) => { if (input.fail) throw new Error("no"); return input.n }' });
      const outcomes = await Promise.all([
        ...Array.from({ length: 6 }, (_, n) => runAt(third.url, tracker.auth, id, { n })),
        runAt(third.url, tracker.auth, id, { n: 0 }),
        runAt(third.url, tracker.auth, id, { fail: true }),
      ]);
      expect(outcomes.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 422]);
    } finally {
      // Stopping at once: whatever was not written yet is written on the way down.
      await third.stop();
    }
    const row = (await storedRow(id))!;
    expect(row).toMatchObject({ runs: 8, failures: 1 });
    // The repeated input was either computed alongside its twin or answered from the cache.
    expect([0, 1]).toContain(row.cache_hits);
  });
});

describe('hostile views through the API', () => {
  async function healthyAfter() {
    expect((await call('GET', '/api/v1/health')).status).toBe(200);
    const ok = await readyView(tracker.auth, `Check ${Math.random().toString(36).slice(2)}`, { 'main.js': 'export default ({ input }) => ({ echo: input, proto: Object.prototype.polluted ?? null })' });
    const r = await run(tracker.auth, ok, { n: 1 });
    expect(r.status, r.text).toBe(200);
    expect(r.body.result).toEqual({ echo: { n: 1 }, proto: null });
  }

  const js: [string, string, string, Record<string, number>?][] = [
    ['env', 'export default () => process.env.DATABASE_URL', 'view_runtime_error'],
    ['require', "export default () => require('fs').readFileSync('/etc/passwd', 'utf8')", 'view_runtime_error'],
    ['import fs', "import fs from 'fs';\nexport default () => fs.readFileSync('/etc/passwd', 'utf8')", 'view_compile_error'],
    ['fetch', "export default async () => (await fetch('http://127.0.0.1:1/')).status", 'view_runtime_error'],
    ['host function', "export default () => (function () { return this })().constructor.constructor('return process')().env", 'view_runtime_error'],
    ['loop', 'export default () => { for (;;) {} }', 'view_timeout', { cpuMs: 300 }],
    ['promise never settles', 'export default () => new Promise(() => {})', 'view_timeout', { cpuMs: 300 }],
    ['recursion', 'const f = (n) => f(n + 1) + 1;\nexport default () => f(0)', 'view_runtime_error'],
    ['memory bomb', 'export default () => { const a = []; for (;;) a.push("x".repeat(1 << 20) + a.length); }', 'view_memory_exceeded', { memoryMb: 16 }],
    ['huge output', "export default () => 'x'.repeat(2 * 1024 * 1024)", 'view_output_too_large', { maxResultBytes: 1024 * 1024 }],
    ['not JSON', 'export default () => undefined', 'view_invalid_result'],
    ['pollution', "export default () => { Object.prototype.polluted = 'yes'; JSON.parse = () => 1; return 1; }", 'ok'],
  ];
  for (const [name, source, code, limits] of js) {
    it(`JavaScript ${name}: ${code}`, async () => {
      const t = await call('POST', '/api/v1/view-templates', { name: `Hostile JS ${name}`, runtime: 'javascript', files: { 'main.js': source }, limits }, admin);
      if (code === 'view_compile_error') {
        expect(t.status).toBe(422);
        expect(t.body.error.code).toBe(code);
      } else {
        expect(t.status, t.text).toBe(201);
        const inst = await call('POST', '/api/v1/views', { templateId: t.body.id }, tracker.auth);
        const r = await run(tracker.auth, inst.body.id, {});
        if (code === 'ok') expect(r.status).toBe(200);
        else {
          expect(r.status, r.text).toBe(422);
          expect(r.body.error.code).toBe(code);
          expect(r.text).not.toMatch(/postgres(ql)?:\/\//);
          const stats = (await call('GET', `/api/v1/views/${inst.body.id}`, undefined, tracker.auth)).body.stats;
          expect(stats).toMatchObject({ runs: 1, failures: 1, lastErrorCode: code });
        }
      }
      await healthyAfter();
    });
  }

  const py: [string, string, string, Record<string, number>?][] = [
    ['environment', 'import os\nasync def main(c, i, e):\n    return os.environ.get("DATABASE_URL") or sorted(os.environ.keys())', 'no-secret'],
    ['files', 'async def main(c, i, e):\n    return open("/etc/passwd").read()', 'view_runtime_error'],
    ['socket', 'import socket\nasync def main(c, i, e):\n    s = socket.create_connection(("127.0.0.1", 5432), timeout=1)\n    return "connected"', 'view_runtime_error'],
    ['js bridge', 'import js\nasync def main(c, i, e):\n    return str(js.eval("process.env"))', 'view_runtime_error'],
    ['loop', 'async def main(c, i, e):\n    while True:\n        pass', 'view_timeout', { cpuMs: 1500 }],
    ['memory bomb', 'async def main(c, i, e):\n    a = []\n    while True:\n        a.append(bytearray(8 * 1024 * 1024))', 'view_memory_exceeded', { memoryMb: 32, cpuMs: 20_000 }],
  ];
  for (const [name, source, code, limits] of py) {
    it(`Python ${name}: ${code}`, async () => {
      const t = await call('POST', '/api/v1/view-templates', { name: `Hostile Python ${name}`, runtime: 'python', files: { 'main.py': source }, limits }, admin);
      expect(t.status, t.text).toBe(201);
      const inst = await call('POST', '/api/v1/views', { templateId: t.body.id }, tracker.auth);
      const r = await run(tracker.auth, inst.body.id, {});
      if (code === 'no-secret') {
        expect(r.status, r.text).toBe(200);
        expect(r.text).not.toMatch(/postgres|DATABASE_URL|CAIRN/);
      } else {
        expect(r.status, r.text).toBe(422);
        expect(r.body.error.code).toBe(code);
      }
      await healthyAfter();
    });
  }
});

describe('the OpenAPI document', () => {
  it('describes every views endpoint', async () => {
    const doc = await call('GET', '/api/openapi.json');
    expect(doc.status).toBe(200);
    for (const path of ['/api/v1/view-templates', '/api/v1/view-templates/{id}', '/api/v1/view-templates/{id}/versions/{version}', '/api/v1/views', '/api/v1/views/{id}', '/api/v1/views/{id}/run']) {
      expect(Object.keys(doc.body.paths)).toContain(path);
    }
    expect(doc.body.paths['/api/v1/views/{id}/run'].post.tags).toEqual(['views']);
  });
});

describe('bad input', () => {
  it('answers 4xx with a stable code, never a 500', async () => {
    const id = await readyView(tracker.auth, 'Echo', { 'main.js': 'export default ({ input, configuration }) => ({ input, configuration })' }, { configuration: { a: [1, 2] } });
    const cases: [string, string, string | undefined, number, string][] = [
      ['POST', `/api/v1/views/${id}/run`, '{"input":', 400, 'invalid_json'],
      ['POST', `/api/v1/views/${id}/run`, '{"input":1,"extra":2}', 400, 'validation_failed'],
      ['POST', `/api/v1/views/${id}/run`, '[1]', 400, 'validation_failed'],
      ['POST', '/api/v1/views/not-a-uuid/run', '{}', 404, 'not_found'],
      ['POST', '/api/v1/views/00000000-0000-7000-8000-000000000000/run', '{}', 404, 'not_found'],
      ['POST', '/api/v1/views', '{"templateId":"nope"}', 400, 'validation_failed'],
      ['POST', '/api/v1/views', '{"templateId":"00000000-0000-7000-8000-000000000000","templateVersion":0}', 400, 'validation_failed'],
      ['POST', '/api/v1/views', '{}', 400, 'validation_failed'],
      ['GET', '/api/v1/views?appId=zzz', undefined, 200, ''],
      ['GET', '/api/v1/view-templates/zzz', undefined, 404, 'not_found'],
    ];
    for (const [method, path, raw, status, code] of cases) {
      const r = await call(method, path, undefined, tracker.auth, raw);
      expect(r.status, `${method} ${path} ${raw} → ${r.text}`).toBe(status);
      if (code) expect(r.body.error.code).toBe(code);
    }
    const nul = await run(tracker.auth, id, { s: 'a\u0000b' });
    expect(nul.status).toBe(400);
    expect(nul.body.error.details[0].pointer).toBe('/input/s');
    const deep = await run(tracker.auth, id, JSON.parse('['.repeat(100) + ']'.repeat(100)));
    expect(deep.status).toBe(400);
    const big = await run(tracker.auth, id, 'x'.repeat(300 * 1024));
    expect(big.status).toBe(400);
    const proto = await call('POST', `/api/v1/views/${id}/run`, undefined, tracker.auth, '{"input":{"__proto__":{"polluted":true},"n":1}}');
    expect(proto.status).toBe(400);
    const ok = await run(tracker.auth, id, { n: 1 });
    expect(ok.status).toBe(200);
    expect(ok.body.result).toEqual({ input: { n: 1 }, configuration: { a: [1, 2] } });

    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.string()), fc.constantFrom('/api/v1/view-templates', '/api/v1/views', `/api/v1/views/${id}/run`), async (value, path) => {
        const asAdmin = path === '/api/v1/view-templates';
        const r = await call('POST', path, undefined, asAdmin ? admin : tracker.auth, typeof value === 'string' ? value : JSON.stringify(value));
        expect(r.status, r.text).toBeGreaterThanOrEqual(200);
        expect(r.status, r.text).toBeLessThan(500);
        if (r.status >= 400) expect(r.body.error.code).toMatch(/^[a-z_]+$/);
      }),
      { numRuns: 60 },
    );
  });
});
