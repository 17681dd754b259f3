import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../../scripts/cluster.mjs';
import { tusUpload as upload } from '../../test/tus.js';

/**
 * Issue 16, "Several nodes": the whole topology of scripts/cluster.mjs (PostgreSQL, s3rver, three
 * nodes, HAProxy) broken on purpose. One node is SIGKILLed while writers append batches with
 * transactionIds, a large upload streams into it, and 20 live tails follow the ledger; PostgreSQL
 * is restarted under load. Afterwards every acknowledged write is there exactly once, the upload
 * finishes through another node byte-identical, every tail saw every entry once and in order, no
 * request got a 500, and the nodes recovered by themselves. The time a revocation takes to reach
 * the other nodes is measured on every run against the bound docs/security.md states.
 */

/** The bound docs/security.md and docs/operations.md promise (section "Revocation across nodes"). */
const REVOCATION_BOUND_MS = 1000;
const TYPE = 'cluster.write';
const PASSWORD = 'correct horse battery staple';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cluster: Cluster;
let admin: string;
let adminToken: string;
let db: pg.Pool;

async function call(base: string, method: string, path: string, authorization?: string, body?: unknown) {
  const headers: Record<string, string> = {};
  if (authorization) headers.authorization = authorization;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
  const text = await r.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: r.status, body: json };
}

async function ok(base: string, method: string, path: string, authorization?: string, body?: unknown) {
  const r = await call(base, method, path, authorization, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** A live tail that reconnects with Last-Event-ID whenever its connection ends, like a browser's EventSource. */
class Tail {
  ids: string[] = [];
  connects = 0;
  connected = false;
  private stopped = false;
  private last: string | undefined;
  private abort: AbortController | undefined;
  readonly done: Promise<void>;

  constructor(private readonly authorization: string) {
    this.done = this.loop();
  }

  private async loop() {
    while (!this.stopped) {
      this.abort = new AbortController();
      try {
        const headers: Record<string, string> = { authorization: this.authorization, accept: 'text/event-stream' };
        if (this.last) headers['last-event-id'] = this.last;
        const r = await fetch(`${cluster.url}/api/v1/events/stream?type=${TYPE}`, { headers, signal: this.abort.signal });
        if (r.status !== 200 || !r.body) {
          await r.body?.cancel();
          await sleep(100);
          continue;
        }
        this.connects++;
        let buf = '';
        const decoder = new TextDecoder();
        for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
          buf += decoder.decode(chunk, { stream: true });
          if (!this.connected && buf.includes(': connected')) this.connected = true;
          let end: number;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            const message = buf.slice(0, end);
            buf = buf.slice(end + 2);
            const id = /^id: (.*)$/m.exec(message)?.[1];
            const data = /^data: (.*)$/m.exec(message)?.[1];
            if (id && data) {
              this.ids.push(JSON.parse(data).id);
              this.last = id;
            }
          }
        }
      } catch {
        // the node died or we stopped: reconnect (or leave)
      }
      if (!this.stopped) await sleep(100);
    }
  }

  async stop() {
    this.stopped = true;
    this.abort?.abort();
    await this.done;
  }
}

/** Appends batches with transactionIds through the load balancer until stopped; a failed batch is sent again, same ids. */
function writer(name: string, authorization: string, batch: number) {
  const acknowledged: string[] = [];
  const statuses = new Map<number | string, number>();
  let stop = false;
  const done = (async () => {
    for (let n = 0; !stop; n++) {
      const events = Array.from({ length: batch }, (_, j) => ({ type: TYPE, stream: `${name}`, transactionId: `${name}-${n}-${j}`, data: { n, j } }));
      for (;;) {
        let status: number | string;
        try {
          status = (await call(cluster.url, 'POST', '/api/v1/events', authorization, { events })).status;
        } catch (e) {
          status = (e as Error).name;
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 200 || status === 201) break;
        await sleep(50);
      }
      acknowledged.push(...events.map((e) => e.transactionId));
    }
  })();
  return { acknowledged, statuses, done, stop: () => { stop = true; return done; } };
}

/**
 * Revokes on node `from` and polls every other node with a credential they have cached until each
 * refuses it; answers the slowest node's delay in ms, from the revocation's answer.
 */
async function revocationDelay(check: (base: string) => Promise<number>, revoke: () => Promise<void>, from: number): Promise<number> {
  const others = cluster.nodes.filter((_, i) => i !== from);
  for (const n of others) {
    // Twice: the first answer may be the one that fills the node's cache.
    expect(await check(n.url), n.name).toBeLessThan(300);
    expect(await check(n.url), n.name).toBeLessThan(300);
  }
  await revoke();
  const t0 = performance.now();
  const delays = await Promise.all(others.map(async (n) => {
    for (;;) {
      const status = await check(n.url);
      if (status === 401 || status === 403) return performance.now() - t0;
      expect(status, n.name).toBeLessThan(300);
      if (performance.now() - t0 > 10_000) throw new Error(`${n.name} still accepts the revoked credential after 10 s`);
    }
  }));
  return Math.max(...delays);
}

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
  adminToken = (await ok(cluster.url, 'POST', '/api/v1/setup', undefined, { username: 'admin', password: PASSWORD })).accessToken;
  admin = `Bearer ${adminToken}`;
  db = new pg.Pool({ connectionString: cluster.databaseUrl, max: 2 });
  db.on('error', () => {});
}, 240_000);

afterAll(async () => {
  await db?.end().catch(() => {});
  await cluster?.stop();
}, 120_000);

describe('three nodes behind HAProxy', () => {
  it('a revocation reaches every other node within the documented bound (token, user, grant)', async () => {
    const figures: Record<string, number> = {};
    // A personal API token, revoked by its owner.
    const pat = await ok(cluster.url, 'POST', '/api/v1/auth/tokens', admin, { name: 'cluster', scopes: ['events:read'], expiresInDays: 1 });
    const patAuth = `Bearer ${pat.secret}`;
    const readEvents = (auth: string) => async (base: string) => (await call(base, 'GET', `/api/v1/events?limit=1`, auth)).status;
    figures.token = await revocationDelay(readEvents(patAuth), async () => void (await ok(cluster.nodes[0]!.url, 'DELETE', `/api/v1/auth/tokens/${pat.token.id}`, admin)), 0);

    // A user, disabled by an administrator: their signed-in session ends everywhere.
    const user = (await ok(cluster.url, 'POST', '/api/v1/users', admin, { username: 'cluster-member', password: PASSWORD, role: 'member' })).user;
    const login = await ok(cluster.url, 'POST', '/api/v1/auth/login', undefined, { username: 'cluster-member', password: PASSWORD });
    figures.user = await revocationDelay(readEvents(`Bearer ${login.accessToken}`), async () => void (await ok(cluster.nodes[1]!.url, 'POST', `/api/v1/users/${user.id}/disable`, admin)), 1);

    // An app's grant on an event type, revoked by an administrator.
    const eventType = 'cluster.example/item';
    await ok(cluster.url, 'POST', '/api/v1/event-types', admin, { name: eventType, schema: { type: 'object' } });
    const reg = await ok(cluster.url, 'POST', '/api/v1/apps', admin, { name: 'cluster-app', description: 'cluster test' });
    const assoc = await ok(cluster.url, 'POST', '/api/v1/apps/associate', undefined, { associationCode: reg.associationCode });
    const tokenAnswer = await fetch(`${cluster.url}/api/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: assoc.clientId, client_secret: assoc.clientSecret }).toString(),
    });
    const appAuth = `Bearer ${((await tokenAnswer.json()) as { access_token: string }).access_token}`;
    const request = await ok(cluster.url, 'POST', '/api/v1/apps/me/permission-requests', appAuth, { eventType, read: true, message: 'cluster' });
    await ok(cluster.url, 'POST', `/api/v1/permission-requests/${request.id}/approve`, admin);
    const readType = async (base: string) => (await call(base, 'GET', `/api/v1/events?type=${encodeURIComponent(eventType)}&limit=1`, appAuth)).status;
    figures.grant = await revocationDelay(readType, async () => void (await ok(cluster.nodes[2]!.url, 'POST', `/api/v1/permission-requests/${request.id}/revoke`, admin)), 2);

    console.log(`revocation reached every other node in: token ${figures.token!.toFixed(1)} ms, user ${figures.user!.toFixed(1)} ms, grant ${figures.grant!.toFixed(1)} ms (bound ${REVOCATION_BOUND_MS} ms)`);
    for (const [kind, ms] of Object.entries(figures)) expect(ms, kind).toBeLessThan(REVOCATION_BOUND_MS);
  }, 120_000);

  it('PostgreSQL restarted under load: 503 database_unavailable, never a 500, and the nodes recover by themselves', async () => {
    const statuses = new Map<string, number>();
    const count = (k: string) => statuses.set(k, (statuses.get(k) ?? 0) + 1);
    let stop = false;
    const acknowledged: string[] = [];
    // Straight at each node (what Cairn answers) and through HAProxy (what clients see).
    const targets = [...cluster.nodes.map((n) => n.url), cluster.url];
    const load = targets.map(async (base, k) => {
      for (let n = 0; !stop; n++) {
        const transactionId = `pg-${k}-${n}`;
        for (let attempt = 0; ; attempt++) {
          const r = await call(base, 'POST', '/api/v1/events', admin, { events: [{ type: 'cluster.pg', transactionId, data: { n } }] }).catch((e: Error) => ({ status: e.name, body: undefined }));
          const code = typeof r.body === 'object' && r.body?.error?.code;
          count(`${base === cluster.url ? 'proxy' : 'node'} ${r.status}${code ? ` ${code}` : ''}`);
          if (r.status === 200 || r.status === 201) {
            acknowledged.push(transactionId);
            break;
          }
          if (stop && attempt > 200) break;
          await sleep(50);
        }
        const read = await call(base, 'GET', '/api/v1/events?limit=1', admin).catch((e: Error) => ({ status: e.name, body: undefined }));
        const code = typeof read.body === 'object' && read.body?.error?.code;
        count(`${base === cluster.url ? 'proxy' : 'node'} ${read.status}${code ? ` ${code}` : ''}`);
      }
    });
    await sleep(500);
    await cluster.restartDatabase({ downMs: 1500 });
    // Every node answers again on its own (no restart of the node).
    for (const n of cluster.nodes) {
      for (let t = 0; ; t++) {
        const r = await call(n.url, 'GET', '/api/v1/events?limit=1', admin).catch(() => ({ status: 0 }));
        if (r.status === 200) break;
        if (t > 300) throw new Error(`${n.name} did not recover: ${cluster.stderr(cluster.nodes.indexOf(n)).slice(-2000)}`);
        await sleep(100);
      }
      expect((await call(n.url, 'GET', '/api/v1/health/ready')).status, n.name).toBe(200);
    }
    await sleep(500);
    stop = true;
    await Promise.all(load);
    console.log(`answers while PostgreSQL restarted: ${JSON.stringify(Object.fromEntries(statuses))}`);

    const keys = [...statuses.keys()];
    expect(keys.filter((k) => / 5\d\d/.test(k) && !/ 503 (database_unavailable|unavailable)$/.test(k))).toEqual([]);
    expect(keys.filter((k) => k.startsWith('node 503')).every((k) => k === 'node 503 database_unavailable')).toBe(true);
    expect(statuses.get('node 503 database_unavailable') ?? 0).toBeGreaterThan(0);
    // No acknowledged write was lost or doubled by the restart.
    const { rows } = await db.query<{ transaction_id: string; n: number }>('SELECT transaction_id, count(*)::int AS n FROM ledger_entries WHERE type = $1 GROUP BY 1', ['cluster.pg']);
    const stored = new Map(rows.map((r) => [r.transaction_id, r.n]));
    expect(acknowledged.filter((id) => stored.get(id) !== 1)).toEqual([]);
    expect(rows.filter((r) => r.n !== 1)).toEqual([]);

    // The invalidation listeners reconnected: a revocation still reaches the other nodes in time.
    const pat = await ok(cluster.url, 'POST', '/api/v1/auth/tokens', admin, { name: 'after-restart', scopes: ['events:read'], expiresInDays: 1 });
    const ms = await revocationDelay(async (base) => (await call(base, 'GET', '/api/v1/events?limit=1', `Bearer ${pat.secret}`)).status, async () => void (await ok(cluster.nodes[0]!.url, 'DELETE', `/api/v1/auth/tokens/${pat.token.id}`, admin)), 0);
    console.log(`revocation after the database restart: ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(REVOCATION_BOUND_MS);
  }, 180_000);

  it('a node SIGKILLed under batched appends, a large upload and 20 live tails loses nothing and repeats nothing', async () => {
    const created = (await ok(cluster.url, 'POST', '/api/v1/datasets', admin, { title: 'Cluster upload' })).dataset;
    const ds = created.accession as string;
    const session = (await ok(cluster.url, 'POST', `/api/v1/datasets/${ds}/uploads`, admin)).session.id as string;

    const tails = Array.from({ length: 20 }, () => new Tail(admin));
    for (let t = 0; !tails.every((c) => c.connected); t++) {
      if (t > 600) throw new Error('the live tails did not all connect');
      await sleep(50);
    }
    const writers = [writer('w1', admin, 20), writer('w2', admin, 20), writer('w3', admin, 1)];
    for (let t = 0; !tails.every((c) => c.ids.length > 0); t++) {
      if (t > 600) throw new Error('the live tails did not all receive an entry');
      await sleep(50);
    }

    // The upload goes straight to node 2, which is killed once a third of the bytes are in.
    const data = randomBytes(24 * 1024 * 1024 + 777);
    const victim = cluster.nodes[1]!;
    let killed: Promise<void> | undefined;
    const first = await upload(`${victim.url}/api/v1/uploads/tus`, adminToken, data, { sessionId: session, sha256: sha(data) }, {
      chunkSize: 1024 * 1024,
      onProgress: (sent) => {
        if (!killed && sent >= data.length / 3) killed = cluster.kill(1);
      },
    });
    await killed;
    expect(first.ok, 'the upload must be cut by the kill').toBe(false);
    expect(first.url).toMatch(/\/api\/v1\/uploads\/tus\//);

    // Writes go on through the survivors for a moment, then stop.
    await sleep(1500);
    await Promise.all(writers.map((w) => w.stop()));

    // The upload resumes through the load balancer (another node) at the byte it reached.
    const uploadPath = new URL(first.url!).pathname;
    const head = await fetch(cluster.url + uploadPath, { method: 'HEAD', headers: { authorization: admin, 'tus-resumable': '1.0.0' } });
    expect(head.status).toBe(200);
    const offset = Number(head.headers.get('upload-offset'));
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(data.length);
    let resumedFrom = -1;
    const resumed = await upload(`${cluster.url}/api/v1/uploads/tus`, adminToken, data, { sessionId: session, sha256: sha(data) }, {
      uploadUrl: cluster.url + uploadPath,
      chunkSize: 4 * 1024 * 1024,
      onProgress: (n) => {
        if (resumedFrom < 0) resumedFrom = n;
      },
    });
    expect(resumed.ok, resumed.error).toBe(true);
    expect(resumedFrom).toBeGreaterThanOrEqual(offset);
    await ok(cluster.url, 'POST', `/api/v1/datasets/${ds}/uploads/${session}/commit`, admin, { changes: [{ op: 'put', path: 'big.bin', sha256: sha(data), size: data.length }] });
    const file = await fetch(`${cluster.url}/api/v1/datasets/${ds}/versions/draft/file?path=big.bin`, { headers: { authorization: admin } });
    expect(file.status).toBe(200);
    expect(sha(Buffer.from(await file.arrayBuffer()))).toBe(sha(data));
    // Background jobs still run after the database restart and the kill: the validation job the
    // commit queued is claimed by a surviving node and completes (graphile-worker deletes it then).
    for (let t = 0; ; t++) {
      const { rows: queued } = await db.query('SELECT 1 FROM graphile_worker._private_jobs WHERE key = $1', [`validate:${created.id}`]);
      if (!queued.length) break;
      if (t > 600) throw new Error('the validation job did not run');
      await sleep(100);
    }

    // Every acknowledged write is in the ledger exactly once.
    const acknowledged = writers.flatMap((w) => w.acknowledged);
    const { rows } = await db.query<{ transaction_id: string; n: number }>('SELECT transaction_id, count(*)::int AS n FROM ledger_entries WHERE type = $1 GROUP BY 1', [TYPE]);
    const stored = new Map(rows.map((r) => [r.transaction_id, r.n]));
    expect(rows.filter((r) => r.n !== 1)).toEqual([]);
    expect(acknowledged.filter((id) => stored.get(id) !== 1)).toEqual([]);
    expect(stored.size).toBe(acknowledged.length);
    const failures = writers.flatMap((w) => [...w.statuses].filter(([s]) => s !== 200 && s !== 201));
    expect(failures.filter(([s]) => s === 500)).toEqual([]);

    // Every tail saw every entry once, in ledger order, whichever node it was on.
    const order = (await db.query<{ id: string }>('SELECT id FROM ledger_entries WHERE type = $1 ORDER BY tx, position', [TYPE])).rows.map((r) => r.id);
    for (let t = 0; !tails.every((c) => c.ids.length >= order.length); t++) {
      if (t > 400) break;
      await sleep(50);
    }
    await Promise.all(tails.map((c) => c.stop()));
    for (const [i, c] of tails.entries()) expect(c.ids, `tail ${i}`).toEqual(order);
    // The kill did cut some of them (20 connections spread over 3 nodes), and they came back.
    expect(tails.some((c) => c.connects > 1)).toBe(true);
    console.log(`cluster: ${acknowledged.length} events acknowledged, ${tails.filter((c) => c.connects > 1).length}/20 tails reconnected, upload resumed at ${offset}/${data.length} bytes; writer answers besides 2xx: ${JSON.stringify(failures)}`);
  }, 300_000);
});
