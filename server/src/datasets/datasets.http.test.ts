import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tus from 'tus-js-client';
import { createTestDatabase, startTestServer, type TestServer } from '../../test/harness.js';
import { freePort, json, startServerProcess } from '../../test/process.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function setup(base: string) {
  const r = await json(`${base}/api/v1/setup`, { method: 'POST', body: JSON.stringify({ username: 'admin', password: 'correct horse battery staple' }) });
  if (r.status !== 201) throw new Error(`setup: ${r.status}`);
  return r.body.accessToken as string;
}

function tusUpload(base: string, token: string, data: Buffer | fs.ReadStream, meta: Record<string, string>, hooks: Partial<tus.UploadOptions> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const u = new tus.Upload(data as never, {
      endpoint: `${base}/api/v1/uploads/tus`,
      headers: { authorization: `Bearer ${token}` },
      metadata: meta,
      retryDelays: [0, 300, 600, 1000, 1500, 2000, 3000, 3000, 3000, 5000, 5000, 5000],
      ...(Buffer.isBuffer(data) ? {} : { uploadSize: meta.size ? Number(meta.size) : undefined, chunkSize: 8 * 1024 * 1024 }),
      onSuccess: () => resolve(u.url!),
      onError: reject,
      ...hooks,
    });
    u.start();
  });
}

describe('over real HTTP', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    token = await setup(server.url);
  });
  afterAll(() => server.stop());

  it('uploads files in parallel through tus, commits once, and re-uploading unchanged files sends nothing', async () => {
    const base = server.url;
    const ds = (await json(`${base}/api/v1/datasets`, { method: 'POST', token, body: JSON.stringify({ title: 'Parallel' }) })).body.dataset.accession;
    const files = Array.from({ length: 8 }, (_, i) => ({ path: `sub-0${i}/data.bin`, data: randomBytes(100_000 + i * 1000) }));
    const session = (await json(`${base}/api/v1/datasets/${ds}/uploads`, { method: 'POST', token })).body.session.id;
    const have = (await json(`${base}/api/v1/datasets/${ds}/uploads/${session}/check`, { method: 'POST', token, body: JSON.stringify({ sha256: files.map((f) => sha(f.data)) }) })).body.have;
    expect(have).toEqual([]);
    // Nothing is visible in the draft while files are staged.
    await Promise.all(files.map((f) => tusUpload(base, token, f.data, { sessionId: session, sha256: sha(f.data) })));
    const draft0 = (await json(`${base}/api/v1/datasets/${ds}`, { token })).body.dataset.draft;
    expect(draft0.fileCount).toBe(0);
    const commit = await json(`${base}/api/v1/datasets/${ds}/uploads/${session}/commit`, { method: 'POST', token, body: JSON.stringify({ changes: files.map((f) => ({ op: 'put', path: f.path, sha256: sha(f.data), size: f.data.length })) }) });
    expect(commit.status).toBe(200);
    expect(commit.body.draft.fileCount).toBe(8);
    // A session commits once.
    expect((await json(`${base}/api/v1/datasets/${ds}/uploads/${session}/commit`, { method: 'POST', token, body: JSON.stringify({ changes: [{ op: 'delete', path: 'sub-00' }] }) })).body.error.code).toBe('session_closed');

    const again = (await json(`${base}/api/v1/datasets/${ds}/uploads`, { method: 'POST', token })).body.session.id;
    const have2 = (await json(`${base}/api/v1/datasets/${ds}/uploads/${again}/check`, { method: 'POST', token, body: JSON.stringify({ sha256: files.map((f) => sha(f.data)) }) })).body.have;
    expect(new Set(have2)).toEqual(new Set(files.map((f) => sha(f.data))));
    const noop = await json(`${base}/api/v1/datasets/${ds}/uploads/${again}/commit`, { method: 'POST', token, body: JSON.stringify({ changes: files.map((f) => ({ op: 'put', path: f.path, sha256: sha(f.data), size: f.data.length })) }) });
    expect(noop.body.changed).toBe(false);

    const r = await fetch(`${base}/api/v1/datasets/${ds}/versions/draft/file?path=sub-03/data.bin`, { headers: { authorization: `Bearer ${token}`, range: 'bytes=1000-1999' } });
    expect(r.status).toBe(206);
    expect(Buffer.from(await r.arrayBuffer())).toEqual(files[3]!.data.subarray(1000, 2000));
  });

  it('refuses an upload whose bytes do not match the announced sha256, and leaves nothing behind', async () => {
    const base = server.url;
    const ds = (await json(`${base}/api/v1/datasets`, { method: 'POST', token, body: JSON.stringify({ title: 'Wrong' }) })).body.dataset.accession;
    const session = (await json(`${base}/api/v1/datasets/${ds}/uploads`, { method: 'POST', token })).body.session.id;
    const data = randomBytes(5000);
    const err = await tusUpload(base, token, data, { sessionId: session, sha256: sha(Buffer.from('other')) }, { retryDelays: [] }).catch((e: Error) => e);
    expect(String(err)).toMatch(/blob_hash_mismatch/);
    expect((await json(`${base}/api/v1/datasets/${ds}/uploads/${session}/check`, { method: 'POST', token, body: JSON.stringify({ sha256: [sha(data)] }) })).body.have).toEqual([]);
  });

  it('refuses tus requests without a session, for another user\'s session, and over the quota', async () => {
    const base = server.url;
    const noSession = await fetch(`${base}/api/v1/uploads/tus`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', 'upload-length': '10' } });
    expect(noSession.status).toBe(404);
    const anon = await fetch(`${base}/api/v1/uploads/tus`, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-length': '10' } });
    expect(anon.status).toBe(401);
    const ds = (await json(`${base}/api/v1/datasets`, { method: 'POST', token, body: JSON.stringify({ title: 'Quota' }) })).body.dataset.accession;
    await json(`${base}/api/v1/datasets/${ds}`, { method: 'PATCH', token, body: JSON.stringify({ quotaBytes: 100 }) });
    const session = (await json(`${base}/api/v1/datasets/${ds}/uploads`, { method: 'POST', token })).body.session.id;
    const big = await fetch(`${base}/api/v1/uploads/tus`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', 'upload-length': '101', 'upload-metadata': `sessionId ${Buffer.from(session).toString('base64')}` } });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('quota_exceeded');
  });
});

// --- crash in the middle of a large upload -------------------------------------------------------

describe('a server killed in the middle of a large upload', () => {
  it('resumes at the byte after a restart and stores a byte-identical file', async () => {
    const db = await createTestDatabase();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-kill-up-'));
    const port = await freePort();
    const env = { DATABASE_URL: db.url, CAIRN_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', CAIRN_SERVE_WEB: 'false', LOG_LEVEL: 'info' };
    const base = `http://127.0.0.1:${port}`;
    const file = path.join(dataDir, 'big.bin');
    const SIZE = 96 * 1024 * 1024;
    const hash = createHash('sha256');
    const fd = fs.openSync(file, 'w');
    for (let off = 0; off < SIZE; off += 4 * 1024 * 1024) {
      const chunk = randomBytes(4 * 1024 * 1024);
      hash.update(chunk);
      fs.writeSync(fd, chunk);
    }
    fs.closeSync(fd);
    const expected = hash.digest('hex');
    let srv = startServerProcess(env);
    try {
      await srv.ready;
      const token = await setup(base);
      const ds = (await json(`${base}/api/v1/datasets`, { method: 'POST', token, body: JSON.stringify({ title: 'Crash' }) })).body.dataset.accession;
      const session = (await json(`${base}/api/v1/datasets/${ds}/uploads`, { method: 'POST', token })).body.session.id;

      let killedAt = -1;
      let resumedFrom = -1;
      let restarting: Promise<void> | undefined;
      const url = await tusUpload(base, token, fs.createReadStream(file), { sessionId: session, sha256: expected, size: String(SIZE) }, {
        onProgress: (sent) => {
          if (killedAt < 0 && sent > SIZE * 0.4) {
            killedAt = sent;
            srv.child.kill('SIGKILL');
            restarting = (async () => {
              await new Promise((r) => srv.child.once('exit', r));
              srv = startServerProcess(env);
              await srv.ready;
            })();
          } else if (killedAt >= 0 && resumedFrom < 0 && restarting) {
            resumedFrom = sent;
          }
        },
        onShouldRetry: () => true,
      });
      await restarting;
      expect(killedAt).toBeGreaterThan(0);
      expect(url).toMatch(/\/api\/v1\/uploads\/tus\//);
      // It resumed from what the server had on disk, not from zero.
      expect(resumedFrom).toBeGreaterThan(SIZE * 0.2);

      const commit = await json(`${base}/api/v1/datasets/${ds}/uploads/${session}/commit`, { method: 'POST', token, body: JSON.stringify({ changes: [{ op: 'put', path: 'big.bin', sha256: expected, size: SIZE }] }) });
      expect(commit.status).toBe(200);
      const r = await fetch(`${base}/api/v1/datasets/${ds}/versions/draft/file?path=big.bin`, { headers: { authorization: `Bearer ${token}` } });
      const got = createHash('sha256');
      for await (const c of r.body as unknown as AsyncIterable<Uint8Array>) got.update(c);
      expect(got.digest('hex')).toBe(expected);
    } finally {
      srv.child.kill('SIGTERM');
      await new Promise((r) => (srv.child.exitCode !== null ? r(null) : srv.child.once('exit', r)));
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
