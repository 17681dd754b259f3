import { Kysely, PostgresDialect, sql, type RawBuilder } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Database } from '../database/database.js';

type Exec = Kysely<Database>;

export type LocationKind = 'area' | 'office';

/** A location as the tree stores it (workspaces with a kind). */
export interface ExistingLocation {
  id: string;
  external_id: string;
  name: string;
  kind: LocationKind;
  parent_id: string | null;
  path: string;
}

/** One row of the import's final state, staged with COPY. */
export interface StagedLocation {
  id: string;
  externalId: string;
  name: string;
  kind: LocationKind;
  parentId: string | null;
  path: string;
  /** The path before this import (null for a new location), to move plain workspaces beneath it. */
  oldPath: string | null;
}

export interface LocationHit {
  id: string;
  external_id: string | null;
  name: string;
  kind: LocationKind;
  parent_id: string | null;
  ancestors: string[];
}

/** cairn_search_norm turns punctuation into spaces, but LIKE's own characters are escaped anyway. */
const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** COPY's text format: backslash, tab and line breaks escaped; \N is null. */
const copyText = (s: string | null) => (s === null ? '\\N' : s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')));

export const locationsStore = {
  /** A query text normalised as names are indexed (cairn_search_norm: accents, case, punctuation). */
  async searchNorm(db: Exec, text: string): Promise<string> {
    return (await sql<{ n: string | null }>`SELECT cairn_search_norm(${text}) AS n`.execute(db)).rows[0]!.n ?? '';
  },

  /**
   * Runs `fn` in one transaction on one pooled connection, handing it both the raw client (for
   * COPY, which Kysely cannot speak) and a Kysely bound to that same connection (for the ledger).
   */
  async inClientTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient, db: Exec) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: { connect: async () => ({ query: client.query.bind(client) as pg.PoolClient['query'], release: () => {} }), end: async () => {} } }) });
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client, db);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw e;
    } finally {
      client.release(broken ? new Error('rollback failed') : undefined);
    }
  },

  /** One import at a time: two concurrent imports of overlapping trees would each compute paths from a stale tree. */
  lockImports: (client: pg.PoolClient) => client.query(`SELECT pg_advisory_xact_lock(hashtext('cairn:locations:import'))`),

  existing: async (client: pg.PoolClient) =>
    (await client.query<ExistingLocation>(`SELECT id, external_id, name, kind, parent_id, path FROM workspaces WHERE external_id IS NOT NULL`)).rows,

  /** Stages the import's final rows (changed ones only) in a temporary table, with COPY. */
  async stage(client: pg.PoolClient, rows: StagedLocation[]): Promise<void> {
    await client.query(`CREATE TEMP TABLE location_import (id uuid, external_id text, name text, kind text, parent_id uuid, path text, old_path text) ON COMMIT DROP`);
    async function* lines() {
      let buf = '';
      for (const r of rows) {
        buf += `${r.id}\t${copyText(r.externalId)}\t${copyText(r.name)}\t${r.kind}\t${r.parentId ?? '\\N'}\t${r.path}\t${r.oldPath ?? '\\N'}\n`;
        if (buf.length > 1 << 16) {
          yield buf;
          buf = '';
        }
      }
      if (buf) yield buf;
    }
    await pipeline(Readable.from(lines()), client.query(copyFrom(`COPY location_import FROM STDIN`)));
    await client.query('ANALYZE location_import');
  },

  /** Staged locations whose name a plain (non-location) workspace already holds at the same place. */
  plainWorkspaceClashes: async (client: pg.PoolClient) =>
    (
      await client.query<{ external_id: string }>(
        `SELECT i.external_id FROM location_import i JOIN workspaces w
           ON coalesce(w.parent_id, '00000000-0000-0000-0000-000000000000'::uuid) = coalesce(i.parent_id, '00000000-0000-0000-0000-000000000000'::uuid)
          AND lower(w.name) = lower(i.name) AND w.external_id IS NULL`,
      )
    ).rows.map((r) => r.external_id),

  /** Applies the staged rows in two set-based statements. */
  async applyStaged(client: pg.PoolClient, now: Date): Promise<void> {
    // Foreign keys are checked at the end of the statement, so parents and children may arrive in any order.
    await client.query(
      `INSERT INTO workspaces (id, parent_id, name, path, kind, external_id, created_at)
       SELECT id, parent_id, name, path, kind, external_id, $1 FROM location_import
       ON CONFLICT (id) DO UPDATE SET parent_id = EXCLUDED.parent_id, name = EXCLUDED.name, path = EXCLUDED.path, kind = EXCLUDED.kind`,
      [now],
    );
    // Plain workspaces someone created under a location move with it (the deepest moved ancestor decides).
    await client.query(
      `UPDATE workspaces w SET path = x.path FROM (
         SELECT DISTINCT ON (c.id) c.id, m.path || substr(c.path, length(m.old_path) + 1) AS path
         FROM location_import m JOIN workspaces c ON c.path LIKE m.old_path || '%' AND c.external_id IS NULL
         WHERE m.old_path IS NOT NULL AND m.old_path <> m.path
         ORDER BY c.id, length(m.old_path) DESC) x
       WHERE w.id = x.id`,
    );
  },

  byId: async (db: Exec, id: string) =>
    (
      await sql<LocationHit>`
        SELECT w.id, w.external_id, w.name, w.kind, w.parent_id, ${ancestorsOf(sql`w`)} AS ancestors
        FROM workspaces w WHERE w.id = ${id} AND w.kind IS NOT NULL`.execute(db)
    ).rows[0],

  pathOf: async (db: Exec, id: string) => (await sql<{ path: string }>`SELECT path FROM workspaces WHERE id = ${id} AND kind IS NOT NULL`.execute(db)).rows[0]?.path,

  /**
   * Ranked search. `q` is already normalised the way cairn_search_norm normalises names.
   * Tiers: the whole name, a prefix of it, a prefix of one of its words, anywhere inside it, a
   * near miss (trigram word similarity, for typos); then similarity, shorter names, alphabetical.
   */
  search: async (db: Exec, q: string, opts: { kind?: LocationKind; withinPath?: string; limit: number }) => {
    const kind = opts.kind ? sql`AND w.kind = ${opts.kind}` : sql``;
    const within = opts.withinPath ? sql`AND w.path LIKE ${likeEscape(opts.withinPath) + '%'} AND w.path <> ${opts.withinPath}` : sql``;
    const esc = likeEscape(q);
    const prefix = sql`w.search_name LIKE ${esc + '%'}`;
    const ranked = (match: RawBuilder<unknown>) => sql<LocationHit>`
        WITH hits AS (
          SELECT w.id, w.external_id, w.name, w.kind, w.parent_id, w.path, w.search_name AS norm
          FROM workspaces w
          WHERE w.kind IS NOT NULL ${kind} ${within} AND ${match}
        ), top AS (
          SELECT *, CASE WHEN norm = ${q} THEN 0 WHEN norm LIKE ${esc + '%'} THEN 1 WHEN norm LIKE ${'% ' + esc + '%'} THEN 2 WHEN norm LIKE ${'%' + esc + '%'} THEN 3 ELSE 4 END AS tier,
            word_similarity(${q}, norm) AS sim
          FROM hits ORDER BY tier, sim DESC, length(norm), norm, id LIMIT ${opts.limit}
        )
        SELECT t.id, t.external_id, t.name, t.kind, t.parent_id, ${ancestorsOf(sql`t`)} AS ancestors
        FROM top t ORDER BY t.tier, t.sim DESC, length(t.norm), t.norm, t.id`;
    // 1-2 characters: a prefix of the name, through the btree (trigrams cannot narrow these down).
    if (q.length < 3) return (await ranked(prefix).execute(db)).rows;
    // Names that start with the query rank first (tiers 0 and 1): when they fill the page, the
    // answer is theirs, found through the btree without gathering and scoring every name that
    // merely shares trigrams with the query (thousands when names are alike). Otherwise the
    // whole ranked search, which returns those same names first.
    const first = (await ranked(prefix).execute(db)).rows;
    if (first.length >= opts.limit) return first;
    return (await ranked(sql`(w.search_name LIKE ${'%' + esc + '%'} OR ${q} <% w.search_name)`).execute(db)).rows;
  },

  /** Without a query: the locations directly under `parentId` (or the top level), alphabetical. */
  children: async (db: Exec, parentId: string | null, opts: { kind?: LocationKind; limit: number }) => {
    const kind = opts.kind ? sql`AND w.kind = ${opts.kind}` : sql``;
    return (
      await sql<LocationHit>`
        SELECT w.id, w.external_id, w.name, w.kind, w.parent_id, ${ancestorsOf(sql`w`)} AS ancestors
        FROM workspaces w
        WHERE coalesce(w.parent_id, '00000000-0000-0000-0000-000000000000'::uuid) = ${parentId ?? '00000000-0000-0000-0000-000000000000'}::uuid
          AND w.kind IS NOT NULL ${kind}
        ORDER BY lower(w.name), w.id LIMIT ${opts.limit}`.execute(db)
    ).rows;
  },
};

/** Names of a row's ancestors, nearest first ("Ibombo", "Central Province", "Zambia"): its path's ids, by primary key. */
function ancestorsOf(alias: RawBuilder<unknown>) {
  return sql<string[]>`(SELECT coalesce(array_agg(a.name ORDER BY length(a.path) DESC), '{}') FROM workspaces a
    WHERE a.id = ANY (string_to_array(btrim(${alias}.path, '/'), '/')::uuid[]) AND a.id <> ${alias}.id)`;
}
