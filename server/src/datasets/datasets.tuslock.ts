import pg from 'pg';
import { MemoryLocker } from '@tus/server';
import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/utils';

/** Advisory lock class for uploads ('tusl'); the second key is hashtext(upload id). */
const LOCK_CLASS = 0x7475736c;
const POLL_MS = 100;
/** Connections one node may hold for uploads being written at once (each PATCH holds one). */
export const UPLOAD_LOCK_CONNECTIONS = 16;

/**
 * tus's lock on an upload, held by every request that reads or writes it (HEAD, PATCH, DELETE),
 * across every node sharing the staging directory. tus's own MemoryLocker only sees one process:
 * with several nodes a client whose connection to node A stalled could PATCH the same bytes
 * through node B while A still writes, and A's running hash (datasets.tusstore.ts) would no
 * longer describe the file. So the in-process lock (which also asks a local holder to let go) is
 * taken first, then a PostgreSQL advisory lock on a connection of a small pool of its own, held
 * until the request ends. A node killed mid-request loses its connection and PostgreSQL releases
 * its locks at once; a live holder on another node is waited for up to `timeoutMs` (then tus
 * answers its lock timeout and the client retries).
 */
export class PgUploadLocker implements Locker {
  private readonly local: MemoryLocker;
  readonly pool: pg.Pool;

  constructor(
    connection: pg.PoolConfig,
    private readonly timeoutMs = 30_000,
  ) {
    this.local = new MemoryLocker({ acquireLockTimeout: timeoutMs });
    // Its own pool: a long PATCH holding a lock must never take a connection its own intake needs.
    // Idle connections close after 10 s and never keep the process alive; the database's own
    // shutdown ends the others (a lock's connection holds nothing but the lock).
    this.pool = new pg.Pool({ ...connection, max: UPLOAD_LOCK_CONNECTIONS, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
    this.pool.on('error', () => {});
    this.pool.on('connect', (client) => client.on('error', () => {}));
  }

  newLock(id: string): Lock {
    return new PgUploadLock(id, this.local.newLock(id), this.pool, this.timeoutMs);
  }
}

class PgUploadLock implements Lock {
  private client: pg.PoolClient | undefined;

  constructor(
    private readonly id: string,
    private readonly local: Lock,
    private readonly pool: pg.Pool,
    private readonly timeoutMs: number,
  ) {}

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    await this.local.lock(signal, requestRelease);
    let client: pg.PoolClient | undefined;
    try {
      client = await this.pool.connect();
      const deadline = Date.now() + this.timeoutMs;
      for (;;) {
        const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_CLASS, this.id]);
        if (r.rows[0]?.ok) break;
        if (signal.aborted || Date.now() >= deadline) throw ERRORS.ERR_LOCK_TIMEOUT;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      this.client = client;
    } catch (e) {
      client?.release();
      await this.local.unlock();
      throw e;
    }
  }

  async unlock(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    try {
      if (client) {
        try {
          await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, this.id]);
          client.release();
        } catch {
          // Ending the session releases whatever it held.
          client.release(true);
        }
      }
    } finally {
      await this.local.unlock();
    }
  }
}
