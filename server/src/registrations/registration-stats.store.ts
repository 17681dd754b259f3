import { sql, type Kysely } from 'kysely';
import type { Database } from '../database/database.js';

type Db = Kysely<Database>;

export interface StatsCell {
  month: string;
  /** Segment of the place's path one level below the root (a workspace id), '' for the root itself. */
  place: string;
  registered: number;
  within_year: number;
}

export const registrationStatsStore = {
  /**
   * Registered records per month of registration (UTC) and place, in `[from, to)`: the place is
   * where the event happened, or the registering office when the record names none, counted at the
   * level just below `root` (its path has `rootDepth` segments). Reads the stats index only
   * (migration 1250). Within a year: registered no later than the event's first anniversary.
   */
  async cells(db: Db, f: { from: string; to: string; type?: string; reach: string | null; placePrefix: string | null; rootDepth: number }): Promise<StatsCell[]> {
    const place = sql`coalesce(event_location_path, office_path)`;
    return db.transaction().execute(async (trx) => {
      // A whole country's year is hundreds of thousands of rows: grouped in memory (a hash), not
      // sorted on disk, and each group's month formatted once rather than each row's.
      await sql`SET LOCAL work_mem = '32MB'`.execute(trx);
      return (
        await sql<StatsCell>`SELECT to_char(m, 'YYYY-MM') AS month, place, registered, within_year FROM (
            SELECT date_trunc('month', registered_at AT TIME ZONE 'UTC') AS m, split_part(${place}, '/', ${f.rootDepth + 2}) AS place, count(*)::int AS registered,
              (count(*) FILTER (WHERE (registered_at AT TIME ZONE 'UTC')::date <= event_date + interval '1 year'))::int AS within_year
            FROM registrations
            WHERE registered_at IS NOT NULL AND registered_at >= ${f.from}::date AND registered_at < ${f.to}::date
              AND ${f.type ? sql`type = ${f.type}` : sql`true`}
              AND ${f.reach === null ? sql`true` : sql`office_path LIKE ${`${f.reach}%`}`}
              AND ${f.placePrefix === null ? sql`true` : sql`${place} LIKE ${`${f.placePrefix}%`}`}
            GROUP BY 1, 2) g
          ORDER BY 1, 2`.execute(trx)
      ).rows;
    });
  },

  async names(db: Db, ids: string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    const r = await sql<{ id: string; name: string }>`SELECT id::text AS id, name FROM workspaces WHERE id = ANY(${ids}::uuid[])`.execute(db);
    return new Map(r.rows.map((x) => [x.id, x.name]));
  },

  async workspace(db: Db, id: string): Promise<{ id: string; name: string; path: string } | undefined> {
    return (await sql<{ id: string; name: string; path: string }>`SELECT id::text AS id, name, path FROM workspaces WHERE id = ${id}::uuid`.execute(db)).rows[0];
  },

  /** The top of the tree the register sits in (the country), for a caller who reaches all of it. */
  async country(db: Db): Promise<{ id: string; name: string; path: string } | undefined> {
    return (
      await sql<{ id: string; name: string; path: string }>`SELECT id::text AS id, name, path FROM workspaces
        WHERE id = (SELECT split_part(office_path, '/', 2)::uuid FROM registrations LIMIT 1)`.execute(db)
    ).rows[0];
  },
};
