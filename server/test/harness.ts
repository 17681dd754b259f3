import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import type {} from './provided.js';
import { startServer, type RunningServer } from '../src/main.js';
import { loadConfig } from '../src/config.js';
import { createLogger, type Logger } from '../src/kernel/logger.js';
import { createDb, createPool } from '../src/database/database.js';
import { createServices, type ResolvedConfig, type Services } from '../src/services.js';
import { buildApp, type App } from '../src/app.js';
import type { Clock } from '../src/kernel/clock.js';

const TEMPLATE_DB = 'cairn_template';
let counter = 0;

/** A fresh database cloned from the migrated template; returns its connection string. */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const adminUrl = inject('pgAdminUrl');
  const name = `t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE "${name}" TEMPLATE ${TEMPLATE_DB}`);
        break;
      } catch (e) {
        // Two workers cloning the template at the same instant collide; take turns.
        if (attempt < 50 && /being accessed by other users/.test((e as Error).message)) {
          await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
          continue;
        }
        throw e;
      }
    }
  } finally {
    await admin.end();
  }
  const url = adminUrl.replace('/postgres?', `/${name}?`);
  return {
    url,
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
      await c.end();
    },
  };
}

export interface TestServer extends RunningServer {
  databaseUrl: string;
  dataDir: string;
}

/** The real server on a free loopback port with its own database and data directory. */
export async function startTestServer(env: Record<string, string> = {}, overrides: Partial<ResolvedConfig> = {}): Promise<TestServer> {
  const database = await createTestDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-srv-'));
  const server = await startServer(
    {
      PATH: process.env.PATH,
      DATABASE_URL: database.url,
      CAIRN_DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.CAIRN_TEST_LOG_LEVEL ?? 'silent',
      CAIRN_DB_POOL_SIZE: '10',
      ...env,
    },
    overrides,
  );
  return {
    ...server,
    databaseUrl: database.url,
    dataDir,
    stop: async () => {
      await server.stop();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Another server process on the same database and data directory (so the same secret), with its
 * own memory: what a second node of a scaled-out deployment would be. Stop it before `server`.
 */
export function startSiblingServer(server: TestServer, env: Record<string, string> = {}): Promise<RunningServer> {
  return startServer({
    PATH: process.env.PATH,
    DATABASE_URL: server.databaseUrl,
    CAIRN_DATA_DIR: server.dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    CAIRN_WORKERS: 'false',
    CAIRN_DB_POOL_SIZE: '4',
    ...env,
  });
}

/** The app without a socket, for `inject()` tests; same services and hooks as production. */
export async function createTestApp(env: Record<string, string> = {}, opts: { clock?: Clock; log?: Logger } = {}): Promise<{ app: App; services: Services; pool: pg.Pool; stop(): Promise<void> }> {
  const database = await createTestDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-app-'));
  const config = loadConfig({ DATABASE_URL: database.url, CAIRN_DATA_DIR: dataDir, LOG_LEVEL: 'silent', CAIRN_SERVE_WEB: 'false', ...env });
  const pool = createPool(database.url, 10);
  const services = createServices({ config: { ...config, secret: 'test-secret-'.padEnd(48, 'x') }, db: createDb(pool), pool, log: opts.log ?? createLogger('silent'), clock: opts.clock });
  await services.instruments.installLibrary(); // as startServer does
  const app = await buildApp(services);
  await app.ready();
  return {
    app,
    services,
    pool,
    stop: async () => {
      await app.close();
      await pool.end();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Sets up the first admin through the API and answers a bearer header for it. */
export async function setupAdmin(app: App, username = 'admin', password = 'correct horse battery staple'): Promise<{ authorization: string; userId: string }> {
  const r = await app.inject({ method: 'POST', url: '/api/v1/setup', payload: { username, password } });
  if (r.statusCode !== 201) throw new Error(`setup failed: ${r.statusCode} ${r.body}`);
  const body = r.json() as { accessToken: string; user: { id: string } };
  return { authorization: `Bearer ${body.accessToken}`, userId: body.user.id };
}
