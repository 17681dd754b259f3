import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import { loadConfig } from '../config.js';
import { createLogger } from './logger.js';
import { createDb, createPool } from '../database/database.js';
import { createServices } from '../services.js';
import { buildApp, type App } from '../app.js';
import { CacheBus } from './cache.js';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/** Polls until `check` holds; the notification travels through PostgreSQL, so it is not instant. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never happened: ${what}`);
}

describe('per-process caches with PostgreSQL invalidation', () => {
  let a: TestApp;
  let url: string;
  let admin: { authorization: string; userId: string };

  beforeAll(async () => {
    a = await createTestApp();
    url = a.pool.options.connectionString!;
    admin = await setupAdmin(a.app);
  });
  afterAll(async () => {
    await a.stop();
  });

  it('serves repeated reads from memory, and reloads after a committed change announced by the trigger', async () => {
    const bus = new CacheBus({ connectionString: url }, createLogger('silent'));
    await bus.enable();
    try {
      const cache = bus.cache<string, number>(['event_types']);
      let loads = 0;
      const load = async () => ++loads;
      expect(await cache.get('k', load)).toBe(1);
      expect(await cache.get('k', load)).toBe(1);
      expect(loads).toBe(1);
      // A change made straight in SQL, by no service of this process.
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`INSERT INTO event_types (name, description, latest_version) VALUES ('cache.test/x', '', 1)`);
      await c.end();
      await eventually(async () => (await cache.get('k', load)) === 2, 'the cache reloads after the notification');
      // Tables it does not depend on leave it alone.
      bus.changed('sessions');
      expect(await cache.get('k', load)).toBe(2);
    } finally {
      await bus.close();
    }
  });

  it('never stores a value whose load overlapped an invalidation', async () => {
    const bus = new CacheBus({ connectionString: url }, createLogger('silent'));
    await bus.enable();
    try {
      const cache = bus.cache<string, string>(['apps']);
      let release!: () => void;
      const slow = cache.get('k', () => new Promise<string>((r) => (release = () => r('stale'))));
      bus.changed('apps'); // the change commits while the old row is being read
      release();
      expect(await slow).toBe('stale');
      expect(await cache.get('k', async () => 'fresh')).toBe('fresh');
    } finally {
      await bus.close();
    }
  });

  it('when the listening connection is lost it stops serving from memory, then reconnects and starts empty', async () => {
    const bus = new CacheBus({ connectionString: url, application_name: 'cache-test-listener' }, createLogger('silent'));
    await bus.enable();
    try {
      const cache = bus.cache<string, number>(['apps']);
      let loads = 0;
      const load = async () => ++loads;
      await cache.get('k', load);
      await cache.get('k', load);
      expect(loads).toBe(1);
      // An administrator (or a failover) ends the listener's session.
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cache-test-listener'`);
      await c.end();
      await eventually(async () => !bus.live, 'the bus notices the lost connection');
      // Notifications could be missed meanwhile: every lookup goes to the database.
      await cache.get('k', load);
      await cache.get('k', load);
      expect(loads).toBe(3);
      await eventually(async () => bus.live, 'the bus reconnects');
      await cache.get('k', load);
      await cache.get('k', load);
      expect(loads).toBe(4);
    } finally {
      await bus.close();
    }
  });

  it('reads straight through when not listening (one-shot commands) or after close', async () => {
    const bus = new CacheBus({ connectionString: url }, createLogger('silent'));
    const cache = bus.cache<string, number>(['apps']);
    let loads = 0;
    await cache.get('k', async () => ++loads);
    await cache.get('k', async () => ++loads);
    expect(loads).toBe(2);
    await bus.enable();
    await bus.close();
    await cache.get('k', async () => ++loads);
    expect(loads).toBe(3);
  });

  it('CAIRN_CACHE=false leaves every lookup to the database (for transaction-mode poolers)', async () => {
    expect(a.services.cache.live).toBe(true);
    const off = await createTestApp({ CAIRN_CACHE: 'false' });
    try {
      const admin = await setupAdmin(off.app);
      expect((await off.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: admin })).statusCode).toBe(200);
      expect(off.services.cache.live).toBe(false);
    } finally {
      await off.stop();
    }
  });

  it('a token revoked through another server stops working here on its next requests', async () => {
    // A second server process on the same database: its own services, caches and listener.
    const config = loadConfig({ DATABASE_URL: url, CAIRN_DATA_DIR: a.services.config.dataDir, LOG_LEVEL: 'silent', CAIRN_SERVE_WEB: 'false' });
    const pool = createPool(url, 4);
    const services = createServices({ config: { ...config, secret: a.services.config.secret }, db: createDb(pool), pool, log: createLogger('silent') });
    const b: App = await buildApp(services);
    await b.ready();
    try {
      const created = await a.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: admin, payload: { name: 'script', scopes: ['account', 'events:read'], expiresInDays: 1 } });
      expect(created.statusCode).toBe(201);
      const { secret, token } = created.json() as { secret: string; token: { id: string } };
      const me = () => b.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${secret}` } });
      expect((await me()).statusCode).toBe(200);
      expect((await me()).statusCode).toBe(200); // now cached on b
      const revoked = await a.app.inject({ method: 'DELETE', url: `/api/v1/auth/tokens/${token.id}`, headers: admin });
      expect(revoked.statusCode).toBeLessThan(300);
      // On a, the server that revoked it: the very next request.
      expect((await a.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${secret}` } })).statusCode).toBe(401);
      // On b, as soon as the notification arrives.
      await eventually(async () => (await me()).statusCode === 401, 'b refuses the revoked token');
      expect((await me()).json()).toMatchObject({ error: { code: 'invalid_token' } });
    } finally {
      await b.close();
      await pool.end();
    }
  });
});
