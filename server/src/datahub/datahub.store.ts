import { sql, type Kysely } from 'kysely';
import type { Database } from '../database/database.js';

export interface SubjectsTable {
  id: string;
  workspace_id: string;
  identifier: string;
  identifier_kind: 'custom' | 'derived';
  date_of_birth: string | null;
  sex: 'female' | 'male' | 'other' | null;
  created_at: Date;
  /** A short readable name, unique in the workspace (migration 0310); null when none was given. */
  label?: string | null;
}
export interface SessionsTable {
  id: string;
  workspace_id: string;
  subject_id: string;
  kind: 'in_person' | 'retrospective' | 'remote';
  date: Date;
  started_at: Date;
  ended_at: Date | null;
  created_by_kind: string;
  created_by_id: string | null;
}
export interface RecordsTable {
  id: string;
  workspace_id: string;
  subject_id: string;
  session_id: string;
  instrument_name: string;
  instrument_edition: number;
  date: Date;
  data: unknown;
  measures: unknown;
  version: number;
  import_id: string | null;
  created_at: Date;
  updated_at: Date;
  created_by_kind: string;
  created_by_id: string | null;
  deleted_at: Date | null;
  deleted_reason: string | null;
}
export interface DatahubSettingsTable {
  workspace_id: string;
  subject_id_pattern: string | null;
}
declare module '../database/database.js' {
  interface Database {
    subjects: SubjectsTable;
    datahub_sessions: SessionsTable;
    records: RecordsTable;
    datahub_settings: DatahubSettingsTable;
  }
}
type Exec = Kysely<Database>;

// date columns come back as JS Dates in local time from pg; read them as text instead.
const SUBJECT_COLS = sql`id, workspace_id, identifier, identifier_kind, to_char(date_of_birth, 'YYYY-MM-DD') AS date_of_birth, sex, created_at, label`;

export const datahubStore = {
  settings: (db: Exec, workspaceId: string) => db.selectFrom('datahub_settings').selectAll().where('workspace_id', '=', workspaceId).executeTakeFirst(),

  async setSettings(db: Exec, s: DatahubSettingsTable) {
    await db.insertInto('datahub_settings').values(s).onConflict((oc) => oc.column('workspace_id').doUpdateSet({ subject_id_pattern: s.subject_id_pattern })).execute();
  },

  // --- subjects --------------------------------------------------------------------------
  async subject(db: Exec, id: string): Promise<SubjectsTable | undefined> {
    return (await sql<SubjectsTable>`SELECT ${SUBJECT_COLS} FROM subjects WHERE id = ${id}`.execute(db)).rows[0];
  },

  async subjectByIdentifier(db: Exec, workspaceId: string, identifier: string): Promise<SubjectsTable | undefined> {
    return (await sql<SubjectsTable>`SELECT ${SUBJECT_COLS} FROM subjects WHERE workspace_id = ${workspaceId} AND identifier = ${identifier}`.execute(db)).rows[0];
  },

  async subjectsByIdentifiers(db: Exec, workspaceId: string, identifiers: string[]) {
    return (await sql<SubjectsTable>`SELECT ${SUBJECT_COLS} FROM subjects WHERE workspace_id = ${workspaceId} AND identifier = ANY(${identifiers}::text[])`.execute(db)).rows;
  },

  /** Which of these subject ids belong to the workspace (an export's subject filter). */
  async subjectIdsIn(db: Exec, workspaceId: string, ids: string[]): Promise<string[]> {
    return (await sql<{ id: string }>`SELECT id FROM subjects WHERE workspace_id = ${workspaceId} AND id = ANY(${ids}::uuid[])`.execute(db)).rows.map((r) => r.id);
  },

  /** Another subject of the workspace with this label (case aside), if any. */
  async subjectByLabel(db: Exec, workspaceId: string, label: string): Promise<SubjectsTable | undefined> {
    return (await sql<SubjectsTable>`SELECT ${SUBJECT_COLS} FROM subjects WHERE workspace_id = ${workspaceId} AND lower(label) = lower(${label})`.execute(db)).rows[0];
  },

  /** Sets or clears a subject's label; the unique index refuses one taken in the workspace (23505). */
  async setSubjectLabel(db: Exec, id: string, label: string | null): Promise<SubjectsTable | undefined> {
    return (await sql<SubjectsTable>`UPDATE subjects SET label = ${label} WHERE id = ${id} RETURNING ${SUBJECT_COLS}`.execute(db)).rows[0];
  },

  /** Inserts; answers false when the identifier is taken in the workspace. */
  async insertSubject(db: Exec, s: SubjectsTable): Promise<boolean> {
    const r = await db.insertInto('subjects').values(s).onConflict((oc) => oc.columns(['workspace_id', 'identifier']).doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
  },

  /** A page of subjects by identifier prefix (case-insensitive), with record counts and last activity. */
  /** Inserts many; answers the rows actually inserted (identifiers already taken are skipped). */
  async insertSubjects(db: Exec, rows: SubjectsTable[]): Promise<{ id: string; identifier: string }[]> {
    if (!rows.length) return [];
    const col = <K extends keyof SubjectsTable>(k: K) => rows.map((r) => r[k]);
    return (
      await sql<{ id: string; identifier: string }>`
        INSERT INTO subjects (id, workspace_id, identifier, identifier_kind, date_of_birth, sex, created_at)
        SELECT * FROM unnest(${col('id')}::uuid[], ${col('workspace_id')}::uuid[], ${col('identifier')}::text[], ${col('identifier_kind')}::text[],
                             ${col('date_of_birth')}::date[], ${col('sex')}::text[], ${col('created_at')}::timestamptz[])
        ON CONFLICT (workspace_id, identifier) DO NOTHING
        RETURNING id, identifier`.execute(db)
    ).rows;
  },

  async insertSessions(db: Exec, rows: SessionsTable[]): Promise<void> {
    if (!rows.length) return;
    const col = <K extends keyof SessionsTable>(k: K) => rows.map((r) => r[k]);
    await sql`
      INSERT INTO datahub_sessions (id, workspace_id, subject_id, kind, date, started_at, ended_at, created_by_kind, created_by_id)
      SELECT * FROM unnest(${col('id')}::uuid[], ${col('workspace_id')}::uuid[], ${col('subject_id')}::uuid[], ${col('kind')}::text[],
                           ${col('date')}::timestamptz[], ${col('started_at')}::timestamptz[], ${col('ended_at')}::timestamptz[],
                           ${col('created_by_kind')}::text[], ${col('created_by_id')}::text[])`.execute(db);
  },

  /** Subjects that may be the same person as a new one: same date of birth, or an identifier whose trigrams resemble it. */
  async similarSubjects(db: Exec, workspaceId: string, q: { identifier: string; dateOfBirth: string | null; limit: number }) {
    return (
      await sql<SubjectsTable>`SELECT ${SUBJECT_COLS} FROM subjects s WHERE workspace_id = ${workspaceId} AND identifier_kind = 'custom'
        AND (${q.dateOfBirth === null ? sql`false` : sql`date_of_birth = ${q.dateOfBirth}::date`} OR similarity(lower(identifier), ${q.identifier.toLowerCase()}) > 0.3)
        LIMIT ${q.limit}`.execute(db)
    ).rows;
  },

  async searchSubjects(db: Exec, workspaceId: string, q: { prefix?: string; after?: string; limit: number }) {
    // Anywhere in the identifier ("005" finds DEMO-005), as the registrations' quick search finds identifiers.
    const like = q.prefix ? '%' + q.prefix.toLowerCase().replace(/[\\%_]/g, '\\$&') + '%' : undefined;
    return (
      await sql<SubjectsTable & { record_count: number; last_record_at: Date | null }>`
        SELECT ${SUBJECT_COLS},
               (SELECT count(*)::int FROM records r WHERE r.subject_id = s.id AND r.deleted_at IS NULL) AS record_count,
               (SELECT max(date) FROM records r WHERE r.subject_id = s.id AND r.deleted_at IS NULL) AS last_record_at
        FROM subjects s
        WHERE workspace_id = ${workspaceId}
          ${like ? sql`AND (lower(identifier) LIKE ${like} OR lower(label) LIKE ${like})` : sql``}
          ${q.after !== undefined ? sql`AND identifier > ${q.after}` : sql``}
        ORDER BY identifier LIMIT ${q.limit}`.execute(db)
    ).rows;
  },

  // --- sessions --------------------------------------------------------------------------
  session: (db: Exec, id: string) => db.selectFrom('datahub_sessions').selectAll().where('id', '=', id).executeTakeFirst(),

  activeSession: (db: Exec, subjectId: string) => db.selectFrom('datahub_sessions').selectAll().where('subject_id', '=', subjectId).where('ended_at', 'is', null).executeTakeFirst(),

  sessions: (db: Exec, subjectId: string) => db.selectFrom('datahub_sessions').selectAll().where('subject_id', '=', subjectId).orderBy('started_at', 'desc').limit(500).execute(),

  async insertSession(db: Exec, s: SessionsTable): Promise<void> {
    await db.insertInto('datahub_sessions').values(s).execute();
  },

  endSession: (db: Exec, id: string, at: Date) => db.updateTable('datahub_sessions').set({ ended_at: at }).where('id', '=', id).where('ended_at', 'is', null).returningAll().executeTakeFirst(),

  // --- records ---------------------------------------------------------------------------
  record: (db: Exec, id: string) => db.selectFrom('records').selectAll().where('id', '=', id).executeTakeFirst(),

  recordForUpdate: (db: Exec, id: string) => db.selectFrom('records').selectAll().where('id', '=', id).forUpdate().executeTakeFirst(),

  /**
   * `table` is the live table, or its shadow while the records projection is rebuilt. The rows go
   * as one JSON document expanded by PostgreSQL: an array parameter per column escaped every
   * answer's JSON a second time, which made this most of a rebuild's time.
   */
  async insertRecords(db: Exec, rows: RecordsTable[], table = 'records'): Promise<void> {
    if (!rows.length) return;
    await sql`
      INSERT INTO ${sql.table(table)} (id, workspace_id, subject_id, session_id, instrument_name, instrument_edition, date, data, measures,
                           version, import_id, created_at, updated_at, created_by_kind, created_by_id, deleted_at, deleted_reason)
      SELECT id, workspace_id, subject_id, session_id, instrument_name, instrument_edition, date, data, measures,
             version, import_id, created_at, updated_at, created_by_kind, created_by_id, deleted_at, deleted_reason
      FROM json_populate_recordset(NULL::${sql.table(table)}, ${JSON.stringify(rows)}::json)`.execute(db);
  },

  async updateRecord(db: Exec, id: string, set: { data: unknown; measures: unknown; version: number; updated_at: Date }, table = 'records') {
    await sql`UPDATE ${sql.table(table)} SET data = ${JSON.stringify(set.data)}::jsonb, measures = ${JSON.stringify(set.measures)}::jsonb, version = ${set.version}, updated_at = ${set.updated_at}
      WHERE id = ${id}::uuid`.execute(db);
  },

  async deleteRecord(db: Exec, id: string, at: Date, reason: string, version: number, table = 'records') {
    await sql`UPDATE ${sql.table(table)} SET deleted_at = ${at}, deleted_reason = ${reason}, version = ${version}, updated_at = ${at} WHERE id = ${id}::uuid`.execute(db);
  },

  subjectRecords: (db: Exec, subjectId: string, f: { instrument?: string; edition?: number; limit: number }) => {
    let q = db.selectFrom('records').selectAll().where('subject_id', '=', subjectId).where('deleted_at', 'is', null);
    if (f.instrument) q = q.where('instrument_name', '=', f.instrument);
    if (f.edition !== undefined) q = q.where('instrument_edition', '=', f.edition);
    return q.orderBy('date').orderBy('id').limit(f.limit).execute();
  },

  // --- dashboard -------------------------------------------------------------------------
  async summary(db: Exec, workspaceId: string, since: Date) {
    const counts = (
      await sql<{ subjects: number; sessions: number; records: number; active_sessions: number }>`
        SELECT (SELECT count(*)::int FROM subjects WHERE workspace_id = ${workspaceId}) AS subjects,
               (SELECT count(*)::int FROM datahub_sessions WHERE workspace_id = ${workspaceId}) AS sessions,
               (SELECT count(*)::int FROM datahub_sessions WHERE workspace_id = ${workspaceId} AND ended_at IS NULL) AS active_sessions,
               (SELECT count(*)::int FROM records WHERE workspace_id = ${workspaceId} AND deleted_at IS NULL) AS records`.execute(db)
    ).rows[0]!;
    const byInstrument = (
      await sql<{ instrument_name: string; instrument_edition: number; n: number; last: Date }>`
        SELECT instrument_name, instrument_edition, count(*)::int AS n, max(date) AS last FROM records
        WHERE workspace_id = ${workspaceId} AND deleted_at IS NULL
        GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 100`.execute(db)
    ).rows;
    const weekly = (
      await sql<{ week: string; n: number }>`
        SELECT to_char(date_trunc('week', date AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS week, count(*)::int AS n FROM records
        WHERE workspace_id = ${workspaceId} AND deleted_at IS NULL AND date >= ${since}
        GROUP BY 1 ORDER BY 1`.execute(db)
    ).rows;
    return { counts, byInstrument, weekly };
  },
};
