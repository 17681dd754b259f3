import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tus from 'tus-js-client';
import { startTestServer, type TestServer } from '../../test/harness.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const mode = (p: string) => fs.lstatSync(p).mode & 0o777;

/** Every directory and file under `root`, with its mode in octal. */
function modes(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      out[path.relative(root, p)] = mode(p).toString(8);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

describe('files on disk are private to the server user', () => {
  let server: TestServer;
  let dataDir: string;
  const oldBlob = randomBytes(1000);
  const oldSha = sha(oldBlob);

  beforeAll(async () => {
    // What an older version left: world-readable files in world-readable directories.
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-modes-'));
    fs.chmodSync(dataDir, 0o755);
    fs.writeFileSync(path.join(dataDir, 'secret.key'), 'an-older-instance-secret-of-enough-length-000000\n', { mode: 0o644 });
    const shard = path.join(dataDir, 'blobs', oldSha.slice(0, 2), oldSha.slice(2, 4));
    fs.mkdirSync(shard, { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(shard, oldSha), oldBlob, { mode: 0o644 });
    fs.mkdirSync(path.join(dataDir, 'blobs', '.tus'), { mode: 0o755 });
    fs.writeFileSync(path.join(dataDir, 'blobs', '.tus', 'abandoned'), 'x', { mode: 0o644 });
    for (const d of [path.join(dataDir, 'blobs'), path.join(dataDir, 'blobs', oldSha.slice(0, 2)), shard]) fs.chmodSync(d, 0o755);
    // A process umask as loose as the default, so only the server can make things private.
    process.umask(0o022);
    server = await startTestServer({ CAIRN_DATA_DIR: dataDir });
  });
  afterAll(async () => {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('fixes what an older version left at start, and writes blobs, staged uploads and the secret 0600 in 0700 directories', async () => {
    const base = server.url;
    const setup = await fetch(`${base}/api/v1/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'correct horse battery staple' }) });
    const token = ((await setup.json()) as { accessToken: string }).accessToken;
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const ds = ((await (await fetch(`${base}/api/v1/datasets`, { method: 'POST', headers: auth, body: JSON.stringify({ title: 'Modes' }) })).json()) as { dataset: { accession: string } }).dataset.accession;
    const session = ((await (await fetch(`${base}/api/v1/datasets/${ds}/uploads`, { method: 'POST', headers: { authorization: auth.authorization } })).json()) as { session: { id: string } }).session.id;

    // A small file by batch, a large one by tus, and an unfinished tus upload left staged.
    const small = randomBytes(2000);
    const batch = await fetch(`${base}/api/v1/datasets/${ds}/uploads/${session}/batch`, { method: 'POST', headers: auth, body: JSON.stringify({ files: [{ sha256: sha(small), size: small.length, data: small.toString('base64') }] }) });
    expect(batch.status).toBe(200);
    const large = randomBytes(300_000);
    await new Promise<void>((resolve, reject) => {
      new tus.Upload(large as never, { endpoint: `${base}/api/v1/uploads/tus`, headers: { authorization: `Bearer ${token}` }, metadata: { sessionId: session, sha256: sha(large) }, onSuccess: () => resolve(), onError: reject }).start();
    });
    const open = await fetch(`${base}/api/v1/uploads/tus`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', 'upload-length': '5000', 'upload-metadata': `sessionId ${Buffer.from(session).toString('base64')}` } });
    expect(open.status).toBe(201);
    const commit = await fetch(`${base}/api/v1/datasets/${ds}/uploads/${session}/commit`, { method: 'POST', headers: auth, body: JSON.stringify({ changes: [{ op: 'put', path: 'small.bin', sha256: sha(small), size: small.length }, { op: 'put', path: 'large.bin', sha256: sha(large), size: large.length }] }) });
    expect(commit.status).toBe(200);

    const all = modes(dataDir);
    // The files this test expects to exist really are there (so the check below covers them).
    const blobOf = (h: string) => path.join('blobs', h.slice(0, 2), h.slice(2, 4), h);
    for (const p of ['secret.key', blobOf(oldSha), blobOf(sha(small)), blobOf(sha(large)), path.join('blobs', '.tus', 'abandoned'), path.join('blobs', '.staging')]) expect(all, p).toHaveProperty([p]);
    expect(Object.keys(all).filter((p) => p.startsWith(path.join('blobs', '.tus') + path.sep) && p.endsWith('.json'))).toHaveLength(1);
    expect(mode(dataDir).toString(8)).toBe('700');
    const loose = Object.entries(all).filter(([p, m]) => (fs.lstatSync(path.join(dataDir, p)).isDirectory() ? m !== '700' : m !== '600'));
    expect(loose).toEqual([]);
  });
});
