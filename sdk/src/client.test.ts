import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/harness.js';
import { CairnClient, CairnError, type LedgerEntry } from './index.js';

let server: TestServer;
let admin: CairnClient;
const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  server = await startTestServer({ CAIRN_SERVE_WEB: 'false' });
  const anon = new CairnClient({ baseUrl: server.url });
  expect(await anon.setup.status()).toEqual({ needsSetup: true });
  const res = await anon.setup.create({ username: 'ada', password: PASSWORD });
  admin = new CairnClient({ baseUrl: server.url, token: res.accessToken });
});

afterAll(async () => {
  await server?.stop();
});

async function expectError(p: Promise<unknown>, status: number, code: string): Promise<CairnError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CairnError);
  const err = e as CairnError;
  expect({ status: err.status, code: err.code }).toEqual({ status, code });
  expect(err.message).toBeTruthy();
  return err;
}

describe('CairnClient against the real server', () => {
  it('reports health and refuses a second setup with already_set_up', async () => {
    const h = await admin.health();
    expect(h.status).toBe('ok');
    expect(h.database.ok).toBe(true);
    const anon = new CairnClient({ baseUrl: server.url });
    expect(await anon.setup.status()).toEqual({ needsSetup: false });
    const err = await expectError(anon.setup.create({ username: 'eve', password: PASSWORD }), 409, 'already_set_up');
    expect(err.requestId).toBeTruthy();
  });

  it('throws CairnError with the server code for bad credentials and missing auth', async () => {
    const anon = new CairnClient({ baseUrl: server.url });
    await expectError(anon.auth.login({ username: 'ada', password: 'wrong password!!' }), 401, 'invalid_credentials');
    await expectError(anon.auth.me(), 401, 'unauthenticated');
    const forged = new CairnClient({ baseUrl: server.url, token: 'cairn_pat_forged' });
    await expectError(forged.auth.me(), 401, 'invalid_token');
  });

  it('answers network_error (status 0) when nothing listens', async () => {
    const dead = new CairnClient({ baseUrl: 'http://127.0.0.1:9' });
    await expectError(dead.health(), 0, 'network_error');
  });

  it('reads the current user and scopes, and manages users', async () => {
    const me = await admin.auth.me();
    expect(me.user.username).toBe('ada');
    expect(me.user.role).toBe('admin');
    expect(me.scopes).toContain('users:manage');
    const bob = await admin.users.create({ username: 'bob', password: PASSWORD, role: 'member' });
    expect(bob).toMatchObject({ username: 'bob', role: 'member', disabled: false });
    expect((await admin.users.list()).map((u) => u.username).sort()).toEqual(['ada', 'bob']);
    expect((await admin.users.disable(bob.id)).disabled).toBe(true);
    const anon = new CairnClient({ baseUrl: server.url });
    await expectError(anon.auth.login({ username: 'bob', password: PASSWORD }), 403, 'account_disabled');
    expect((await admin.users.enable(bob.id)).disabled).toBe(false);
    const bobLogin = await anon.auth.login({ username: 'bob', password: PASSWORD });
    const bobClient = new CairnClient({ baseUrl: server.url, token: bobLogin.accessToken });
    await expectError(bobClient.users.list(), 403, 'forbidden');
  });

  it('creates, lists, uses and revokes API tokens', async () => {
    const scopes = await admin.auth.scopes();
    expect(scopes.map((s) => s.name)).toContain('events:write');
    const created = await admin.auth.tokens.create({ name: 'sdk test', scopes: ['events:read', 'events:write'], expiresInDays: 7 });
    expect(created.secret).toBeTruthy();
    expect(created.token).toMatchObject({ name: 'sdk test', revokedAt: null });
    const viaToken = new CairnClient({ baseUrl: server.url, token: created.secret });
    const [r] = await viaToken.events.append([{ type: 'note.created', data: { text: 'from a token' } }]);
    expect(r!.position).toBeGreaterThan(0);
    await expectError(viaToken.users.list(), 403, 'forbidden');
    const listed = await admin.auth.tokens.list();
    expect(listed.find((t) => t.id === created.token.id)?.name).toBe('sdk test');
    await admin.auth.tokens.revoke(created.token.id);
    const after = await viaToken.events.list().then(
      () => undefined,
      (e: CairnError) => e,
    );
    expect(after?.status).toBe(401);
  });

  it('appends atomically and idempotently, lists, pages with iterate() and gets one entry', async () => {
    const stream = `sdk-${Date.now()}`;
    const batch = Array.from({ length: 25 }, (_, i) => ({ type: 'sdk.counted', stream, data: { i } }));
    const results = await admin.events.append(batch);
    expect(results).toHaveLength(25);
    expect(results.every((r) => !r.replayed)).toBe(true);

    const once = await admin.events.appendOne({ type: 'sdk.once', data: { n: 1 }, transactionId: `tx-${stream}` });
    const again = await admin.events.appendOne({ type: 'sdk.once', data: { n: 1 }, transactionId: `tx-${stream}` });
    expect(again).toMatchObject({ id: once.id, position: once.position, replayed: true });

    await expectError(admin.events.append([{ type: 'sdk.ok', data: {} }, { type: 'Bad Type', data: {} }]), 400, 'validation_failed');
    expect((await admin.events.list({ type: 'sdk.ok' })).events).toHaveLength(0);

    const seen: LedgerEntry<{ i: number }>[] = [];
    for await (const e of admin.events.iterate<{ i: number }>({ stream, limit: 4 })) seen.push(e);
    expect(seen.map((e) => e.data.i)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(seen.map((e) => e.streamSeq)).toEqual([...seen.map((e) => e.streamSeq)].sort((a, b) => a! - b!));

    const one = await admin.events.get(results[3]!.id);
    expect(one).toMatchObject({ id: results[3]!.id, type: 'sdk.counted', stream, data: { i: 3 } });
    await expectError(admin.events.list({ after: 'not-a-cursor' }), 400, 'invalid_cursor');
  });

  it('tails live over SSE, resumes from a cursor without repeats, and stops on close()', async () => {
    const type = `tail.t${Date.now()}`;
    const first = await admin.events.append([{ type, data: { n: 0 } }]);
    const tail = admin.events.tail<{ n: number }>({ type, after: first[0]!.cursor });
    const got: number[] = [];
    const reading = (async () => {
      for await (const e of tail) {
        got.push(e.data.n);
        if (got.length === 5) break;
      }
    })();
    for (let n = 1; n <= 5; n++) await admin.events.append([{ type, data: { n } }]);
    await reading;
    expect(got).toEqual([1, 2, 3, 4, 5]);
    expect(tail.cursor).toBeTruthy();

    // Resume from where the first tail stopped: only newer entries arrive.
    await admin.events.append([{ type, data: { n: 6 } }]);
    const resumed = admin.events.tail<{ n: number }>({ type, after: tail.cursor! });
    for await (const e of resumed) {
      expect(e.data.n).toBe(6);
      resumed.close();
    }
  });

  it('fails a tail with a fatal error instead of reconnecting forever', async () => {
    const anon = new CairnClient({ baseUrl: server.url });
    const tail = anon.events.tail({});
    await expectError(
      (async () => {
        for await (const _ of tail) void _;
      })(),
      401,
      'unauthenticated',
    );
  });

  it('verifies the ledger', async () => {
    const report = await admin.ledger.verify();
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([]);
    expect(report.checked).toBeGreaterThan(0);
  });
});
