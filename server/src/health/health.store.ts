import { sql } from 'kysely';
import type { Db } from '../database/database.js';

/** The health checks' SQL. */
export const healthStore = {
  /** One round trip: the database answers. */
  async ping(db: Db): Promise<void> {
    await sql`SELECT 1`.execute(db);
  },

  /** The names of the migrations applied to this database. */
  async appliedMigrations(db: Db): Promise<Set<string>> {
    const r = await sql<{ name: string }>`SELECT name FROM cairn_migrations`.execute(db);
    return new Set(r.rows.map((x) => x.name));
  },
};
