import { sql, type Kysely } from 'kysely';
import { noFlush, type Database } from '../database/database.js';
import { ledgerStore } from '../ledger/ledger.store.js';
import type { RegState } from './registrations.fold.js';

type Db = Kysely<Database>;

export interface TypeRow {
  id: string;
  version: number;
  document: unknown;
  created_at: Date;
}

export interface RegistrationRow {
  id: string;
  tracking_id: string;
  type: string;
  type_version: number;
  status: string;
  flags: string[];
  rule_flags: string[];
  data: Record<string, unknown>;
  derived: Record<string, unknown>;
  registration_number: string | null;
  office_id: string;
  office_path: string;
  event_date: string | null;
  event_location_id: string | null;
  event_location_path: string | null;
  assigned_to: string | null;
  duplicate_of: string[];
  printed_copies: number;
  correction: unknown;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  registered_at: Date | null;
  version: number;
}

export interface StreamEntryRow {
  stream: string;
  stream_seq: number;
  type: string;
  data: unknown;
  actor_kind: string;
  actor_id: string | null;
  occurred_ms: number;
}

export interface WorkspaceRef {
  id: string;
  name: string;
  path: string;
  kind: string | null;
  parent_id: string | null;
  external_id: string | null;
}

export interface ProfileRow {
  user_id: string;
  office_id: string | null;
  role: string | null;
}

/** The columns a state writes, in one order for inserts and updates. */
const COLUMNS = [
  'id', 'tracking_id', 'type', 'type_version', 'status', 'flags', 'rule_flags', 'data', 'derived', 'registration_number', 'office_id', 'office_path',
  'event_date', 'event_location_id', 'event_location_path', 'assigned_to', 'duplicate_of', 'printed_copies', 'correction', 'created_by', 'created_at',
  'updated_at', 'registered_at', 'version',
] as const;

function values(s: RegState, flags: string[]) {
  return [
    s.id, s.trackingId, s.type, s.typeVersion, s.status, flags, s.ruleFlags, JSON.stringify(s.data), JSON.stringify(s.derived), s.registrationNumber, s.officeId, s.officePath,
    s.eventDate, s.eventLocationId, s.eventLocationPath, s.assignedTo, s.duplicateOf, s.printedCopies, s.correction === null ? null : JSON.stringify(s.correction), s.createdBy, s.createdAt,
    s.updatedAt, s.registeredAt, s.version,
  ];
}

/** A column's value as JSON for jsonb_populate_recordset (jsonb columns stay objects, not text). */
function rowValue(v: unknown, column: string): unknown {
  if (v instanceof Date) return v.toISOString();
  if ((column === 'data' || column === 'derived' || column === 'correction') && typeof v === 'string') return JSON.parse(v) as unknown;
  return v;
}

const CASTS: Record<string, string> = { flags: '::text[]', rule_flags: '::text[]', data: '::jsonb', derived: '::jsonb', duplicate_of: '::uuid[]', correction: '::jsonb', event_date: '::date', id: '::uuid', office_id: '::uuid', event_location_id: '::uuid', assigned_to: '::uuid', created_by: '::uuid' };

export const registrationsStore = {
  // --- types ------------------------------------------------------------------------------
  /** One writer at a time per type (this transaction): the next version number is computed from the latest. */
  async lockType(db: Db, id: string): Promise<void> {
    await sql`SELECT pg_advisory_xact_lock(hashtext(${`registration-type:${id}`}))`.execute(db);
  },
  async latestType(db: Db, id: string): Promise<TypeRow | undefined> {
    const r = await sql<TypeRow>`SELECT id, version, document, created_at FROM registration_types WHERE id = ${id} ORDER BY version DESC LIMIT 1`.execute(db);
    return r.rows[0];
  },
  async typeVersion(db: Db, id: string, version: number): Promise<TypeRow | undefined> {
    const r = await sql<TypeRow>`SELECT id, version, document, created_at FROM registration_types WHERE id = ${id} AND version = ${version}`.execute(db);
    return r.rows[0];
  },
  async typeVersions(db: Db, id: string): Promise<TypeRow[]> {
    return (await sql<TypeRow>`SELECT id, version, document, created_at FROM registration_types WHERE id = ${id} ORDER BY version`.execute(db)).rows;
  },
  async latestTypes(db: Db): Promise<TypeRow[]> {
    return (await sql<TypeRow>`SELECT DISTINCT ON (id) id, version, document, created_at FROM registration_types ORDER BY id, version DESC`.execute(db)).rows;
  },
  /** Inserts the next version; the primary key makes two concurrent saves take turns. */
  async insertType(db: Db, id: string, document: unknown, by: string | null, onlyIfNone = false): Promise<TypeRow | undefined> {
    const r = onlyIfNone
      ? await sql<TypeRow>`INSERT INTO registration_types (id, version, document, created_by) SELECT ${id}, 1, ${JSON.stringify(document)}::jsonb, ${by}
          WHERE NOT EXISTS (SELECT 1 FROM registration_types WHERE id = ${id}) ON CONFLICT DO NOTHING RETURNING id, version, document, created_at`.execute(db)
      : await sql<TypeRow>`INSERT INTO registration_types (id, version, document, created_by)
          SELECT ${id}, coalesce(max(version), 0) + 1, ${JSON.stringify(document)}::jsonb, ${by} FROM registration_types WHERE id = ${id}
          RETURNING id, version, document, created_at`.execute(db);
    return r.rows[0];
  },
  async hookSecret(db: Db, typeId: string): Promise<string | undefined> {
    return (await sql<{ secret_enc: string }>`SELECT secret_enc FROM registration_type_secrets WHERE type_id = ${typeId}`.execute(db)).rows[0]?.secret_enc;
  },
  async setHookSecret(db: Db, typeId: string, enc: string): Promise<void> {
    await sql`INSERT INTO registration_type_secrets (type_id, secret_enc) VALUES (${typeId}, ${enc}) ON CONFLICT (type_id) DO UPDATE SET secret_enc = EXCLUDED.secret_enc, created_at = now()`.execute(db);
  },

  // --- users and the workspace tree ----------------------------------------------------------
  async profile(db: Db, userId: string): Promise<ProfileRow | undefined> {
    return (await sql<ProfileRow>`SELECT user_id, office_id, role FROM registration_users WHERE user_id = ${userId}`.execute(db)).rows[0];
  },
  async setProfile(db: Db, userId: string, officeId: string | null, role: string | null): Promise<void> {
    await sql`INSERT INTO registration_users (user_id, office_id, role) VALUES (${userId}, ${officeId}, ${role})
      ON CONFLICT (user_id) DO UPDATE SET office_id = EXCLUDED.office_id, role = EXCLUDED.role, updated_at = now()`.execute(db);
  },
  async userExists(db: Db, userId: string): Promise<boolean> {
    return (await sql`SELECT 1 FROM users WHERE id = ${userId}`.execute(db)).rows.length > 0;
  },
  async usernames(db: Db, ids: string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    const r = await sql<{ id: string; username: string }>`SELECT id, username FROM users WHERE id = ANY(${ids}::uuid[])`.execute(db);
    return new Map(r.rows.map((x) => [x.id, x.username]));
  },
  async workspace(db: Db, id: string): Promise<WorkspaceRef | undefined> {
    return (await sql<WorkspaceRef>`SELECT id, name, path, kind, parent_id, external_id FROM workspaces WHERE id = ${id}`.execute(db)).rows[0];
  },
  async workspaces(db: Db, ids: string[]): Promise<WorkspaceRef[]> {
    if (!ids.length) return [];
    return (await sql<WorkspaceRef>`SELECT id, name, path, kind, parent_id, external_id FROM workspaces WHERE id = ANY(${ids}::uuid[])`.execute(db)).rows;
  },

  // --- registrations ------------------------------------------------------------------------
  /** Current rows of these registrations from `table` (the live table, or a rebuild's shadow). */
  async rowsIn(db: Db, table: string, ids: string[]): Promise<RegistrationRow[]> {
    return (await sql<RegistrationRow>`SELECT *, event_date::text AS event_date FROM ${sql.table(table)} WHERE id = ANY(${ids}::uuid[])`.execute(db)).rows;
  },
  async get(db: Db, id: string, opts: { forUpdate?: boolean } = {}): Promise<RegistrationRow | undefined> {
    const r = opts.forUpdate
      ? await sql<RegistrationRow>`SELECT *, event_date::text AS event_date FROM registrations WHERE id = ${id} FOR UPDATE`.execute(db)
      : await sql<RegistrationRow>`SELECT *, event_date::text AS event_date FROM registrations WHERE id = ${id}`.execute(db);
    return r.rows[0];
  },
  async byTrackingId(db: Db, trackingId: string): Promise<RegistrationRow | undefined> {
    return (await sql<RegistrationRow>`SELECT *, event_date::text AS event_date FROM registrations WHERE tracking_id = ${trackingId}`.execute(db)).rows[0];
  },
  async trackingIdTaken(db: Db, trackingId: string): Promise<boolean> {
    return (await sql`SELECT 1 FROM registrations WHERE tracking_id = ${trackingId}`.execute(db)).rows.length > 0;
  },
  /** Writes a folded state into `table` (the live table, or a rebuild's shadow). */
  async upsert(db: Db, s: RegState, flags: string[], table = 'registrations'): Promise<void> {
    const vals = values(s, flags);
    const cols = sql.join(COLUMNS.map((c) => sql.ref(c)));
    const params = sql.join(vals.map((v, i) => sql`${v}${sql.raw(CASTS[COLUMNS[i]!] ?? '')}`));
    const updates = sql.join(COLUMNS.filter((c) => c !== 'id').map((c) => sql`${sql.ref(c)} = EXCLUDED.${sql.ref(c)}`));
    await sql`INSERT INTO ${sql.table(table)} (${cols}) VALUES (${params}) ON CONFLICT (id) DO UPDATE SET ${updates}`.execute(db);
  },
  /**
   * Writes many folded states in one statement (a rebuild's batch): the rows travel as one JSON
   * array and PostgreSQL turns it into rows of the table's own type.
   */
  async upsertMany(db: Db, states: Array<{ s: RegState; flags: string[] }>, table = 'registrations'): Promise<void> {
    if (!states.length) return;
    const rows = states.map(({ s, flags }) => {
      const v = values(s, flags);
      return Object.fromEntries(COLUMNS.map((c, i) => [c, rowValue(v[i], c)]));
    });
    const updates = sql.join(COLUMNS.filter((c) => c !== 'id').map((c) => sql`${sql.ref(c)} = EXCLUDED.${sql.ref(c)}`));
    const cols = sql.join(COLUMNS.map((c) => sql.ref(c)));
    await sql`INSERT INTO ${sql.table(table)} (${cols}) SELECT ${cols} FROM jsonb_populate_recordset(NULL::${sql.table(table)}, ${JSON.stringify(rows)}::jsonb)
      ON CONFLICT (id) DO UPDATE SET ${updates}`.execute(db);
  },
  /**
   * The counter's commit does not wait for its disk flush: a registration that uses the number
   * commits durably after it, and WAL is flushed in order, so the counter's step is on disk
   * whenever a registration carrying its number is; a crash can only lose a step whose number no
   * durable registration holds (issued again, never twice in the register). Saves a flush per
   * register.
   */
  async nextCounter(db: Db, key: string): Promise<number> {
    const r = await sql<{ value: string }>`WITH ${noFlush.cte} INSERT INTO registration_counters (key, value)
      SELECT ${key}, 1 FROM no_flush ON CONFLICT (key) DO UPDATE SET value = registration_counters.value + 1 RETURNING value`.execute(db);
    return Number(r.rows[0]!.value);
  },
  async numberTaken(db: Db, n: string): Promise<boolean> {
    return (await sql`SELECT 1 FROM registrations WHERE registration_number = ${n}`.execute(db)).rows.length > 0;
  },

  /**
   * One page of a list, newest change first. `reach` is a path prefix (null: the whole country);
   * `queue` a workqueue's predicate, matching its partial index.
   */
  async list(
    db: Db,
    f: { reach: string | null; status?: string; flag?: string; type?: string; locationPath?: string; assignedTo?: string; queue?: string; after?: { at: Date; id: string }; limit: number },
  ): Promise<RegistrationRow[]> {
    const where = [sql`true`];
    if (f.reach !== null) where.push(sql`office_path LIKE ${`${f.reach}%`}`);
    if (f.status) where.push(sql`status = ${f.status}`);
    if (f.flag) where.push(sql`${f.flag} = ANY (flags)`);
    if (f.type) where.push(sql`type = ${f.type}`);
    if (f.locationPath) where.push(sql`(office_path LIKE ${`${f.locationPath}%`} OR event_location_path LIKE ${`${f.locationPath}%`})`);
    if (f.assignedTo) where.push(sql`assigned_to = ${f.assignedTo}::uuid`);
    if (f.queue) where.push(QUEUES[f.queue]!(f.assignedTo));
    if (f.after) where.push(sql`(updated_at, id) < (${f.after.at}, ${f.after.id}::uuid)`);
    const r = await sql<RegistrationRow>`SELECT *, event_date::text AS event_date FROM registrations WHERE ${sql.join(where, sql` AND `)}
      ORDER BY updated_at DESC, id DESC LIMIT ${f.limit}`.execute(db);
    return r.rows;
  },

  /**
   * Every workqueue's count within reach, one statement: the counted queues summed from the
   * counter rows of the offices within reach (a few rows per office, however large the register),
   * `assigned-to-me` counted over its partial index (per user, and small).
   */
  async counts(db: Db, reach: string | null, userId: string): Promise<Record<string, number>> {
    const inReach = reach === null ? sql`true` : sql`office_path LIKE ${`${reach}%`}`;
    const r = await sql<{ queue: string; n: number }>`SELECT queue, sum(n)::int AS n FROM registration_queue_counts WHERE ${inReach} GROUP BY queue
      UNION ALL SELECT 'assigned-to-me', count(*)::int FROM registrations WHERE ${inReach} AND ${QUEUES['assigned-to-me']!(userId)}`.execute(db);
    return Object.fromEntries(r.rows.map((x) => [x.queue, x.n]));
  },

  /**
   * Adds each delta to its office's counter of its queue in `table` (the live counters, or a
   * rebuild's shadow), in one statement taking the rows' locks in one global order (office path,
   * then queue), so two writers touching the same offices cannot deadlock. A counter that comes
   * down to zero is deleted: the counters hold exactly what a recount from the table would.
   */
  async addToCounts(db: Db, deltas: QueueDelta[], table = 'registration_queue_counts'): Promise<void> {
    const d = deltas.filter((x) => x.n !== 0);
    if (!d.length) return;
    const r = await sql<{ office_path: string; queue: string; n: number }>`INSERT INTO ${sql.table(table)} AS c (office_path, queue, n)
      SELECT office_path, queue, n FROM unnest(${d.map((x) => x.officePath)}::text[], ${d.map((x) => x.queue)}::text[], ${d.map((x) => x.n)}::int[]) AS d(office_path, queue, n)
      ORDER BY office_path COLLATE "C", queue COLLATE "C"
      ON CONFLICT (office_path, queue) DO UPDATE SET n = c.n + EXCLUDED.n
      RETURNING office_path, queue, n`.execute(db);
    const empty = r.rows.filter((x) => x.n === 0);
    if (empty.length) {
      await sql`DELETE FROM ${sql.table(table)} WHERE (office_path, queue) IN (SELECT * FROM unnest(${empty.map((x) => x.office_path)}::text[], ${empty.map((x) => x.queue)}::text[])) AND n = 0`.execute(db);
    }
  },

  /**
   * Counts every counted queue of `from` (a rebuilt registrations table) into the empty counter
   * table `into`: one scan, one GROUP BY, with the very predicates the lists and partial indexes use.
   */
  async recount(db: Db, from: string, into: string): Promise<void> {
    const member = sql.join(COUNTED_QUEUES.map((q) => sql`CASE WHEN ${QUEUES[q]!()} THEN ${q} END`));
    await sql`INSERT INTO ${sql.table(into)} (office_path, queue, n)
      SELECT r.office_path, q.queue, count(*)::int FROM ${sql.table(from)} r CROSS JOIN LATERAL unnest(ARRAY[${member}]::text[]) AS q(queue)
      WHERE q.queue IS NOT NULL GROUP BY r.office_path, q.queue`.execute(db);
  },

  /** Ids of every registration (for a rebuild), in pages. */
  async ids(db: Db, after: string | null, limit: number): Promise<string[]> {
    const r = after
      ? await sql<{ id: string }>`SELECT id FROM registrations WHERE id > ${after}::uuid ORDER BY id LIMIT ${limit}`.execute(db)
      : await sql<{ id: string }>`SELECT id FROM registrations ORDER BY id LIMIT ${limit}`.execute(db);
    return r.rows.map((x) => x.id);
  },
  /**
   * A page of registration entries committed before transaction `horizon`, in stream order
   * (stream, then sequence) after `after`: a rebuild's bulk pass folds each stream whole. Reads are
   * left out (they change nothing). Timestamps come as epoch milliseconds, as the ledger's
   * consumers receive them, so both paths fold the very same instants.
   */
  async streamEntries(db: Db, horizon: string, after: { stream: string; seq: number } | null, limit: number): Promise<StreamEntryRow[]> {
    return ledgerStore.inStreamOrderBelow(db, { horizon, streamPrefix: 'registration:', typePrefix: 'registration.', exceptType: 'registration.read', after, limit });
  },
  /** How many registration entries (reads aside) committed before `horizon`, and how many of them sit outside a registration's stream. */
  async entriesBelow(db: Db, horizon: string): Promise<{ folded: number; stray: number }> {
    const c = await ledgerStore.countBelow(db, { horizon, typePrefix: 'registration.', exceptType: 'registration.read', streamPrefix: 'registration:' });
    return { folded: c.n, stray: c.outside };
  },
  async count(db: Db): Promise<number> {
    return Number((await sql<{ n: string }>`SELECT count(*) AS n FROM registrations`.execute(db)).rows[0]!.n);
  },

  // --- documents ------------------------------------------------------------------------------
  async recordDocument(db: Db, d: { sha256: string; mediaType: string; size: number; by: string | null }): Promise<void> {
    await sql`INSERT INTO registration_documents (sha256, media_type, size, uploaded_by) VALUES (${d.sha256}, ${d.mediaType}, ${d.size}, ${d.by}) ON CONFLICT (sha256) DO NOTHING`.execute(db);
  },
  async documents(db: Db, ids: string[]): Promise<Array<{ sha256: string; media_type: string; size: string }>> {
    if (!ids.length) return [];
    return (await sql<{ sha256: string; media_type: string; size: string }>`SELECT sha256, media_type, size FROM registration_documents WHERE sha256 = ANY(${ids}::text[])`.execute(db)).rows;
  },
};

/** A change to one office's count of one queue. */
export interface QueueDelta {
  officePath: string;
  queue: string;
  n: number;
}

/** Workqueue predicates (the same as the partial indexes of migration 0710). */
export const QUEUES: Record<string, (userId?: string) => ReturnType<typeof sql>> = {
  'in-progress': () => sql`status IN ('created', 'notified')`,
  'ready-for-review': () => sql`status IN ('declared', 'validated') AND NOT ('rejected' = ANY (flags))`,
  'requires-updates': () => sql`'rejected' = ANY (flags) AND status <> 'archived'`,
  'ready-to-print': () => sql`status = 'registered' AND NOT ('printed' = ANY (flags))`,
  'waiting-for-external-validation': () => sql`'waiting-for-external-validation' = ANY (flags)`,
  'potential-duplicates': () => sql`'potential-duplicate' = ANY (flags) AND status <> 'archived'`,
  'assigned-to-me': (userId) => sql`assigned_to = ${userId ?? null}::uuid`,
};

/** The queues kept as counters per office (registration_queue_counts, migration 1251); `assigned-to-me` is per user and counted. */
export const COUNTED_QUEUES = ['in-progress', 'ready-for-review', 'requires-updates', 'ready-to-print', 'waiting-for-external-validation', 'potential-duplicates'] as const;

/**
 * The counted queues a registration with this status and these flags (all of them: workflow and
 * rule flags, the table's `flags`) is in: QUEUES's predicates in JavaScript, so a writer knows its
 * deltas without asking. The counts test checks the two agree over random histories.
 */
export function queuesOf(status: string, flags: readonly string[]): string[] {
  const has = (f: string) => flags.includes(f);
  const out: string[] = [];
  if (status === 'created' || status === 'notified') out.push('in-progress');
  if ((status === 'declared' || status === 'validated') && !has('rejected')) out.push('ready-for-review');
  if (has('rejected') && status !== 'archived') out.push('requires-updates');
  if (status === 'registered' && !has('printed')) out.push('ready-to-print');
  if (has('waiting-for-external-validation')) out.push('waiting-for-external-validation');
  if (has('potential-duplicate') && status !== 'archived') out.push('potential-duplicates');
  return out;
}
