import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';

/**
 * Tables are declared by the domain that owns them, through declaration merging:
 *   declare module '../database/database.js' { interface Database { users: UsersTable } }
 * so each store types its own SQL without one central file every change must touch.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Database {}

export type Db = Kysely<Database>;

// bigint (int8) columns come back as strings by default; positions fit in a JS number for
// centuries of appends at our rates, and numbers are what the API speaks.
pg.types.setTypeParser(20, (v) => Number(v));

export function createPool(connectionString: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, idleTimeoutMillis: 30_000 });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => {});
  // Nor a checked-out one between two queries (a held advisory lock, a tail's connection): pg emits
  // 'error' on the client, with no listener but ours while it is out of the pool. Its query, if
  // any, fails on its own, and the pool discards the broken client when it comes back. Attached
  // here, before the first connection (the migrations' one was missed when the job runner did it).
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export function createDb(pool: pg.Pool): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * Commits that need not wait for their WAL to reach the disk (synchronous_commit off for one
 * transaction only): what a crash of PostgreSQL may lose is the last fraction of a second of
 * these, never a durable commit that came after them (WAL is flushed in order). For state worth
 * losing rather than a disk flush each time; each caller says why it may (docs/security.md).
 */
export const noFlush = {
  /** For the rest of the transaction `db` holds. */
  async inTransaction(db: Kysely<Database>): Promise<void> {
    await sql`SELECT set_config('synchronous_commit', 'off', true)`.execute(db);
  },
  /** As a CTE named `no_flush`, for an autocommitted statement; the statement must reference it so it is evaluated. */
  cte: sql`no_flush AS (SELECT set_config('synchronous_commit', 'off', true) AS off)`,
};
