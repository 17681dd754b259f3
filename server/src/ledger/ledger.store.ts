import { sql, type Kysely } from 'kysely';
import { noFlush, type Database } from '../database/database.js';

type Exec = Kysely<Database>;

export interface EntryRow {
  position: number;
  tx: string;
  id: string;
  stream: string | null;
  stream_seq: number | null;
  type: string;
  type_version: number | null;
  data: unknown;
  data_hash: Buffer;
  actor_kind: string;
  actor_id: string | null;
  occurred_at: Date;
  recorded_at: Date;
  transaction_id: string | null;
  prev_hash: Buffer | null;
  hash: Buffer;
}

export interface NewEntryRow {
  id: string;
  stream: string | null;
  streamSeq: number | null;
  type: string;
  typeVersion: number | null;
  dataJson: string;
  /** Hashes as hex, as they are sent (see EncodedRows). */
  dataHash: string;
  actorKind: string;
  actorId: string | null;
  occurredAt: Date;
  recordedAt: Date;
  transactionId: string | null;
  prevHash: string | null;
  hash: string;
}

/**
 * Rows to insert as PostgreSQL array input, one text per column: the column's elements, comma
 * separated, without the braces. The ledger's hot path builds these itself (pg's generic array
 * encoding of fourteen columns cost more than the hashing), and a group of batches is the
 * concatenation of theirs (concatRows); the statement casts each to its array type.
 */
export interface EncodedRows {
  id: string;
  stream: string;
  streamSeq: string;
  type: string;
  typeVersion: string;
  data: string;
  dataHash: string;
  actorKind: string;
  actorId: string;
  occurredAt: string;
  recordedAt: string;
  transactionId: string;
  prevHash: string;
  hash: string;
}

/**
 * A quoted element of an array literal (backslashes and double quotes escaped), NULL for null.
 * Every column of every batch goes through here (entries' JSON data among them): plain string
 * searches and replaceAll take 40 % of the time a regular expression did (docs/performance.md).
 */
export function arrayText(v: string | null): string {
  if (v === null) return 'NULL';
  const backslash = v.indexOf('\\') >= 0;
  if (!backslash && v.indexOf('"') < 0) return `"${v}"`;
  return `"${(backslash ? v.replaceAll('\\', '\\\\') : v).replaceAll('"', '\\"')}"`;
}
/** A bytea element of an array literal from its hex, NULL for null. */
export const arrayBytea = (hex: string | null): string => (hex === null ? 'NULL' : `"\\\\x${hex}"`);
export const arrayInt = (n: number | null): string => (n === null ? 'NULL' : String(n));

/** The columns that do not depend on the streams' heads (a stream group stages them before its locks). */
export type StagedColumns = Omit<EncodedRows, 'streamSeq' | 'prevHash' | 'hash'>;

export function encodeStagedColumns(rows: Array<Omit<NewEntryRow, 'streamSeq' | 'prevHash' | 'hash'>>): StagedColumns {
  // A column's element is encoded once for a run of equal values (a batch's actor, times, types).
  const col = <T>(get: (r: (typeof rows)[number]) => T, encode: (v: T) => string) => {
    let last: T | undefined;
    let text = '';
    let out = '';
    for (let i = 0; i < rows.length; i++) {
      const v = get(rows[i]!);
      if (i === 0 || v !== last) text = encode(v);
      last = v;
      out += i ? ',' + text : text;
    }
    return out;
  };
  const same = (v: string) => v;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: col((r) => r.id, same),
    stream: col((r) => r.stream, arrayText),
    type: col((r) => r.type, arrayText),
    typeVersion: col((r) => r.typeVersion, arrayInt),
    data: col((r) => r.dataJson, arrayText),
    dataHash: col((r) => r.dataHash, arrayBytea),
    actorKind: col((r) => r.actorKind, arrayText),
    actorId: col((r) => r.actorId, arrayText),
    occurredAt: col((r) => r.occurredAt.getTime(), iso),
    recordedAt: col((r) => r.recordedAt.getTime(), iso),
    transactionId: col((r) => r.transactionId, arrayText),
  };
}

/** The columns a stream's head decides: each entry's sequence, predecessor's hash and hash (hex). */
export function encodeLinks(links: { seq: Array<number | null>; prev: Array<string | null>; hash: string[] }): Pick<EncodedRows, 'streamSeq' | 'prevHash' | 'hash'> {
  return { streamSeq: links.seq.map(arrayInt).join(','), prevHash: links.prev.map(arrayBytea).join(','), hash: links.hash.map((h) => arrayBytea(h)).join(',') };
}

export function encodeRows(rows: NewEntryRow[]): EncodedRows {
  return { ...encodeStagedColumns(rows), ...encodeLinks({ seq: rows.map((r) => r.streamSeq), prev: rows.map((r) => r.prevHash), hash: rows.map((r) => r.hash) }) };
}

/** The rows of several encodings, in order. */
export function concatRows(parts: EncodedRows[]): EncodedRows {
  if (parts.length === 1) return parts[0]!;
  const out = {} as EncodedRows;
  for (const k of Object.keys(parts[0]!) as (keyof EncodedRows)[]) out[k] = parts.map((p) => p[k]).join(',');
  return out;
}

/** Position in ledger order: the writing transaction, then the row's position within it. */
export interface LedgerCursor {
  tx: string;
  position: number;
}

/**
 * Who may see which entries. The ledger store knows nothing of roles or apps: the service turns
 * the caller into one of these and the store turns it into SQL.
 */
export type ReadScope =
  | { kind: 'all' }
  | { kind: 'actor'; actorKind: string; actorId: string; excludeTypePrefixes: string[]; types?: string[]; currentOnly?: boolean }
  | { kind: 'types'; types: string[]; currentOnly?: boolean };

export interface ListFilter {
  after?: LedgerCursor;
  type?: string;
  stream?: string;
  from?: Date;
  to?: Date;
  limit: number;
  /** Leave tombstoned and superseded entries out (the personal event store's "current" view). */
  excludeErased?: boolean;
  /** Entries of any of these types or type prefixes (a consumer's subscription; both may be given). */
  types?: string[];
  typePrefixes?: string[];
  /**
   * With `type` and `after`: state the cursor over (type, tx, position), which only the
   * (type, tx, position) index can answer as a range, so the planner cannot pick a walk of the
   * primary key from the cursor to the end (its estimates for the horizon condition are poor).
   */
  typeOrdered?: boolean;
}

const SELECT_COLS = sql`position, tx::text AS tx, id, stream, stream_seq, type, type_version, data, data_hash, actor_kind, actor_id, occurred_at, recorded_at, transaction_id, prev_hash, hash`;
/** What readers are shown (no data_hash or prev_hash): a thousand-entry page moves and parses less. */
const READ_COLS = sql`position, tx::text AS tx, id, stream, stream_seq, type, type_version, data, actor_kind, actor_id, occurred_at, recorded_at, transaction_id, hash`;
export type ReadRow = Omit<EntryRow, 'data_hash' | 'prev_hash'>;
/**
 * What a consumer (a projection) reads: no hash, and times as epoch milliseconds (stored times
 * have millisecond precision: they come from JavaScript dates), which Node parses far faster than
 * timestamp text; a rebuild reads every entry of its types.
 */
const CONSUME_COLS = sql`position, tx::text AS tx, id, stream, stream_seq, type, type_version, data, actor_kind, actor_id,
  (extract(epoch FROM occurred_at) * 1000)::float8 AS occurred_ms, (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_ms, transaction_id`;
export type ConsumeRow = Omit<ReadRow, 'occurred_at' | 'recorded_at' | 'hash'> & { occurred_ms: number; recorded_ms: number };

/** Keyset position in (occurred_at, id) order; microseconds keep the cursor exact. */
export interface OccurredCursor {
  micros: string;
  id: string;
}

const likePrefix = (p: string) => p.replace(/[\\%_]/g, '\\$&') + '%';

function scopeSql(scope: ReadScope) {
  switch (scope.kind) {
    case 'all':
      return sql`true`;
    case 'actor':
      return sql`actor_kind = ${scope.actorKind} AND actor_id = ${scope.actorId}${
        scope.excludeTypePrefixes.length ? sql` AND NOT (type LIKE ANY(${scope.excludeTypePrefixes.map((p) => p.replace(/[\\%_]/g, '\\$&') + '%')}::text[]))` : sql``
      }${scope.types ? sql` AND type = ANY(${scope.types}::text[])` : sql``}`;
    case 'types':
      return sql`type = ANY(${scope.types}::text[])`;
  }
}

/**
 * Reads in ledger order never pass the oldest transaction still running: a transaction that
 * commits late can only have an id at or above that bound, so it can never land behind a
 * cursor a reader already holds.
 */
function listWhere(scope: ReadScope, f: ListFilter, horizon = sql`pg_snapshot_xmin(pg_current_snapshot())`) {
  const anyType = f.types?.length || f.typePrefixes?.length;
  return sql`
      WHERE tx < ${horizon}
        ${f.after && f.typeOrdered && f.type
          ? sql`AND (type, tx, position) > (${f.type}, ${f.after.tx}::xid8, ${f.after.position}::bigint)`
          : f.after ? sql`AND (tx, position) > (${f.after.tx}::xid8, ${f.after.position}::bigint)` : sql``}
        ${f.type ? sql`AND type = ${f.type}` : sql``}
        ${anyType ? sql`AND (type = ANY(${f.types ?? []}::text[]) OR type LIKE ANY(${(f.typePrefixes ?? []).map(likePrefix)}::text[]))` : sql``}
        ${f.stream ? sql`AND stream = ${f.stream}` : sql``}
        ${f.from ? sql`AND occurred_at >= ${f.from}` : sql``}
        ${f.to ? sql`AND occurred_at < ${f.to}` : sql``}
        ${f.excludeErased || (scope.kind !== 'all' && scope.currentOnly)
          ? sql`AND data IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ledger_superseded s WHERE s.entry_id = ledger_entries.id)`
          : sql``}
        AND (${scopeSql(scope)})`;
}

export const ledgerStore = {
  /** This transaction commits without waiting for its WAL flush (LedgerService.append's relaxedCommit). */
  relaxCommit: (db: Exec): Promise<void> => noFlush.inTransaction(db),

  /**
   * The running-transaction horizon: the oldest transaction still running (every one below it has
   * ended, and any still to commit has an id at or above it). Readers never read at or past it.
   */
  async horizon(db: Exec): Promise<string> {
    const { rows } = await sql<{ xmin: string }>`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`.execute(db);
    return rows[0]!.xmin;
  },

  async findByTransactionIds(db: Exec, actorKind: string, actorId: string | null, ids: string[]) {
    if (!ids.length) return [];
    const r = await sql<{ id: string; position: number; tx: string; transaction_id: string; type: string; stream: string | null }>`
      SELECT id, position, tx::text AS tx, transaction_id, type, stream FROM ledger_entries
      WHERE actor_kind = ${actorKind} AND actor_id IS NOT DISTINCT FROM ${actorId} AND transaction_id = ANY(${ids}::text[])`.execute(db);
    return r.rows;
  },

  /**
   * Serialises appends per stream while appends to other streams run in parallel. The advisory
   * locks are taken (in one global order, so batches cannot deadlock) before this transaction
   * writes anything, so it gets its transaction id only once it holds them: a stream's entries
   * then sort in ledger order exactly as in stream order (unless the caller's transaction had
   * already written before appending). Returns each stream's current head (seq 0 when new).
   */
  async lockStreamHeads(db: Exec, streams: string[]): Promise<Map<string, { seq: number; hash: Buffer }>> {
    const heads = new Map<string, { seq: number; hash: Buffer }>();
    if (!streams.length) return heads;
    await sql`SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(s, 0) AS k FROM unnest(${streams}::text[]) AS s ORDER BY k) AS q`.execute(db);
    const r = await sql<{ stream: string; seq: number; hash: Buffer }>`SELECT stream, seq, hash FROM ledger_streams WHERE stream = ANY(${streams}::text[])`.execute(db);
    for (const s of streams) heads.set(s, { seq: 0, hash: Buffer.alloc(0) });
    for (const row of r.rows) heads.set(row.stream, { seq: row.seq, hash: row.hash });
    return heads;
  },

  /**
   * `horizon` (with `withHorizon`) is the statement's running-transaction horizon: every
   * transaction below it had ended when the statement began, which releases earlier appends
   * waiting for read-your-writes without a query of their own.
   * With `expect` (the heads the rows were chained on, for the same streams as `heads`), the
   * statement takes the streams' locks itself and writes only if every stream's head is still
   * exactly that (seq and hash); otherwise it writes nothing and answers no rows. It is meant to
   * run on its own (autocommit): one round trip for a whole stream group. Its snapshot is taken
   * before its locks, so a head another writer moved between the two is not seen by the check;
   * such a writer took the next sequence numbers of that stream, so this statement's first entry
   * there collides with its entry on the (stream, stream_seq) unique index and the statement
   * fails whole: a stale head can fail a write, never fork or gap a chain. Nothing is written
   * before the locks are held (both writes wait on `ok`), so the transaction's id still comes
   * after them, as in lockStreamHeads.
   */
  async insertEntries(
    db: Exec,
    rows: NewEntryRow[] | EncodedRows,
    opts: { withHorizon?: boolean; heads?: Map<string, { seq: number; hash: Buffer }>; expect?: Map<string, { seq: number; hash: Buffer }> } = {},
  ): Promise<{ id: string; position: number; tx: string; horizon?: string }[]> {
    const c = Array.isArray(rows) ? encodeRows(rows) : rows;
    const lit = (col: string) => `{${col}}`;
    // With `heads`, the streams' new heads are written by the same statement (one round trip
    // fewer while the streams' locks are held).
    const streams = opts.heads ? [...opts.heads.keys()] : [];
    const expect = opts.expect && streams.length
      ? sql`locked AS MATERIALIZED (
          SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(s, 0) AS k FROM unnest(${streams}::text[]) AS s ORDER BY k) AS q),
        ok AS MATERIALIZED (
          -- counting the locks takes them all (the function is volatile: never left out)
          SELECT (SELECT count(*) FROM locked) >= 0 AND NOT EXISTS (
            SELECT 1 FROM unnest(${streams}::text[], ${streams.map((s) => opts.expect!.get(s)!.seq)}::int[], ${streams.map((s) => opts.expect!.get(s)!.hash)}::bytea[]) AS e(stream, seq, hash)
            LEFT JOIN ledger_streams h ON h.stream = e.stream
            WHERE COALESCE(h.seq, 0) <> e.seq OR (e.seq > 0 AND h.hash <> e.hash)) AS ok),`
      : undefined;
    const onlyIfOk = expect ? sql`WHERE (SELECT ok FROM ok)` : sql``;
    const heads = streams.length
      ? sql`WITH ${expect ?? sql``} heads AS (
          INSERT INTO ledger_streams (stream, seq, hash)
          SELECT * FROM unnest(${streams}::text[], ${streams.map((s) => opts.heads!.get(s)!.seq)}::int[], ${streams.map((s) => opts.heads!.get(s)!.hash)}::bytea[]) ${onlyIfOk}
          ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq, hash = excluded.hash)`
      : sql``;
    const r = await sql<{ id: string; position: number; tx: string; horizon?: string }>`
      ${heads}
      INSERT INTO ledger_entries (id, stream, stream_seq, type, type_version, data, data_hash, actor_kind, actor_id,
                                  occurred_at, recorded_at, transaction_id, prev_hash, hash)
      SELECT * FROM unnest(${lit(c.id)}::uuid[], ${lit(c.stream)}::text[], ${lit(c.streamSeq)}::int[], ${lit(c.type)}::text[],
                           ${lit(c.typeVersion)}::int[], ${lit(c.data)}::jsonb[], ${lit(c.dataHash)}::bytea[],
                           ${lit(c.actorKind)}::text[], ${lit(c.actorId)}::text[], ${lit(c.occurredAt)}::timestamptz[],
                           ${lit(c.recordedAt)}::timestamptz[], ${lit(c.transactionId)}::text[], ${lit(c.prevHash)}::bytea[],
                           ${lit(c.hash)}::bytea[]) ${onlyIfOk}
      RETURNING id, position, tx::text AS tx${opts.withHorizon ? sql`, pg_snapshot_xmin(pg_current_snapshot())::text AS horizon` : sql``}`.execute(db);
    return r.rows;
  },

  async list(db: Exec, scope: ReadScope, f: ListFilter): Promise<ReadRow[]> {
    const r = await sql<ReadRow>`
      SELECT ${READ_COLS} FROM ledger_entries ${listWhere(scope, f)}
      ORDER BY ledger_entries.tx, ledger_entries.position
      LIMIT ${f.limit}`.execute(db);
    return r.rows;
  },

  /**
   * A consumer's next page in ledger order (the same query as list), with the horizon it was read
   * under: every matching entry below the horizon that is not in a short page is already behind
   * the cursor, so a consumer that got less than a page may move its cursor up to the horizon
   * without rescanning entries it does not consume.
   * One branch per exact type, each an ordered range scan of the (type, tx, position) index,
   * merged in ledger order: a single `type = ANY(...)` would gather every remaining entry of the
   * types and sort them for each page, which makes reading a long ledger quadratic. Prefixes
   * take one branch in ledger order, filtered.
   * `unbounded` reads past the horizon: only for a caller holding locks that exclude every
   * uncommitted writer of these types (a rebuild's final catch-up before its swap).
   */
  async readAfter(db: Exec, f: ListFilter & { unbounded?: boolean }): Promise<{ rows: ConsumeRow[]; horizon: string }> {
    const horizon = f.unbounded ? sql`'18446744073709551615'::xid8` : sql`h.horizon`;
    // Ordering a one-type branch by (type, tx, position) (the same order: its type is fixed) with
    // the cursor stated over the same columns makes it an ordered range scan of that index.
    const branch = (g: ListFilter) => sql`(SELECT ${CONSUME_COLS}, ledger_entries.tx AS ord_tx FROM ledger_entries ${listWhere({ kind: 'all' }, g, horizon)}
        ORDER BY ${g.type ? sql`ledger_entries.type, ` : sql``}ledger_entries.tx, ledger_entries.position LIMIT ${f.limit})`;
    const branches = [
      ...(f.types ?? []).map((type) => branch({ after: f.after, type, typeOrdered: true, limit: f.limit })),
      ...(f.typePrefixes?.length ? [branch({ after: f.after, typePrefixes: f.typePrefixes, limit: f.limit })] : []),
    ];
    if (!branches.length) branches.push(branch({ after: f.after, limit: f.limit }));
    const r = await sql<ConsumeRow & { horizon: string; ord_tx?: unknown }>`
      SELECT h.horizon::text AS horizon, e.* FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon) h
      LEFT JOIN LATERAL (
        SELECT * FROM (${sql.join(branches, sql` UNION ALL `)}) u ORDER BY u.ord_tx, u.position LIMIT ${f.limit}) e ON true`.execute(db);
    const horizonText = r.rows[0]!.horizon;
    return { rows: r.rows.filter((x) => x.id !== null).map(({ horizon: _h, ord_tx: _t, ...row }) => row), horizon: horizonText };
  },

  /** The cursor `backlog` entries before the end of the readable ledger (below the running-transaction horizon): where a live tail starts. */
  async tailStart(db: Exec, backlog: number): Promise<LedgerCursor | undefined> {
    const r = await sql<{ tx: string; position: number }>`
      SELECT tx::text AS tx, position FROM ledger_entries WHERE tx < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY ledger_entries.tx DESC, ledger_entries.position DESC OFFSET ${backlog} LIMIT 1`.execute(db);
    return r.rows[0];
  },

  /** How far a consumer is behind: matching entries after its cursor (counted up to `cap`) and the oldest one's time. */
  async lagAfter(db: Exec, f: Omit<ListFilter, 'limit'>, cap: number): Promise<{ behind: number; oldest: Date | null }> {
    const r = await sql<{ behind: number; oldest: Date | null }>`
      SELECT count(*)::int AS behind, min(recorded_at) AS oldest FROM (
        SELECT recorded_at FROM ledger_entries ${listWhere({ kind: 'all' }, { ...f, limit: cap })}
        ORDER BY ledger_entries.tx, ledger_entries.position LIMIT ${cap}) q`.execute(db);
    return r.rows[0]!;
  },

  /**
   * The same page with each entry's data as PostgreSQL's JSON text: the API splices it into the
   * answer, so no event's data is parsed into objects and serialised again (most of a large
   * page's time otherwise). Timestamps stay typed: formatting them in SQL costs more than here.
   */
  /**
   * A page as JSON text, rendered by PostgreSQL (one row back, whatever the page size): the same
   * shape as toPublicEntry, so a listed entry reads exactly like the entry fetched by id. Parsing a
   * thousand rows of fourteen columns, their dates above all, cost Node more than the query.
   * type, stream, actor kind and actor id are quoted without escaping: every write path admits
   * only names of TYPE_RE / STREAM_RE, fixed kinds and uuids (JSON-safe characters); the free-form
   * transactionId goes through to_json.
   */
  async listPageJson(db: Exec, scope: ReadScope, f: ListFilter): Promise<{ json: string; count: number; last: string | null }> {
    const r = await sql<{ json: string | null; n: number; last: string | null }>`
      SELECT string_agg(j, ',' ORDER BY tx, position) AS json, count(*)::int AS n,
             (array_agg(tx::text || '.' || position ORDER BY tx DESC, position DESC))[1] AS last
      FROM (
        SELECT tx, position,
          '{"id":"' || id || '","position":' || position || ',"type":"' || type ||
          '","typeVersion":' || coalesce(type_version::text, 'null') || ',"stream":' || coalesce('"' || stream || '"', 'null') ||
          ',"streamSeq":' || coalesce(stream_seq::text, 'null') || ',"data":' || coalesce(data::text, 'null') ||
          ',"actor":{"kind":"' || actor_kind || '","id":' || coalesce('"' || actor_id || '"', 'null') ||
          '},"occurredAt":"' || to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') ||
          '","recordedAt":"' || to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') ||
          '","transactionId":' || coalesce(to_json(transaction_id)::text, 'null') || ',"hash":"' || encode(hash, 'hex') || '"}' AS j
        FROM ledger_entries ${listWhere(scope, f)}
        ORDER BY ledger_entries.tx, ledger_entries.position
        LIMIT ${f.limit}
      ) AS page`.execute(db);
    const row = r.rows[0]!;
    return { json: row.json ?? '', count: row.n, last: row.last };
  },

  /** Every entry of a stream in chain order, for verification. */
  async streamChains(db: Exec, afterStream: string | null, limit: number) {
    const r = await sql<{ id: string; position: number; stream: string; stream_seq: number; prev_hash: Buffer | null; hash: Buffer }>`
      SELECT id, position, stream, stream_seq, prev_hash, hash FROM ledger_entries
      WHERE stream IS NOT NULL ${afterStream !== null ? sql`AND stream > ${afterStream}` : sql``}
        AND stream IN (SELECT DISTINCT stream FROM ledger_entries WHERE stream IS NOT NULL ${afterStream !== null ? sql`AND stream > ${afterStream}` : sql``} ORDER BY stream LIMIT ${limit})
      ORDER BY stream, stream_seq`.execute(db);
    return r.rows;
  },

  // --- named queries for other domains' hot paths (see docs/architecture.md, "The ledger") ---

  /**
   * One page of current entries (not erased, not superseded) of one type in (occurred_at, id)
   * order over [from, to), optionally only those whose data contains `filterJson`, through the
   * (type, occurred_at, id) index (the views sandbox's reads). `data` is PostgreSQL's JSON text and
   * the time is epoch microseconds as text, so the caller can splice both into its answer as they are.
   */
  async currentOfTypeByOccurrence(db: Exec, q: { type: string; from?: Date; to?: Date; after?: OccurredCursor; limit: number; filterJson?: string }) {
    const r = await sql<{ id: string; micros: string; data: string }>`
      SELECT e.id::text AS id, (extract(epoch FROM e.occurred_at) * 1000000)::bigint::text AS micros, e.data::text AS data
      FROM ledger_entries e
      WHERE e.type = ${q.type}
        ${q.from ? sql`AND e.occurred_at >= ${q.from}` : sql``}
        ${q.to ? sql`AND e.occurred_at < ${q.to}` : sql``}
        ${q.after ? sql`AND (e.occurred_at, e.id) > (timestamptz 'epoch' + ${q.after.micros}::bigint * interval '1 microsecond', ${q.after.id}::uuid)` : sql``}
        ${q.filterJson ? sql`AND e.data @> ${q.filterJson}::jsonb` : sql``}
        AND e.data IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM ledger_superseded s WHERE s.entry_id = e.id)
      ORDER BY e.occurred_at, e.id
      LIMIT ${q.limit}`.execute(db);
    return r.rows;
  },

  /**
   * Common table expressions, for a caller's own statement (one round trip, planned small), that
   * state where the ledger stands for `types`: `h(xmin)`, the running-transaction horizon; `k(type,
   * last, erased)`, each type's newest entry and newest erasure naming it, as [tx, position] text
   * arrays; `s(key, stable)`, those as one key text (`type=tx.pos/tx.pos;...`, `-` for none) and
   * whether no transaction older than any of them is still running (only then is the key final).
   * Use as `WITH ${ledgerStore.typesStateCtes(types)} SELECT ... FROM s ...`.
   */
  typesStateCtes(types: string[]) {
    return sql`h AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
          k AS (
            SELECT t.type,
              (SELECT ARRAY[tx::text, position::text] FROM ledger_entries WHERE type = t.type ORDER BY tx DESC, position DESC LIMIT 1) AS last,
              (SELECT ARRAY[tx::text, position::text] FROM ledger_entries WHERE type = 'ledger.erased' AND data->>'type' = t.type ORDER BY tx DESC, position DESC LIMIT 1) AS erased
            FROM unnest(${types}::text[]) AS t(type)
          ),
          s AS (
            SELECT string_agg(k.type || '=' || coalesce(array_to_string(k.last, '.'), '-') || '/' || coalesce(array_to_string(k.erased, '.'), '-'), ';' ORDER BY k.type) AS key,
                   bool_and((k.last IS NULL OR k.last[1]::xid8 < h.xmin) AND (k.erased IS NULL OR k.erased[1]::xid8 < h.xmin)) AS stable
            FROM k, h
          )`;
  },

  /**
   * For a rebuild's bulk pass: a page of the entries committed before transaction `horizon`
   * (every transaction below it has ended) whose stream starts with `streamPrefix` and type with
   * `typePrefix` (except `exceptType`), in stream order (stream, then sequence) after `after`.
   * Times as epoch milliseconds, as consumers receive them (see readAfter).
   */
  async inStreamOrderBelow(db: Exec, f: { horizon: string; streamPrefix: string; typePrefix: string; exceptType?: string; after: { stream: string; seq: number } | null; limit: number }) {
    return (
      await sql<{ stream: string; stream_seq: number; type: string; data: unknown; actor_kind: string; actor_id: string | null; occurred_ms: number }>`SELECT stream, stream_seq, type, data, actor_kind, actor_id, (extract(epoch FROM occurred_at) * 1000)::float8 AS occurred_ms
        FROM ledger_entries WHERE stream IS NOT NULL AND stream LIKE ${likePrefix(f.streamPrefix)} AND tx < ${f.horizon}::xid8 AND type LIKE ${likePrefix(f.typePrefix)}${f.exceptType !== undefined ? sql` AND type <> ${f.exceptType}` : sql``}
          AND ${f.after ? sql`(stream, stream_seq) > (${f.after.stream}, ${f.after.seq})` : sql`true`}
        ORDER BY stream, stream_seq LIMIT ${f.limit}`.execute(db)
    ).rows;
  },

  /**
   * For a rebuild's bulk pass: how many entries with a type starting with `typePrefix` (except
   * `exceptType`) were committed before transaction `horizon`, and, given `streamPrefix`, how many
   * of them sit outside a stream starting with it (0 without one).
   */
  async countBelow(db: Exec, f: { horizon: string; typePrefix: string; exceptType?: string; streamPrefix?: string }): Promise<{ n: number; outside: number }> {
    const r = await sql<{ n: number; outside: number }>`SELECT count(*)::int AS n, ${
      f.streamPrefix !== undefined ? sql`(count(*) FILTER (WHERE stream IS NULL OR stream NOT LIKE ${likePrefix(f.streamPrefix)}))::int` : sql`0`
    } AS outside
        FROM ledger_entries WHERE type LIKE ${likePrefix(f.typePrefix)}${f.exceptType !== undefined ? sql` AND type <> ${f.exceptType}` : sql``} AND tx < ${f.horizon}::xid8`.execute(db);
    return r.rows[0]!;
  },

  /**
   * A stream's entries in stream order, read directly (not bounded by the running-transaction
   * horizon, unlike list): what was just committed to the stream is there at once.
   */
  async streamHistory(db: Exec, stream: string) {
    return (
      await sql<{ id: string; type: string; data: unknown; actor_kind: string; actor_id: string | null; recorded_at: Date; stream_seq: number }>`
        SELECT e.id, e.type, e.data, e.actor_kind, e.actor_id, e.recorded_at, e.stream_seq FROM ledger_entries e
        WHERE e.stream = ${stream} ORDER BY e.stream_seq`.execute(db)
    ).rows;
  },

  /**
   * Entries of `type` in `stream` whose data holds an array `arrayKey` with an element whose
   * `field` is `value`; each answered with that element as its data (a chunk entry standing for
   * many items, read item by item: e.g. the import chunk that created one record).
   */
  async arrayElementsInStream(db: Exec, f: { stream: string; type: string; arrayKey: string; field: string; value: string }) {
    return (
      await sql<{ id: string; data: unknown; actor_kind: string; actor_id: string | null; recorded_at: Date }>`
          SELECT e.id,
                 (SELECT x FROM jsonb_array_elements(e.data->${f.arrayKey}) x WHERE x->>${f.field} = ${f.value}) AS data,
                 e.actor_kind, e.actor_id, e.recorded_at
          FROM ledger_entries e
          WHERE e.stream = ${f.stream} AND e.type = ${f.type} AND e.data->${f.arrayKey} @> ${JSON.stringify([{ [f.field]: f.value }])}::jsonb`.execute(db)
    ).rows;
  },

  async getById(db: Exec, id: string): Promise<EntryRow | undefined> {
    const r = await sql<EntryRow>`SELECT ${SELECT_COLS} FROM ledger_entries WHERE id = ${id}`.execute(db);
    return r.rows[0];
  },

  /**
   * What an actor did and what was done about it, newest first: the actor's latest `limit` entries
   * and the latest `limit` entries of `stream` written by someone of another kind (at most 2 × limit).
   */
  async recentByActorAndStream(db: Exec, actor: { kind: string; id: string }, stream: string, limit: number): Promise<EntryRow[]> {
    const rows = (
      await sql<EntryRow>`
        (SELECT ${SELECT_COLS}
         FROM ledger_entries WHERE actor_kind = ${actor.kind} AND actor_id = ${actor.id} ORDER BY tx DESC, position DESC LIMIT ${limit})
        UNION ALL
        (SELECT ${SELECT_COLS}
         FROM ledger_entries WHERE stream = ${stream} AND actor_kind <> ${actor.kind} ORDER BY stream_seq DESC LIMIT ${limit})`.execute(db)
    ).rows;
    return rows.sort((x, y) => (BigInt(y.tx) === BigInt(x.tx) ? y.position - x.position : BigInt(y.tx) > BigInt(x.tx) ? 1 : -1));
  },

  async eraseData(db: Exec, id: string): Promise<void> {
    await sql`UPDATE ledger_entries SET data = NULL WHERE id = ${id}`.execute(db);
  },

  // --- tamper evidence -------------------------------------------------------------------

  async lastCheckpoint(db: Exec) {
    const r = await sql<{ id: number; upto_tx: string; upto_position: number; entry_count: number; hash: Buffer; snapshot: string | null }>`
      SELECT id, upto_tx::text AS upto_tx, upto_position, entry_count, hash, snapshot::text AS snapshot FROM ledger_checkpoints ORDER BY id DESC LIMIT 1`.execute(db);
    return r.rows[0];
  },

  async checkpoints(db: Exec) {
    const r = await sql<{ id: number; upto_tx: string; upto_position: number; entry_count: number; prev_hash: Buffer | null; hash: Buffer; snapshot: string | null }>`
      SELECT id, upto_tx::text AS upto_tx, upto_position, entry_count, prev_hash, hash, snapshot::text AS snapshot FROM ledger_checkpoints ORDER BY id`.execute(db);
    return r.rows;
  },

  /**
   * The next commit seal (see sealCheckpoint in ledger.verify.ts), computed inside PostgreSQL: the
   * entries whose transaction is visible in this statement's snapshot (committed before it) and
   * that the previous seal did not cover, hashed in ledger order over the previous seal.
   * `unsealed` narrows the scan: after a commit seal, only transactions that were running when it
   * was taken (its xip) or started after it (at or past its xmax) can hold unsealed entries; after
   * a seal of the older kind, everything past its position.
   */
  async sealCommitted(db: Exec, unsealed: { xmax: string; xip: string[] } | LedgerCursor | undefined, prev: Buffer | null) {
    const where =
      unsealed === undefined
        ? sql``
        : 'xmax' in unsealed
          ? sql`AND (e.tx >= ${unsealed.xmax}::xid8 OR e.tx = ANY(${unsealed.xip}::xid8[]))`
          : sql`AND (e.tx, e.position) > (${unsealed.tx}::xid8, ${unsealed.position}::bigint)`;
    const r = await sql<{ n: number; hash: Buffer | null; tx: string | null; position: number | null; snapshot: string }>`
      WITH s AS MATERIALIZED (SELECT pg_current_snapshot() AS snap),
      q AS MATERIALIZED (
        SELECT e.tx, e.position, e.hash FROM ledger_entries e, s
        WHERE pg_visible_in_snapshot(e.tx, s.snap) ${where})
      SELECT (SELECT count(*) FROM q)::int AS n,
             sha256(${prev ?? Buffer.alloc(32)}::bytea || coalesce((SELECT string_agg(hash, ''::bytea ORDER BY q.tx, q.position) FROM q), ''::bytea)) AS hash,
             (SELECT q.tx::text FROM q ORDER BY q.tx DESC, q.position DESC LIMIT 1) AS tx,
             (SELECT q.position FROM q ORDER BY q.tx DESC, q.position DESC LIMIT 1) AS position,
             (SELECT snap::text FROM s) AS snapshot`.execute(db);
    return r.rows[0]!;
  },

  async insertCommitSeal(db: Exec, c: { uptoTx: string; uptoPosition: number; entryCount: number; prevHash: Buffer | null; hash: Buffer; snapshot: string }) {
    await sql`INSERT INTO ledger_checkpoints (upto_tx, upto_position, entry_count, prev_hash, hash, snapshot)
      VALUES (${c.uptoTx}::xid8, ${c.uptoPosition}, ${c.entryCount}, ${c.prevHash}, ${c.hash}, ${c.snapshot}::pg_snapshot)`.execute(db);
  },

  /** The ids of erased entries, as their erasure entries (of `erasureType`) name them. */
  async erasureTargets(db: Exec, erasureType: string): Promise<string[]> {
    return (await sql<{ target: string }>`SELECT data->>'entryId' AS target FROM ledger_entries WHERE type = ${erasureType}`.execute(db)).rows.map((r) => r.target);
  },

  /** The sealing lock (transaction-scoped): with several servers, one seals at a time. False when another holds it. */
  async trySealLock(db: Exec): Promise<boolean> {
    const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(${0x6c656467}) AS locked`.execute(db);
    return rows[0]?.locked === true;
  },

  async insertVerification(db: Exec, v: { durationMs: number; ok: boolean; checked: number; checkpoints: number; problems: number; actorId: string | null }): Promise<void> {
    await sql`INSERT INTO ledger_verifications (duration_ms, ok, checked, checkpoints, problems, actor_id)
    VALUES (${v.durationMs}, ${v.ok}, ${v.checked}, ${v.checkpoints}, ${v.problems}, ${v.actorId})`.execute(db);
  },

  /** The last verification's outcome, and who asked for it (for the System page). */
  async lastVerification(db: Exec) {
    const r = await sql<{ ran_at: Date; duration_ms: number; ok: boolean; checked: string; checkpoints: string; problems: number; actor: string | null }>`
      SELECT v.ran_at, v.duration_ms, v.ok, v.checked::text, v.checkpoints::text, v.problems, u.username AS actor
      FROM ledger_verifications v LEFT JOIN users u ON u.id = v.actor_id ORDER BY v.id DESC LIMIT 1`.execute(db);
    return r.rows[0];
  },

  /** How old the last checkpoint seal is, and how many entries (up to `cap`) lie past it. */
  async checkpointLag(db: Exec, cap: number): Promise<{ ageSeconds: number | null; unsealed: number }> {
    const r = await sql<{ age: number | null; unsealed: string }>`
      WITH c AS (SELECT upto_tx, upto_position, created_at FROM ledger_checkpoints ORDER BY id DESC LIMIT 1)
      SELECT (SELECT extract(epoch FROM now() - created_at)::float8 FROM c) AS age,
             (SELECT count(*) FROM (SELECT 1 FROM ledger_entries
                WHERE NOT EXISTS (SELECT 1 FROM c) OR (tx, position) > (SELECT upto_tx, upto_position FROM c) LIMIT ${cap}) x)::text AS unsealed`.execute(db);
    return { ageSeconds: r.rows[0]?.age ?? null, unsealed: Number(r.rows[0]?.unsealed ?? 0) };
  },

  /** Every entry in ledger order, for verification; paged by cursor. */
  async scan(db: Exec, after: LedgerCursor | undefined, limit: number): Promise<EntryRow[]> {
    const r = await sql<EntryRow>`
      SELECT ${SELECT_COLS} FROM ledger_entries
      ${after ? sql`WHERE (tx, position) > (${after.tx}::xid8, ${after.position}::bigint)` : sql``}
      ORDER BY ledger_entries.tx, ledger_entries.position LIMIT ${limit}`.execute(db);
    return r.rows;
  },

  async streamHeads(db: Exec) {
    const r = await sql<{ stream: string; seq: number; hash: Buffer }>`SELECT stream, seq, hash FROM ledger_streams`.execute(db);
    return r.rows;
  },
};
