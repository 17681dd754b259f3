import fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import * as tus from 'tus-js-client';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestApp, startTestServer, type TestServer } from '../../test/harness.js';

const TOKEN = 'metrics-token-0123456789abcdef';

/** The value of one sample line in Prometheus text, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '').split(/,(?=[a-z_]+=)/).filter(Boolean);
    if (want.every((w) => got.includes(w)) && got.length === want.length) return Number(m[3]);
  }
  return 0;
}

describe('GET /metrics over real HTTP', () => {
  let server: TestServer;
  let admin: string;
  const scrape = async (authorization?: string) => fetch(`${server.url}/metrics`, { headers: authorization ? { authorization } : {} });

  beforeAll(async () => {
    server = await startTestServer({ CAIRN_METRICS_TOKEN: TOKEN });
    const r = await fetch(`${server.url}/api/v1/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'correct horse battery staple' }) });
    expect(r.status).toBe(201);
    admin = `Bearer ${((await r.json()) as { accessToken: string }).accessToken}`;
  });
  afterAll(async () => server?.stop());

  it('needs its own token: none is 401, a wrong one is 401, a user token is 401', async () => {
    const none = await scrape();
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
    const wrong = await scrape(`Bearer ${TOKEN}x`);
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('invalid_token');
    const short = await scrape('Bearer metrics');
    expect(short.status).toBe(401);
    // An administrator's own token is not the metrics token.
    expect((await scrape(admin)).status).toBe(401);
    const ok = await scrape(`Bearer ${TOKEN}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('counts requests by route pattern and status, never by raw URL', async () => {
    const before = await (await scrape(`Bearer ${TOKEN}`)).text();
    const ids = ['0190f3a4-0000-7000-8000-00000000a001', '0190f3a4-0000-7000-8000-00000000a002', '0190f3a4-0000-7000-8000-00000000a003'];
    for (const id of ids) expect((await fetch(`${server.url}/api/v1/events/${id}`, { headers: { authorization: admin } })).status).toBe(404);
    const after = await (await scrape(`Bearer ${TOKEN}`)).text();
    const labels = { method: 'GET', route: '/api/v1/events/:id', status: '404' };
    expect(sample(after, 'cairn_http_requests_total', labels) - sample(before, 'cairn_http_requests_total', labels)).toBe(3);
    expect(sample(after, 'cairn_http_request_duration_seconds_count', labels) - sample(before, 'cairn_http_request_duration_seconds_count', labels)).toBe(3);
    for (const id of ids) expect(after).not.toContain(id);
    // Refusals before any handler (here: no token) are counted too.
    expect(sample(after, 'cairn_http_requests_total', { method: 'GET', route: '/metrics', status: '401' })).toBeGreaterThanOrEqual(1);
    // Every route label is a registered pattern or "unmatched": no uuid anywhere in a label.
    expect(after).not.toMatch(/route="[^"]*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
    await fetch(`${server.url}/api/v1/no-such-thing/${ids[0]}`);
    const unmatched = await (await scrape(`Bearer ${TOKEN}`)).text();
    expect(sample(unmatched, 'cairn_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(unmatched).not.toContain(ids[0]);
  });

  it('counts ledger appends and reports pool, projections, checkpoint and job queue', async () => {
    const before = await (await scrape(`Bearer ${TOKEN}`)).text();
    const r = await fetch(`${server.url}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: admin, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ type: 'note.created', data: { n: 1 } }, { type: 'note.created', data: { n: 2 } }] }),
    });
    expect(r.status).toBeLessThan(300);
    const after = await (await scrape(`Bearer ${TOKEN}`)).text();
    expect(sample(after, 'cairn_ledger_entries_appended_total') - sample(before, 'cairn_ledger_entries_appended_total')).toBe(2);
    expect(sample(after, 'cairn_db_pool_total')).toBeGreaterThanOrEqual(1);
    expect(after).toMatch(/^cairn_db_pool_idle \d+$/m);
    expect(after).toMatch(/^cairn_db_pool_waiting \d+$/m);
    expect(after).toMatch(/^cairn_projection_behind_entries\{projection="[a-z_.-]+"\} \d+$/m);
    expect(after).toMatch(/^cairn_projection_lag_seconds\{projection="[a-z_.-]+"\} [\d.]+$/m);
    expect(after).toMatch(/^cairn_ledger_checkpoint_age_seconds -?[\d.e+-]+$/m);
    expect(after).toMatch(/^cairn_ledger_unsealed_entries \d+$/m);
    for (const state of ['waiting', 'running', 'failed']) expect(after).toMatch(new RegExp(`^cairn_job_queue_depth\\{state="${state}"\\} \\d+$`, 'm'));
    expect(after).toContain('# TYPE cairn_view_runs_total counter');
    expect(after).toContain('# TYPE cairn_upload_bytes_total counter');
    expect(sample(after, 'cairn_metrics_read_errors_total', { figure: 'projections' })).toBe(0);
  });

  it('a retried batch (same transactionIds) is not counted twice', async () => {
    const send = () =>
      fetch(`${server.url}/api/v1/events`, {
        method: 'POST',
        headers: { authorization: admin, 'content-type': 'application/json' },
        body: JSON.stringify({ events: [{ type: 'note.created', data: { n: 3 }, transactionId: 'metrics-retry-1' }] }),
      });
    const before = sample(await (await scrape(`Bearer ${TOKEN}`)).text(), 'cairn_ledger_entries_appended_total');
    expect((await send()).status).toBeLessThan(300);
    expect((await send()).status).toBeLessThan(300);
    expect(sample(await (await scrape(`Bearer ${TOKEN}`)).text(), 'cairn_ledger_entries_appended_total') - before).toBe(1);
  });

  it('the System overview lists this node and the last ledger verification', async () => {
    expect((await fetch(`${server.url}/api/v1/system`)).status).toBe(401);
    const first = (await (await fetch(`${server.url}/api/v1/system`, { headers: { authorization: admin } })).json()) as { nodes: { thisNode: boolean; pid: number }[]; lastVerification: unknown; jobs: { waiting: number }; storage: { bytes: number } };
    expect(first.nodes.filter((n) => n.thisNode)).toHaveLength(1);
    expect(first.nodes.find((n) => n.thisNode)!.pid).toBe(process.pid);
    expect(first.lastVerification).toBeNull();
    expect(first.storage.bytes).toBe(0);
    const v = await fetch(`${server.url}/api/v1/ledger/verify`, { method: 'POST', headers: { authorization: admin } });
    expect(v.status).toBe(200);
    const report = (await v.json()) as { ok: boolean; checked: number };
    const second = (await (await fetch(`${server.url}/api/v1/system`, { headers: { authorization: admin } })).json()) as { lastVerification: { ok: boolean; checked: number; by: string | null; problems: number } };
    expect(second.lastVerification).toMatchObject({ ok: report.ok, checked: report.checked, by: 'admin', problems: 0 });
  });
  it('counts the bytes resumable uploads accept, and the System page counts the stored ones', async () => {
    const token = admin.slice('Bearer '.length);
    const post = async (url: string, body?: unknown) =>
      (await (await fetch(`${server.url}${url}`, { method: 'POST', headers: { authorization: admin, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined })).json()) as Record<string, any>;
    const ds = (await post('/api/v1/datasets', { title: 'Metered' })).dataset.accession as string;
    const session = (await post(`/api/v1/datasets/${ds}/uploads`)).session.id as string;
    const data = randomBytes(150_000);
    const sha = createHash('sha256').update(data).digest('hex');
    const before = sample(await (await scrape(`Bearer ${TOKEN}`)).text(), 'cairn_upload_bytes_total');
    // Two PATCHes (100,000 then 50,000 bytes) through tus, as the web app and the CLI send them.
    await new Promise<void>((resolve, reject) => {
      const u = new tus.Upload(data as never, {
        endpoint: `${server.url}/api/v1/uploads/tus`,
        headers: { authorization: `Bearer ${token}` },
        metadata: { sessionId: session, sha256: sha },
        chunkSize: 100_000,
        retryDelays: [],
        onSuccess: () => resolve(),
        onError: reject,
      });
      u.start();
    });
    const after = sample(await (await scrape(`Bearer ${TOKEN}`)).text(), 'cairn_upload_bytes_total');
    expect(after - before).toBe(150_000);
    const commit = await post(`/api/v1/datasets/${ds}/uploads/${session}/commit`, { changes: [{ op: 'put', path: 'a.bin', sha256: sha, size: data.length }] });
    expect(commit.draft.fileCount).toBe(1);
    const overview = (await (await fetch(`${server.url}/api/v1/system`, { headers: { authorization: admin } })).json()) as { storage: { blobs: number; bytes: number } };
    expect(overview.storage).toEqual({ blobs: 1, bytes: 150_000 });
  });
});

describe('metrics without a token', () => {
  it('the endpoint does not exist (404) and the setting is validated', async () => {
    const t = await createTestApp();
    try {
      const r = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(r.statusCode).toBe(404);
      expect(r.json().error.code).toBe('route_not_found');
    } finally {
      await t.stop();
    }
    await expect(createTestApp({ CAIRN_METRICS_TOKEN: 'short' })).rejects.toThrow(/CAIRN_METRICS_TOKEN/);
  });
});

describe('GET /api/v1/health/ready', () => {
  it('is ready with everything up, 503 naming the migrations when one is missing', async () => {
    const t = await createTestApp();
    try {
      const ok = await t.app.inject({ method: 'GET', url: '/api/v1/health/ready' });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toMatchObject({ status: 'ready', checks: { database: { ok: true }, blobs: { ok: true }, migrations: { ok: true } } });
      await sql`DELETE FROM cairn_migrations WHERE name = '0910_system_status.sql'`.execute(t.services.db);
      const r = await t.app.inject({ method: 'GET', url: '/api/v1/health/ready' });
      expect(r.statusCode).toBe(503);
      expect(r.json().error).toMatchObject({ code: 'unavailable', details: { failed: ['migrations'], pendingMigrations: ['0910_system_status.sql'] } });
      // Liveness is apart: the node is alive.
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/health' })).statusCode).toBe(200);
    } finally {
      await t.stop();
    }
  });

  it('answers 503 naming the blob store when it cannot be reached, and recovers with it', async () => {
    const t = await createTestApp();
    const blobs = t.services.config.blobs;
    const dir = (blobs.store === 'local' ? blobs.dir : undefined) ?? path.join(t.services.config.dataDir, 'blobs');
    try {
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/health/ready' })).statusCode).toBe(200);
      // The blob directory replaced by a regular file while the node runs: every lookup fails with
      // ENOTDIR (permissions would not do: the tests may run as root, which ignores them).
      fs.mkdirSync(dir, { recursive: true });
      fs.renameSync(dir, `${dir}.away`);
      fs.writeFileSync(dir, 'x');
      const r = await t.app.inject({ method: 'GET', url: '/api/v1/health/ready' });
      expect(r.statusCode).toBe(503);
      expect(r.json().error).toMatchObject({ code: 'unavailable', details: { failed: ['blobs'], checks: { blobs: { ok: false }, database: { ok: true }, migrations: { ok: true } } } });
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/health' })).statusCode).toBe(200);
      fs.rmSync(dir);
      fs.renameSync(`${dir}.away`, dir);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/health/ready' })).statusCode).toBe(200);
    } finally {
      await t.stop();
    }
  });
});
