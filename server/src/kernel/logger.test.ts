import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import type { App } from '../app.js';
import { createLogger, redactUrl } from './logger.js';

/**
 * Issue 10, item 14: secrets never reach the log, even when a client puts them in a URL (a
 * reviewer link's `?review=`, the documented way; a bearer token wrongly sent as `access_token=`
 * or `token=`), and Authorization / Cookie headers are never logged.
 */

let app: App;
let stop: () => Promise<void>;
let admin: string;
const lines: string[] = [];
const capture = new Writable({
  write(chunk: Buffer, _enc, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

beforeAll(async () => {
  ({ app, stop } = await createTestApp({}, { log: createLogger('info', capture) }));
  admin = (await setupAdmin(app)).authorization;
});
afterAll(() => stop());

describe('the request log', () => {
  it('redacts credentials in logged URLs and never logs Authorization or Cookie headers', async () => {
    const ds = (await app.inject({ method: 'POST', url: '/api/v1/datasets', headers: { authorization: admin }, payload: { title: 'Logged study' } })).json().dataset.accession as string;
    const review = (await app.inject({ method: 'POST', url: `/api/v1/datasets/${ds}/reviewer-links`, headers: { authorization: admin }, payload: {} })).json().link.token as string;
    const pat = (await app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: { authorization: admin }, payload: { name: 'log', scopes: ['events:read'], expiresInDays: 1 } })).json().secret as string;
    const jwt = admin.slice('Bearer '.length);
    const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: 'correct horse battery staple' } });
    const cookie = login.cookies.find((c) => c.name === 'cairn_session')!.value;
    lines.length = 0;

    const urls = [
      `/api/v1/datasets/${ds}?review=${review}`,
      `/api/v1/datasets/${ds}/versions?REVIEW=${encodeURIComponent(review)}&limit=5`,
      `/api/v1/events?access_token=${jwt}&limit=2`,
      `/api/v1/events?limit=2&token=${pat}`,
      `/api/v1/events?type=a.b&api_key=${pat}`,
      `/api/v1/events/${pat}`,
      `/api/v1/events?%61ccess_token=${jwt}`,
    ];
    for (const url of urls) await app.inject({ url, headers: { authorization: `Bearer ${pat}` } });
    await app.inject({ url: '/api/v1/auth/me', cookies: { cairn_session: cookie } });
    await app.inject({ url: '/api/v1/auth/me', headers: { authorization: admin, cookie: `cairn_session=${cookie}` } });

    const log = lines.join('\n');
    // The requests were logged, with their routes and harmless parameters kept...
    const requests = lines.map((l) => JSON.parse(l) as { msg: string; url?: string }).filter((l) => l.msg === 'request');
    expect(requests.length).toBe(urls.length + 2);
    expect(log).toContain(`/api/v1/datasets/${ds}?review=[redacted]`);
    expect(log).toContain('limit=5');
    expect(log).toContain('type=a.b');
    // ...and no secret, in any form.
    for (const secret of [review, encodeURIComponent(review), pat, jwt, cookie]) expect(log).not.toContain(secret);
    expect(log).not.toMatch(/authorization|cookie/i);
  });

  it('redactUrl keeps the route and the harmless parameters', () => {
    expect(redactUrl('/api/v1/datasets/ds000001/versions?review=cairn_rev_abc&limit=5')).toBe('/api/v1/datasets/ds000001/versions?review=[redacted]&limit=5');
    expect(redactUrl('/x?Access_Token=abc#frag')).toBe('/x?Access_Token=[redacted]#frag');
    expect(redactUrl('/x?client_secret=s&password=p&q=ok')).toBe('/x?client_secret=[redacted]&password=[redacted]&q=ok');
    expect(redactUrl('/api/v1/events/cairn_pat_0123456789abcdef')).toBe('/api/v1/events/[redacted]');
    expect(redactUrl('/api/v1/events?stream=acct-1&after=abc')).toBe('/api/v1/events?stream=acct-1&after=abc');
  });
});
