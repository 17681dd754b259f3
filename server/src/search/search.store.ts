import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../database/database.js';
import { arrayText, ledgerStore } from '../ledger/ledger.store.js';
import type { SearchRow } from './search.index.js';
import type { CandidateSource } from './search.matching.js';

type Db = Kysely<Database>;

/** A row of the index as the search reads it back. */
export interface IndexHit {
  id: string;
  type: string;
  status: string;
  flags: string[];
  office_path: string;
  tracking_id: string;
  registration_number: string | null;
  legacy_id: string | null;
  identifiers: string[];
  names: string;
  fields: Record<string, string>;
  event_date: string | null;
  updated_at: Date;
}

export type Predicate =
  | { kind: 'exact'; field: string; value: string }
  | { kind: 'trigram'; value: string }
  | { kind: 'keys'; keys: string[] }
  | { kind: 'eventDate'; from?: string; to?: string }
  | { kind: 'dateText'; field: string; from?: string; to?: string }
  | { kind: 'eventWithin'; path: string }
  | { kind: 'fieldWithin'; field: string; path: string };

export interface AdvancedQuery {
  type: string;
  reach: string | null;
  predicates: Predicate[];
}

/**
 * De-duplication keys are stored and asked as 64-bit hashes (PostgreSQL's hashtextextended, the
 * stable hash of hash partitioning): its GIN index is built in about half the time of one over
 * the key texts, at 1,000,000 registrations with pairs of keys (docs/performance.md). A collision
 * can only add a candidate, which is then scored like any other.
 */
const BLOCK_HASH = (key: RawBuilder<unknown>) => sql`hashtextextended(${key}, 0)`;
/** The hashes of a text[] of keys. */
const BLOCK_HASHES = (keys: RawBuilder<unknown>) => sql`ARRAY(SELECT ${BLOCK_HASH(sql`k`)} FROM unnest(${keys}) AS k)`;

/**
 * The type as a filter on the rows a key look-up found, never as an index condition: while an
 * import fills the table faster than statistics follow, the planner takes `type = $1` for
 * selective and ANDs the look-ups with a scan of every row of the type (measured: 0.6 ms per key
 * instead of 3 µs).
 */
const SAME_TYPE = (type: string) => sql`(type || '') = ${type}`;

/** A text[] literal (each element quoted and escaped by the ledger's array encoding). */
const textArray = (xs: string[]) => `{${xs.map(arrayText).join(',')}}`;

/** A word's single-letter deletions (words of four letters or more; shorter ones are matched whole). */
export function deletionsOf(w: string): string[] {
  if (w.length < 4) return [];
  const out = new Set<string>();
  for (let i = 0; i < w.length; i++) out.add(w.slice(0, i) + w.slice(i + 1));
  return [...out];
}

const HIT_COLUMNS = sql`id, type, status, flags, office_path, tracking_id, registration_number, legacy_id, identifiers, names, fields, event_date::text AS event_date, updated_at`;

/** Registrations' current state, as the index projection reads it (the registrations projection is applied first, in the same transaction). */
export interface SourceRow {
  id: string;
  type: string;
  type_version: number;
  status: string;
  flags: string[];
  office_path: string;
  event_location_path: string | null;
  event_date: string | null;
  tracking_id: string;
  registration_number: string | null;
  data: Record<string, unknown>;
  updated_at: Date;
}

export const searchStore = {
  async sources(db: Db, ids: string[]): Promise<SourceRow[]> {
    if (!ids.length) return [];
    return (await sql<SourceRow>`SELECT id, type, type_version, status, flags, office_path, event_location_path, event_date::text AS event_date,
        tracking_id, registration_number, data, updated_at FROM registrations WHERE id = ANY(${ids}::uuid[])`.execute(db)).rows;
  },

  /** A page of every registration's current state in id order (a rebuild's bulk pass). */
  async sourcesAfter(db: Db, after: string | null, limit: number): Promise<SourceRow[]> {
    return (await sql<SourceRow>`SELECT id, type, type_version, status, flags, office_path, event_location_path, event_date::text AS event_date,
        tracking_id, registration_number, data, updated_at FROM registrations WHERE ${after ? sql`id > ${after}::uuid` : sql`true`} ORDER BY id LIMIT ${limit}`.execute(db)).rows;
  },

  /** Registration entries committed before transaction `horizon` (what a bulk pass stands for). */
  async entriesBelow(db: Db, horizon: string): Promise<number> {
    return (await ledgerStore.countBelow(db, { horizon, typePrefix: 'registration.' })).n;
  },

  /**
   * Writes index rows in one statement (unnest of column arrays), and the name words they bring
   * that the lexicon does not hold yet (in word order, so two writers never wait on each other's
   * words in opposite orders).
   */
  async upsert(db: Db, rows: SearchRow[], tables: { search: string; words: string } = { search: 'registration_search', words: 'registration_name_words' }, written?: Set<string>): Promise<void> {
    if (!rows.length) return;
    const col = <K extends keyof SearchRow>(k: K) => rows.map((r) => r[k]);
    const arr = (k: 'identifiers' | 'name_keys' | 'block_keys' | 'flags') => rows.map((r) => textArray(r[k]));
    // `written`: words this transaction has already written (a rebuild's bulk pass), not sent again.
    const lexicon = new Map<string, string>();
    for (const r of rows) for (const [w, k] of r.name_words) if (!written?.has(w)) lexicon.set(w, k);
    const words = [...lexicon.keys()].sort();
    for (const w of words) written?.add(w);
    const deletes = words.map((w) => textArray(deletionsOf(w)));
    await sql`WITH lexicon AS (
        INSERT INTO ${sql.table(tables.words)} (word, key, deletes)
        SELECT w, k, d::text[] FROM unnest(${words}::text[], ${words.map((w) => lexicon.get(w)!)}::text[], ${deletes}::text[]) AS l(w, k, d) ORDER BY w
        ON CONFLICT (word) DO NOTHING)
      INSERT INTO ${sql.table(tables.search)} (id, type, status, flags, office_path, event_location_path, event_date, tracking_id, registration_number, legacy_id,
        identifiers, names, name_keys, block_hashes, fields, updated_at)
      SELECT u.id, u.type, u.status, u.flags::text[], u.office_path, u.event_location_path, u.event_date::date, u.tracking_id, u.registration_number, u.legacy_id,
        u.identifiers::text[], u.names, u.name_keys::text[], ${BLOCK_HASHES(sql`u.block_keys::text[]`)}, u.fields::jsonb, u.updated_at
      FROM unnest(${col('id')}::uuid[], ${col('type')}::text[], ${col('status')}::text[], ${arr('flags')}::text[], ${col('office_path')}::text[],
        ${col('event_location_path')}::text[], ${col('event_date')}::text[], ${col('tracking_id')}::text[], ${col('registration_number')}::text[], ${col('legacy_id')}::text[],
        ${arr('identifiers')}::text[], ${col('names')}::text[], ${arr('name_keys')}::text[], ${arr('block_keys')}::text[],
        ${rows.map((r) => JSON.stringify(r.fields))}::text[], ${col('updated_at')}::timestamptz[])
        AS u(id, type, status, flags, office_path, event_location_path, event_date, tracking_id, registration_number, legacy_id, identifiers, names, name_keys, block_keys, fields, updated_at)
      ON CONFLICT (id) DO UPDATE SET type = EXCLUDED.type, status = EXCLUDED.status, flags = EXCLUDED.flags, office_path = EXCLUDED.office_path,
        event_location_path = EXCLUDED.event_location_path, event_date = EXCLUDED.event_date, tracking_id = EXCLUDED.tracking_id,
        registration_number = EXCLUDED.registration_number, legacy_id = EXCLUDED.legacy_id, identifiers = EXCLUDED.identifiers, names = EXCLUDED.names,
        name_keys = EXCLUDED.name_keys, block_hashes = EXCLUDED.block_hashes, fields = EXCLUDED.fields, updated_at = EXCLUDED.updated_at`.execute(db);
  },

  /**
   * Name words of the register one edit away from each query word (a shared form among the word,
   * the query word and their single-letter deletions), or starting with it, at most `perWord`
   * each: index look-ups only (migration 1211).
   */
  async nearWords(db: Db, words: string[], perWord: number): Promise<Array<{ q: string; word: string; key: string }>> {
    if (!words.length) return [];
    const parts = words.map((q) => {
      const forms = [q, ...deletionsOf(q)];
      // Three look-ups, each on its own index: one OR-ed condition, or a LIMIT on the deletions'
      // look-up (whose row estimate is poor), was planned as a scan of the whole lexicon.
      return sql`(SELECT ${q}::text AS q, word, key FROM registration_name_words WHERE word = ANY(${forms}::text[]))
        UNION ALL (SELECT ${q}::text, word, key FROM registration_name_words WHERE deletes && ${forms}::text[])
        UNION ALL (SELECT ${q}::text, word, key FROM registration_name_words WHERE word LIKE ${`${q.replace(/[\\%_]/g, '\\$&')}%`} LIMIT ${perWord})`;
    });
    return (await sql<{ q: string; word: string; key: string }>`${sql.join(parts, sql` UNION ALL `)}`.execute(db)).rows;
  },

  /** Name words like each query word by trigram similarity, most similar first (for words nearWords did not find). */
  async similarWords(db: Db, words: string[], perWord: number): Promise<Array<{ q: string; word: string; key: string }>> {
    if (!words.length) return [];
    return (await sql<{ q: string; word: string; key: string }>`SELECT q.w AS q, l.word, l.key FROM unnest(${words}::text[]) AS q(w)
      CROSS JOIN LATERAL (SELECT word, key FROM registration_name_words WHERE word % q.w
        ORDER BY similarity(word, q.w) DESC, word LIMIT ${perWord}) AS l`.execute(db)).rows;
  },

  /** Rows holding, for every query word, one of its keys (names in any order, misspelt or transliterated). */
  async byKeySets(db: Db, keySets: string[][], reach: string | null, type: string | undefined, limit: number): Promise<IndexHit[]> {
    if (!keySets.length) return [];
    return (await sql<IndexHit>`SELECT ${HIT_COLUMNS} FROM registration_search WHERE ${sql.join(keySets.map((k) => sql`name_keys && ${k}::text[]`), sql` AND `)}
      AND ${reach === null ? sql`true` : sql`office_path LIKE ${`${reach}%`}`} AND ${type ? sql`type = ${type}` : sql`true`}
      LIMIT ${limit}`.execute(db)).rows;
  },

  /**
   * Search runs under a statement timeout: no query string, however odd, may hold a connection
   * (and the people waiting behind it) for long.
   */
  async withTimeout<T>(db: Db, ms: number, run: (trx: Db) => Promise<T>): Promise<T> {
    return db.transaction().execute(async (trx) => {
      await sql`SELECT set_config('statement_timeout', ${String(ms)}, true)`.execute(trx);
      return run(trx);
    });
  },

  async byIdentifier(db: Db, ids: string[], reach: string | null, type: string | undefined, limit: number): Promise<IndexHit[]> {
    if (!ids.length) return [];
    return (await sql<IndexHit>`SELECT ${HIT_COLUMNS} FROM registration_search WHERE identifiers && ${ids}::text[]
      AND ${reach === null ? sql`true` : sql`office_path LIKE ${`${reach}%`}`} AND ${type ? sql`type = ${type}` : sql`true`}
      ORDER BY updated_at DESC LIMIT ${limit}`.execute(db)).rows;
  },

  /**
   * Candidates of one type holding any of these de-duplication keys (search.index.ts,
   * candidateKeysOf: strong keys, pairs of weak keys, a sparse record's single keys): one look-up
   * in the hashes' GIN index, whose posting lists are short because a pair is rare even when each
   * of its keys is common.
   */
  async candidates(db: Db, type: string, asked: string[], excludeId: string | null, limit: number): Promise<IndexHit[]> {
    if (!asked.length) return [];
    return (await sql<IndexHit>`SELECT ${HIT_COLUMNS} FROM registration_search WHERE block_hashes && ${BLOCK_HASHES(sql`${asked}::text[]`)} AND ${SAME_TYPE(type)}
      AND status <> 'archived' AND ${excludeId ? sql`id <> ${excludeId}::uuid` : sql`true`} LIMIT ${limit}`.execute(db)).rows;
  },

  /**
   * Candidates for many records at once (a legacy import's batch): the ids of at most `perKey`
   * rows for each key the batch asks, one index look-up per key. A single look-up of all of them
   * (tens of thousands) costs more than the sum: GIN merges every asked key's list for each row it
   * returns. Ids only: most candidates of an import are its own earlier rows, which the caller
   * already holds (fieldsOf gives the others).
   */
  async candidatesByKey(db: Db, type: string, asked: string[], perKey: number): Promise<Array<{ key: string; id: string }>> {
    if (!asked.length) return [];
    return (await sql<{ key: string; id: string }>`SELECT a.k AS key, r.id FROM unnest(${asked}::text[]) AS a(k)
      CROSS JOIN LATERAL (SELECT id FROM registration_search WHERE block_hashes @> ARRAY[${BLOCK_HASH(sql`a.k`)}] AND ${SAME_TYPE(type)}
        AND status <> 'archived' LIMIT ${perKey}) AS r`.execute(db)).rows;
  },

  /** The comparable answers of these indexed registrations. */
  async fieldsOf(db: Db, ids: string[]): Promise<Array<{ id: string; fields: Record<string, string> }>> {
    if (!ids.length) return [];
    return (await sql<{ id: string; fields: Record<string, string> }>`SELECT id, fields FROM registration_search WHERE id = ANY(${ids}::uuid[])`.execute(db)).rows;
  },

  /** Areas and offices, for an import's cells that name a place. */
  async places(db: Db): Promise<Array<{ id: string; name: string; kind: string; path: string; external_id: string | null }>> {
    return (await sql<{ id: string; name: string; kind: string; path: string; external_id: string | null }>`SELECT id, name, kind, path, external_id FROM workspaces WHERE kind IN ('area', 'office')`.execute(db)).rows;
  },

  /** Which of these legacy ids a type's register already holds (migration 1200's index). */
  async legacyIdsTaken(db: Db, type: string, legacyIds: string[]): Promise<string[]> {
    if (!legacyIds.length) return [];
    // One index probe per id: with `legacy_id = ANY(...)` the planner, its statistics behind an
    // import, read every row of the type through another index (17 ms at 100,000 rows, growing;
    // this takes 1.5 ms).
    return (await sql<{ legacy_id: string }>`SELECT l.id AS legacy_id FROM unnest(${legacyIds}::text[]) AS l(id)
      CROSS JOIN LATERAL (SELECT 1 FROM registration_search WHERE type = ${type} AND legacy_id = l.id LIMIT 1) AS taken`.execute(db)).rows.map((r) => r.legacy_id);
  },

  async trackingIdsTaken(db: Db, ids: string[]): Promise<string[]> {
    if (!ids.length) return [];
    return (await sql<{ tracking_id: string }>`SELECT tracking_id FROM registrations WHERE tracking_id = ANY(${ids}::text[])`.execute(db)).rows.map((r) => r.tracking_id);
  },

  /** Advanced search: every predicate parameterised; fuzzy ones narrow by trigram, the service checks each word. */
  async advanced(db: Db, q: AdvancedQuery, limit: number, offset: number): Promise<IndexHit[]> {
    const where = [sql`type = ${q.type}`];
    if (q.reach !== null) where.push(sql`office_path LIKE ${`${q.reach}%`}`);
    for (const p of q.predicates) {
      const col = sql`fields ->> ${'field' in p ? p.field : ''}`;
      switch (p.kind) {
        case 'exact':
          where.push(sql`lower(${col}) = lower(${p.value})`);
          break;
        case 'trigram':
          where.push(sql`${p.value} <% names`);
          break;
        case 'keys':
          where.push(sql`name_keys && ${p.keys}::text[]`);
          break;
        case 'eventDate':
          if (p.from) where.push(sql`event_date >= ${p.from}::date`);
          if (p.to) where.push(sql`event_date <= ${p.to}::date`);
          break;
        case 'dateText':
          if (p.from) where.push(sql`${col} >= ${p.from}`);
          if (p.to) where.push(sql`${col} <= ${p.to}`);
          break;
        case 'eventWithin':
          where.push(sql`event_location_path LIKE ${`${p.path}%`}`);
          break;
        case 'fieldWithin':
          where.push(sql`(${col}) IN (SELECT id::text FROM workspaces WHERE path LIKE ${`${p.path}%`})`);
          break;
      }
    }
    return (await sql<IndexHit>`SELECT ${HIT_COLUMNS} FROM registration_search WHERE ${sql.join(where, sql` AND `)}
      ORDER BY updated_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}`.execute(db)).rows;
  },

  async locationPath(db: Db, id: string): Promise<string | null> {
    return (await sql<{ path: string }>`SELECT path FROM workspaces WHERE id = ${id}::uuid`.execute(db)).rows[0]?.path ?? null;
  },

  /** A random sample (about n rows) of indexed records of a type, to learn how often non-matches agree. */
  async sample(db: Db, type: string, n: number, total: number): Promise<Array<{ fields: Record<string, string> }>> {
    // SYSTEM sampling reads only the sampled pages: a model refresh on 1,000,000 rows stays cheap.
    const percent = Math.min(100, total ? (n * 100 * 2) / total : 100);
    return (await sql<{ fields: Record<string, string> }>`SELECT fields FROM registration_search TABLESAMPLE SYSTEM (${percent}) WHERE type = ${type} LIMIT ${n}`.execute(db)).rows;
  },

  async count(db: Db, type: string): Promise<number> {
    return Number((await sql<{ n: string }>`SELECT count(*) AS n FROM registration_search WHERE type = ${type}`.execute(db)).rows[0]!.n);
  },

  /** Open duplicate pairs of a type within reach: flagged registrations and what they matched. */
  async openDuplicates(db: Db, type: string | undefined, reach: string | null, limit: number): Promise<Array<{ a: string; b: string }>> {
    return (await sql<{ a: string; b: string }>`
      SELECT r.id AS a, m::text AS b FROM registrations r CROSS JOIN LATERAL unnest(r.duplicate_of) AS m
      WHERE 'potential-duplicate' = ANY (r.flags) AND r.status <> 'archived'
        AND ${type ? sql`r.type = ${type}` : sql`true`} AND ${reach === null ? sql`true` : sql`r.office_path LIKE ${`${reach}%`}`}
      ORDER BY r.id, m LIMIT ${limit}`.execute(db)).rows;
  },

  async hits(db: Db, ids: string[]): Promise<IndexHit[]> {
    if (!ids.length) return [];
    return (await sql<IndexHit>`SELECT ${HIT_COLUMNS} FROM registration_search WHERE id = ANY(${ids}::uuid[])`.execute(db)).rows;
  },
};

/** The register as de-duplication reads it (search.matching.ts), through this pool or transaction. */
export const storeSource = (db: Db): CandidateSource => ({
  candidatesByKey: (type, asked, perKey) => searchStore.candidatesByKey(db, type, asked, perKey),
  fieldsOf: (ids) => searchStore.fieldsOf(db, ids),
  count: (type) => searchStore.count(db, type),
  sample: (type, n, total) => searchStore.sample(db, type, n, total),
});
