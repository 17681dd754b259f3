import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_MAX_FILE_BYTES, CairnClient } from '@cairn/sdk';
import { startTestServer, type TestServer } from '../../../server/test/harness.js';
import { downloadVersion, uploadDirectory } from './datasets.js';
import { main } from '../main.js';

let server: TestServer;
let client: CairnClient;
let env: NodeJS.ProcessEnv;
let accessToken: string;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-cli-ds-'));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  server = await startTestServer();
  client = new CairnClient({ baseUrl: server.url });
  const setup = await client.setup.create({ username: 'admin', password: 'correct horse battery staple' } as never);
  accessToken = (setup as { accessToken: string }).accessToken;
  client.setToken(accessToken);
  env = { ...process.env, XDG_CONFIG_HOME: tmp(), HOME: tmp() };
});
afterAll(() => server.stop());

/** One request on its own connection (no keep-alive pool left holding the server open at shutdown). */
function raw(url: string, method: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request(url, { method, headers: { ...headers, connection: 'close' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, location: res.headers.location }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

function writeTree(root: string, files: Record<string, Buffer | string>) {
  for (const [p, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), c);
  }
}

describe('cairn datasets upload/download', () => {
  it('uploads a folder, sends nothing again when unchanged, downloads it back with checksums', async () => {
    const ds = (await client.datasets.create({ title: 'CLI' })).accession;
    const src = tmp();
    const big = randomBytes(3 * 1024 * 1024);
    writeTree(src, { 'README': '# hi\n', 'sub-01/anat/T1w.nii': big, 'sub-01/anat/T1w.json': '{"a":1}', 'participants.tsv': 'participant_id\nsub-01\n', 'empty.txt': '' });
    const first = await uploadDirectory(client, ds, src, { env });
    expect(first).toMatchObject({ files: 5, changed: true });
    expect(first.sent).toBe(4); // the empty file is never sent
    expect(first.sentInBatches).toBe(3); // the 3 MiB file went through tus
    const again = await uploadDirectory(client, ds, src, { env });
    expect(again).toMatchObject({ files: 5, sent: 0, bytesSent: 0, changed: false });

    const dst = tmp();
    const r = await downloadVersion(client, ds, 'draft', dst);
    expect(r).toMatchObject({ files: 5, downloaded: 5 });
    expect(sha(fs.readFileSync(path.join(dst, 'sub-01/anat/T1w.nii')))).toBe(sha(big));
    expect(fs.readFileSync(path.join(dst, 'empty.txt')).length).toBe(0);

    // An interrupted download leaves a .part file: the next run continues it with a Range request.
    fs.rmSync(path.join(dst, 'sub-01/anat/T1w.nii'));
    fs.writeFileSync(path.join(dst, 'sub-01/anat/T1w.nii.part'), big.subarray(0, 1_000_000));
    const resumed = await downloadVersion(client, ds, 'draft', dst);
    expect(resumed).toMatchObject({ downloaded: 1, resumed: 1, skipped: 4 });
    expect(sha(fs.readFileSync(path.join(dst, 'sub-01/anat/T1w.nii')))).toBe(sha(big));

    // A corrupt partial file is caught by the checksum and discarded; the rerun then succeeds.
    fs.rmSync(path.join(dst, 'sub-01/anat/T1w.nii'));
    fs.writeFileSync(path.join(dst, 'sub-01/anat/T1w.nii.part'), randomBytes(1000));
    await expect(downloadVersion(client, ds, 'draft', dst)).rejects.toMatchObject({ code: 'checksum_mismatch' });
    expect(fs.existsSync(path.join(dst, 'sub-01/anat/T1w.nii'))).toBe(false);
    await downloadVersion(client, ds, 'draft', dst);
    expect(sha(fs.readFileSync(path.join(dst, 'sub-01/anat/T1w.nii')))).toBe(sha(big));
  });

  it('sends small files many per request and, after an interruption, only what the session lacks', async () => {
    const ds = (await client.datasets.create({ title: 'Batches' })).accession;
    const src = tmp();
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 2100; i++) files[`sub-${i % 30}/f-${i}.txt`] = Buffer.from(`file ${i}\n`);
    files['large.bin'] = randomBytes(BATCH_MAX_FILE_BYTES + 1);
    writeTree(src, files);
    // A run cut off after its first batch: the session already holds 1,000 of the small files.
    const session = await client.datasets.openUpload(ds);
    const first = Object.values(files).slice(0, 1000);
    await client.datasets.sendSmallFiles(ds, session.id, first.map((b) => ({ sha256: sha(b), size: b.length, read: () => b })));
    const key = createHash('sha256').update(path.resolve(src)).digest('hex').slice(0, 16);
    const stateFile = path.join(env.XDG_CONFIG_HOME!, 'cairn', 'uploads', `${ds}-${key}.json`);
    fs.mkdirSync(path.dirname(stateFile), { recursive: true });
    fs.writeFileSync(stateFile, JSON.stringify({ sessionId: session.id, urls: {}, hashes: {} }));

    const r = await uploadDirectory(client, ds, src, { env });
    expect(r).toMatchObject({ files: 2101, sent: 1101, sentInBatches: 1100, changed: true });
    const listed = (await client.datasets.files(ds, 'draft')).files;
    expect(listed).toHaveLength(2101);
    for (const f of listed) expect(f.sha256).toBe(sha(files[f.path]!));
    const back = await client.datasets.download(ds, 'draft', 'sub-7/f-7.txt');
    expect(Buffer.from(await back.arrayBuffer()).toString()).toBe('file 7\n');
  });

  it('resumes an interrupted upload at the byte the server has instead of starting again', async () => {
    const ds = (await client.datasets.create({ title: 'Resume' })).accession;
    const src = tmp();
    const data = randomBytes(4 * 1024 * 1024);
    writeTree(src, { 'data.bin': data });
    // Simulate a run that was cut off: a session, a tus upload holding the first half, and the state file.
    const session = await client.datasets.openUpload(ds);
    const token = client.http.getToken()!;
    const create = await raw(`${server.url}/api/v1/uploads/tus`, 'POST', {
      authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', 'upload-length': String(data.length), 'upload-metadata': `sessionId ${Buffer.from(session.id).toString('base64')},sha256 ${Buffer.from(sha(data)).toString('base64')}`,
    });
    expect(create.status).toBe(201);
    const url = new URL(create.location!, server.url).toString();
    const half = await raw(url, 'PATCH', { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, data.subarray(0, 2 * 1024 * 1024));
    expect(half.status).toBe(204);
    const key = createHash('sha256').update(path.resolve(src)).digest('hex').slice(0, 16);
    const stateFile = path.join(env.XDG_CONFIG_HOME!, 'cairn', 'uploads', `${ds}-${key}.json`);
    fs.mkdirSync(path.dirname(stateFile), { recursive: true });
    fs.writeFileSync(stateFile, JSON.stringify({ sessionId: session.id, urls: { [sha(data)]: url }, hashes: {} }));

    const offsets: number[] = [];
    const r = await uploadDirectory(client, ds, src, { env, onSent: (n) => offsets.push(n) });
    expect(r.changed).toBe(true);
    // The first progress report already counts the half the server had.
    expect(offsets[0]).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    const rows = await server.services.db.selectFrom('dataset_uploads').selectAll().where('session_id', '=', session.id).execute();
    expect(rows).toHaveLength(1);
    const back = await client.datasets.download(ds, 'draft', 'data.bin');
    expect(sha(Buffer.from(await back.arrayBuffer()))).toBe(sha(data));
  });
});

/** Runs the CLI in-process with this server's URL and token; answers the exit code and what it printed. */
async function cliRun(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const saved = { url: process.env.CAIRN_URL, token: process.env.CAIRN_TOKEN };
  process.env.CAIRN_URL = server.url;
  process.env.CAIRN_TOKEN = accessToken;
  let out = '';
  let err = '';
  const w = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = ((c: string | Uint8Array) => ((out += String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => ((err += String(c)), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'cairn', ...args]);
    return { code, out, err };
  } finally {
    process.stdout.write = w.out;
    process.stderr.write = w.err;
    for (const [k, v] of [['CAIRN_URL', saved.url], ['CAIRN_TOKEN', saved.token]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('--version on dataset commands (issue 17: the root --version flag swallowed it)', () => {
  it('snapshot --version 2.0.0 and download --version 2.0.0 do what they say', async () => {
    const ds = (await client.datasets.create({ title: 'Versions' })).accession;
    const src = tmp();
    writeTree(src, { 'README': '# v\n', 'dataset_description.json': '{"Name":"v","BIDSVersion":"1.8.0"}' });
    await uploadDirectory(client, ds, src, { env });
    const snap = await cliRun(['datasets', 'snapshot', ds, '--version', '2.0.0', '--changelog', 'first']);
    expect(snap.out).not.toBe('0.1.0\n');
    expect(snap, snap.err).toMatchObject({ code: 0 });
    expect(snap.out).toContain(`${ds}@2.0.0`);
    expect((await client.datasets.get(ds)).latestSnapshot).toBe('2.0.0');

    // A later draft change must not be what "--version 2.0.0" downloads.
    writeTree(src, { 'README': '# changed\n' });
    await uploadDirectory(client, ds, src, { env });
    const dst = tmp();
    const down = await cliRun(['datasets', 'download', ds, dst, '--version', '2.0.0', '--no-progress']);
    expect(down, down.err).toMatchObject({ code: 0 });
    expect(down.out).toContain(`${ds}@2.0.0`);
    expect(fs.readFileSync(path.join(dst, 'README'), 'utf8')).toBe('# v\n');

    // The CLI's own version is still there, at the top level.
    expect(await cliRun(['--version'])).toMatchObject({ code: 0, out: '0.1.0\n' });
    expect(await cliRun(['-V'])).toMatchObject({ code: 0, out: '0.1.0\n' });
  });
});
