import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { createTestApp, setupAdmin } from '../../test/harness.js';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A real HTTP receiver on loopback; `answer` decides each request's status (may wait). */
async function receiver(answer: (r: { body: string }) => Promise<number> | number) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      void (async () => {
        const status = await answer({ body });
        received.push({ headers: req.headers, body, status });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'thanks' : 'receiver is down for maintenance');
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    ok: () => received.filter((r) => r.status < 300).map((r) => JSON.parse(r.body) as Payload),
    close: () => new Promise((r) => server.close(r)),
  };
}

interface Payload {
  type: string;
  timestamp: string;
  data: { id: string; type: string; stream: string | null; streamSeq: number | null; data: Record<string, unknown>; replay?: boolean };
}

/** Waits for a condition the system must reach; fails with `what` if it never does. Not a timing assertion. */
async function until(what: string, cond: () => boolean | Promise<boolean>, limitMs = 30_000) {
  const end = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('webhooks', () => {
  let t: TestApp;
  let auth: { authorization: string };

  const call = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown, headers = auth) => t.app.inject({ method, url, payload: payload as never, headers });
  const subscribe = async (body: Record<string, unknown>) => {
    const r = await call('POST', '/api/v1/webhooks', body);
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { subscription: { id: string }; secret: string };
  };
  const append = async (events: Array<{ type: string; stream?: string; data: Record<string, unknown> }>) => {
    const r = await call('POST', '/api/v1/events', { events });
    expect(r.statusCode, r.body).toBe(201);
    return (r.json() as { events: Array<{ id: string }> }).events.map((e) => e.id);
  };
  const deliveries = async (id: string, query = '') => (await call('GET', `/api/v1/webhooks/${id}/deliveries?limit=500${query}`)).json() as { deliveries: Array<{ id: string; status: string; entryId: string; attempts: number; lastStatus: number | null; lastBody: string | null; replayOf: string | null }> };

  beforeAll(async () => {
    t = await createTestApp();
    auth = await setupAdmin(t.app);
    // Short waits between attempts so a test sees several of them; enough of them that none runs out.
    t.services.webhooks.options.retryScheduleMs = Array.from({ length: 10_000 }, () => 40);
    t.services.webhooks.options.pollMs = 50;
    await t.services.jobs.start({ pollInterval: 50, concurrency: 4 });
    await t.services.webhooks.start();
  });
  afterAll(async () => {
    await t.services.webhooks.stop();
    await t.services.jobs.stop();
    await t.stop();
  });

  it('signs every delivery per Standard Webhooks; the secret is shown once and stored sealed', async () => {
    const rx = await receiver(() => 200);
    try {
      const { subscription, secret } = await subscribe({ name: 'Signed', url: rx.url, eventTypes: ['test.example/signed'] });
      expect(secret).toMatch(/^whsec_/);
      const listed = await call('GET', '/api/v1/webhooks');
      expect(listed.body).not.toContain(secret);
      const stored = await sql<{ secret_sealed: string }>`SELECT secret_sealed FROM webhook_subscriptions WHERE id = ${subscription.id}`.execute(t.services.db);
      expect(stored.rows[0]!.secret_sealed).not.toContain(secret.slice(6, 20));

      const ids = await append([
        { type: 'test.example/signed', stream: 'thing:1', data: { n: 1 } },
        { type: 'test.example/other', stream: 'thing:1', data: { n: 2 } },
        { type: 'test.example/signed', data: { n: 3 } },
      ]);
      await until('two signed deliveries', () => rx.ok().length === 2);
      const wh = new Webhook(secret);
      for (const r of rx.received) {
        const verified = wh.verify(r.body, r.headers as Record<string, string>) as Payload;
        expect(r.headers['webhook-id']).toBe(`msg_${verified.data.id}`);
        expect(verified.type).toBe('test.example/signed');
      }
      expect(rx.ok().map((p) => p.data.id)).toEqual([ids[0], ids[2]]);
      expect(rx.ok()[0]!.data).toMatchObject({ stream: 'thing:1', streamSeq: 1, data: { n: 1 } });
      // A changed body or another secret does not verify.
      const first = rx.received[0]!;
      expect(() => wh.verify(first.body.replace('"n":1', '"n":9'), first.headers as Record<string, string>)).toThrow();
      expect(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(first.body, first.headers as Record<string, string>)).toThrow();

      // The answer is logged just after the receiver has sent it.
      await until('both logged', async () => (await deliveries(subscription.id, '&status=delivered')).deliveries.length === 2);
      const log = await deliveries(subscription.id);
      expect(log.deliveries.map((d) => [d.status, d.lastStatus, d.lastBody])).toEqual([
        ['delivered', 200, 'thanks'],
        ['delivered', 200, 'thanks'],
      ]);
    } finally {
      await rx.close();
    }
  });

  it('a receiver that is down gets everything afterwards, once each, in order per stream', async () => {
    let up = false;
    const rx = await receiver(() => (up ? 204 : 503));
    try {
      const { subscription } = await subscribe({ name: 'Flaky', url: rx.url, eventTypes: ['test.example/flaky'] });
      // Concurrent batches on three streams, some entries without a stream.
      const written = (
        await Promise.all(
          Array.from({ length: 6 }, (_, b) =>
            append(Array.from({ length: 5 }, (_, i) => ({ type: 'test.example/flaky', ...(i === 4 ? {} : { stream: `flaky:${(b + i) % 3}` }), data: { b, i } }))),
          ),
        )
      ).flat();
      await until('the receiver refused three attempts', () => rx.received.filter((r) => r.status === 503).length >= 3);
      await until('every entry queued', async () => (await deliveries(subscription.id)).deliveries.length === written.length);
      up = true;
      await until('everything delivered', async () => (await deliveries(subscription.id, '&status=delivered')).deliveries.length === written.length);

      const got = rx.ok();
      expect(got.map((p) => p.data.id).sort()).toEqual([...written].sort());
      expect(new Set(got.map((p) => p.data.id)).size).toBe(written.length);
      const seqs = new Map<string, number[]>();
      for (const p of got) if (p.data.stream) seqs.set(p.data.stream, [...(seqs.get(p.data.stream) ?? []), p.data.streamSeq!]);
      expect([...seqs.keys()].sort()).toEqual(['flaky:0', 'flaky:1', 'flaky:2']);
      for (const s of seqs.values()) expect(s).toEqual([...s].sort((a, b) => a - b));

      // The log keeps the failed attempts with the receiver's answer.
      const log = await deliveries(subscription.id);
      const retried = log.deliveries.find((d) => d.attempts > 1)!;
      const detail = (await call('GET', `/api/v1/webhooks/deliveries/${retried.id}`)).json() as { attempts: Array<{ status: number | null; body: string | null }> };
      expect(detail.attempts[0]).toMatchObject({ status: 503, body: 'receiver is down for maintenance' });
      expect(detail.attempts.at(-1)).toMatchObject({ status: 204 });
    } finally {
      await rx.close();
    }
  });

  it('a slow receiver holds up only its own subscription', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const slow = await receiver(async () => {
      await released;
      return 200;
    });
    const fast = await receiver(() => 200);
    try {
      const a = await subscribe({ name: 'Slow', url: slow.url, eventTypes: ['test.example/both'] });
      await subscribe({ name: 'Fast', url: fast.url, eventTypes: ['test.example/both'] });
      const ids = await append(Array.from({ length: 5 }, (_, i) => ({ type: 'test.example/both', stream: 'both:1', data: { i } })));
      await until('the fast receiver has everything', () => fast.ok().length === 5);
      // The slow one is still on its first delivery: sequential per subscription.
      expect(slow.received.length).toBe(0);
      expect((await deliveries(a.subscription.id, '&status=pending')).deliveries.length).toBe(5);
      release();
      await until('the slow receiver has everything', () => slow.ok().length === 5);
      expect(slow.ok().map((p) => p.data.id)).toEqual(ids);
    } finally {
      release();
      await slow.close();
      await fast.close();
    }
  });

  it('replays a logged delivery with the same webhook-id; a paused subscription resumes where it stopped', async () => {
    const rx = await receiver(() => 200);
    try {
      const { subscription } = await subscribe({ name: 'Replay', url: rx.url, eventTypes: ['test.example/replay'] });
      const [id] = await append([{ type: 'test.example/replay', data: { x: 1 } }]);
      await until('delivered', () => rx.ok().length === 1);
      const [d] = (await deliveries(subscription.id)).deliveries;
      const r = await call('POST', `/api/v1/webhooks/deliveries/${d!.id}/replay`);
      expect(r.statusCode, r.body).toBe(202);
      await until('replayed', () => rx.ok().length === 2);
      await until('replay logged', async () => (await deliveries(subscription.id, '&status=delivered')).deliveries.length === 2);
      expect(rx.received[1]!.headers['webhook-id']).toBe(rx.received[0]!.headers['webhook-id']);
      expect(rx.ok()[1]!.data).toMatchObject({ id, replay: true });
      expect((await deliveries(subscription.id)).deliveries[0]).toMatchObject({ replayOf: d!.id, status: 'delivered' });

      // Paused: entries wait; resumed: they arrive, in order, and nothing twice.
      expect((await call('PATCH', `/api/v1/webhooks/${subscription.id}`, { enabled: false })).statusCode).toBe(200);
      const later = await append([1, 2, 3].map((n) => ({ type: 'test.example/replay', stream: 'replay:1', data: { n } })));
      await t.services.webhooks.catchUp();
      expect(rx.received.length).toBe(2);
      // The feed, stopped and started again (a restart), continues from its stored position.
      await t.services.webhooks.stop();
      await t.services.webhooks.start();
      expect((await call('PATCH', `/api/v1/webhooks/${subscription.id}`, { enabled: true })).statusCode).toBe(200);
      await until('resumed', () => rx.ok().length === 5);
      expect(rx.ok().slice(2).map((p) => p.data.id)).toEqual(later);
    } finally {
      await rx.close();
    }
  });

  it('refuses bad input with a pointer, and anyone without webhooks:manage', async () => {
    const bad = async (body: unknown, pointer: string) => {
      const r = await call('POST', '/api/v1/webhooks', body);
      expect(r.statusCode, r.body).toBe(400);
      expect(JSON.stringify(r.json())).toContain(pointer);
    };
    await bad({ name: 'x', url: 'ftp://example.org/', eventTypes: ['a.b/c'] }, '/url');
    await bad({ name: 'x', url: 'https://u:p@example.org/', eventTypes: ['a.b/c'] }, '/url');
    await bad({ name: 'x', url: 'https://example.org/' }, '/eventTypes');
    await bad({ name: 'x', url: 'https://example.org/', eventTypes: ['Not A Type'] }, '/eventTypes/0');
    await bad({ name: 'x', url: 'https://example.org/', registrationActions: ['read'] }, '/registrationActions/0');
    await bad({ name: 'x', url: 'https://example.org/', eventTypes: ['registration.declare'] }, '/eventTypes/0');
    await bad({ name: 'x', url: 'https://example.org/', eventTypes: ['a.b/c'], extra: 1 }, '');
    expect((await call('GET', '/api/v1/webhooks/00000000-0000-7000-8000-000000000000')).statusCode).toBe(404);
    expect((await call('POST', '/api/v1/webhooks/deliveries/00000000-0000-7000-8000-000000000000/replay')).statusCode).toBe(404);

    const u = await call('POST', '/api/v1/users', { username: 'plain', password: 'correct horse battery staple 2', role: 'member' });
    expect(u.statusCode, u.body).toBe(201);
    const login = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'plain', password: 'correct horse battery staple 2' } });
    const member = { authorization: `Bearer ${(login.json() as { accessToken: string }).accessToken}` };
    expect((await call('GET', '/api/v1/webhooks', undefined, member)).statusCode).toBe(403);
    expect((await call('POST', '/api/v1/webhooks', { name: 'x', url: 'https://example.org/', eventTypes: ['a.b/c'] }, member)).statusCode).toBe(403);
  });
});
