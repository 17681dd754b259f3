import net from 'node:net';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/harness.js';

/** Sends raw bytes and reads until the server closes or `until` matches; answers status, headers and body. */
function raw(url: string, request: string, until?: RegExp): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(request));
    let data = '';
    const finish = () => {
      socket.destroy();
      const [head = '', ...rest] = data.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    };
    socket.on('data', (c) => {
      data += c.toString('latin1');
      if (until?.test(data)) finish();
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', (e) => (data ? finish() : reject(e)));
    socket.setTimeout(10_000, () => reject(new Error(`no answer; got ${JSON.stringify(data)}`)));
  });
}

function expectSecurityHeaders(h: Record<string, string> | Headers, what: string) {
  const get = (k: string) => (h instanceof Headers ? h.get(k) : h[k]);
  expect(get('content-security-policy'), what).toMatch(/default-src 'self'/);
  expect(get('x-content-type-options'), what).toBe('nosniff');
  expect(get('strict-transport-security'), what).toBeTruthy();
  expect(get('referrer-policy'), what).toBe('no-referrer');
}

function expectCatalogError(body: string, code: string, what: string) {
  const parsed = JSON.parse(body) as { error: { code: string; message: string } };
  expect(parsed.error.code, what).toBe(code);
  expect(typeof parsed.error.message, what).toBe('string');
  expect(Object.keys(parsed), what).toEqual(['error']);
}

describe('answers made outside Fastify\'s reply still use the error shape and security headers', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    const r = await fetch(`${server.url}/api/v1/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'correct horse battery staple' }) });
    token = ((await r.json()) as { accessToken: string }).accessToken;
  });
  afterAll(() => server.stop());

  it('a path that is not valid percent-encoding', async () => {
    for (const p of ['/api/v1/events/%E0%A4%A', '/api/v1/datasets/%c0%af', '/api/v1/%', '/api/v1/events/%zz']) {
      const r = await raw(server.url, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(r.status, p).toBe(400);
      expect(r.headers['content-type'], p).toMatch(/^application\/json/);
      expectCatalogError(r.body, 'invalid_url', p);
      expectSecurityHeaders(r.headers, p);
    }
  });

  it('headers larger than the HTTP parser accepts, and a request that is not HTTP', async () => {
    const big = await raw(server.url, `GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(http.maxHeaderSize + 100)}\r\n\r\n`);
    expect(big.status).toBe(431);
    expect(big.headers['content-type']).toMatch(/^application\/json/);
    expectCatalogError(big.body, 'headers_too_large', '431');
    expectSecurityHeaders(big.headers, '431');
    const bad = await raw(server.url, `NOT HTTP AT ALL\r\n\r\n`);
    expect(bad.status).toBe(400);
    expectCatalogError(bad.body, 'invalid_request', 'garbage');
    expectSecurityHeaders(bad.headers, 'garbage');
  });

  it('tus refusals are catalog errors typed JSON, and every tus answer carries the security headers', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const noVersion = await fetch(`${server.url}/api/v1/uploads/tus`, { method: 'POST', headers: { ...auth, 'upload-length': '10' } });
    expect(noVersion.status).toBe(412);
    expect(noVersion.headers.get('content-type')).toMatch(/^application\/json/);
    expectCatalogError(await noVersion.text(), 'precondition_failed', '412');
    expectSecurityHeaders(noVersion.headers, '412');

    const badHeader = await fetch(`${server.url}/api/v1/uploads/tus`, { method: 'POST', headers: { ...auth, 'tus-resumable': '1.0.0', 'upload-length': 'ten' } });
    expect(badHeader.status).toBe(400);
    expect(badHeader.headers.get('content-type')).toMatch(/^application\/json/);
    expectCatalogError(await badHeader.text(), 'invalid_request', 'bad header');

    const noSession = await fetch(`${server.url}/api/v1/uploads/tus`, { method: 'POST', headers: { ...auth, 'tus-resumable': '1.0.0', 'upload-length': '10' } });
    expect(noSession.status).toBe(404);
    expect(noSession.headers.get('content-type')).toMatch(/^application\/json/);
    const body = JSON.parse(await noSession.text()) as { error: { code: string; requestId?: string } };
    expect(body.error.code).toBe('not_found');
    expect(body.error.requestId).toBe(noSession.headers.get('x-request-id'));
    expectSecurityHeaders(noSession.headers, 'tus 404');

    const patch = await fetch(`${server.url}/api/v1/uploads/tus/0123456789abcdef`, { method: 'PATCH', headers: { ...auth, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: 'abc' });
    expect(patch.status).toBe(404);
    expectCatalogError(await patch.text(), 'not_found', 'patch');
    expectSecurityHeaders(patch.headers, 'tus patch');

    // A successful creation carries them too.
    const ds = ((await (await fetch(`${server.url}/api/v1/datasets`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ title: 'Headers' }) })).json()) as { dataset: { accession: string } }).dataset.accession;
    const session = ((await (await fetch(`${server.url}/api/v1/datasets/${ds}/uploads`, { method: 'POST', headers: auth })).json()) as { session: { id: string } }).session.id;
    const created = await fetch(`${server.url}/api/v1/uploads/tus`, { method: 'POST', headers: { ...auth, 'tus-resumable': '1.0.0', 'upload-length': '10', 'upload-metadata': `sessionId ${Buffer.from(session).toString('base64')}` } });
    expect(created.status).toBe(201);
    expectSecurityHeaders(created.headers, 'tus 201');
    expect(created.headers.get('x-request-id')).toBeTruthy();
    const head = await fetch(new URL(created.headers.get('location')!, server.url), { method: 'HEAD', headers: { ...auth, 'tus-resumable': '1.0.0' } });
    expect(head.status).toBe(200);
    expectSecurityHeaders(head.headers, 'tus head');
  });

  it('a Server-Sent Events stream carries the security headers', async () => {
    const r = await raw(server.url, `GET /api/v1/events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`, /: connected/);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
    expectSecurityHeaders(r.headers, 'sse');
    expect(r.headers['x-request-id']).toBeTruthy();
  });
});
