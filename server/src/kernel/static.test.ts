import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/harness.js';

const WEB_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));
const DIST = path.join(WEB_DIR, 'dist');

/** The server serves web/dist only when it exists at boot; build it (with its .br/.gz) if missing or older than precompression. */
function ensureBuilt(): void {
  if (fs.existsSync(path.join(DIST, 'index.html.br'))) return;
  execFileSync(process.execPath, [path.join(WEB_DIR, '..', 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], { cwd: WEB_DIR, stdio: 'pipe' });
}

/** A GET over real HTTP with exactly the headers given (fetch would add its own Accept-Encoding and decode). */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

function expectSecurityHeaders(h: http.IncomingHttpHeaders) {
  expect(h['content-security-policy']).toMatch(/script-src 'self'/);
  expect(h['x-content-type-options']).toBe('nosniff');
}

describe('static files of the web app', () => {
  let server: TestServer;
  let indexHtml: Buffer;
  let entry: string; // /assets/index-<hash>.js
  let css: string;

  beforeAll(async () => {
    ensureBuilt();
    indexHtml = fs.readFileSync(path.join(DIST, 'index.html'));
    entry = /<script[^>]*src="(\/assets\/[^"]+\.js)"/.exec(indexHtml.toString())![1]!;
    css = /<link[^>]*href="(\/assets\/[^"]+\.css)"/.exec(indexHtml.toString())![1]!;
    server = await startTestServer();
  }, 180_000);
  afterAll(() => server?.stop());

  it('answers brotli when the browser accepts it, with immutable caching for a hashed asset', async () => {
    const res = await get(server.url + entry, { 'accept-encoding': 'gzip, deflate, br' });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('br');
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers.vary).toMatch(/accept-encoding/i);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expectSecurityHeaders(res.headers);
    const file = fs.readFileSync(path.join(DIST, entry));
    expect(zlib.brotliDecompressSync(res.body).equals(file)).toBe(true);
    expect(res.body.length).toBeLessThan(file.length / 2);
  });

  it('answers gzip when only gzip is accepted', async () => {
    const res = await get(server.url + css, { 'accept-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['content-type']).toMatch(/text\/css/);
    expect(res.headers.vary).toMatch(/accept-encoding/i);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(zlib.gunzipSync(res.body).equals(fs.readFileSync(path.join(DIST, css)))).toBe(true);
  });

  it('answers the plain file when no encoding is accepted', async () => {
    for (const headers of [{}, { 'accept-encoding': 'identity' }] as Array<Record<string, string>>) {
      const res = await get(server.url + entry, headers);
      expect(res.status).toBe(200);
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(res.headers.vary).toMatch(/accept-encoding/i);
      expect(res.body.equals(fs.readFileSync(path.join(DIST, entry)))).toBe(true);
    }
  });

  it('revalidates index.html on every visit, compressed, with the security headers', async () => {
    for (const url of ['/', '/index.html']) {
      const res = await get(server.url + url, { 'accept-encoding': 'br', accept: 'text/html' });
      expect(res.status, url).toBe(200);
      expect(res.headers['content-encoding'], url).toBe('br');
      expect(res.headers['content-type'], url).toMatch(/text\/html/);
      expect(res.headers['cache-control'], url).toBe('no-cache');
      expectSecurityHeaders(res.headers);
      expect(zlib.brotliDecompressSync(res.body).equals(indexHtml), url).toBe(true);
    }
  });

  it('answers a deep link (history fallback) with index.html the same way', async () => {
    const gz = await get(server.url + '/datahub/playground', { 'accept-encoding': 'gzip', accept: 'text/html' });
    expect(gz.status).toBe(200);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers['cache-control']).toBe('no-cache');
    expectSecurityHeaders(gz.headers);
    expect(zlib.gunzipSync(gz.body).equals(indexHtml)).toBe(true);
    const plain = await get(server.url + '/datahub/playground', { accept: 'text/html' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.equals(indexHtml)).toBe(true);
  });

  it('keeps API answers uncached', async () => {
    const res = await get(server.url + '/api/v1/health', { 'accept-encoding': 'br' });
    expect(res.headers['cache-control']).toBe('no-store');
  });
});
