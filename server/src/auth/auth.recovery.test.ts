import { describe, expect, it } from 'vitest';
import { steppingTotpClock, useAdminApp } from '../../test/accounts.js';

const { clock, nextCode } = steppingTotpClock();
const t = useAdminApp({ CAIRN_LOCKOUT_THRESHOLD: '5', CAIRN_LOCKOUT_SECONDS: '60' }, { clock });
const PASSWORD = 'recovery password 1';

const login = (payload: Record<string, string>) => t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'rita', password: PASSWORD, ...payload } });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('recovery codes: a lost second-factor device', () => {
  it('enrolment answers ten codes once, stored keyed-hashed; one code signs in once and removes the factor', async () => {
    const { app, pool, admin } = t;
    const created = await app.inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: admin }, payload: { username: 'rita', password: PASSWORD, role: 'member' } });
    const userId = created.json().user.id as string;
    let token = (await login({})).json().accessToken as string;
    const { secret } = (await app.inject({ method: 'POST', url: '/api/v1/auth/totp/enrol', headers: bearer(token) })).json();
    const confirm = await app.inject({ method: 'POST', url: '/api/v1/auth/totp/confirm', headers: bearer(token), payload: { code: await nextCode(secret) } });
    expect(confirm.statusCode, confirm.body).toBe(200);
    const codes = confirm.json().recoveryCodes as string[];
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    expect((await app.inject({ url: '/api/v1/auth/recovery-codes', headers: bearer(token) })).json()).toEqual({ remaining: 10 });
    // Never stored in clear, and not a bare SHA-256 either (keyed with the instance secret).
    const { rows } = await pool.query<{ code_hash: Buffer }>('SELECT code_hash FROM recovery_codes WHERE user_id = $1', [userId]);
    expect(rows).toHaveLength(10);
    const { createHash } = await import('node:crypto');
    const plain = codes.map((c) => createHash('sha256').update(c.replace('-', '')).digest('hex'));
    for (const r of rows) {
      expect(codes.map((c) => Buffer.from(c.replace('-', '')).toString('hex'))).not.toContain(r.code_hash.toString('hex'));
      expect(plain).not.toContain(r.code_hash.toString('hex'));
    }

    // Regenerating needs a current code, and makes the old set useless.
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/recovery-codes', headers: bearer(token), payload: { code: '000000' } })).json().error.code).toBe('totp_invalid');
    const fresh = (await app.inject({ method: 'POST', url: '/api/v1/auth/recovery-codes', headers: bearer(token), payload: { code: await nextCode(secret) } })).json().recoveryCodes as string[];
    expect(fresh).toHaveLength(10);
    const stale = await login({ recoveryCode: codes[0]! });
    expect(stale.statusCode).toBe(401);
    expect(stale.json().error.code).toBe('recovery_code_invalid');

    // A wrong password with a good code is still a wrong password; the code is not used up.
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'rita', password: 'wrong password!', recoveryCode: fresh[1]! } })).json().error.code).toBe('invalid_credentials');

    // Typed back in capitals with spaces: still the code. Signs in, and the factor is gone.
    const used = await login({ recoveryCode: ` ${fresh[1]!.toUpperCase().replace('-', ' ')} ` });
    expect(used.statusCode, used.body).toBe(200);
    expect(used.json().user.totpEnabled).toBe(false);
    token = used.json().accessToken;
    expect((await app.inject({ url: '/api/v1/auth/recovery-codes', headers: bearer(token) })).json()).toEqual({ remaining: 0 });
    // The same code cannot sign in again (there is no second factor left to recover, and no codes).
    const again = await login({ recoveryCode: fresh[1]! });
    expect(again.statusCode).toBe(200);
    expect(again.json().user.totpEnabled).toBe(false);
    const types = (await app.inject({ url: `/api/v1/events?stream=${encodeURIComponent(`user:${userId}`)}&limit=100`, headers: { authorization: admin } })).json().events.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['user.totp_enabled', 'user.recovery_codes_regenerated', 'user.totp_recovered']));
    // Enrolling again hands out a new set; without a factor there are none to regenerate.
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/recovery-codes', headers: bearer(token), payload: { code: '123456' } })).json().error.code).toBe('conflict');
  });

  it('two sign-ins racing with one code: exactly one succeeds', async () => {
    const { app, admin } = t;
    await app.inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: admin }, payload: { username: 'race', password: PASSWORD, role: 'member' } });
    const token = (await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'race', password: PASSWORD } })).json().accessToken as string;
    const { secret } = (await app.inject({ method: 'POST', url: '/api/v1/auth/totp/enrol', headers: bearer(token) })).json();
    const codes = (await app.inject({ method: 'POST', url: '/api/v1/auth/totp/confirm', headers: bearer(token), payload: { code: await nextCode(secret) } })).json().recoveryCodes as string[];
    const both = await Promise.all([0, 1].map(() => app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'race', password: PASSWORD, recoveryCode: codes[3]! } })));
    expect(both.map((r) => r.statusCode).sort()).toEqual([200, 401]);
  });

  it('an admin resetting the factor ends the codes too', async () => {
    const { app, pool, admin } = t;
    await app.inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: admin }, payload: { username: 'tess', password: PASSWORD, role: 'member' } });
    const first = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'tess', password: PASSWORD } });
    const token = first.json().accessToken as string;
    const { secret } = (await app.inject({ method: 'POST', url: '/api/v1/auth/totp/enrol', headers: bearer(token) })).json();
    await app.inject({ method: 'POST', url: '/api/v1/auth/totp/confirm', headers: bearer(token), payload: { code: await nextCode(secret) } });
    expect((await pool.query('SELECT 1 FROM recovery_codes WHERE user_id = $1', [first.json().user.id])).rows).toHaveLength(10);
    await app.inject({ method: 'POST', url: `/api/v1/users/${first.json().user.id}/reset-totp`, headers: { authorization: admin } });
    const { rows } = await pool.query('SELECT 1 FROM recovery_codes WHERE user_id = $1', [first.json().user.id]);
    expect(rows).toHaveLength(0);
  });
});
