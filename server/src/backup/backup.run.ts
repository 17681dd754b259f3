import fsp from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { loadConfig } from '../config.js';
import { createLogger } from '../kernel/logger.js';
import { setPrivateUmask } from '../kernel/private-files.js';
import { createBlobStore } from '../blobs/blobs.config.js';
import { createDb, createPool } from '../database/database.js';
import { runningEmbeddedUrl } from '../database/embedded-postgres.js';
import { migrate } from '../database/migrations.js';
import { verifyLedger, type VerifyReport } from '../ledger/ledger.verify.js';
import { openDatabase, resolveSecret } from '../main.js';
import { BackupError, checkBackup, createBackup, isEmptyDir, restoreBackup, type Manifest, type OnProgress } from './backup.service.js';

/**
 * `cairn backup DIR` / `cairn restore DIR`: settings come from the environment, as for the
 * server. A backup of the embedded PostgreSQL joins the one a running Cairn started (no need to
 * stop it); a restore starts a fresh one in an empty data directory.
 */
async function database(env: NodeJS.ProcessEnv): Promise<{ pool: pg.Pool; close(): Promise<void> }> {
  const config = loadConfig(env);
  const live = config.databaseUrl ? undefined : runningEmbeddedUrl(config.dataDir);
  if (live) {
    const pool = createPool(live, 3);
    return { pool, close: () => pool.end() };
  }
  return openDatabase(config, createLogger('warn'));
}

export async function backupTo(dir: string, env: NodeJS.ProcessEnv = process.env, onProgress?: OnProgress): Promise<Manifest> {
  const config = loadConfig(env);
  setPrivateUmask();
  // The secret a server would create at its first start, created now if no server ever started.
  if (!config.secret) resolveSecret(config);
  const db = await database(env);
  try {
    return await createBackup({ pool: db.pool, blobs: createBlobStore(config.blobs, config.dataDir), dataDir: config.dataDir, secretFromEnv: !!config.secret }, dir, onProgress);
  } finally {
    await db.close();
  }
}

export interface RestoreReport {
  manifest: Manifest;
  ledger: VerifyReport;
  /** Migrations newer than the backup, applied after its data was loaded. */
  upgraded: string[];
}

export async function restoreFrom(dir: string, env: NodeJS.ProcessEnv = process.env, onProgress?: OnProgress): Promise<RestoreReport> {
  const config = loadConfig(env);
  // Every file is checked before anything is written.
  const manifest = await checkBackup(dir, onProgress);
  if (!config.databaseUrl && !(await isEmptyDir(config.dataDir))) {
    throw new BackupError(`The data directory ${config.dataDir} is not empty: restore into a new one (CAIRN_DATA_DIR)`, 'backup_target_not_empty');
  }
  if (config.blobs.store === 'local' && config.blobs.dir && !(await isEmptyDir(config.blobs.dir))) {
    throw new BackupError(`The blob directory ${config.blobs.dir} is not empty`, 'backup_target_not_empty');
  }
  if (manifest.secret === 'environment' && !config.secret) {
    throw new BackupError('This backup was made with CAIRN_SECRET from the environment (not in the backup): set the same CAIRN_SECRET to restore it', 'backup_unsupported');
  }
  setPrivateUmask();
  if (manifest.secret === 'file') {
    const secret = await fsp.readFile(path.join(dir, 'secret.key'), 'utf8');
    if (config.secret && config.secret !== secret.trim()) {
      throw new BackupError('CAIRN_SECRET differs from the secret in the backup, which encrypted its second-factor seeds and webhook secrets: unset it or set it to the backed-up one', 'backup_unsupported');
    }
    if (!config.secret) {
      await fsp.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
      await fsp.writeFile(path.join(config.dataDir, 'secret.key'), secret, { mode: 0o600, flag: 'wx' });
    }
  }
  const db = await openDatabase(config, createLogger('warn'));
  try {
    await restoreBackup({ pool: db.pool, blobs: createBlobStore(config.blobs, config.dataDir), dataDir: config.dataDir }, dir, manifest, onProgress);
    const upgraded = await migrate(db.pool);
    onProgress?.({ phase: 'verify', done: 0, total: 1 });
    const ledger = await verifyLedger(createDb(db.pool));
    onProgress?.({ phase: 'verify', done: 1, total: 1 });
    return { manifest, ledger, upgraded };
  } finally {
    await db.close();
  }
}
