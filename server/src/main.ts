import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './kernel/logger.js';
import { createDb, createPool } from './database/database.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './database/embedded-postgres.js';
import { migrate } from './database/migrations.js';
import { createServices, type ResolvedConfig, type Services } from './services.js';
import { buildApp, type App } from './app.js';
import { sealCheckpoint } from './ledger/ledger.verify.js';
import { makePrivate, setPrivateUmask, type PrivateRoots } from './kernel/private-files.js';

/** Where the server keeps files (see kernel/private-files.ts): all private to its OS user. */
function privateRoots(config: Config): PrivateRoots {
  const blobDir = config.blobs.store === 'local' ? (config.blobs.dir ?? path.join(config.dataDir, 'blobs')) : undefined;
  const others = [...(blobDir ? [blobDir] : []), config.uploadDir ?? (blobDir ? path.join(blobDir, '.tus') : path.join(config.dataDir, 'uploads'))];
  return { dataDir: config.dataDir, others, sharedDataDir: !config.databaseUrl && process.getuid?.() === 0 };
}

/** The instance secret signs tokens and encrypts second-factor seeds; generated once per data dir. */
export function resolveSecret(config: Config): string {
  if (config.secret) return config.secret;
  const file = path.join(config.dataDir, 'secret.key');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const secret = randomBytes(48).toString('base64url');
    try {
      fs.writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
      return secret;
    } catch {
      return fs.readFileSync(file, 'utf8').trim(); // another process won the race
    }
  }
}

export interface Database {
  pool: pg.Pool;
  embedded?: EmbeddedPostgres;
  connectionString: string;
  close(): Promise<void>;
}

/** Connects to DATABASE_URL, or starts the embedded PostgreSQL in the data directory. */
export async function openDatabase(config: Config, log: Logger): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let connectionString = config.databaseUrl;
  if (!connectionString) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, log });
    connectionString = embedded.connectionString;
  }
  const pool = createPool(connectionString, config.dbPoolSize);
  return {
    pool,
    embedded,
    connectionString,
    close: async () => {
      await pool.end().catch(() => {});
      await embedded?.stop();
    },
  };
}

export async function runMigrations(env = process.env): Promise<string[]> {
  const config = loadConfig(env);
  const log = createLogger(config.logLevel);
  const database = await openDatabase(config, log);
  try {
    return await migrate(database.pool);
  } finally {
    await database.close();
  }
}

/** Opens the database, migrates, and hands services to `fn` (CLI commands that need no HTTP). */
export async function withServices<T>(fn: (s: Services) => Promise<T>, env = process.env): Promise<T> {
  const config = loadConfig(env);
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  setPrivateUmask();
  await makePrivate(privateRoots(config), log);
  const database = await openDatabase(config, log);
  try {
    await migrate(database.pool);
    const services = createServices({ config: { ...config, secret: resolveSecret(config) }, db: createDb(database.pool), pool: database.pool, log });
    return await fn(services);
  } finally {
    await database.close();
  }
}

export function createFirstAdmin(username: string, password: string, env = process.env) {
  return withServices((s) => s.setup.createFirstAdmin(username, password), env);
}

export interface RunningServer {
  app: App;
  services: Services;
  url: string;
  stop(): Promise<void>;
}

export async function startServer(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ResolvedConfig> = {}): Promise<RunningServer> {
  const base = loadConfig(env);
  const log = createLogger(base.logLevel);
  setPrivateUmask();
  await makePrivate(privateRoots(base), log);
  const config: ResolvedConfig = { ...base, secret: resolveSecret(base), ...overrides };
  const database = await openDatabase(config, log);
  let app: App | undefined;
  let timer: NodeJS.Timeout | undefined;
  let jobs: Services['jobs'] | undefined;
  try {
    const applied = await migrate(database.pool);
    if (applied.length) log.info({ applied }, 'applied migrations');
    const services = createServices({ config, db: createDb(database.pool), pool: database.pool, log });
    // Start-up data, once per database whatever the number of starts: the shipped instruments.
    const installed = await services.instruments.installLibrary(log);
    if (installed.length) log.info({ installed }, 'installed library instruments');
    app = await buildApp(services);
    await app.listen({ port: config.port, host: config.host });
    jobs = services.jobs;
    if (config.workers) await jobs.start();
    // Async projections catch up from where they stopped and follow the ledger (any number of nodes).
    await services.projector.start();
    // Webhook subscriptions follow the ledger from where they stopped (any number of nodes).
    await services.webhooks.start();
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://${config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host}:${port}`;

    let sealing = false;
    timer = setInterval(() => {
      if (sealing) return;
      sealing = true;
      sealCheckpoint(services.db)
        .catch((err) => log.warn({ err }, 'ledger checkpoint failed'))
        .finally(() => (sealing = false));
    }, config.checkpointIntervalMs);
    timer.unref();

    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        clearInterval(timer);
        services.ledger.appended.emit('shutdown');
        await app!.close(); // stops accepting, lets in-flight requests finish
        await jobs?.stop(); // lets running jobs finish before their database goes away
        await services.projector.stop(); // lets a batch in flight commit
        await services.webhooks.stop();
        await services.viewRuns.close(); // worker threads and Python sandbox processes
        await services.search.close(); // the import de-duplication worker
        await database.close();
      })());
    return { app, services, url, stop };
  } catch (e) {
    clearInterval(timer);
    await app?.close().catch(() => {});
    await jobs?.stop().catch(() => {});
    await database.close();
    throw e;
  }
}

/** `npm start` / `cairn serve`: start, log where, stop cleanly on SIGINT/SIGTERM. */
export async function main(): Promise<void> {
  let server: RunningServer | undefined;
  let signalled: string | undefined;
  const stop = (running: RunningServer) => {
    running.app.log.info({ signal: signalled }, 'shutting down');
    running
      .stop()
      .then(() => process.exit(0))
      .catch((err) => {
        running.app.log.error({ err }, 'error during shutdown');
        process.exit(1);
      });
  };
  const shutdown = (signal: string) => {
    // npm forwards the terminal's signal too, so a second one while stopping is expected.
    if (signalled) return;
    signalled = signal;
    const force = setTimeout(() => {
      process.stderr.write('cairn: shutdown took too long; exiting\n');
      process.exit(1);
    }, 25_000);
    force.unref();
    // A signal during start-up (health can answer before the job runner is up) waits for the
    // start to finish, then stops everything it started: dying here would orphan PostgreSQL.
    if (server) stop(server);
  };
  // Installed before anything starts, so no window leaves the default action (exit at once) in place.
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  try {
    server = await startServer();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`cairn: ${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`cairn: could not start: ${(e as Error).message}\n`);
    process.exit(1);
  }
  if (signalled) return stop(server);
  server.app.log.info(`Cairn is listening on ${server.url}`);
  // A long-running server starts its view sandbox now (Pyodide takes seconds to load), not on the first run.
  server.services.viewRuns.warmUp();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  void main();
}
