import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/harness.js';
import { freePort, json, startServerProcess, type ServerProcess } from '../../test/process.js';
import { tusUpload as upload } from '../../test/tus.js';

/**
 * A real server process killed with SIGKILL at each step of a tus upload's intake (the crash points
 * in datasets.uploads.ts and datasets.tusstore.ts), then restarted: nothing the client sent is lost.
 */
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const POINTS = ['upload.received', 'upload.intake', 'upload.stored', 'upload.recorded'] as const;

describe('a server killed with SIGKILL during a tus upload', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataDir: string;
  let env: Record<string, string>;
  let base: string;
  let token: string;
  let server: ServerProcess | undefined;

  const start = async (crashAt?: string) => {
    server = startServerProcess({ ...env, ...(crashAt ? { CAIRN_TEST_CRASH_AT: crashAt } : {}) });
    await server.ready;
    return server;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-crash-up-'));
    const port = await freePort();
    env = { DATABASE_URL: db.url, CAIRN_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', CAIRN_SERVE_WEB: 'false', CAIRN_WORKERS: 'false', LOG_LEVEL: 'info' };
    base = `http://127.0.0.1:${port}`;
  }, 60_000);
  afterAll(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('takes in, at the next HEAD and commit, an upload whose last byte arrived at any step of its intake; a partial one resumes at its byte', async () => {
    await start();
    const setup = await json(`${base}/api/v1/setup`, { method: 'POST', body: JSON.stringify({ username: 'admin', password: 'correct horse battery staple' }) });
    token = setup.body.accessToken;
    const ds = (await json(`${base}/api/v1/datasets`, { method: 'POST', token, body: JSON.stringify({ title: 'Crash intake' }) })).body.dataset.accession;
    server!.child.kill('SIGTERM');
    await server!.exited;

    // One upload per crash point, each in its own session, each killed at its point.
    const cases: { point: string; session: string; data: Buffer; url: string }[] = [];
    for (const [i, point] of POINTS.entries()) {
      const srv = await start(point);
      const session = (await json(`${base}/api/v1/datasets/${ds}/uploads`, { method: 'POST', token })).body.session.id as string;
      const data = randomBytes(200_000 + i * 1000);
      const r = await upload(`${base}/api/v1/uploads/tus`, token, data, { sessionId: session, sha256: sha(data) });
      expect(r.ok, `${point}: the server must die before answering`).toBe(false);
      expect(await srv.exited).toBe('SIGKILL');
      expect(r.url).toMatch(/\/api\/v1\/uploads\/tus\//);
      cases.push({ point, session, data, url: r.url! });
    }

    // A partial upload: killed after its first 4 MiB batch reached the disk.
    const big = randomBytes(10 * 1024 * 1024 + 123);
    const partialSession = (await (async () => {
      const srv = await start('upload.partial');
      const session = (await json(`${base}/api/v1/datasets/${ds}/uploads`, { method: 'POST', token })).body.session.id as string;
      const r = await upload(`${base}/api/v1/uploads/tus`, token, big, { sessionId: session, sha256: sha(big) });
      expect(r.ok).toBe(false);
      expect(await srv.exited).toBe('SIGKILL');
      return { session, url: r.url! };
    })());

    await start();
    for (const c of cases) {
      // HEAD answers the upload as complete (not 404/410), with the whole length.
      const head = await fetch(c.url, { method: 'HEAD', headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0' } });
      expect(head.status, c.point).toBe(200);
      expect(head.headers.get('upload-offset'), c.point).toBe(String(c.data.length));
      expect(head.headers.get('upload-length'), c.point).toBe(String(c.data.length));
      // A real tus client resuming the upload finds it done and sends nothing.
      let sent = 0;
      const resumed = await upload(`${base}/api/v1/uploads/tus`, token, c.data, { sessionId: c.session, sha256: sha(c.data) }, { uploadUrl: c.url, onProgress: (n) => (sent = Math.max(sent, n)) });
      expect(resumed, c.point).toEqual({ url: c.url, ok: true });
      const check = await json(`${base}/api/v1/datasets/${ds}/uploads/${c.session}/check`, { method: 'POST', token, body: JSON.stringify({ sha256: [sha(c.data)] }) });
      expect(check.body.have, c.point).toEqual([sha(c.data)]);
      const commit = await json(`${base}/api/v1/datasets/${ds}/uploads/${c.session}/commit`, { method: 'POST', token, body: JSON.stringify({ changes: [{ op: 'put', path: `${c.point}.bin`, sha256: sha(c.data), size: c.data.length }] }) });
      expect(commit.status, `${c.point}: ${JSON.stringify(commit.body)}`).toBe(200);
      const file = await fetch(`${base}/api/v1/datasets/${ds}/versions/draft/file?path=${c.point}.bin`, { headers: { authorization: `Bearer ${token}` } });
      expect(sha(Buffer.from(await file.arrayBuffer())), c.point).toBe(sha(c.data));
    }

    const head = await fetch(partialSession.url, { method: 'HEAD', headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0' } });
    expect(head.status).toBe(200);
    const offset = Number(head.headers.get('upload-offset'));
    expect(offset).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    expect(offset).toBeLessThan(big.length);
    let firstProgress = -1;
    const resumed = await upload(`${base}/api/v1/uploads/tus`, token, big, { sessionId: partialSession.session, sha256: sha(big) }, {
      uploadUrl: partialSession.url,
      onProgress: (n) => {
        if (firstProgress < 0) firstProgress = n;
      },
    });
    expect(resumed.ok).toBe(true);
    // It resumed at the byte the server had, not from zero.
    expect(firstProgress).toBeGreaterThanOrEqual(offset);
    const commit = await json(`${base}/api/v1/datasets/${ds}/uploads/${partialSession.session}/commit`, { method: 'POST', token, body: JSON.stringify({ changes: [{ op: 'put', path: 'partial.bin', sha256: sha(big), size: big.length }] }) });
    expect(commit.status).toBe(200);
    const file = await fetch(`${base}/api/v1/datasets/${ds}/versions/draft/file?path=partial.bin`, { headers: { authorization: `Bearer ${token}` } });
    expect(sha(Buffer.from(await file.arrayBuffer()))).toBe(sha(big));

    // Nothing is left in the staging directory once every upload was taken in.
    const staging = path.join(dataDir, 'blobs', '.tus');
    expect(fs.readdirSync(staging).filter((n) => !n.startsWith('.'))).toEqual([]);
  }, 240_000);
});
