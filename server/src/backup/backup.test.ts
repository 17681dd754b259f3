import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from '../../test/harness.js';
import { startServer, type RunningServer } from '../main.js';
import { createBlobStore } from '../blobs/blobs.config.js';
import { loadConfig } from '../config.js';
import { backupTo, restoreFrom, type RestoreReport } from './backup.run.js';
import { BackupError, type Manifest } from './backup.service.js';

const PASSWORD = 'correct horse battery staple';
const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
/** A fresh directory the embedded PostgreSQL's own OS user can traverse (when the tests run as root). */
const tmp = (p: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), p));
  fs.chmodSync(d, 0o711);
  return d;
};

describe('backup and restore', () => {
  let source: TestServer;
  let auth: string;
  let restored: RunningServer | undefined;
  const dirs: string[] = [];
  let backupDir: string;
  let manifest: Manifest;
  let report: RestoreReport;
  let restoredDir: string;
  const before: string[] = [];
  const during: string[] = [];

  const api = async (base: string, method: string, url: string, body?: unknown, authorization = auth) => {
    const r = await fetch(`${base}${url}`, { method, headers: { authorization, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await r.text();
    return { status: r.status, body: (text ? JSON.parse(text) : null) as any };
  };

  /** Content straight into the blob store, committed through an upload session (as the CLI does after tus). */
  async function upload(ds: string, files: Record<string, Buffer>) {
    const s = await api(source.url, 'POST', `/api/v1/datasets/${ds}/uploads`);
    expect(s.status, JSON.stringify(s.body)).toBe(201);
    const sid = s.body.session.id as string;
    const changes = [];
    for (const [p, content] of Object.entries(files)) {
      const r = await source.services.blobs.put(Readable.from([content]));
      await sql`INSERT INTO dataset_uploads (id, session_id, size, expected_sha256, sha256) VALUES (${`t-${sid}-${r.sha256}`}, ${sid}, ${r.size}, ${r.sha256}, ${r.sha256}) ON CONFLICT DO NOTHING`.execute(source.services.db);
      changes.push({ op: 'put', path: p, sha256: r.sha256, size: r.size });
    }
    const c = await api(source.url, 'POST', `/api/v1/datasets/${ds}/uploads/${sid}/commit`, { changes });
    expect(c.status, JSON.stringify(c.body)).toBeLessThan(300);
  }

  const append = async (n: number, into: string[]) => {
    const r = await api(source.url, 'POST', '/api/v1/events', {
      events: [0, 1, 2].map((i) => ({ type: 'backup.example/tick', stream: `tick:${(n + i) % 5}`, data: { n, i }, transactionId: `t-${n}-${i}` })),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    into.push(...(r.body.events as Array<{ id: string }>).map((e) => e.id));
  };

  beforeAll(async () => {
    source = await startTestServer({ CAIRN_CHECKPOINT_INTERVAL_MS: '200' });
    const setup = await api(source.url, 'POST', '/api/v1/setup', { username: 'admin', password: PASSWORD }, '');
    auth = `Bearer ${setup.body.accessToken}`;
    const ds = await api(source.url, 'POST', '/api/v1/datasets', { title: 'Sleep study', description: 'EEG', license: 'CC0', modalities: ['EEG'], readme: '# Sleep\n' });
    expect(ds.status).toBe(201);
    const accession = ds.body.dataset.accession as string;
    await upload(accession, { 'sub-01/eeg.edf': Buffer.alloc(300_000, 7), 'participants.tsv': Buffer.from('participant_id\nsub-01\n') });
    for (let n = 0; n < 20; n++) await append(n, before);

    // Back up while writers append events and commit dataset files.
    backupDir = path.join(tmp('cairn-bk-'), 'backup');
    let writing = true;
    const writers = (async () => {
      for (let n = 100; writing; n++) {
        await Promise.all([append(n, during), n % 5 === 0 ? upload(accession, { [`sub-0${n}/notes.txt`]: Buffer.from(`during ${n}`) }) : undefined]);
      }
    })();
    try {
      manifest = await backupTo(backupDir, { PATH: process.env.PATH, DATABASE_URL: source.databaseUrl, CAIRN_DATA_DIR: source.dataDir });
    } finally {
      writing = false;
      await writers;
    }
    restoredDir = path.join(tmp('cairn-rs-'), 'data');
    dirs.push(path.dirname(backupDir), path.dirname(restoredDir));
    report = await restoreFrom(backupDir, { PATH: process.env.PATH, CAIRN_DATA_DIR: restoredDir });
  });

  afterAll(async () => {
    await restored?.stop();
    await source?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('restores into an empty data directory: the ledger verifies and every dataset file hashes to its address', async () => {
    expect(report.ledger.problems).toEqual([]);
    expect(report.ledger.ok).toBe(true);
    expect(report.ledger.checked).toBeGreaterThanOrEqual(before.length);
    expect(manifest.secret).toBe('file');
    expect(manifest.blobs.length).toBeGreaterThanOrEqual(3);

    restored = await startServer({ PATH: process.env.PATH, CAIRN_DATA_DIR: restoredDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', CAIRN_SERVE_WEB: 'false' });
    const db = restored.services.db;
    // Every entry acknowledged before the backup began is there; nothing that the source lacks.
    const ids = new Set((await sql<{ id: string }>`SELECT id FROM ledger_entries`.execute(db)).rows.map((r) => r.id));
    for (const id of before) expect(ids.has(id)).toBe(true);
    const sourceIds = new Set((await sql<{ id: string }>`SELECT id FROM ledger_entries`.execute(source.services.db)).rows.map((r) => r.id));
    for (const id of ids) expect(sourceIds.has(id)).toBe(true);
    // Writes went on during the backup; the snapshot is one instant, so of the appends made one
    // after another during it, those restored are a prefix: never a later one without an earlier one.
    expect(during.length).toBeGreaterThan(0);
    const restoredDuring = during.map((id) => ids.has(id));
    const firstMissing = restoredDuring.indexOf(false);
    if (firstMissing !== -1) expect(restoredDuring.slice(firstMissing).some(Boolean)).toBe(false);

    const files = (await sql<{ sha256: string; size: string }>`SELECT DISTINCT sha256, size::text FROM dataset_files`.execute(db)).rows;
    expect(files.length).toBeGreaterThanOrEqual(3);
    const blobs = createBlobStore(loadConfig({ CAIRN_DATA_DIR: restoredDir }).blobs, restoredDir);
    for (const f of files) {
      const chunks: Buffer[] = [];
      for await (const c of await blobs.get(f.sha256)) chunks.push(c as Buffer);
      const content = Buffer.concat(chunks);
      expect(sha(content)).toBe(f.sha256);
      expect(String(content.length)).toBe(f.size);
    }

    // The restored instance works: the admin signs in with the old password, an append is read
    // back at once (its transaction ids come after the restored ones), and the ledger verifies.
    const login = await api(restored.url, 'POST', '/api/v1/auth/login', { username: 'admin', password: PASSWORD }, '');
    expect(login.status).toBe(200);
    const a = `Bearer ${login.body.accessToken}`;
    const appended = await api(restored.url, 'POST', '/api/v1/events', { events: [{ type: 'backup.example/after', stream: 'tick:0', data: { after: true } }] }, a);
    expect(appended.status, JSON.stringify(appended.body)).toBe(201);
    const listed = await api(restored.url, 'GET', '/api/v1/events?type=backup.example/after', undefined, a);
    expect(listed.body.events.map((e: { id: string }) => e.id)).toEqual([appended.body.events[0].id]);
    const verify = await api(restored.url, 'POST', '/api/v1/ledger/verify', {}, a);
    expect(verify.body).toMatchObject({ ok: true, problems: [] });
  });

  it('refuses a damaged backup, naming the file, before writing anything', async () => {
    const expectRefusal = async (mutate: (dir: string) => void, code: string, mentions: string) => {
      const copy = path.join(tmp('cairn-bad-'), 'backup');
      dirs.push(path.dirname(copy));
      fs.cpSync(backupDir, copy, { recursive: true });
      mutate(copy);
      const target = path.join(tmp('cairn-rs2-'), 'data');
      dirs.push(path.dirname(target));
      const e = await restoreFrom(copy, { PATH: process.env.PATH, CAIRN_DATA_DIR: target }).then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(BackupError);
      expect((e as BackupError).code).toBe(code);
      expect((e as BackupError).message).toContain(mentions);
      expect(fs.existsSync(target)).toBe(false);
    };
    const ledgerFile = manifest.tables.find((t) => t.name === 'ledger_entries')!.file;
    await expectRefusal((d) => {
      const f = path.join(d, ledgerFile);
      const b = fs.readFileSync(f);
      const i = b.length >> 1;
      b[i] = b[i]! ^ 0xff;
      fs.writeFileSync(f, b);
    }, 'backup_damaged', `${ledgerFile}: sha256`);
    const blob = manifest.blobs[0]!.file;
    await expectRefusal((d) => fs.rmSync(path.join(d, blob)), 'backup_damaged', `${blob}: missing`);
    await expectRefusal((d) => fs.appendFileSync(path.join(d, blob), 'x'), 'backup_damaged', `${blob}: `);
    await expectRefusal((d) => fs.rmSync(path.join(d, 'manifest.json')), 'backup_damaged', 'no manifest.json');
    await expectRefusal((d) => {
      const m = JSON.parse(fs.readFileSync(path.join(d, 'manifest.json'), 'utf8')) as Manifest;
      m.files = m.files.filter((f) => f.path !== 'secret.key');
      fs.writeFileSync(path.join(d, 'manifest.json'), JSON.stringify(m));
    }, 'backup_damaged', 'secret.key: part of the backup but has no hash');

    // A data directory in use is never overwritten; a backup never goes into a non-empty directory.
    const e = await restoreFrom(backupDir, { PATH: process.env.PATH, CAIRN_DATA_DIR: source.dataDir }).then(() => undefined, (err: unknown) => err);
    expect((e as BackupError).code).toBe('backup_target_not_empty');
    const again = await backupTo(backupDir, { PATH: process.env.PATH, DATABASE_URL: source.databaseUrl, CAIRN_DATA_DIR: source.dataDir }).then(() => undefined, (err: unknown) => err);
    expect((again as BackupError).code).toBe('backup_target_not_empty');
  });
});
