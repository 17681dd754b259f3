import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CairnClient, CairnError } from './index.js';

/**
 * The refresh and CSRF rules of cookie mode, against a small real HTTP server whose session
 * "expires" on demand (the Cairn server's access sessions last minutes, too long for a test).
 */
interface Seen {
  method: string;
  url: string;
  csrf: string | undefined;
  auth: string | undefined;
}

let server: http.Server | undefined;

async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen[]) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = http.createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, csrf: req.headers['x-csrf-token'] as string | undefined, auth: req.headers.authorization });
    req.resume();
    req.on('end', () => handler(req, res, seen));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req-1' });
  res.end(JSON.stringify(body));
};
const expired = (res: http.ServerResponse) => json(res, 401, { error: { code: 'token_expired', message: 'The session expired', requestId: 'req-1' } });
const user = { id: 'u1', username: 'ada', role: 'admin', totpEnabled: false, mustEnrolTotp: false, disabled: false, createdAt: '2025-01-01T00:00:00Z' };

afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

describe('cookie mode', () => {
  it('refreshes once on token_expired and retries, sharing one refresh between concurrent calls', async () => {
    let fresh = false;
    const { url, seen } = await serve((req, res) => {
      if (req.url === '/api/v1/auth/refresh') {
        fresh = true;
        return json(res, 200, { accessToken: 'a', expiresIn: 900, user });
      }
      if (!fresh) return expired(res);
      return json(res, 200, { user, scopes: ['account'] });
    });
    const client = new CairnClient({ baseUrl: url, credentials: 'include', csrfToken: () => 'csrf-123' });
    let refreshedWith: unknown;
    client.http.onRefresh = (b) => (refreshedWith = b);
    const [a, b, c] = await Promise.all([client.auth.me(), client.auth.me(), client.auth.me()]);
    expect([a.user.username, b.user.username, c.user.username]).toEqual(['ada', 'ada', 'ada']);
    expect(seen.filter((s) => s.url === '/api/v1/auth/refresh')).toHaveLength(1);
    expect(seen.filter((s) => s.url === '/api/v1/auth/me')).toHaveLength(6);
    expect((refreshedWith as { user: { username: string } }).user.username).toBe('ada');
    // The refresh is a write: it carries the CSRF header; reads do not need it.
    expect(seen.find((s) => s.url === '/api/v1/auth/refresh')?.csrf).toBe('csrf-123');
    expect(seen.filter((s) => s.method === 'GET').every((s) => s.csrf === undefined)).toBe(true);
  });

  it('gives up after one failed refresh, reports the session over, and throws the original error', async () => {
    const { url, seen } = await serve((req, res) => {
      if (req.url === '/api/v1/auth/refresh') return json(res, 401, { error: { code: 'unauthenticated', message: 'No session' } });
      return expired(res);
    });
    const client = new CairnClient({ baseUrl: url, credentials: 'include', csrfToken: () => 'x' });
    let over = 0;
    client.http.onSessionExpired = () => over++;
    const err = await client.auth.me().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CairnError);
    expect((err as CairnError).code).toBe('token_expired');
    expect((err as CairnError).requestId).toBe('req-1');
    expect(over).toBe(1);
    expect(seen.map((s) => s.url)).toEqual(['/api/v1/auth/me', '/api/v1/auth/refresh']);
  });

  it('does not refresh for other 401s (wrong password) or in token mode', async () => {
    const { url, seen } = await serve((req, res) => {
      if (req.url === '/api/v1/auth/login') return json(res, 401, { error: { code: 'invalid_credentials', message: 'Wrong username or password' } });
      return expired(res);
    });
    const cookie = new CairnClient({ baseUrl: url, credentials: 'include' });
    await expect(cookie.auth.login({ username: 'a', password: 'b' })).rejects.toMatchObject({ code: 'invalid_credentials' });
    const bearer = new CairnClient({ baseUrl: url, token: 'tok' });
    await expect(bearer.events.list()).rejects.toMatchObject({ code: 'token_expired', status: 401 });
    expect(seen.some((s) => s.url.includes('refresh'))).toBe(false);
    expect(seen.at(-1)?.auth).toBe('Bearer tok');
  });
});

describe('errors that are not Cairn JSON', () => {
  it('turns an HTML 502 from a proxy into a CairnError with a code from the status', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>Bad gateway</html>');
    });
    const err = (await new CairnClient({ baseUrl: url }).health().catch((e: unknown) => e)) as CairnError;
    expect(err).toBeInstanceOf(CairnError);
    expect({ status: err.status, code: err.code }).toEqual({ status: 502, code: 'server_error' });
  });

  it('encodes ids in paths so one cannot reach another route', async () => {
    const { url, seen } = await serve((_req, res) => json(res, 200, { id: 'x' }));
    await new CairnClient({ baseUrl: url, token: 't' }).events.get('../users?x=1');
    expect(seen[0]!.url).toBe('/api/v1/events/..%2Fusers%3Fx%3D1');
  });
});
