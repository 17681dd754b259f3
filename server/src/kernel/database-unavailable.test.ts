import fs from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/harness.js';
import { freePort } from '../../test/process.js';
import { isDatabaseUnavailable } from './database-unavailable.js';

/** Real failures from pg, told apart: "the database cannot be reached" against everything else. */
let db: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const failure = async (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

describe('isDatabaseUnavailable', () => {
  it('recognises a refused TCP connection and a missing Unix socket (PostgreSQL stopped)', async () => {
    const refused = await failure(new pg.Pool({ host: '127.0.0.1', port: await freePort(), user: 'x', database: 'x' }).query('SELECT 1'));
    expect(isDatabaseUnavailable(refused)).toBe(true);
    const noSocket = await failure(new pg.Pool({ host: '/nonexistent-cairn-socket-dir', user: 'x', database: 'x' }).query('SELECT 1'));
    expect(isDatabaseUnavailable(noSocket)).toBe(true);
  });

  it('recognises a session ended by the server (shutdown, fail-over) and a query on the dead client', async () => {
    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => {});
    await client.connect();
    const terminated = await failure(client.query('SELECT pg_terminate_backend(pg_backend_pid())'));
    expect((terminated as { code?: string }).code).toBe('57P01');
    expect(isDatabaseUnavailable(terminated)).toBe(true);
    const after = await failure(client.query('SELECT 1'));
    expect(isDatabaseUnavailable(after)).toBe(true);
  });

  it('leaves every other error alone: bad SQL, a constraint, a missing file', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      expect(isDatabaseUnavailable(await failure(pool.query('SELEC 1')))).toBe(false);
      expect(isDatabaseUnavailable(await failure(pool.query('SELECT 1/0')))).toBe(false);
    } finally {
      await pool.end();
    }
    expect(isDatabaseUnavailable(await failure(fs.readFile('/nonexistent-cairn-file')))).toBe(false);
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
