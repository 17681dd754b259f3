import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from 'otplib';
import { createTestApp } from '../../test/harness.js';
import type { App } from '../app.js';
import type pg from 'pg';

let app: App;
let pool: pg.Pool;
let stop: () => Promise<void>;
const PASSWORD = 'correct horse battery staple';
// A TOTP code works once (its time step is used up): the server's clock runs `offset` ahead of
// real time, and each code is taken one step later than the last, as a person would type the
// next code their app shows.
let offset = 0;
const clock = { now: () => new Date(Date.now() + offset) };
function nextCode(secret: string) {
  offset += 30_000;
  return generate({ secret, epoch: Math.floor((Date.now() + offset) / 1000) });
}

beforeAll(async () => {
  ({ app, pool, stop } = await createTestApp({ CAIRN_LOGIN_RATE_LIMIT: '1000', CAIRN_LOCKOUT_THRESHOLD: '3', CAIRN_LOCKOUT_SECONDS: '60' }, { clock }));
});
afterAll(() => stop());

const login = (username: string, password: string, totp?: string) => app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password, ...(totp ? { totp } : {}) } });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
function cookiesOf(r: { cookies: Array<{ name: string; value: string }> }) {
  return Object.fromEntries(r.cookies.map((c) => [c.name, c.value]));
}

describe('first run', () => {
  it('needs setup until the first admin exists, then refuses a second setup', async () => {
    expect((await app.inject({ url: '/api/v1/setup' })).json()).toEqual({ needsSetup: true });
    const weak = await app.inject({ method: 'POST', url: '/api/v1/setup', payload: { username: 'admin', password: 'short' } });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().error.code).toBe('validation_failed');
    const r = await app.inject({ method: 'POST', url: '/api/v1/setup', payload: { username: 'admin', password: PASSWORD } });
    expect(r.statusCode).toBe(201);
    expect(r.json().user).toMatchObject({ username: 'admin', role: 'admin' });
    expect((await app.inject({ url: '/api/v1/setup' })).json()).toEqual({ needsSetup: false });
    const again = await app.inject({ method: 'POST', url: '/api/v1/setup', payload: { username: 'other', password: PASSWORD } });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('already_set_up');
  });

  it('stores argon2id hashes, never the password', async () => {
    const { rows } = await pool.query('SELECT password_hash FROM users');
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$/);
    expect(rows[0].password_hash).not.toContain(PASSWORD);
  });
});

describe('login', () => {
  it('answers an access token, sets an httpOnly session cookie and a CSRF cookie', async () => {
    const r = await login('admin', PASSWORD);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ expiresIn: 900, user: { username: 'admin' } });
    const session = r.cookies.find((c) => c.name === 'cairn_session')!;
    expect(session.httpOnly).toBe(true);
    expect(session.sameSite).toBe('Lax');
    expect(r.cookies.find((c) => c.name === 'cairn_csrf')!.httpOnly).toBeFalsy();
    const me = await app.inject({ url: '/api/v1/auth/me', headers: bearer(r.json().accessToken) });
    expect(me.json().user.username).toBe('admin');
  });

  it('answers invalid_credentials for a wrong password or an unknown user alike', async () => {
    const a = await login('admin', 'wrong password!!');
    const b = await login('nobody', 'wrong password!!');
    expect([a.statusCode, b.statusCode]).toEqual([401, 401]);
    expect(a.json().error.code).toBe('invalid_credentials');
    expect(b.json().error.code).toBe('invalid_credentials');
    expect(a.json().error.message).toBe(b.json().error.message);
  });

  it('locks the account after a burst of failures, with its own code', async () => {
    const admin = (await login('admin', PASSWORD)).json().accessToken;
    await app.inject({ method: 'POST', url: '/api/v1/users', headers: bearer(admin), payload: { username: 'victim', password: 'victim password 1', role: 'member' } });
    for (let i = 0; i < 3; i++) expect((await login('victim', 'nope nope nope')).json().error.code).toBe('invalid_credentials');
    const locked = await login('victim', 'victim password 1');
    expect(locked.statusCode).toBe(423);
    expect(locked.json().error.code).toBe('account_locked');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    // The admin can lift it.
    const id = (await app.inject({ url: '/api/v1/users', headers: bearer(admin) })).json().users.find((u: { username: string }) => u.username === 'victim').id;
    await app.inject({ method: 'POST', url: `/api/v1/users/${id}/enable`, headers: bearer(admin) });
    expect((await login('victim', 'victim password 1')).statusCode).toBe(200);
  });

  it('rate limits logins per address with rate_limited', async () => {
    const limited = await createTestApp({ CAIRN_LOGIN_RATE_LIMIT: '3' });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await limited.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'x', password: 'y' } })).statusCode);
      expect(codes.slice(0, 3)).toEqual([401, 401, 401]);
      const r = await limited.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'x', password: 'y' } });
      expect(r.statusCode).toBe(429);
      expect(r.json().error.code).toBe('rate_limited');
    } finally {
      await limited.stop();
    }
  });

  it('records logins and failed logins in the ledger', async () => {
    const admin = (await login('admin', PASSWORD)).json().accessToken;
    const types = (await app.inject({ url: '/api/v1/events?limit=1000', headers: bearer(admin) })).json().events.map((e: { type: string }) => e.type);
    expect(types).toContain('auth.login');
    expect(types).toContain('auth.login_failed');
    expect(types).toContain('user.created');
  });
});

describe('browser session', () => {
  it('authenticates with the cookie, and refuses cookie writes without the CSRF header', async () => {
    const r = await login('admin', PASSWORD);
    const c = cookiesOf(r);
    const cookie = `cairn_session=${c.cairn_session}; cairn_csrf=${c.cairn_csrf}`;
    expect((await app.inject({ url: '/api/v1/auth/me', headers: { cookie } })).statusCode).toBe(200);
    const noCsrf = await app.inject({ method: 'POST', url: '/api/v1/events', headers: { cookie }, payload: { events: [{ type: 'x.y', data: {} }] } });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().error.code).toBe('csrf_failed');
    const forged = await app.inject({ method: 'POST', url: '/api/v1/events', headers: { cookie, 'x-csrf-token': 'forged' }, payload: { events: [{ type: 'x.y', data: {} }] } });
    expect(forged.json().error.code).toBe('csrf_failed');
    const ok = await app.inject({ method: 'POST', url: '/api/v1/events', headers: { cookie, 'x-csrf-token': c.cairn_csrf! }, payload: { events: [{ type: 'x.y', data: {} }] } });
    expect(ok.statusCode).toBe(201);
    const refreshed = await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', headers: { cookie, 'x-csrf-token': c.cairn_csrf! } });
    expect(refreshed.statusCode).toBe(200);
    expect(refreshed.json().accessToken).toBeTruthy();
    const out = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie, 'x-csrf-token': c.cairn_csrf! } });
    expect(out.statusCode).toBe(204);
    expect((await app.inject({ url: '/api/v1/auth/me', headers: { cookie } })).statusCode).toBe(401);
    // The access token tied to the ended session stops working too.
    expect((await app.inject({ url: '/api/v1/auth/me', headers: bearer(r.json().accessToken) })).json().error.code).toBe('invalid_token');
  });

  it('sets security headers and a request id on every response', async () => {
    const r = await app.inject({ url: '/api/v1/health', headers: { 'x-request-id': 'abc-123' } });
    expect(r.headers['x-request-id']).toBe('abc-123');
    expect(r.headers['content-security-policy']).toContain("default-src 'self'");
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.json()).toMatchObject({ status: 'ok', database: { ok: true } });
    const other = await app.inject({ url: '/api/v1/nope' });
    expect(other.statusCode).toBe(404);
    expect(other.headers['x-request-id']).toBeTruthy();
    expect(other.json().error.code).toBe('route_not_found');
  });
});

describe('second factor', () => {
  it('enrols, then requires the code at login, then can be disabled', async () => {
    const token = (await login('admin', PASSWORD)).json().accessToken;
    const enrol = await app.inject({ method: 'POST', url: '/api/v1/auth/totp/enrol', headers: bearer(token) });
    const { secret, otpauthUri } = enrol.json();
    expect(otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/totp/confirm', headers: bearer(token), payload: { code: '000000' } })).json().error.code).toBe('totp_invalid');
    const confirm = await app.inject({ method: 'POST', url: '/api/v1/auth/totp/confirm', headers: bearer(token), payload: { code: await nextCode(secret) } });
    expect(confirm.json().user.totpEnabled).toBe(true);
    // The seed is encrypted at rest.
    const { rows } = await pool.query("SELECT totp_secret_enc FROM users WHERE username = 'admin'");
    expect(rows[0].totp_secret_enc).not.toContain(secret);

    const noCode = await login('admin', PASSWORD);
    expect(noCode.statusCode).toBe(401);
    expect(noCode.json().error.code).toBe('totp_required');
    expect((await login('admin', PASSWORD, '123456')).json().error.code).toBe('totp_invalid');
    const ok = await login('admin', PASSWORD, await nextCode(secret));
    expect(ok.statusCode).toBe(200);
    const off = await app.inject({ method: 'POST', url: '/api/v1/auth/totp/disable', headers: bearer(ok.json().accessToken), payload: { code: await nextCode(secret) } });
    expect(off.json().user.totpEnabled).toBe(false);
  });

  it('when required for everyone, users without it can reach only their account until they enrol', async () => {
    const admin = (await login('admin', PASSWORD)).json().accessToken;
    await app.inject({ method: 'POST', url: '/api/v1/users', headers: bearer(admin), payload: { username: 'newbie', password: 'newbie password 1', role: 'member' } });
    const refused = await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: bearer(admin), payload: { requireTotp: true } });
    expect(refused.json().error.code).toBe('conflict');
    const { secret: adminSecret } = (await app.inject({ method: 'POST', url: '/api/v1/auth/totp/enrol', headers: bearer(admin) })).json();
    await app.inject({ method: 'POST', url: '/api/v1/auth/totp/confirm', headers: bearer(admin), payload: { code: await nextCode(adminSecret) } });
    expect((await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: bearer(admin), payload: { requireTotp: true } })).json()).toEqual({ requireTotp: true });
    try {
      const r = await login('newbie', 'newbie password 1');
      expect(r.json().user.mustEnrolTotp).toBe(true);
      const t = r.json().accessToken;
      const blocked = await app.inject({ url: '/api/v1/events', headers: bearer(t) });
      expect(blocked.statusCode).toBe(403);
      expect(blocked.json().error.code).toBe('totp_enrolment_required');
      const { secret } = (await app.inject({ method: 'POST', url: '/api/v1/auth/totp/enrol', headers: bearer(t) })).json();
      await app.inject({ method: 'POST', url: '/api/v1/auth/totp/confirm', headers: bearer(t), payload: { code: await nextCode(secret) } });
      expect((await app.inject({ url: '/api/v1/events', headers: bearer(t) })).statusCode).toBe(200);
    } finally {
      await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: bearer(admin), payload: { requireTotp: false } });
      await app.inject({ method: 'POST', url: '/api/v1/auth/totp/disable', headers: bearer(admin), payload: { code: await nextCode(adminSecret) } });
    }
  });
});

describe('personal API tokens', () => {
  it('creates a scoped token shown once, hashed at rest, usable as a bearer, revocable', async () => {
    const admin = (await login('admin', PASSWORD)).json().accessToken;
    const created = await app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: bearer(admin), payload: { name: 'script', scopes: ['events:read'], expiresInDays: 30 } });
    expect(created.statusCode).toBe(201);
    const { secret, token } = created.json();
    expect(secret).toMatch(/^cairn_pat_/);
    const { rows } = await pool.query('SELECT token_hash FROM api_tokens WHERE id = $1', [token.id]);
    expect(Buffer.from(rows[0].token_hash).toString('utf8')).not.toContain(secret);
    const list = await app.inject({ url: '/api/v1/auth/tokens', headers: bearer(admin) });
    expect(JSON.stringify(list.json())).not.toContain(secret);
    // Scoped: it reads, it cannot write or administer.
    expect((await app.inject({ url: '/api/v1/events', headers: bearer(secret) })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/api/v1/events', headers: bearer(secret), payload: { events: [{ type: 'a.b', data: {} }] } })).json().error.code).toBe('forbidden');
    expect((await app.inject({ url: '/api/v1/users', headers: bearer(secret) })).statusCode).toBe(403);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/auth/tokens/${token.id}`, headers: bearer(admin) })).statusCode).toBe(204);
    const revoked = await app.inject({ url: '/api/v1/events', headers: bearer(secret) });
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json().error.code).toBe('invalid_token');
  });

  it('refuses expired tokens with token_expired, and scopes beyond the owner', async () => {
    const admin = (await login('admin', PASSWORD)).json().accessToken;
    const { secret, token } = (await app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: bearer(admin), payload: { name: 'old', scopes: ['events:read'], expiresInDays: 1 } })).json();
    await pool.query("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", [token.id]);
    expect((await app.inject({ url: '/api/v1/events', headers: bearer(secret) })).json().error.code).toBe('token_expired');
    const member = (await login('victim', 'victim password 1')).json().accessToken;
    const beyond = await app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: bearer(member), payload: { name: 'x', scopes: ['users:manage'], expiresInDays: 1 } });
    expect(beyond.statusCode).toBe(403);
    const unknown = await app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: bearer(member), payload: { name: 'x', scopes: ['root'], expiresInDays: 1 } });
    expect(unknown.json().error.code).toBe('validation_failed');
  });

  it('rejects forged, malformed and expired access tokens', async () => {
    for (const t of ['nope', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'cairn_pat_forged', 'a'.repeat(5000)]) {
      const r = await app.inject({ url: '/api/v1/auth/me', headers: bearer(t) });
      expect(r.statusCode).toBe(401);
      expect(['invalid_token', 'token_expired']).toContain(r.json().error.code);
    }
  });

  it('refuses an access token past its lifetime with token_expired', async () => {
    let offset = 0;
    const clock = { now: () => new Date(Date.now() + offset) };
    const other = await createTestApp({ CAIRN_ACCESS_TOKEN_TTL: '30' }, { clock });
    try {
      const t = (await other.app.inject({ method: 'POST', url: '/api/v1/setup', payload: { username: 'admin', password: PASSWORD } })).json().accessToken;
      expect((await other.app.inject({ url: '/api/v1/auth/me', headers: bearer(t) })).statusCode).toBe(200);
      offset = 60_000;
      const r = await other.app.inject({ url: '/api/v1/auth/me', headers: bearer(t) });
      expect(r.statusCode).toBe(401);
      expect(r.json().error.code).toBe('token_expired');
    } finally {
      await other.stop();
    }
  });
});

describe('users (admin)', () => {
  it('creates, lists, disables (ending sessions) and enables users; members cannot', async () => {
    const admin = (await login('admin', PASSWORD)).json().accessToken;
    const dup = await app.inject({ method: 'POST', url: '/api/v1/users', headers: bearer(admin), payload: { username: 'VICTIM', password: 'whatever password', role: 'member' } });
    expect(dup.json().error.code).toBe('username_taken');
    const member = (await login('victim', 'victim password 1')).json().accessToken;
    expect((await app.inject({ url: '/api/v1/users', headers: bearer(member) })).statusCode).toBe(403);
    const id = (await app.inject({ url: '/api/v1/users', headers: bearer(admin) })).json().users.find((u: { username: string }) => u.username === 'victim').id;
    const disabled = await app.inject({ method: 'POST', url: `/api/v1/users/${id}/disable`, headers: bearer(admin) });
    expect(disabled.json().user.disabled).toBe(true);
    expect((await app.inject({ url: '/api/v1/auth/me', headers: bearer(member) })).statusCode).toBe(401);
    expect((await login('victim', 'victim password 1')).json().error.code).toBe('account_disabled');
    await app.inject({ method: 'POST', url: `/api/v1/users/${id}/enable`, headers: bearer(admin) });
    expect((await login('victim', 'victim password 1')).statusCode).toBe(200);
  });
});

describe('secrets stay out of the logs', () => {
  it('redacts passwords, tokens and cookies wherever they appear in a log line', async () => {
    const lines: string[] = [];
    const pino = (await import('pino')).default;
    const { redactPaths } = await import('../kernel/logger.js');
    const l = pino({ redact: { paths: redactPaths, censor: '[redacted]' } }, { write: (s: string) => lines.push(s) });
    l.info({ req: { headers: { authorization: 'Bearer secret-token', cookie: 'cairn_session=cs_x' } }, body: { password: 'hunter2hunter2' } }, 'x');
    expect(lines.join('')).not.toMatch(/secret-token|cs_x|hunter2/);
    expect(lines.join('')).toContain('[redacted]');
  });
});
