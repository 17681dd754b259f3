import { sql, type Kysely } from 'kysely';
import type { Database } from '../database/database.js';
import type { LedgerCursor } from '../ledger/ledger.store.js';

type Exec = Kysely<Database>;

/** The projector's savepoints (fixed names: they are spliced into the statement). */
export type SavepointName = 'projection_batch' | 'projection_entry' | 'projection_bulk';

export interface ProjectionRow {
  name: string;
  version: number;
  mode: 'inline' | 'async';
  cursor_tx: string | null;
  cursor_position: number | null;
  applied: number;
  failing_entry: string | null;
  failing_error: string | null;
  failing_since: Date | null;
  rebuild_version: number | null;
  rebuild_cursor_tx: string | null;
  rebuild_cursor_position: number | null;
  rebuild_applied: number | null;
  rebuild_total: number | null;
  rebuild_started_at: Date | null;
  rebuild_failing_entry: string | null;
  rebuild_failing_error: string | null;
  rebuilt_at: Date | null;
  updated_at: Date;
}

const COLS = sql`name, version, mode, cursor_tx::text AS cursor_tx, cursor_position::int8 AS cursor_position, applied::int8 AS applied, failing_entry, failing_error, failing_since,
  rebuild_version, rebuild_cursor_tx::text AS rebuild_cursor_tx, rebuild_cursor_position, rebuild_applied::int8 AS rebuild_applied, rebuild_total::int8 AS rebuild_total,
  rebuild_started_at, rebuild_failing_entry, rebuild_failing_error, rebuilt_at, updated_at`;

const num = (r: ProjectionRow): ProjectionRow => ({
  ...r,
  cursor_position: r.cursor_position === null ? null : Number(r.cursor_position),
  applied: Number(r.applied),
  rebuild_cursor_position: r.rebuild_cursor_position === null ? null : Number(r.rebuild_cursor_position),
  rebuild_applied: r.rebuild_applied === null ? null : Number(r.rebuild_applied),
  rebuild_total: r.rebuild_total === null ? null : Number(r.rebuild_total),
});

export const cursorOf = (tx: string | null, position: number | null): LedgerCursor | undefined => (tx === null || position === null ? undefined : { tx, position });

/** Shadow of a live table while a rebuild builds beside it. */
export const shadowName = (table: string) => `${table}__rebuild`;

export const projectionsStore = {
  async ensure(db: Exec, rows: { name: string; version: number; mode: 'inline' | 'async' }[]): Promise<void> {
    if (!rows.length) return;
    await sql`INSERT INTO projections (name, version, mode)
      SELECT * FROM unnest(${rows.map((r) => r.name)}::text[], ${rows.map((r) => r.version)}::int[], ${rows.map((r) => r.mode)}::text[])
      ON CONFLICT (name) DO NOTHING`.execute(db);
  },

  async all(db: Exec): Promise<ProjectionRow[]> {
    return (await sql<ProjectionRow>`SELECT ${COLS} FROM projections ORDER BY name`.execute(db)).rows.map(num);
  },

  async get(db: Exec, name: string): Promise<ProjectionRow | undefined> {
    const r = (await sql<ProjectionRow>`SELECT ${COLS} FROM projections WHERE name = ${name}`.execute(db)).rows[0];
    return r && num(r);
  },

  /**
   * The projection's row, locked for this transaction: whoever holds it is the only one applying
   * entries to (or rebuilding) this projection. `skipLocked` answers undefined at once when another
   * node holds it, so nodes never queue behind each other for the same work.
   */
  async lock(db: Exec, name: string, opts: { skipLocked: boolean }): Promise<ProjectionRow | undefined> {
    const r = (await sql<ProjectionRow>`SELECT ${COLS} FROM projections WHERE name = ${name} FOR UPDATE ${opts.skipLocked ? sql`SKIP LOCKED` : sql``}`.execute(db)).rows[0];
    return r && num(r);
  },

  async advance(db: Exec, name: string, cursor: LedgerCursor, applied: number): Promise<void> {
    await sql`UPDATE projections SET cursor_tx = ${cursor.tx}::xid8, cursor_position = ${cursor.position}, applied = applied + ${applied},
      failing_entry = NULL, failing_error = NULL, failing_since = NULL, updated_at = now() WHERE name = ${name}`.execute(db);
  },

  async setFailing(db: Exec, name: string, entryId: string, error: string): Promise<void> {
    await sql`UPDATE projections SET failing_error = ${error}, updated_at = now(),
      failing_since = CASE WHEN failing_entry = ${entryId}::uuid THEN failing_since ELSE now() END, failing_entry = ${entryId}::uuid WHERE name = ${name}`.execute(db);
  },

  async setVersion(db: Exec, name: string, version: number): Promise<void> {
    await sql`UPDATE projections SET version = ${version}, updated_at = now() WHERE name = ${name}`.execute(db);
  },

  async startRebuild(db: Exec, name: string, version: number, total: number): Promise<void> {
    await sql`UPDATE projections SET rebuild_version = ${version}, rebuild_cursor_tx = NULL, rebuild_cursor_position = NULL, rebuild_applied = 0,
      rebuild_total = ${total}, rebuild_started_at = now(), rebuild_failing_entry = NULL, rebuild_failing_error = NULL, updated_at = now() WHERE name = ${name}`.execute(db);
  },

  async advanceRebuild(db: Exec, name: string, cursor: LedgerCursor, applied: number): Promise<void> {
    await sql`UPDATE projections SET rebuild_cursor_tx = ${cursor.tx}::xid8, rebuild_cursor_position = ${cursor.position}, rebuild_applied = rebuild_applied + ${applied},
      rebuild_failing_entry = NULL, rebuild_failing_error = NULL, updated_at = now() WHERE name = ${name}`.execute(db);
  },

  async setRebuildFailing(db: Exec, name: string, entryId: string, error: string): Promise<void> {
    await sql`UPDATE projections SET rebuild_failing_entry = ${entryId}::uuid, rebuild_failing_error = ${error}, updated_at = now() WHERE name = ${name}`.execute(db);
  },

  /** The rebuilt state is live: its version, and (async) its position, become the projection's. */
  async finishRebuild(db: Exec, name: string, cursor: LedgerCursor | undefined): Promise<void> {
    await sql`UPDATE projections SET version = rebuild_version, applied = CASE WHEN mode = 'async' THEN rebuild_applied ELSE applied END,
      cursor_tx = ${cursor?.tx ?? null}::xid8, cursor_position = ${cursor?.position ?? null},
      failing_entry = NULL, failing_error = NULL, failing_since = NULL,
      rebuild_version = NULL, rebuild_cursor_tx = NULL, rebuild_cursor_position = NULL, rebuild_applied = NULL, rebuild_total = NULL,
      rebuild_started_at = NULL, rebuild_failing_entry = NULL, rebuild_failing_error = NULL, rebuilt_at = now(), updated_at = now() WHERE name = ${name}`.execute(db);
  },

  // --- shadow tables ---------------------------------------------------------------------

  /** Foreign keys touching the table, in or out: a projection's table must have none (see Projection). */
  async foreignKeys(db: Exec, table: string): Promise<string[]> {
    return (await sql<{ conname: string }>`SELECT conname FROM pg_constraint WHERE contype = 'f' AND (conrelid = ${table}::regclass OR confrelid = ${table}::regclass)`.execute(db)).rows.map((r) => r.conname);
  },

  /** A fresh, empty shadow shaped like the live table: columns, defaults, checks, indexes, and triggers. */
  async createShadow(db: Exec, table: string): Promise<void> {
    const shadow = shadowName(table);
    await sql`DROP TABLE IF EXISTS ${sql.table(shadow)}`.execute(db);
    await sql`CREATE TABLE ${sql.table(shadow)} (LIKE ${sql.table(table)} INCLUDING ALL)`.execute(db);
    const triggers = await sql<{ def: string }>`SELECT pg_get_triggerdef(oid) AS def FROM pg_trigger WHERE tgrelid = ${table}::regclass AND NOT tgisinternal`.execute(db);
    for (const t of triggers.rows) {
      const def = t.def.replace(/ ON (?:public\.)?("?)[a-z0-9_]+\1 /, ` ON ${shadow} `);
      await sql.raw(def).execute(db);
    }
  },

  /** The table's indexes that no constraint needs (not unique, not primary): what a shadow may build last. */
  async plainIndexes(db: Exec, table: string): Promise<{ name: string; def: string }[]> {
    return (
      await sql<{ name: string; def: string }>`SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = ${table}::regclass AND NOT i.indisunique AND NOT i.indisprimary ORDER BY c.relname`.execute(db)
    ).rows;
  },

  async dropIndex(db: Exec, name: string): Promise<void> {
    await sql`DROP INDEX ${sql.table(name)}`.execute(db);
  },

  /** Builds on the shadow each plain index of the live table it lacks (same definition, a name of its own; swap renames it). */
  async completeShadowIndexes(db: Exec, table: string): Promise<void> {
    const shadow = shadowName(table);
    const shape = (def: string) => def.replace(/^(CREATE (?:UNIQUE )?INDEX) \S+ ON (?:ONLY )?\S+ /, '$1 ON _ ');
    const have = new Set((await this.plainIndexes(db, shadow)).map((i) => shape(i.def)));
    for (const idx of await this.plainIndexes(db, table)) {
      if (have.has(shape(idx.def))) continue;
      const m = /^CREATE INDEX \S+ ON (?:ONLY )?\S+ (.*)$/.exec(idx.def);
      if (!m) continue;
      await sql.raw(`CREATE INDEX ON ${shadow} ${m[1]}`).execute(db);
    }
  },

  async dropShadow(db: Exec, table: string): Promise<void> {
    await sql`DROP TABLE IF EXISTS ${sql.table(shadowName(table))}`.execute(db);
  },

  /**
   * Puts the shadow in the live table's place, in the caller's transaction: readers see the old
   * state until it commits and the new one after, never a mixture. Index names (and so the
   * names of the constraints they back) are carried over, so the next rebuild finds the same shape.
   */
  async swap(db: Exec, table: string): Promise<void> {
    const shadow = shadowName(table);
    const indexes = async (t: string) =>
      (await sql<{ name: string; def: string }>`SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = ${t}::regclass ORDER BY c.relname`.execute(db)).rows.map(
        (r) => ({ name: r.name, shape: r.def.replace(/^(CREATE (?:UNIQUE )?INDEX) \S+ ON (?:ONLY )?\S+ /, '$1 ON _ ') }),
      );
    const live = await indexes(table);
    const fresh = await indexes(shadow);
    await sql`DROP TABLE ${sql.table(table)}`.execute(db);
    await sql`ALTER TABLE ${sql.table(shadow)} RENAME TO ${sql.table(table)}`.execute(db);
    for (const idx of fresh) {
      const k = live.findIndex((l) => l.shape === idx.shape);
      if (k < 0) continue;
      await sql`ALTER INDEX ${sql.table(idx.name)} RENAME TO ${sql.table(live[k]!.name)}`.execute(db);
      live.splice(k, 1);
    }
  },

  // --- the projector's transaction control -------------------------------------------------

  /** A savepoint, so a failing apply can be undone alone (the batch, then entry by entry). */
  async savepoint(db: Exec, name: SavepointName): Promise<void> {
    await sql`SAVEPOINT ${sql.raw(name)}`.execute(db);
  },

  async releaseSavepoint(db: Exec, name: SavepointName): Promise<void> {
    await sql`RELEASE SAVEPOINT ${sql.raw(name)}`.execute(db);
  },

  async rollbackToSavepoint(db: Exec, name: SavepointName): Promise<void> {
    await sql`ROLLBACK TO SAVEPOINT ${sql.raw(name)}`.execute(db);
  },

  /** How long this transaction's lock requests wait before failing with 55P03 (the swap gives way to writers). */
  async setLockTimeout(db: Exec, timeout: '500ms'): Promise<void> {
    await sql`SET LOCAL lock_timeout = ${sql.lit(timeout)}`.execute(db);
  },

  /** Excludes every writer of the tables (inline projections: writers apply inside their own transaction). */
  async lockTables(db: Exec, tables: string[]): Promise<void> {
    await sql`LOCK TABLE ${sql.join(tables.map((t) => sql.table(t)))} IN ACCESS EXCLUSIVE MODE`.execute(db);
  },
};
