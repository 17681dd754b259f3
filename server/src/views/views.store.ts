import { sql, type Kysely } from 'kysely';
import { noFlush, type Database } from '../database/database.js';
import { ledgerStore, type OccurredCursor } from '../ledger/ledger.store.js';

export type { OccurredCursor };

type Exec = Kysely<Database>;

export interface TemplateRow {
  id: string;
  name: string;
  latest_version: number;
  created_by: string | null;
  created_at: Date;
}

export interface TemplateVersionRow {
  template_id: string;
  version: number;
  runtime: 'javascript' | 'python';
  description: string;
  files: Record<string, string>;
  event_types: string[];
  limits: Record<string, number>;
  content_hash: Buffer;
  created_by: string | null;
  created_at: Date;
}

export interface InstanceRow {
  id: string;
  app_id: string;
  template_id: string;
  template_version: number;
  configuration: unknown;
  permission_requests: { eventType: string; requestId: string | null }[];
  created_at: Date;
  runs: number;
  cache_hits: number;
  failures: number;
  events_read: number;
  total_duration_ms: number;
  last_run_at: Date | null;
  last_duration_ms: number | null;
  last_error_code: string | null;
}

/** An instance joined with what running it needs from its pinned template version. */
export interface RunnableRow extends InstanceRow {
  template_name: string;
  runtime: 'javascript' | 'python';
  event_types: string[];
  limits: Record<string, number>;
}

export interface EventsPageRow {
  n: number;
  /** The page as JSON text built by PostgreSQL: `[{id,type,occurredAt,data},...]`. */
  events: string;
  last_micros: string | null;
  last_id: string | null;
}


export interface DefinitionRow {
  id: string;
  app_id: string;
  template_id: string;
  template_version: number;
  configuration: unknown;
  runtime: 'javascript' | 'python';
  event_types: string[];
  limits: Record<string, number>;
}

export interface RunState {
  /** False once the instance is gone (deleted here or through another server). */
  present: boolean;
  /** The state of the events the view may read; '' for a view that reads none. */
  key: string;
  /** False while a transaction older than the newest entry of these types may still commit. */
  stable: boolean;
  /** The key the cached result for this input was computed under, if there is one. */
  storedKey: string | null;
  /** That result, when it matches `key` and the caller did not say it holds it already. */
  resultJson: string | null;
  storedEventsRead: number;
}

interface RunStateRow {
  present: boolean;
  key: string | null;
  stable: boolean | null;
  stored_key: string | null;
  result_json: string | null;
  stored_events_read: number | null;
}

export interface StatsDelta {
  id: string;
  runs: number;
  cacheHits: number;
  failures: number;
  eventsRead: number;
  totalDurationMs: number;
  lastRunAt: Date;
  lastDurationMs: number;
  lastErrorCode: string | null;
}

export interface StoredResult {
  instanceId: string;
  inputHash: Buffer;
  stateKey: string;
  resultJson: string;
  eventsRead: number;
}

const bigintParse = (v: string | number) => Number(v);

// Cached results and run counters are worth losing in a crash rather than a disk flush on every run.
const NO_FLUSH = noFlush.cte;

export const viewsStore = {
  // --- templates -------------------------------------------------------------------------

  async templateByName(db: Exec, name: string): Promise<TemplateRow | undefined> {
    const r = await sql<TemplateRow>`SELECT * FROM view_templates WHERE name = ${name} FOR UPDATE`.execute(db);
    return r.rows[0];
  },

  async templateById(db: Exec, id: string): Promise<TemplateRow | undefined> {
    const r = await sql<TemplateRow>`SELECT * FROM view_templates WHERE id = ${id}`.execute(db);
    return r.rows[0];
  },

  async insertTemplate(db: Exec, t: { id: string; name: string; createdBy: string | null }): Promise<TemplateRow | undefined> {
    const r = await sql<TemplateRow>`
      INSERT INTO view_templates (id, name, latest_version, created_by) VALUES (${t.id}, ${t.name}, 1, ${t.createdBy})
      ON CONFLICT (name) DO NOTHING RETURNING *`.execute(db);
    return r.rows[0];
  },

  async setLatestVersion(db: Exec, id: string, version: number): Promise<void> {
    await sql`UPDATE view_templates SET latest_version = ${version} WHERE id = ${id}`.execute(db);
  },

  async insertVersion(
    db: Exec,
    v: { templateId: string; version: number; runtime: string; description: string; files: Record<string, string>; eventTypes: string[]; limits: Record<string, number>; contentHash: Buffer; createdBy: string | null },
  ): Promise<TemplateVersionRow> {
    const r = await sql<TemplateVersionRow>`
      INSERT INTO view_template_versions (template_id, version, runtime, description, files, event_types, limits, content_hash, created_by)
      VALUES (${v.templateId}, ${v.version}, ${v.runtime}, ${v.description}, ${JSON.stringify(v.files)}::jsonb, ${v.eventTypes}::text[],
              ${JSON.stringify(v.limits)}::jsonb, ${v.contentHash}, ${v.createdBy})
      RETURNING *`.execute(db);
    return r.rows[0]!;
  },

  async version(db: Exec, templateId: string, version: number): Promise<TemplateVersionRow | undefined> {
    const r = await sql<TemplateVersionRow>`SELECT * FROM view_template_versions WHERE template_id = ${templateId} AND version = ${version}`.execute(db);
    return r.rows[0];
  },

  /** Every version of a template, newest first, without sources. */
  async versions(db: Exec, templateId: string) {
    const r = await sql<Omit<TemplateVersionRow, 'files'> & { file_names: string[]; instances: number }>`
      SELECT v.template_id, v.version, v.runtime, v.description, v.event_types, v.limits, v.content_hash, v.created_by, v.created_at,
             ARRAY(SELECT jsonb_object_keys(v.files) ORDER BY 1) AS file_names,
             (SELECT count(*)::int FROM view_instances i WHERE i.template_id = v.template_id AND i.template_version = v.version) AS instances
      FROM view_template_versions v WHERE v.template_id = ${templateId} ORDER BY v.version DESC`.execute(db);
    return r.rows;
  },

  /** Templates with their latest version's summary and how many instances use them. */
  async listTemplates(db: Exec) {
    const r = await sql<TemplateRow & Pick<TemplateVersionRow, 'runtime' | 'description' | 'event_types' | 'limits'> & { version_created_at: Date; instances: number }>`
      SELECT t.*, v.runtime, v.description, v.event_types, v.limits, v.created_at AS version_created_at,
             (SELECT count(*)::int FROM view_instances i WHERE i.template_id = t.id) AS instances
      FROM view_templates t JOIN view_template_versions v ON v.template_id = t.id AND v.version = t.latest_version
      ORDER BY t.name`.execute(db);
    return r.rows;
  },

  async countInstancesOfTemplate(db: Exec, templateId: string): Promise<number> {
    const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM view_instances WHERE template_id = ${templateId}`.execute(db);
    return r.rows[0]!.n;
  },

  async deleteTemplate(db: Exec, id: string): Promise<boolean> {
    const r = await sql`DELETE FROM view_templates WHERE id = ${id}`.execute(db);
    return Number(r.numAffectedRows ?? 0) > 0;
  },

  async lockTemplate(db: Exec, id: string): Promise<TemplateRow | undefined> {
    const r = await sql<TemplateRow>`SELECT * FROM view_templates WHERE id = ${id} FOR UPDATE`.execute(db);
    return r.rows[0];
  },

  // --- instances -------------------------------------------------------------------------

  async insertInstance(
    db: Exec,
    i: { id: string; appId: string; templateId: string; templateVersion: number; configurationJson: string; requests: { eventType: string; requestId: string | null }[] },
  ): Promise<InstanceRow> {
    const r = await sql<InstanceRow>`
      INSERT INTO view_instances (id, app_id, template_id, template_version, configuration, permission_requests)
      VALUES (${i.id}, ${i.appId}, ${i.templateId}, ${i.templateVersion}, ${i.configurationJson}::jsonb, ${JSON.stringify(i.requests)}::jsonb)
      RETURNING *`.execute(db);
    return fixCounts(r.rows[0]!);
  },

  async setInstanceRequests(db: Exec, id: string, requests: { eventType: string; requestId: string | null }[]): Promise<void> {
    await sql`UPDATE view_instances SET permission_requests = ${JSON.stringify(requests)}::jsonb WHERE id = ${id}`.execute(db);
  },

  /** The instance, what running it needs, and the types among its template's that its app may read right now. */
  async runnable(db: Exec, id: string): Promise<(RunnableRow & { readable: string[] }) | undefined> {
    const r = await sql<RunnableRow & { readable: string[] }>`
      SELECT i.*, t.name AS template_name, v.runtime, v.event_types, v.limits,
             ARRAY(SELECT g.event_type FROM app_permission_requests g
                   WHERE g.app_id = i.app_id AND g.status = 'approved' AND g.can_read AND g.event_type = ANY(v.event_types)) AS readable
      FROM view_instances i
      JOIN view_template_versions v ON v.template_id = i.template_id AND v.version = i.template_version
      JOIN view_templates t ON t.id = i.template_id
      WHERE i.id = ${id}`.execute(db);
    return r.rows[0] ? fixCounts(r.rows[0]) : undefined;
  },

  async files(db: Exec, templateId: string, version: number): Promise<Record<string, string> | undefined> {
    const r = await sql<{ files: Record<string, string> }>`SELECT files FROM view_template_versions WHERE template_id = ${templateId} AND version = ${version}`.execute(db);
    return r.rows[0]?.files;
  },

  /**
   * What running an instance needs and never changes: the instance's app, configuration and
   * pinned template version's types and limits (its sources are cached per version).
   */
  async definition(db: Exec, id: string): Promise<DefinitionRow | undefined> {
    const r = await sql<DefinitionRow>`
      SELECT i.id, i.app_id, i.template_id, i.template_version, i.configuration, v.runtime, v.event_types, v.limits
      FROM view_instances i JOIN view_template_versions v ON v.template_id = i.template_id AND v.version = i.template_version
      WHERE i.id = ${id}`.execute(db);
    return r.rows[0];
  },

  async listInstances(db: Exec, f: { appId?: string; templateId?: string; limit: number }) {
    const r = await sql<RunnableRow & { app_name: string }>`
      SELECT i.*, t.name AS template_name, v.runtime, v.event_types, v.limits, a.name AS app_name
      FROM view_instances i
      JOIN view_template_versions v ON v.template_id = i.template_id AND v.version = i.template_version
      JOIN view_templates t ON t.id = i.template_id
      JOIN apps a ON a.id = i.app_id
      WHERE true ${f.appId ? sql`AND i.app_id = ${f.appId}` : sql``} ${f.templateId ? sql`AND i.template_id = ${f.templateId}` : sql``}
      ORDER BY a.name, i.created_at
      LIMIT ${f.limit}`.execute(db);
    return r.rows.map(fixCounts);
  },

  async deleteInstance(db: Exec, id: string): Promise<void> {
    await sql`DELETE FROM view_instances WHERE id = ${id}`.execute(db);
  },

  /** Status of the given permission requests (the apps module's table, read only). */
  async requestStatuses(db: Exec, ids: string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    const r = await sql<{ id: string; status: string }>`SELECT id, status FROM app_permission_requests WHERE id = ANY(${ids}::uuid[])`.execute(db);
    return new Map(r.rows.map((x) => [x.id, x.status]));
  },

  /** (app, type) pairs with an approved read grant, for the given apps. */
  async readGrantsOfApps(db: Exec, appIds: string[]): Promise<Set<string>> {
    if (!appIds.length) return new Set();
    const r = await sql<{ app_id: string; event_type: string }>`
      SELECT app_id, event_type FROM app_permission_requests WHERE app_id = ANY(${appIds}::uuid[]) AND status = 'approved' AND can_read`.execute(db);
    return new Set(r.rows.map((x) => `${x.app_id} ${x.event_type}`));
  },

  // --- reading events for a view ---------------------------------------------------------

  /**
   * One page of current events of one type in (occurred_at, id) order over [from, to), through
   * the (type, occurred_at, id) index, as the JSON text the sandbox hands the view. `data` comes
   * out of PostgreSQL as text and goes into the page untouched (never parsed and re-serialised
   * on the way); the timestamps are formatted here, which costs a fraction of to_char's time.
   */
  async eventsPage(db: Exec, q: { type: string; from?: Date; to?: Date; after?: OccurredCursor; limit: number; filterJson?: string }): Promise<EventsPageRow> {
    // The ledger's read of current entries by type and time (it owns the SQL over its tables).
    const rows = await ledgerStore.currentOfTypeByOccurrence(db, q);
    const typeJson = JSON.stringify(q.type);
    const parts: string[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      // Micro- to milliseconds, as every other API shows occurredAt (toISOString's format).
      const iso = new Date(Number(BigInt(row.micros) / 1000n)).toISOString();
      parts[i] = `{"id":"${row.id}","type":${typeJson},"occurredAt":"${iso}","data":${row.data}}`;
    }
    const last = rows[rows.length - 1];
    return { n: rows.length, events: `[${parts.join(',')}]`, last_micros: last?.micros ?? null, last_id: last?.id ?? null };
  },

  /**
   * What a cached result of a view over `types` depends on: for each type, the newest entry of
   * that type and the newest erasure of one of its events, in ledger order. Appends, modifications
   * (a new entry of the same type) and deletions (a ledger.erased entry naming the type) all move
   * it. Ledger order is transaction order, so a transaction that started earlier but commits later
   * can land *below* the newest entry; `stable` is true only when no transaction older than the
   * newest entry is still running, and only a stable key may be stored with a result.
   * In the same round trip: whether the instance still exists (it may have been deleted through
   * another server) and what the cache holds for this input. The stored result itself comes back
   * only when it matches the state and the caller does not hold it already (`heldKey`).
   * The statement is kept small: PostgreSQL plans it on every call, and planning was most of the
   * cost of the join this replaced.
   */
  async runState(db: Exec, q: { id: string; types: string[]; inputHash: Buffer; heldKey: string | null }): Promise<RunState> {
    const r = q.types.length
      ? await sql<RunStateRow>`
          WITH ${ledgerStore.typesStateCtes(q.types)}
          SELECT EXISTS (SELECT 1 FROM view_instances WHERE id = ${q.id}) AS present, s.key, s.stable, c.state_key AS stored_key,
                 CASE WHEN c.state_key = s.key AND c.state_key IS DISTINCT FROM ${q.heldKey} THEN c.result_json END AS result_json,
                 c.events_read AS stored_events_read
          FROM s LEFT JOIN view_results c ON c.instance_id = ${q.id} AND c.input_hash = ${q.inputHash}`.execute(db)
      : // A view that reads no events depends on nothing but its input.
        await sql<RunStateRow>`
          SELECT true AS present, '' AS key, true AS stable, c.state_key AS stored_key,
                 CASE WHEN c.state_key = '' AND c.state_key IS DISTINCT FROM ${q.heldKey} THEN c.result_json END AS result_json,
                 c.events_read AS stored_events_read
          FROM view_instances i LEFT JOIN view_results c ON c.instance_id = i.id AND c.input_hash = ${q.inputHash}
          WHERE i.id = ${q.id}`.execute(db);
    const row = r.rows[0];
    if (!row || !row.present) return { present: false, key: '', stable: false, storedKey: null, resultJson: null, storedEventsRead: 0 };
    return { present: true, key: row.key ?? '', stable: row.stable ?? true, storedKey: row.stored_key, resultJson: row.result_json, storedEventsRead: row.stored_events_read ?? 0 };
  },

  /**
   * Adds run counters to instances and stores results, for many runs in one statement (a round
   * trip per run was most of a cheap run's cost). Instances deleted meanwhile are skipped.
   */
  async writeRuns(db: Exec, stats: StatsDelta[], results: StoredResult[]): Promise<void> {
    if (!stats.length && !results.length) return;
    const counted = stats.length
      ? sql`, d AS (
          SELECT * FROM unnest(${stats.map((r) => r.id)}::uuid[], ${stats.map((r) => r.runs)}::bigint[], ${stats.map((r) => r.cacheHits)}::bigint[],
            ${stats.map((r) => r.failures)}::bigint[], ${stats.map((r) => r.eventsRead)}::bigint[], ${stats.map((r) => r.totalDurationMs)}::bigint[],
            ${stats.map((r) => r.lastRunAt.toISOString())}::timestamptz[], ${stats.map((r) => r.lastDurationMs)}::int[], ${stats.map((r) => r.lastErrorCode)}::text[])
            AS d(id, runs, cache_hits, failures, events_read, total_duration_ms, last_run_at, last_duration_ms, last_error_code)
        ), counted AS (
          UPDATE view_instances i SET
            runs = i.runs + d.runs,
            cache_hits = i.cache_hits + d.cache_hits,
            failures = i.failures + d.failures,
            events_read = i.events_read + d.events_read,
            total_duration_ms = i.total_duration_ms + d.total_duration_ms,
            last_run_at = d.last_run_at,
            last_duration_ms = d.last_duration_ms,
            last_error_code = d.last_error_code
          FROM d WHERE i.id = d.id AND (SELECT off FROM no_flush) IS NOT NULL
          RETURNING 1
        )`
      : sql``;
    const stored = results.length
      ? sql`, r AS (
          SELECT * FROM unnest(${results.map((x) => x.instanceId)}::uuid[], ${results.map((x) => x.inputHash)}::bytea[], ${results.map((x) => x.stateKey)}::text[],
            ${results.map((x) => x.resultJson)}::text[], ${results.map((x) => x.eventsRead)}::int[]) AS r(instance_id, input_hash, state_key, result_json, events_read)
        ), stored AS (
          INSERT INTO view_results (instance_id, input_hash, state_key, result_json, events_read)
          SELECT r.instance_id, r.input_hash, r.state_key, r.result_json, r.events_read FROM r
          WHERE EXISTS (SELECT 1 FROM view_instances i WHERE i.id = r.instance_id) AND (SELECT off FROM no_flush) IS NOT NULL
          ON CONFLICT (instance_id, input_hash) DO UPDATE SET state_key = excluded.state_key, result_json = excluded.result_json,
            events_read = excluded.events_read, stored_at = now()
          RETURNING 1
        )`
      : sql``;
    // Data-modifying CTEs run to completion whether or not the final SELECT reads them.
    await sql`WITH ${NO_FLUSH}${counted}${stored} SELECT 1`.execute(db);
  },

  /** Forgets all but the `keep` most recently stored inputs of these instances. */
  async pruneResults(db: Exec, instanceIds: string[], keep: number): Promise<void> {
    if (!instanceIds.length) return;
    await sql`
      WITH ${NO_FLUSH}
      DELETE FROM view_results r USING (
        SELECT instance_id, input_hash, row_number() OVER (PARTITION BY instance_id ORDER BY stored_at DESC) AS n
        FROM view_results WHERE instance_id = ANY(${instanceIds}::uuid[])
      ) x
      WHERE r.instance_id = x.instance_id AND r.input_hash = x.input_hash AND x.n > ${keep} AND (SELECT off FROM no_flush) IS NOT NULL`.execute(db);
  },
};

function fixCounts<T extends InstanceRow>(row: T): T {
  for (const k of ['runs', 'cache_hits', 'failures', 'events_read', 'total_duration_ms'] as const) (row as InstanceRow)[k] = bigintParse(row[k]);
  return row;
}
