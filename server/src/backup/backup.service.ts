import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { BlobStore } from '../blobs/blobs.store.js';
import { MIGRATIONS_DIR, migrate } from '../database/migrations.js';
import { BLOB_GC_LOCK } from '../datasets/datasets.uploads.js';
import { backupStore as store, quoteIdent, type SequenceValue } from './backup.store.js';

/**
 * Backups (docs/operations.md, "Backups"): a logical copy of the database taken inside one
 * REPEATABLE READ snapshot (every table with COPY; the schema is the migrations, copied in),
 * the blobs that snapshot references, and a manifest with every file's size and sha256. Restore
 * checks every file before it touches anything and refuses a damaged backup.
 */
export const BACKUP_FORMAT = 'cairn-backup';
export const BACKUP_VERSION = 1;

export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: typeof BACKUP_FORMAT;
  version: number;
  createdAt: string;
  postgres: { serverVersion: string; method: 'copy' };
  /** Every stored transaction id (the ledger's `tx`, checkpoints' snapshots, cursors) is below this one. */
  xidBound: string;
  migrations: Array<{ name: string; checksum: string; file: string }>;
  tables: Array<{ name: string; columns: string[]; rows: number; file: string }>;
  sequences: SequenceValue[];
  blobs: Array<{ sha256: string; bytes: number; file: string }>;
  /** 'file': the instance secret is in the backup (secret.key); 'environment': CAIRN_SECRET must be set the same. */
  secret: 'file' | 'environment';
  files: ManifestFile[];
}

export interface Progress {
  phase: 'database' | 'blobs' | 'check' | 'transaction-ids' | 'verify';
  done: number;
  total: number;
}
export type OnProgress = (p: Progress) => void;

export class BackupError extends Error {
  constructor(
    message: string,
    readonly code: 'backup_damaged' | 'backup_target_not_empty' | 'backup_inconsistent' | 'backup_unsupported',
    readonly problems: string[] = [],
  ) {
    super(problems.length ? `${message}:\n  ${problems.slice(0, 20).join('\n  ')}${problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : ''}` : message);
  }
}

export interface BackupDeps {
  pool: pg.Pool;
  blobs: BlobStore;
  dataDir: string;
  /** True when the instance secret comes from CAIRN_SECRET (then it is not written into the backup). */
  secretFromEnv: boolean;
  migrationsDir?: string;
}

/** Hashes and counts what flows through. */
function meter(onChunk?: (n: number) => void) {
  const hash = createHash('sha256');
  let bytes = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      onChunk?.(chunk.length);
      cb(null, chunk);
    },
  });
  return { t, done: () => ({ bytes, sha256: hash.digest('hex') }) };
}

/** Counts rows in COPY text output (one line per row: newlines inside values are escaped). */
function rowCounter() {
  let rows = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
      cb(null, chunk);
    },
  });
  return { t, rows: () => rows };
}

async function hashFile(file: string): Promise<{ bytes: number; sha256: string }> {
  const m = meter();
  await pipeline(fs.createReadStream(file), m.t, async function* (src: AsyncIterable<Buffer>) {
    for await (const _ of src) void _;
  });
  return m.done();
}

const blobFile = (sha256: string) => `blobs/${sha256.slice(0, 2)}/${sha256}`;

export async function createBackup(deps: BackupDeps, dir: string, onProgress: OnProgress = () => {}): Promise<Manifest> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  if ((await fsp.readdir(dir)).length) throw new BackupError(`${dir} is not empty: a backup goes into a new or empty directory`, 'backup_target_not_empty');
  for (const sub of ['schema', 'db', 'blobs']) await fsp.mkdir(path.join(dir, sub), { mode: 0o700 });
  const files: ManifestFile[] = [];
  const record = (p: string, r: { bytes: number; sha256: string }) => files.push({ path: p, ...r });

  // One session holds the blob collector off (it takes this lock exclusively before deleting), so a
  // blob the snapshot references cannot be collected while we copy it.
  const guard = await deps.pool.connect();
  const c = await deps.pool.connect();
  try {
    await guard.query('SELECT pg_advisory_lock_shared($1)', [BLOB_GC_LOCK]);
    // Read-only: the transaction gets no xid, so it holds back no ledger reader (docs/architecture.md).
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const serverVersion = (await c.query<{ v: string }>('SHOW server_version')).rows[0]!.v;
    const xidBound = await store.xidBound(c);
    const migrations: Manifest['migrations'] = [];
    for (const m of await store.migrations(c)) {
      const src = path.join(deps.migrationsDir ?? MIGRATIONS_DIR, m.name);
      const text = await fsp.readFile(src, 'utf8').catch(() => undefined);
      if (text === undefined || createHash('sha256').update(text).digest('hex') !== m.checksum) {
        throw new BackupError(`migration ${m.name} applied to this database is not the one this Cairn ships; back up with the Cairn version that runs the database`, 'backup_inconsistent');
      }
      const file = `schema/${m.name}`;
      await fsp.writeFile(path.join(dir, file), text, { mode: 0o600 });
      record(file, { bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex') });
      migrations.push({ ...m, file });
    }
    const tables = await store.tables(c);
    const sequences = await store.sequences(c);
    const blobHashes = await store.referencedBlobs(c);
    const manifestTables: Manifest['tables'] = [];
    let done = 0;
    for (const t of tables) {
      onProgress({ phase: 'database', done: done++, total: tables.length });
      const file = `db/${t.name}.copy.gz`;
      const counter = rowCounter();
      const m = meter();
      const cols = t.columns.map(quoteIdent).join(', ');
      await pipeline(c.query(copyTo(`COPY (SELECT ${cols} FROM ${quoteIdent(t.name)}) TO STDOUT`)), counter.t, createGzip({ level: 1 }), m.t, fs.createWriteStream(path.join(dir, file), { mode: 0o600 }));
      record(file, m.done());
      manifestTables.push({ name: t.name, columns: t.columns, rows: counter.rows(), file });
    }
    onProgress({ phase: 'database', done, total: tables.length });
    await c.query('COMMIT');

    // Blobs are immutable and content-addressed: the bytes under a hash now are the bytes the
    // snapshot referenced. Each is re-hashed on the way; a missing one fails the backup.
    const sizes = new Map<string, number>();
    let total = 0;
    const missing: string[] = [];
    for (const h of blobHashes) {
      const n = await deps.blobs.stat(h);
      if (n === undefined) missing.push(`blob ${h} is referenced but not in the blob store`);
      else {
        sizes.set(h, n);
        total += n;
      }
    }
    if (missing.length) throw new BackupError('The database references blobs the store does not have (run cairn ledger verify and check the blob store)', 'backup_inconsistent', missing);
    const blobs: Manifest['blobs'] = [];
    let copied = 0;
    onProgress({ phase: 'blobs', done: 0, total });
    for (const h of blobHashes) {
      const file = blobFile(h);
      await fsp.mkdir(path.join(dir, path.dirname(file)), { recursive: true, mode: 0o700 });
      const m = meter((n) => onProgress({ phase: 'blobs', done: (copied += n), total }));
      await pipeline(await deps.blobs.get(h), m.t, fs.createWriteStream(path.join(dir, file), { mode: 0o600 }));
      const r = m.done();
      if (r.sha256 !== h) throw new BackupError(`blob ${h} reads back with another hash (${r.sha256}): the blob store is damaged`, 'backup_inconsistent');
      record(file, r);
      blobs.push({ sha256: h, bytes: r.bytes, file });
    }

    let secret: Manifest['secret'] = 'environment';
    if (!deps.secretFromEnv) {
      const text = await fsp.readFile(path.join(deps.dataDir, 'secret.key'));
      await fsp.writeFile(path.join(dir, 'secret.key'), text, { mode: 0o600 });
      record('secret.key', { bytes: text.length, sha256: createHash('sha256').update(text).digest('hex') });
      secret = 'file';
    }

    const manifest: Manifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      createdAt: new Date().toISOString(),
      postgres: { serverVersion, method: 'copy' },
      xidBound,
      migrations,
      tables: manifestTables,
      sequences,
      blobs,
      secret,
      files,
    };
    // Written last, through a rename: a directory without manifest.json is not a backup.
    await fsp.writeFile(path.join(dir, 'manifest.json.tmp'), JSON.stringify(manifest, null, 1), { mode: 0o600 });
    await fsp.rename(path.join(dir, 'manifest.json.tmp'), path.join(dir, 'manifest.json'));
    return manifest;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    // A half-written backup must not pass for one: the directory was empty, leave it so.
    for (const entry of await fsp.readdir(dir).catch(() => [])) await fsp.rm(path.join(dir, entry), { recursive: true, force: true });
    throw e;
  } finally {
    c.release();
    await guard.query('SELECT pg_advisory_unlock_shared($1)', [BLOB_GC_LOCK]).catch(() => {});
    guard.release();
  }
}

/** Reads the manifest and checks every file it lists (present, same size, same sha256). */
export async function checkBackup(dir: string, onProgress: OnProgress = () => {}): Promise<Manifest> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await fsp.readFile(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'has no manifest.json (an unfinished or foreign backup)' : 'has a manifest.json that is not valid JSON';
    throw new BackupError(`${dir} ${why}`, 'backup_damaged');
  }
  if (manifest?.format !== BACKUP_FORMAT || !Array.isArray(manifest.files)) throw new BackupError(`${dir}/manifest.json is not a Cairn backup manifest`, 'backup_damaged');
  if (manifest.version > BACKUP_VERSION) throw new BackupError(`This backup has format version ${manifest.version}; this Cairn reads up to ${BACKUP_VERSION}`, 'backup_unsupported');
  const problems: string[] = [];
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const p of [...manifest.migrations.map((m) => m.file), ...manifest.tables.map((t) => t.file), ...manifest.blobs.map((b) => b.file), ...(manifest.secret === 'file' ? ['secret.key'] : [])]) {
    if (!listed.has(p)) problems.push(`${p}: part of the backup but has no hash in the manifest`);
  }
  const total = manifest.files.reduce((n, f) => n + f.bytes, 0);
  let done = 0;
  for (const f of manifest.files) {
    const full = path.resolve(dir, f.path);
    // The manifest is data: it may not point outside the backup.
    if (!full.startsWith(path.resolve(dir) + path.sep)) {
      problems.push(`${f.path}: outside the backup directory`);
      continue;
    }
    const st = await fsp.stat(full).catch(() => undefined);
    if (!st) problems.push(`${f.path}: missing`);
    else if (st.size !== f.bytes) problems.push(`${f.path}: ${st.size} bytes, the manifest says ${f.bytes}`);
    else {
      const r = await hashFile(full);
      if (r.sha256 !== f.sha256) problems.push(`${f.path}: sha256 ${r.sha256}, the manifest says ${f.sha256}`);
    }
    onProgress({ phase: 'check', done: (done += f.bytes), total });
  }
  for (const b of manifest.blobs) {
    const f = manifest.files.find((x) => x.path === b.file);
    if (f && f.sha256 !== b.sha256) problems.push(`${b.file}: the manifest lists blob ${b.sha256} with content hashing to ${f.sha256}`);
  }
  if (problems.length) throw new BackupError(`The backup in ${dir} is damaged; nothing was restored`, 'backup_damaged', problems);
  return manifest;
}

/** A directory that holds nothing (or does not exist): the only place a restore writes into. */
export async function isEmptyDir(dir: string): Promise<boolean> {
  const entries = await fsp.readdir(dir).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)));
  return entries.length === 0;
}

/**
 * Loads a checked backup into an empty database (fresh embedded PostgreSQL or an empty
 * DATABASE_URL) and blob store: the backup's migrations, the transaction counter moved past the
 * backup's, every table in one transaction, sequences, then the blobs (each verified by the store).
 */
export async function restoreBackup(deps: Omit<BackupDeps, 'secretFromEnv' | 'migrationsDir'>, dir: string, manifest: Manifest, onProgress: OnProgress = () => {}): Promise<void> {
  const c = await deps.pool.connect();
  try {
    if (!(await store.isEmpty(c))) throw new BackupError('The database is not empty: restore into a new data directory or an empty DATABASE_URL', 'backup_target_not_empty');
    // The schema the data was taken under: the backup's own migrations (newer ones apply at the next start).
    const schemaDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'cairn-restore-'));
    try {
      for (const m of manifest.migrations) await fsp.copyFile(path.join(dir, m.file), path.join(schemaDir, m.name));
      await migrate(deps.pool, schemaDir);
    } finally {
      await fsp.rm(schemaDir, { recursive: true, force: true });
    }

    // Ledger order and readers' horizon compare transaction ids (docs/architecture.md): ids handed
    // out after the restore must be above every restored one.
    const bound = BigInt(manifest.xidBound);
    if (bound >= 1n << 32n) throw new BackupError('The backed-up cluster has used more than 2^32 transaction ids; restore it with a physical backup (point-in-time recovery), see docs/operations.md', 'backup_unsupported');
    const start = BigInt(await store.currentXid(c));
    for (let cur = start; cur <= bound; cur = BigInt(await store.currentXid(c))) {
      onProgress({ phase: 'transaction-ids', done: Number(cur - start), total: Number(bound - start) + 1 });
      await store.burnXids(c, Math.min(100_000, Number(bound - cur) + 1));
    }

    await c.query('BEGIN');
    // Superusers (embedded PostgreSQL) skip triggers and foreign-key checks while loading; others
    // rely on the tables coming in foreign-key order.
    await c.query('SAVEPOINT r');
    await c.query('SET LOCAL session_replication_role = replica').then(
      () => c.query('RELEASE SAVEPOINT r'),
      () => c.query('ROLLBACK TO SAVEPOINT r'),
    );
    // Migrations may seed rows; the backup's rows replace them.
    if (manifest.tables.length) await c.query(`TRUNCATE ${manifest.tables.map((t) => quoteIdent(t.name)).join(', ')} CASCADE`);
    let done = 0;
    for (const t of manifest.tables) {
      onProgress({ phase: 'database', done: done++, total: manifest.tables.length });
      const cols = t.columns.map(quoteIdent).join(', ');
      await pipeline(fs.createReadStream(path.join(dir, t.file)), createGunzip(), c.query(copyFrom(`COPY ${quoteIdent(t.name)} (${cols}) FROM STDIN`)));
    }
    for (const s of manifest.sequences) await store.setSequence(c, s);
    await c.query('COMMIT');
    onProgress({ phase: 'database', done, total: manifest.tables.length });
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    c.release();
  }

  const total = manifest.blobs.reduce((n, b) => n + b.bytes, 0);
  let copied = 0;
  for (const b of manifest.blobs) {
    const body: Readable = fs.createReadStream(path.join(dir, b.file));
    await deps.blobs.put(body, { expectedSha256: b.sha256, expectedSize: b.bytes });
    onProgress({ phase: 'blobs', done: (copied += b.bytes), total });
  }
}
