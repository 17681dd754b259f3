import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import fc from 'fast-check';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import type { App } from '../app.js';
import type { Services } from '../services.js';
import type { Clock } from '../kernel/clock.js';
import { verifyLedger } from '../ledger/ledger.verify.js';

let app: App;
let services: Services;
let pool: pg.Pool;
let stop: () => Promise<void>;
let admin: string;
let member: string;
let offsetMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };

beforeAll(async () => {
  // Every app here fetches tokens from one address; the per-IP limit on credential endpoints is not under test.
  ({ app, services, pool, stop } = await createTestApp({ CAIRN_LOGIN_RATE_LIMIT: '10000' }, { clock }));
  admin = (await setupAdmin(app)).authorization;
  await app.inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: admin }, payload: { username: 'mem', password: 'member password 1', role: 'member' } });
  member = `Bearer ${(await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'mem', password: 'member password 1' } })).json().accessToken}`;
  const obj = (props: Record<string, unknown>) => ({ type: 'object', additionalProperties: false, required: Object.keys(props), properties: props });
  for (const [name, schema] of [
    ['alpha.example/item', obj({ n: { type: 'integer' } })],
    ['beta.example/item', obj({ n: { type: 'integer' } })],
    ['gamma.example/item', obj({ n: { type: 'integer' } })],
  ] as const) {
    const r = await app.inject({ method: 'POST', url: '/api/v1/event-types', headers: { authorization: admin }, payload: { name, schema } });
    expect(r.statusCode).toBe(201);
  }
});
afterAll(() => stop());

type Rights = Partial<Record<'read' | 'create' | 'modify' | 'delete', boolean>>;
const form = (o: Record<string, string>) => new URLSearchParams(o).toString();

async function token(clientId: string, clientSecret: string) {
  const r = await app.inject({
    method: 'POST',
    url: '/api/v1/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  });
  expect(r.statusCode, r.body).toBe(200);
  return `Bearer ${r.json().access_token}`;
}

async function newApp(name: string, extra: Record<string, unknown> = {}) {
  const r = await app.inject({ method: 'POST', url: '/api/v1/apps', headers: { authorization: admin }, payload: { name, description: `${name} app`, ...extra } });
  expect(r.statusCode, r.body).toBe(201);
  const assoc = await app.inject({ method: 'POST', url: '/api/v1/apps/associate', payload: { associationCode: r.json().associationCode } });
  expect(assoc.statusCode, assoc.body).toBe(200);
  const { clientId, clientSecret } = assoc.json();
  return { id: r.json().id as string, clientId, clientSecret, auth: await token(clientId, clientSecret) };
}

async function ask(auth: string, eventType: string, rights: Rights, message = 'please') {
  const r = await app.inject({ method: 'POST', url: '/api/v1/apps/me/permission-requests', headers: { authorization: auth }, payload: { eventType, ...rights, message } });
  expect(r.statusCode, r.body).toBe(201);
  return r.json().id as string;
}
const decide = (id: string, d: 'approve' | 'decline' | 'revoke', authorization = admin) => app.inject({ method: 'POST', url: `/api/v1/permission-requests/${id}/${d}`, headers: { authorization } });
async function granted(auth: string, eventType: string, rights: Rights) {
  const id = await ask(auth, eventType, rights);
  expect((await decide(id, 'approve')).statusCode).toBe(200);
  return id;
}
const append = (auth: string, events: unknown[]) => app.inject({ method: 'POST', url: '/api/v1/events', headers: { authorization: auth }, payload: { events } });
const get = (auth: string, url: string) => app.inject({ url, headers: { authorization: auth } });

describe('registering and associating apps', () => {
  it('only administrators register apps; the code works once and is stored hashed', async () => {
    expect((await app.inject({ method: 'POST', url: '/api/v1/apps', headers: { authorization: member }, payload: { name: 'x' } })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/api/v1/apps', payload: { name: 'x' } })).statusCode).toBe(401);
    const r = await app.inject({ method: 'POST', url: '/api/v1/apps', headers: { authorization: admin }, payload: { name: 'Once' } });
    const { associationCode, id } = r.json();
    expect(r.json().status).toBe('awaiting_association');
    const stored = await pool.query('SELECT association_code_hash FROM apps WHERE id = $1', [id]);
    expect(stored.rows[0].association_code_hash.toString('utf8')).not.toContain(associationCode);
    const first = await app.inject({ method: 'POST', url: '/api/v1/apps/associate', payload: { associationCode } });
    expect(first.statusCode).toBe(200);
    expect(first.json().clientSecret).toMatch(/^cairn_cs_/);
    const again = await app.inject({ method: 'POST', url: '/api/v1/apps/associate', payload: { associationCode } });
    expect(again.statusCode).toBe(400);
    expect(again.json().error.code).toBe('invalid_grant');
    const secretRow = await pool.query('SELECT client_secret_hash FROM apps WHERE id = $1', [id]);
    expect(secretRow.rows[0].client_secret_hash.toString('utf8')).not.toContain(first.json().clientSecret);
    const listed = (await get(admin, '/api/v1/apps')).json().apps.find((a: { id: string }) => a.id === id);
    expect(listed).toMatchObject({ status: 'associated', pendingRequests: 0, activeGrants: 0 });
  });

  it('association codes expire', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/apps', headers: { authorization: admin }, payload: { name: 'Late' } });
    offsetMs = 25 * 3600 * 1000;
    try {
      // The admin's access token expired with the clock too: sign in again.
      const fresh = `Bearer ${(await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: 'correct horse battery staple' } })).json().accessToken}`;
      expect((await get(fresh, `/api/v1/apps/${r.json().id}`)).json().status).toBe('code_expired');
      const late = await app.inject({ method: 'POST', url: '/api/v1/apps/associate', payload: { associationCode: r.json().associationCode } });
      expect(late.json().error.code).toBe('invalid_grant');
    } finally {
      offsetMs = 0;
    }
    for (const bad of ['', 'cairn_assoc_nope', 'x'.repeat(150)]) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/apps/associate', payload: { associationCode: bad } });
      expect(res.statusCode).toBe(400);
    }
  });

  it('issues short-lived tokens by client credentials: form, JSON and HTTP Basic', async () => {
    const a = await newApp('Tokens');
    const json = await app.inject({ method: 'POST', url: '/api/v1/oauth/token', payload: { grant_type: 'client_credentials', client_id: a.clientId, client_secret: a.clientSecret } });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    expect(json.headers['cache-control']).toBe('no-store');
    const basic = await app.inject({
      method: 'POST',
      url: '/api/v1/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${a.clientId}:${a.clientSecret}`).toString('base64')}` },
      payload: form({ grant_type: 'client_credentials' }),
    });
    expect(basic.statusCode).toBe(200);
    const wrong = await app.inject({ method: 'POST', url: '/api/v1/oauth/token', payload: { grant_type: 'client_credentials', client_id: a.clientId, client_secret: 'cairn_cs_wrong' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('invalid_client');
    const grant = await app.inject({ method: 'POST', url: '/api/v1/oauth/token', payload: { grant_type: 'password', client_id: a.clientId, client_secret: a.clientSecret } });
    expect(grant.json().error.code).toBe('unsupported_grant_type');
    const junk = await app.inject({ method: 'POST', url: '/api/v1/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials&client_id=1&client_id=2' });
    expect(junk.statusCode).toBe(400);

    expect((await get(a.auth, '/api/v1/apps/me')).json()).toMatchObject({ id: a.id, status: 'associated', grants: [] });
    offsetMs = 901_000;
    try {
      const expired = await get(a.auth, '/api/v1/apps/me');
      expect(expired.statusCode).toBe(401);
      expect(expired.json().error.code).toBe('token_expired');
    } finally {
      offsetMs = 0;
    }
  });

  it('accepts tokens only in the Authorization header', async () => {
    const a = await newApp('Header');
    const raw = a.auth.slice('Bearer '.length);
    for (const url of [`/api/v1/apps/me?access_token=${raw}`, `/api/v1/events?access_token=${raw}`]) {
      const r = await app.inject({ url });
      expect(r.statusCode, url).toBe(401);
    }
    expect((await app.inject({ url: '/api/v1/apps/me', headers: { authorization: `bearer ${raw}` } })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/v1/apps/me', headers: { authorization: 'Bearer cairn_app_forged' } })).json().error.code).toBe('invalid_token');
  });

  it('re-association rotates the secret and kills old tokens', async () => {
    const a = await newApp('Rotate');
    const code = (await app.inject({ method: 'POST', url: `/api/v1/apps/${a.id}/association-code`, headers: { authorization: admin } })).json().associationCode;
    expect((await get(a.auth, '/api/v1/apps/me')).statusCode).toBe(200);
    const assoc = await app.inject({ method: 'POST', url: '/api/v1/apps/associate', payload: { associationCode: code } });
    expect(assoc.statusCode).toBe(200);
    expect((await get(a.auth, '/api/v1/apps/me')).statusCode).toBe(401);
    const old = await app.inject({ method: 'POST', url: '/api/v1/oauth/token', payload: { grant_type: 'client_credentials', client_id: a.clientId, client_secret: a.clientSecret } });
    expect(old.statusCode).toBe(401);
    expect((await get(await token(a.clientId, assoc.json().clientSecret), '/api/v1/apps/me')).statusCode).toBe(200);
  });

  it('rate limits each app with 429 rate_limited and Retry-After', async () => {
    const a = await newApp('Chatty', { rateLimitPerMinute: 5 });
    const b = await newApp('Quiet', { rateLimitPerMinute: 5 });
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) codes.push((await get(a.auth, '/api/v1/apps/me')).statusCode);
    expect(codes.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    const limited = await get(a.auth, '/api/v1/apps/me');
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another app is unaffected.
    expect((await get(b.auth, '/api/v1/apps/me')).statusCode).toBe(200);
  });
});

describe('permission requests', () => {
  it('an app asks, polls, is approved; admins see pending requests; a bad ask is refused', async () => {
    const a = await newApp('Asker');
    const id = await ask(a.auth, 'alpha.example/item', { read: true, create: true }, 'to store your items');
    const mine = (await get(a.auth, '/api/v1/apps/me/permission-requests')).json().requests;
    expect(mine).toEqual([expect.objectContaining({ id, status: 'pending', read: true, create: true, modify: false, delete: false, message: 'to store your items' })]);
    const pending = (await get(admin, '/api/v1/permission-requests?status=pending')).json().requests;
    expect(pending.map((r: { id: string }) => r.id)).toContain(id);
    expect(pending.find((r: { id: string }) => r.id === id).appName).toBe('Asker');
    expect((await get(member, '/api/v1/permission-requests?status=pending')).statusCode).toBe(403);
    expect((await decide(id, 'approve', member)).statusCode).toBe(403);
    expect((await decide(id, 'approve')).json().status).toBe('approved');
    expect((await decide(id, 'approve')).statusCode).toBe(409);
    expect((await get(a.auth, '/api/v1/apps/me/permission-requests?status=approved')).json().requests).toHaveLength(1);
    expect((await decide('00000000-0000-0000-0000-000000000000', 'approve')).statusCode).toBe(404);
    expect((await decide('not-an-id', 'revoke')).statusCode).toBe(404);

    const nothing = await app.inject({ method: 'POST', url: '/api/v1/apps/me/permission-requests', headers: { authorization: a.auth }, payload: { eventType: 'alpha.example/item' } });
    expect(nothing.json().error.code).toBe('validation_failed');
    const unknown = await app.inject({ method: 'POST', url: '/api/v1/apps/me/permission-requests', headers: { authorization: a.auth }, payload: { eventType: 'nope.example/x', read: true } });
    expect(unknown.json().error.details[0].pointer).toBe('/eventType');
    const system = await app.inject({ method: 'POST', url: '/api/v1/apps/me/permission-requests', headers: { authorization: a.auth }, payload: { eventType: 'auth.login', read: true } });
    expect(system.statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/api/v1/apps/me/permission-requests', headers: { authorization: admin }, payload: { eventType: 'alpha.example/item', read: true } })).statusCode).toBe(403);

    const detail = (await get(admin, `/api/v1/apps/${a.id}`)).json();
    expect(detail.grants.map((g: { eventType: string }) => g.eventType)).toEqual(['alpha.example/item']);
    expect(detail.recentActivity.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['cairn.app.permission_approved', 'cairn.app.permission_requested', 'cairn.app.associated']));
  });
});

describe('events under grants', () => {
  it('keeps apps inside their granted types, judged on the stored entry', async () => {
    const a = await newApp('A');
    const b = await newApp('B');
    await granted(a.auth, 'alpha.example/item', { read: true, create: true, modify: true, delete: true });
    await granted(b.auth, 'beta.example/item', { read: true, create: true, modify: true, delete: true });

    const aw = await append(a.auth, [{ type: 'alpha.example/item', data: { n: 1 } }]);
    expect(aw.statusCode).toBe(201);
    const bw = await append(b.auth, [{ type: 'beta.example/item', data: { n: 2 } }]);
    const bId = bw.json().events[0].id as string;

    // Writing a type without a create grant refuses the whole batch.
    const mixed = await append(a.auth, [{ type: 'alpha.example/item', data: { n: 3 } }, { type: 'beta.example/item', data: { n: 3 } }]);
    expect(mixed.statusCode).toBe(403);
    expect(mixed.json().error.details[0].pointer).toBe('/events/1/type');
    expect((await append(a.auth, [{ type: 'unregistered.example/x', data: {} }])).statusCode).toBe(403);
    // Authorisation comes before validation: invalid data of an ungranted type is a 403, not a 422.
    expect((await append(a.auth, [{ type: 'beta.example/item', data: { wrong: true } }])).statusCode).toBe(403);
    expect((await append(a.auth, [{ type: 'user.created', data: {} }])).statusCode).toBe(403);

    // Reads: filtered to granted types; asking for another type is refused.
    const listed = (await get(a.auth, '/api/v1/events?limit=1000')).json().events;
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((e: { type: string }) => e.type === 'alpha.example/item')).toBe(true);
    expect((await get(a.auth, '/api/v1/events?type=beta.example/item')).statusCode).toBe(403);
    expect((await get(a.auth, '/api/v1/events?type=user.created')).statusCode).toBe(403);
    expect((await get(a.auth, '/api/v1/events/stream?type=beta.example/item')).statusCode).toBe(403);

    // Guessing B's id gets nothing: not readable, not modifiable, not deletable, not its history.
    expect((await get(a.auth, `/api/v1/events/${bId}`)).statusCode).toBe(404);
    expect((await get(a.auth, `/api/v1/events/${bId}/versions`)).statusCode).toBe(404);
    expect((await app.inject({ method: 'PATCH', url: `/api/v1/events/${bId}`, headers: { authorization: a.auth }, payload: { data: { n: 9 } } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/events/${bId}`, headers: { authorization: a.auth } })).statusCode).toBe(404);
    // Audit entries are never reachable by an app.
    const audit = (await pool.query(`SELECT id FROM ledger_entries WHERE type = 'cairn.app.registered' LIMIT 1`)).rows[0].id;
    expect((await get(a.auth, `/api/v1/events/${audit}`)).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/events/${audit}`, headers: { authorization: a.auth } })).statusCode).toBe(404);
    expect((await get(b.auth, `/api/v1/events/${bId}`)).json().data).toEqual({ n: 2 });

    // A read-only grant on B's type lets A read B's data but not change it.
    await granted(a.auth, 'beta.example/item', { read: true });
    expect((await get(a.auth, `/api/v1/events/${bId}`)).json().data).toEqual({ n: 2 });
    const patch = await app.inject({ method: 'PATCH', url: `/api/v1/events/${bId}`, headers: { authorization: a.auth }, payload: { data: { n: 9 } } });
    expect(patch.statusCode).toBe(403);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/events/${bId}`, headers: { authorization: a.auth } })).statusCode).toBe(403);
    expect((await get(b.auth, `/api/v1/events/${bId}`)).json().data).toEqual({ n: 2 });
  });

  it('modifies as a new version with readable history, deletes as a tombstone', async () => {
    const a = await newApp('Editor');
    await granted(a.auth, 'gamma.example/item', { read: true, create: true, modify: true, delete: true });
    const w = await append(a.auth, [{ type: 'gamma.example/item', stream: 'gamma-1', data: { n: 1 }, occurredAt: '2026-05-01T10:00:00Z' }, { type: 'gamma.example/item', data: { n: 100 } }]);
    const [v1, other] = w.json().events.map((e: { id: string }) => e.id);

    const bad = await app.inject({ method: 'PATCH', url: `/api/v1/events/${v1}`, headers: { authorization: a.auth }, payload: { data: { n: 'two' } } });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.details[0].pointer).toBe('/data/n');
    const typeClaim = await app.inject({ method: 'PATCH', url: `/api/v1/events/${v1}`, headers: { authorization: a.auth }, payload: { type: 'beta.example/item', data: { n: 2 } } });
    expect(typeClaim.statusCode).toBe(400);

    const p = await app.inject({ method: 'PATCH', url: `/api/v1/events/${v1}`, headers: { authorization: a.auth }, payload: { data: { n: 2 } } });
    expect(p.statusCode, p.body).toBe(200);
    const v2 = p.json();
    expect(v2).toMatchObject({ type: 'gamma.example/item', stream: 'gamma-1', streamSeq: 2, data: { n: 2 }, typeVersion: 1, previousId: v1, rootId: v1, occurredAt: '2026-05-01T10:00:00.000Z' });

    const stale = await app.inject({ method: 'PATCH', url: `/api/v1/events/${v1}`, headers: { authorization: a.auth }, payload: { data: { n: 3 } } });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error.details.currentId).toBe(v2.id);

    const listed = (await get(a.auth, '/api/v1/events?type=gamma.example/item')).json().events.map((e: { id: string }) => e.id);
    expect(listed).toEqual([other, v2.id]);
    expect((await get(a.auth, `/api/v1/events/${v1}`)).json().data).toEqual({ n: 1 });
    const history = (await get(a.auth, `/api/v1/events/${v2.id}/versions`)).json();
    expect(history).toMatchObject({ rootId: v1, currentId: v2.id });
    expect(history.versions.map((e: { data: { n: number } }) => e.data.n)).toEqual([1, 2]);

    expect((await app.inject({ method: 'DELETE', url: `/api/v1/events/${v1}`, headers: { authorization: a.auth } })).statusCode).toBe(409);
    const del = await app.inject({ method: 'DELETE', url: `/api/v1/events/${v2.id}`, headers: { authorization: a.auth } });
    expect(del.statusCode).toBe(204);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/events/${v2.id}`, headers: { authorization: a.auth } })).statusCode).toBe(404);
    expect((await get(a.auth, '/api/v1/events?type=gamma.example/item')).json().events.map((e: { id: string }) => e.id)).toEqual([other]);
    expect((await get(a.auth, `/api/v1/events/${v1}`)).json().data).toBeNull();
    expect((await get(a.auth, `/api/v1/events/${v2.id}`)).json().data).toBeNull();
    const after = (await get(a.auth, `/api/v1/events/${v1}/versions`)).json();
    expect(after.currentId).toBeNull();
    expect(after.versions.every((e: { data: unknown }) => e.data === null)).toBe(true);
    const rows = await pool.query(`SELECT count(*)::int AS n FROM ledger_entries WHERE id = ANY($1::uuid[]) AND data IS NOT NULL`, [[v1, v2.id]]);
    expect(rows.rows[0].n).toBe(0);
    // The erased rows are explained by tombstones: the ledger still verifies.
    expect((await verifyLedger(services.db)).ok).toBe(true);
  });

  it('concurrent modifications of one version: exactly one wins', async () => {
    const a = await newApp('Racer');
    await granted(a.auth, 'gamma.example/item', { read: true, create: true, modify: true });
    const id = (await append(a.auth, [{ type: 'gamma.example/item', data: { n: 0 } }])).json().events[0].id;
    const rs = await Promise.all([1, 2, 3, 4].map((n) => app.inject({ method: 'PATCH', url: `/api/v1/events/${id}`, headers: { authorization: a.auth }, payload: { data: { n } } })));
    expect(rs.map((r) => r.statusCode).sort()).toEqual([200, 409, 409, 409]);
  });

  it('a declined request is "declined", not "revoked", for the Control Centre and for the app', async () => {
    const a = await newApp('Declined');
    const viaDecline = await ask(a.auth, 'alpha.example/item', { read: true });
    const d = await decide(viaDecline, 'decline');
    expect(d.statusCode, d.body).toBe(200);
    expect(d.json().status).toBe('declined');
    // The older way to say no (revoke on a pending request) declines too.
    const viaRevoke = await ask(a.auth, 'beta.example/item', { read: true });
    expect((await decide(viaRevoke, 'revoke')).json().status).toBe('declined');
    // Only a pending request can be declined; a grant taken back is "revoked".
    expect((await decide(viaDecline, 'decline')).statusCode).toBe(409);
    const grant = await granted(a.auth, 'gamma.example/item', { read: true });
    expect((await decide(grant, 'decline')).json().error.code).toBe('conflict');
    expect((await decide(grant, 'revoke')).json().status).toBe('revoked');
    const mine = (await get(a.auth, '/api/v1/apps/me/permission-requests')).json();
    const byId = new Map<string, string>((mine.requests ?? mine).map((r: { id: string; status: string }) => [r.id, r.status]));
    expect(Object.fromEntries([viaDecline, viaRevoke, grant].map((id) => [id, byId.get(id)]))).toEqual({ [viaDecline]: 'declined', [viaRevoke]: 'declined', [grant]: 'revoked' });
    const listed = await get(admin, `/api/v1/permission-requests?status=declined&appId=${a.id}`);
    expect(listed.statusCode).toBe(200);
    expect(listed.json().requests.map((r: { id: string }) => r.id).sort()).toEqual([viaDecline, viaRevoke].sort());
    const audit = await pool.query(`SELECT count(*)::int AS n FROM ledger_entries WHERE type = 'cairn.app.permission_declined' AND data->>'requestId' = ANY($1::text[])`, [[viaDecline, viaRevoke]]);
    expect(audit.rows[0].n).toBe(2);
  });

  it('revoking a grant or the app stops it on the next request', async () => {
    const a = await newApp('Revoked');
    const req = await granted(a.auth, 'alpha.example/item', { read: true, create: true });
    expect((await append(a.auth, [{ type: 'alpha.example/item', data: { n: 5 } }])).statusCode).toBe(201);
    expect((await decide(req, 'revoke')).json().status).toBe('revoked');
    expect((await append(a.auth, [{ type: 'alpha.example/item', data: { n: 6 } }])).statusCode).toBe(403);
    expect((await get(a.auth, '/api/v1/events?type=alpha.example/item')).statusCode).toBe(403);
    expect((await get(a.auth, '/api/v1/events')).json().events).toEqual([]);

    await granted(a.auth, 'alpha.example/item', { read: true });
    expect((await get(a.auth, '/api/v1/events?type=alpha.example/item')).statusCode).toBe(200);
    const r = await app.inject({ method: 'POST', url: `/api/v1/apps/${a.id}/revoke`, headers: { authorization: admin } });
    expect(r.json().status).toBe('revoked');
    const refused = await get(a.auth, '/api/v1/events?type=alpha.example/item');
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.code).toBe('invalid_token');
    const t = await app.inject({ method: 'POST', url: '/api/v1/oauth/token', payload: { grant_type: 'client_credentials', client_id: a.clientId, client_secret: a.clientSecret } });
    expect(t.json().error.code).toBe('invalid_client');
  });

  it('apps register their own types and cannot version another app\'s', async () => {
    const a = await newApp('Owner');
    const b = await newApp('Intruder');
    const schema = { type: 'object', properties: { x: { type: 'number' } } };
    expect((await app.inject({ method: 'POST', url: '/api/v1/event-types', headers: { authorization: a.auth }, payload: { name: 'owner.example/thing', schema } })).statusCode).toBe(201);
    const hijack = await app.inject({ method: 'POST', url: '/api/v1/event-types', headers: { authorization: b.auth }, payload: { name: 'owner.example/thing', schema: { type: 'object' } } });
    expect(hijack.statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/api/v1/event-types', headers: { authorization: a.auth }, payload: { name: 'owner.example/thing', schema: { type: 'object' } } })).json().version).toBe(2);
    // Registering a type grants nothing by itself.
    expect((await append(a.auth, [{ type: 'owner.example/thing', data: {} }])).statusCode).toBe(403);
  });
});

describe("people's API tokens with event grants", () => {
  it('narrows a token to its owner\'s entries of the granted types and rights', async () => {
    const mk = await app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: { authorization: member }, payload: { name: 'script', scopes: ['account', 'events:read', 'events:write'], expiresInDays: 30 } });
    expect(mk.statusCode, mk.body).toBe(201);
    const tokenId = mk.json().token.id;
    const pat = `Bearer ${mk.json().secret}`;
    const own = (await append(member, [{ type: 'alpha.example/item', data: { n: 7 } }, { type: 'beta.example/item', data: { n: 8 } }])).json().events.map((e: { id: string }) => e.id);
    const adminsEntry = (await append(admin, [{ type: 'alpha.example/item', data: { n: 9 } }])).json().events[0].id;

    const set = await app.inject({ method: 'PUT', url: `/api/v1/auth/tokens/${tokenId}/event-grants`, headers: { authorization: member }, payload: { grants: [{ eventType: 'alpha.example/item', read: true, modify: true }] } });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json().grants).toEqual([{ eventType: 'alpha.example/item', read: true, create: false, modify: true, delete: false }]);
    const audit = await pool.query(`SELECT data FROM ledger_entries WHERE type = 'token.event_grants_set' ORDER BY position DESC LIMIT 1`);
    expect(audit.rows[0].data).toMatchObject({ tokenId, grants: [{ eventType: 'alpha.example/item', read: true, modify: true }] });
    expect((await app.inject({ method: 'PUT', url: `/api/v1/auth/tokens/${tokenId}/event-grants`, headers: { authorization: pat }, payload: { grants: [] } })).statusCode).toBe(403);
    expect((await app.inject({ method: 'PUT', url: `/api/v1/auth/tokens/${tokenId}/event-grants`, headers: { authorization: admin }, payload: { grants: [] } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'PUT', url: `/api/v1/auth/tokens/${tokenId}/event-grants`, headers: { authorization: member }, payload: { grants: [{ eventType: 'nope.example/x', read: true }] } })).statusCode).toBe(400);

    const listed = (await get(pat, '/api/v1/events?limit=1000')).json().events;
    expect(listed.map((e: { id: string }) => e.id)).toEqual([own[0]]);
    expect((await get(pat, '/api/v1/events?type=beta.example/item')).statusCode).toBe(403);
    expect((await get(pat, `/api/v1/events/${adminsEntry}`)).statusCode).toBe(404);
    expect((await append(pat, [{ type: 'alpha.example/item', data: { n: 1 } }])).statusCode).toBe(403);
    expect((await app.inject({ method: 'PATCH', url: `/api/v1/events/${own[0]}`, headers: { authorization: pat }, payload: { data: { n: 70 } } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'PATCH', url: `/api/v1/events/${adminsEntry}`, headers: { authorization: pat }, payload: { data: { n: 70 } } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/events/${own[1]}`, headers: { authorization: pat } })).statusCode).toBe(404);

    // Lifting the restriction gives the token back its plain scopes over its owner's entries.
    await app.inject({ method: 'PUT', url: `/api/v1/auth/tokens/${tokenId}/event-grants`, headers: { authorization: member }, payload: { grants: [] } });
    expect((await append(pat, [{ type: 'beta.example/item', data: { n: 1 } }])).statusCode).toBe(201);
    // Without grants, people change only their own entries.
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/events/${adminsEntry}`, headers: { authorization: member } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/events/${own[1]}`, headers: { authorization: member } })).statusCode).toBe(204);
  });
});

describe('bad input', () => {
  it('answers 4xx with stable codes, never 5xx', async () => {
    const a = await newApp('Fuzz');
    const cases: [string, string, unknown, string?][] = [
      ['POST', '/api/v1/apps', { name: '' }],
      ['POST', '/api/v1/apps', { name: 'x', rateLimitPerMinute: 0 }],
      ['POST', '/api/v1/apps', { name: 'x', nope: 1 }],
      ['GET', '/api/v1/apps/not-a-uuid', undefined],
      ['GET', '/api/v1/apps/00000000-0000-0000-0000-000000000000', undefined],
      ['POST', '/api/v1/apps/00000000-0000-0000-0000-000000000000/revoke', undefined],
      ['GET', '/api/v1/permission-requests?status=weird', undefined],
      ['GET', '/api/v1/permission-requests?appId=zzz', undefined],
      ['PATCH', '/api/v1/events/not-a-uuid', { data: {} }, a.auth],
      ['PATCH', '/api/v1/events/00000000-0000-0000-0000-000000000000', { data: [] }, a.auth],
      ['DELETE', '/api/v1/events/00000000-0000-0000-0000-000000000000', undefined, a.auth],
      ['GET', '/api/v1/events/%00/versions', undefined, a.auth],
      ['POST', '/api/v1/apps/me/permission-requests', { eventType: 5 }, a.auth],
      ['POST', '/api/v1/apps/me/permission-requests', { eventType: 'alpha.example/item', read: 'yes' }, a.auth],
      ['POST', '/api/v1/oauth/token', 'not json at all', undefined],
      ['POST', '/api/v1/apps/associate', { associationCode: 5 }, undefined],
      ['PUT', '/api/v1/auth/tokens/xyz/event-grants', { grants: [] }],
      ['GET', '/api/v1/apps/me', undefined], // an admin is not an app
    ];
    for (const [method, url, payload, auth] of cases) {
      const r = await app.inject({ method: method as 'GET', url, headers: { authorization: auth ?? admin, ...(typeof payload === 'string' ? { 'content-type': 'application/json' } : {}) }, payload: payload as object });
      expect(r.statusCode, `${method} ${url} ${r.body}`).toBeGreaterThanOrEqual(400);
      expect(r.statusCode, `${method} ${url} ${r.body}`).toBeLessThan(500);
      expect(typeof r.json().error.code).toBe('string');
    }
  });
});

describe('bad input, property-based', () => {
  it('random bodies on the app endpoints never cause a 5xx', async () => {
    const a = await newApp('Prop', { rateLimitPerMinute: 100_000 });
    await granted(a.auth, 'alpha.example/item', { read: true, create: true, modify: true, delete: true });
    const id = (await append(a.auth, [{ type: 'alpha.example/item', data: { n: 1 } }])).json().events[0].id;
    const body = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.dictionary(fc.constantFrom('eventType', 'read', 'data', 'grant_type', 'client_id', 'associationCode', 'message', 'n'), fc.jsonValue({ maxDepth: 2 })));
    const target = fc.constantFrom(
      ['POST', '/api/v1/apps/me/permission-requests'],
      ['PATCH', `/api/v1/events/${id}`],
      ['POST', '/api/v1/oauth/token'],
      ['POST', '/api/v1/apps/associate'],
      ['POST', '/api/v1/events'],
      ['POST', '/api/v1/event-types'],
    );
    await fc.assert(
      fc.asyncProperty(target, body, async ([method, url], payload) => {
        const r = await app.inject({ method: method as 'POST', url, headers: { authorization: a.auth, 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
        expect(r.statusCode, `${method} ${url} ${JSON.stringify(payload)} -> ${r.body}`).toBeLessThan(500);
        if (r.statusCode >= 400) expect(typeof r.json().error.code).toBe('string');
      }),
      { numRuns: 150 },
    );
  });
});

describe('OpenAPI', () => {
  it('documents every apps and event-types route', async () => {
    const doc = (await app.inject({ url: '/api/openapi.json' })).json();
    const paths = Object.keys(doc.paths);
    for (const p of [
      '/api/v1/apps',
      '/api/v1/apps/{id}',
      '/api/v1/apps/me',
      '/api/v1/apps/associate',
      '/api/v1/apps/{id}/association-code',
      '/api/v1/apps/{id}/revoke',
      '/api/v1/oauth/token',
      '/api/v1/apps/me/permission-requests',
      '/api/v1/permission-requests',
      '/api/v1/permission-requests/{id}/approve',
      '/api/v1/permission-requests/{id}/revoke',
      '/api/v1/auth/tokens/{id}/event-grants',
      '/api/v1/event-types',
      '/api/v1/event-types/{*}',
      '/api/v1/events/{id}/versions',
    ]) {
      expect(paths, p).toContain(p);
    }
    expect(Object.keys(doc.paths['/api/v1/events/{id}'])).toEqual(expect.arrayContaining(['get', 'patch', 'delete']));
    expect(Object.keys(doc.paths['/api/v1/oauth/token'].post.requestBody.content)).toEqual(expect.arrayContaining(['application/json', 'application/x-www-form-urlencoded']));
  });
});
