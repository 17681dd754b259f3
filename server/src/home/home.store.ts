import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../database/database.js';

type Exec = Kysely<Database>;
const WEEK_S = 7 * 24 * 3600;

/** Which rows of a table the caller reaches: a SQL condition over the table's alias. */
export type Reach = RawBuilder<boolean>;

/**
 * A count and its trend: the total, and how many rows were created in each of `weeks` rolling
 * seven-day windows ending at `now` (oldest first). One scan of the reached rows.
 */
async function trend(db: Exec, from: RawBuilder<unknown>, reach: Reach, createdAt: RawBuilder<unknown>, now: Date, weeks: number) {
  const start = new Date(now.getTime() - weeks * WEEK_S * 1000);
  const r = await sql<{ total: number; w: number[] | null }>`
    SELECT count(*)::int AS total,
      array_agg(floor(extract(epoch FROM ${createdAt} - ${start}::timestamptz) / ${WEEK_S})::int) FILTER (WHERE ${createdAt} >= ${start}::timestamptz AND ${createdAt} < ${now}::timestamptz) AS w
    FROM ${from} WHERE ${reach}`.execute(db);
  const row = r.rows[0]!;
  const weekly = Array.from({ length: weeks }, () => 0);
  for (const w of row.w ?? []) if (w >= 0 && w < weeks) weekly[w]!++;
  return { total: row.total, weekly };
}

export interface RecentRow {
  kind: 'record' | 'dataset' | 'registration';
  id: string;
  label: string;
  detail: string;
  at: Date;
}

export const homeStore = {
  subjects: (db: Exec, workspaceIds: string[], now: Date, weeks: number) =>
    trend(db, sql`subjects s`, sql<boolean>`s.workspace_id = ANY(${workspaceIds}::uuid[])`, sql`s.created_at`, now, weeks),

  records: (db: Exec, workspaceIds: string[], now: Date, weeks: number) =>
    trend(db, sql`records r`, sql<boolean>`r.workspace_id = ANY(${workspaceIds}::uuid[]) AND r.deleted_at IS NULL`, sql`r.created_at`, now, weeks),

  /** Datasets the user owns or is a member of; every dataset for `all`. */
  datasets: (db: Exec, userId: string, all: boolean, now: Date, weeks: number) =>
    trend(db, sql`datasets d`, datasetReach(userId, all), sql`d.created_at`, now, weeks),

  /** Registrations within a path prefix (the caller's jurisdiction); null = the whole country. */
  registrations: (db: Exec, reach: string | null, now: Date, weeks: number) =>
    trend(db, sql`registrations g`, reach === null ? sql<boolean>`true` : sql<boolean>`g.office_path LIKE ${`${reach}%`}`, sql`g.created_at`, now, weeks),

  pendingRequests: async (db: Exec) =>
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM app_permission_requests WHERE status = 'pending'`.execute(db)).rows[0]!.n,

  unusedRecoveryCodes: async (db: Exec, userId: string) =>
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = ${userId} AND used_at IS NULL`.execute(db)).rows[0]!.n,

  /** The latest changes the caller reaches, newest first, across the reached domains. */
  recent: async (db: Exec, o: { workspaceIds: string[] | null; datasets: { userId: string; all: boolean } | null; registrationReach: string | null | undefined; limit: number }) => {
    const parts: RawBuilder<RecentRow>[] = [];
    if (o.workspaceIds) {
      parts.push(sql<RecentRow>`(SELECT 'record' AS kind, r.id::text AS id, r.instrument_name AS label, s.identifier AS detail, r.created_at AS at
        FROM records r JOIN subjects s ON s.id = r.subject_id
        WHERE r.workspace_id = ANY(${o.workspaceIds}::uuid[]) AND r.deleted_at IS NULL ORDER BY r.created_at DESC LIMIT ${o.limit})`);
    }
    if (o.datasets) {
      parts.push(sql<RecentRow>`(SELECT 'dataset' AS kind, d.accession AS id, d.title AS label, d.accession AS detail, d.updated_at AS at
        FROM datasets d WHERE ${datasetReach(o.datasets.userId, o.datasets.all)} ORDER BY d.updated_at DESC LIMIT ${o.limit})`);
    }
    if (o.registrationReach !== undefined) {
      const reach = o.registrationReach === null ? sql`true` : sql`g.office_path LIKE ${`${o.registrationReach}%`}`;
      parts.push(sql<RecentRow>`(SELECT 'registration' AS kind, g.id::text AS id, g.tracking_id AS label, g.status AS detail, g.updated_at AS at
        FROM registrations g WHERE ${reach} ORDER BY g.updated_at DESC LIMIT ${o.limit})`);
    }
    if (!parts.length) return [];
    return (await sql<RecentRow>`SELECT * FROM (${sql.join(parts, sql` UNION ALL `)}) x ORDER BY at DESC LIMIT ${o.limit}`.execute(db)).rows;
  },
};

function datasetReach(userId: string, all: boolean): RawBuilder<boolean> {
  return all ? sql<boolean>`true` : sql<boolean>`(d.owner_id = ${userId} OR EXISTS (SELECT 1 FROM dataset_members m WHERE m.dataset_id = d.id AND m.user_id = ${userId}))`;
}
