import pg from 'pg';
import { ERRORS } from '@tus/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/harness.js';
import { PgUploadLocker } from './datasets.tuslock.js';

/**
 * The upload lock tus takes on every request, as two nodes see it: two lockers with their own
 * pools stand for two server processes on one database.
 */
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let nodeA: PgUploadLocker;
let nodeB: PgUploadLocker;

beforeAll(async () => {
  db = await createTestDatabase();
  nodeA = new PgUploadLocker({ connectionString: db.url }, 400);
  nodeB = new PgUploadLocker({ connectionString: db.url }, 400);
});
afterAll(async () => {
  await nodeA.pool.end();
  await nodeB.pool.end();
  await db.drop();
});

const noRelease = () => {};

describe('tus upload lock across nodes', () => {
  it('keeps a second node out while the first holds an upload, and lets it in once released', async () => {
    const held = nodeA.newLock('upload-1');
    await held.lock(new AbortController().signal, noRelease);
    // Another upload is not affected.
    const other = nodeB.newLock('upload-2');
    await other.lock(new AbortController().signal, noRelease);
    await other.unlock();

    await expect(nodeB.newLock('upload-1').lock(new AbortController().signal, noRelease)).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
    await held.unlock();
    const next = nodeB.newLock('upload-1');
    await next.lock(new AbortController().signal, noRelease);
    await next.unlock();
  });

  it('is freed when the holding node dies (its database session ends)', async () => {
    const held = nodeA.newLock('upload-3');
    await held.lock(new AbortController().signal, noRelease);
    // What a SIGKILL does to the node's connections: PostgreSQL ends the session, and its locks.
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::bigint::oid AND pid <> pg_backend_pid()`, [0x7475736c]);
    await admin.end();
    const next = nodeB.newLock('upload-3');
    await next.lock(new AbortController().signal, noRelease);
    await next.unlock();
    // The dead holder's unlock does not throw (its session is gone already).
    await held.unlock();
  });
});
