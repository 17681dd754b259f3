import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from 'otplib';
import { SseParser, type SseMessage } from '@cairn/sdk';
import { createTestApp, startTestServer, type TestServer } from '../../test/harness.js';
import type { App } from '../app.js';
import type pg from 'pg';
import { createLogger } from '../kernel/logger.js';

/**
 * Issue 10, "access that should have ended": a live tail stops with its credential (3), a
 * password change and a disable end the other ways in (6), lockout does not tell which usernames
 * exist (13), and a TOTP code works once (18).
 */

const PASSWORD = 'correct horse battery staple';

// --- a live tail over a real socket, read by a real SSE parser ------------------------------

interface Tail {
  messages: SseMessage[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  waitFor(pred: (m: SseMessage) => boolean): Promise<SseMessage>;
  close(): void;
}

async function openTail(baseUrl: string, authorization: string): Promise<Tail> {
  const abort = new AbortController();
  const res = await fetch(`${baseUrl}/api/v1/events/stream`, { headers: { authorization, accept: 'text/event-stream' }, signal: abort.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const messages: SseMessage[] = [];
  const waiters: Array<() => void> = [];
  const parser = new SseParser();
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        messages.push(...parser.push(decoder.decode(value, { stream: true })));
        for (const w of waiters.splice(0)) w();
      }
    } catch {
      // aborted by the test
    } finally {
      for (const w of waiters.splice(0)) w();
    }
  })();
  let finished = false;
  void ended.then(() => (finished = true));
  return {
    messages,
    ended,
    async waitFor(pred) {
      for (;;) {
        const hit = messages.find(pred);
        if (hit) return hit;
        if (finished) throw new Error('the stream ended before the awaited message');
        await new Promise<void>((r) => waiters.push(r));
      }
    },
    close: () => abort.abort(),
  };
}

const entryOfType = (type: string) => (m: SseMessage) => m.event === 'entry' && (JSON.parse(m.data) as { type: string }).type === type;

describe('a live tail ends with its credential (real server, real SSE client)', () => {
  let server: TestServer;
  let adminAuth: string;
  const api = async (method: string, path: string, authorization: string | undefined, body?: unknown) => {
    const r = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...(authorization ? { authorization } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, json: (text ? JSON.parse(text) : null) as any };
  };
  const login = async (username: string, password: string) => {
    const r = await api('POST', '/api/v1/auth/login', undefined, { username, password });
    expect(r.status).toBe(200);
    return `Bearer ${r.json.accessToken as string}`;
  };
  const append = async (authorization: string, type: string) => {
    const r = await api('POST', '/api/v1/events', authorization, { events: [{ type, data: { at: type } }] });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
  };
  const newUser = async (username: string, role: 'member' | 'admin') => {
    const r = await api('POST', '/api/v1/users', adminAuth, { username, password: `${username} password 1`, role });
    expect(r.status).toBe(201);
    return { id: r.json.user.id as string, password: `${username} password 1` };
  };

  beforeAll(async () => {
    server = await startTestServer();
    const r = await api('POST', '/api/v1/setup', undefined, { username: 'admin', password: PASSWORD });
    adminAuth = `Bearer ${r.json.accessToken as string}`;
  });
  afterAll(() => server.stop());

  it('a revoked API token: the stream closes and delivers nothing appended after', async () => {
    const mia = await newUser('mia', 'member');
    const session = await login('mia', mia.password);
    const created = await api('POST', '/api/v1/auth/tokens', session, { name: 'tail', scopes: ['events:read'], expiresInDays: 1 });
    const tail = await openTail(server.url, `Bearer ${created.json.secret as string}`);
    await append(session, 'tail.before');
    await tail.waitFor(entryOfType('tail.before'));

    expect((await api('DELETE', `/api/v1/auth/tokens/${created.json.token.id as string}`, session)).status).toBe(204);
    await append(session, 'tail.after');
    await tail.ended;
    expect(tail.messages.some(entryOfType('tail.after'))).toBe(false);
  });

  it('a logged-out session: its access token\'s stream closes', async () => {
    const leo = await newUser('leo', 'member');
    const first = await login('leo', leo.password);
    const second = await login('leo', leo.password);
    const tail = await openTail(server.url, first);
    await append(second, 'logout.before');
    await tail.waitFor(entryOfType('logout.before'));

    expect((await api('POST', '/api/v1/auth/logout', first)).status).toBe(204);
    await append(second, 'logout.after');
    await tail.ended;
    expect(tail.messages.some(entryOfType('logout.after'))).toBe(false);
  });

  it("a disabled admin's stream stops receiving other users' entries", async () => {
    const ada = await newUser('ada', 'admin');
    const tail = await openTail(server.url, await login('ada', ada.password));
    await append(adminAuth, 'disable.before');
    await tail.waitFor(entryOfType('disable.before'));

    expect((await api('POST', `/api/v1/users/${ada.id}/disable`, adminAuth)).status).toBe(200);
    await append(adminAuth, 'disable.after');
    await tail.ended;
    expect(tail.messages.some(entryOfType('disable.after'))).toBe(false);
  });

  it('a stream whose credential still stands stays open (the control case)', async () => {
    const tail = await openTail(server.url, adminAuth);
    await append(adminAuth, 'control.one');
    await tail.waitFor(entryOfType('control.one'));
    await append(adminAuth, 'control.two');
    await tail.waitFor(entryOfType('control.two'));
    tail.close();
  });
});

// --- password change, disable, lockout, TOTP: in-process -----------------------------------

describe('accounts', () => {
  let app: App;
  let pool: pg.Pool;
  let stop: () => Promise<void>;
  let admin: string;
  // The server's clock runs with real time plus `offset`; each TOTP code is taken one step
  // (30 s) later than the last, so every code in these tests is a fresh one unless reused on purpose.
  let offset = 0;
  const clock = { now: () => new Date(Date.now() + offset) };
  const codeAt = (secret: string, shiftSeconds = 0) => generate({ secret, epoch: Math.floor((Date.now() + offset) / 1000) + shiftSeconds });
  const nextStep = () => (offset += 30_000);

  const inject = (method: string, url: string, authorization?: string, payload?: unknown) =>
    app.inject({ method: method as 'GET', url, headers: authorization ? { authorization } : {}, ...(payload !== undefined ? { payload: payload as object } : {}) });
  const login = (username: string, password: string, totp?: string) => inject('POST', '/api/v1/auth/login', undefined, { username, password, ...(totp ? { totp } : {}) });
  const bearer = async (username: string, password: string) => `Bearer ${(await login(username, password)).json().accessToken as string}`;
  const newUser = async (username: string) => {
    const r = await inject('POST', '/api/v1/users', admin, { username, password: `${username} password 1`, role: 'member' });
    expect(r.statusCode).toBe(201);
    return { id: r.json().user.id as string, password: `${username} password 1` };
  };
  const token = async (authorization: string) => `Bearer ${(await inject('POST', '/api/v1/auth/tokens', authorization, { name: 't', scopes: ['events:read', 'account'], expiresInDays: 1 })).json().secret as string}`;
  const status = async (authorization: string) => (await inject('GET', '/api/v1/auth/me', authorization)).statusCode;

  beforeAll(async () => {
    ({ app, pool, stop } = await createTestApp({ CAIRN_LOGIN_RATE_LIMIT: '1000', CAIRN_LOCKOUT_THRESHOLD: '3', CAIRN_LOCKOUT_SECONDS: '60' }, { clock, log: createLogger('error') }));
    const r = await inject('POST', '/api/v1/setup', undefined, { username: 'admin', password: PASSWORD });
    admin = `Bearer ${r.json().accessToken as string}`;
  });
  afterAll(() => stop());

  describe('a password change ends the other ways in (6)', () => {
    it('keeps the session that made the change, ends the others and revokes API tokens, and says so', async () => {
      const u = await newUser('pat');
      const here = await bearer('pat', u.password);
      const elsewhere = await bearer('pat', u.password);
      const cookieLogin = await login('pat', u.password);
      const cookie = cookieLogin.cookies.find((c) => c.name === 'cairn_session')!.value;
      const script = await token(here);
      for (const a of [here, elsewhere, script]) expect(await status(a)).toBe(200);

      const changed = await inject('POST', '/api/v1/auth/password', here, { currentPassword: u.password, newPassword: 'a brand new password 2' });
      expect(changed.statusCode, changed.body).toBe(200);
      expect(changed.json()).toEqual({ endedSessions: 2, revokedTokens: 1 });

      expect(await status(here)).toBe(200);
      expect(await status(elsewhere)).toBe(401);
      expect(await status(script)).toBe(401);
      expect((await app.inject({ url: '/api/v1/auth/me', cookies: { cairn_session: cookie } })).statusCode).toBe(401);
      // The old password is gone, the new one works.
      expect((await login('pat', u.password)).statusCode).toBe(401);
      expect((await login('pat', 'a brand new password 2')).statusCode).toBe(200);
    });

    it('a change made with an API token keeps that token and ends everything else', async () => {
      const u = await newUser('tao');
      const session = await bearer('tao', u.password);
      const asking = await token(session);
      const other = await token(session);
      const r = await inject('POST', '/api/v1/auth/password', asking, { currentPassword: u.password, newPassword: 'a brand new password 3' });
      expect(r.json()).toEqual({ endedSessions: 1, revokedTokens: 1 });
      expect(await status(asking)).toBe(200);
      expect(await status(other)).toBe(401);
      expect(await status(session)).toBe(401);
    });
  });

  describe('disabling a user revokes for good (6)', () => {
    it('enabling the user again does not revive tokens or sessions from before the disable', async () => {
      const u = await newUser('dan');
      const session = await bearer('dan', u.password);
      const script = await token(session);
      expect(await status(script)).toBe(200);
      expect((await inject('POST', `/api/v1/users/${u.id}/disable`, admin)).statusCode).toBe(200);
      expect(await status(script)).toBe(401);
      expect((await inject('POST', `/api/v1/users/${u.id}/enable`, admin)).statusCode).toBe(200);
      const after = await inject('GET', '/api/v1/auth/me', script);
      expect(after.statusCode).toBe(401);
      expect(after.json().error.code).toBe('invalid_token');
      expect(await status(session)).toBe(401);
      // Signing in again works, and new tokens do.
      expect(await status(await token(await bearer('dan', u.password)))).toBe(200);
    });
  });

  describe('lockout does not enumerate usernames (13)', () => {
    it('an unknown username answers exactly as a real one, failure after failure, lock included', async () => {
      await newUser('real-user');
      const trail = async (username: string) => {
        const out: Array<{ status: number; code: string; retryAfter: boolean; keys: string[] }> = [];
        for (let i = 0; i < 5; i++) {
          const r = await login(username, 'not the password at all');
          out.push({ status: r.statusCode, code: r.json().error.code, retryAfter: r.headers['retry-after'] !== undefined, keys: Object.keys(r.json().error).sort() });
        }
        return out;
      };
      const real = await trail('real-user');
      const ghost = await trail('no-such-user');
      expect(real.map((r) => r.status)).toEqual([401, 401, 401, 423, 423]);
      expect(ghost).toEqual(real);
      // The ghost's lock is one like any other: a right password does not get past it either.
      expect((await login('real-user', 'real-user password 1')).statusCode).toBe(423);
    });

    it('an administrator enabling the user lifts the lock; the failures table holds hashes, not names', async () => {
      const u = await newUser('locky');
      for (let i = 0; i < 3; i++) await login('locky', 'wrong password here');
      expect((await login('locky', u.password)).statusCode).toBe(423);
      expect((await inject('POST', `/api/v1/users/${u.id}/enable`, admin)).statusCode).toBe(200);
      expect((await login('locky', u.password)).statusCode).toBe(200);
      await login('locky', 'wrong password again');
      const { rows } = await pool.query<{ username_key: Buffer }>('SELECT username_key FROM login_failures');
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) expect(r.username_key.toString('latin1')).not.toMatch(/locky|real-user|no-such-user/);
    });
  });

  describe('a TOTP code works once (18)', () => {
    it('refuses a code whose time step was already used, even within its window', async () => {
      const u = await newUser('otto');
      const auth = await bearer('otto', u.password);
      const { secret } = (await inject('POST', '/api/v1/auth/totp/enrol', auth)).json();
      nextStep();
      const confirmCode = await codeAt(secret);
      expect((await inject('POST', '/api/v1/auth/totp/confirm', auth, { code: confirmCode })).statusCode).toBe(200);

      // The enrolment's own code cannot sign in.
      const reused = await login('otto', u.password, confirmCode);
      expect(reused.statusCode).toBe(401);
      expect(reused.json().error.code).toBe('totp_reused');

      nextStep();
      const code = await codeAt(secret);
      expect((await login('otto', u.password, code)).statusCode).toBe(200);
      const again = await login('otto', u.password, code);
      expect(again.statusCode).toBe(401);
      expect(again.json().error.code).toBe('totp_reused');
      // An older code still inside the ±1 step window is refused too: steps only move forward.
      nextStep();
      const current = await codeAt(secret);
      expect((await login('otto', u.password, current)).statusCode).toBe(200);
      expect((await login('otto', u.password, await codeAt(secret, -30))).json().error.code).toBe('totp_reused');
      // Turning the factor off needs an unused code as well.
      const disable = await inject('POST', '/api/v1/auth/totp/disable', auth, { code: current });
      expect(disable.json().error.code).toBe('totp_reused');
    });

    it('of two concurrent sign-ins with one code, exactly one succeeds', async () => {
      const u = await newUser('twin');
      const auth = await bearer('twin', u.password);
      const { secret } = (await inject('POST', '/api/v1/auth/totp/enrol', auth)).json();
      nextStep();
      expect((await inject('POST', '/api/v1/auth/totp/confirm', auth, { code: await codeAt(secret) })).statusCode).toBe(200);
      for (let round = 0; round < 3; round++) {
        nextStep();
        const code = await codeAt(secret);
        const rs = await Promise.all(Array.from({ length: 3 }, () => login('twin', u.password, code)));
        expect(rs.map((r) => r.statusCode).sort()).toEqual([200, 401, 401]);
        expect(rs.filter((r) => r.statusCode === 401).every((r) => r.json().error.code === 'totp_reused')).toBe(true);
        // Reused codes count as failed sign-ins: start each round from a clean slate.
        await inject('POST', `/api/v1/users/${u.id}/enable`, admin);
      }
    });
  });
});
