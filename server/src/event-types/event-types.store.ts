import { sql, type Kysely } from 'kysely';
import type { Database } from '../database/database.js';

type Exec = Kysely<Database>;

export interface EventTypeRow {
  name: string;
  description: string;
  owner_app_id: string | null;
  latest_version: number;
  created_at: Date;
}

export interface EventTypeVersionRow {
  name: string;
  version: number;
  schema: Record<string, unknown>;
  schema_hash: Buffer;
  created_by_kind: string;
  created_by_id: string | null;
  created_at: Date;
}

export const eventTypesStore = {
  async lockName(db: Exec, name: string) {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`event-type:${name}`}, 0))`.execute(db);
  },

  async type(db: Exec, name: string): Promise<EventTypeRow | undefined> {
    return (await sql<EventTypeRow>`SELECT * FROM event_types WHERE name = ${name}`.execute(db)).rows[0];
  },

  async types(db: Exec): Promise<(EventTypeRow & { versions: number })[]> {
    return (await sql<EventTypeRow & { versions: number }>`
      SELECT t.*, (SELECT count(*)::int FROM event_type_versions v WHERE v.name = t.name) AS versions
      FROM event_types t ORDER BY t.name`.execute(db)).rows;
  },

  async versions(db: Exec, name: string): Promise<EventTypeVersionRow[]> {
    return (await sql<EventTypeVersionRow>`SELECT * FROM event_type_versions WHERE name = ${name} ORDER BY version`.execute(db)).rows;
  },

  async version(db: Exec, name: string, version: number): Promise<EventTypeVersionRow | undefined> {
    return (await sql<EventTypeVersionRow>`SELECT * FROM event_type_versions WHERE name = ${name} AND version = ${version}`.execute(db)).rows[0];
  },

  /** Latest version of each registered name among `names` (absent names are unregistered). */
  async latest(db: Exec, names: string[]): Promise<Map<string, number>> {
    if (!names.length) return new Map();
    const r = await sql<{ name: string; latest_version: number }>`SELECT name, latest_version FROM event_types WHERE name = ANY(${names}::text[])`.execute(db);
    return new Map(r.rows.map((x) => [x.name, x.latest_version]));
  },

  async insertType(db: Exec, t: { name: string; description: string; ownerAppId: string | null }) {
    await sql`INSERT INTO event_types (name, description, owner_app_id, latest_version) VALUES (${t.name}, ${t.description}, ${t.ownerAppId}, 1)`.execute(db);
  },

  async insertVersion(db: Exec, v: { name: string; version: number; schemaJson: string; schemaHash: Buffer; byKind: string; byId: string | null }) {
    await sql`INSERT INTO event_type_versions (name, version, schema, schema_hash, created_by_kind, created_by_id)
      VALUES (${v.name}, ${v.version}, ${v.schemaJson}::jsonb, ${v.schemaHash}, ${v.byKind}, ${v.byId})`.execute(db);
    await sql`UPDATE event_types SET latest_version = GREATEST(latest_version, ${v.version}) WHERE name = ${v.name}`.execute(db);
  },

  async setDescription(db: Exec, name: string, description: string) {
    await sql`UPDATE event_types SET description = ${description} WHERE name = ${name}`.execute(db);
  },

  // --- ledger_superseded: the event store's projection (events.projection.ts) ---------------
  // The table carries the ledger's prefix (and the ledger's "current versions" filter reads it),
  // but the event store writes it and owns it: see docs/architecture.md, "The ledger".

  /** Folds `cairn.event.superseded` entries into `table` (the live table, or its shadow during a rebuild). */
  async insertSuperseded(db: Exec, table: string, rows: { entryId: string; supersededBy: string; rootId: string }[]) {
    await sql`INSERT INTO ${sql.table(table)} (entry_id, superseded_by, root_id)
      SELECT * FROM unnest(${rows.map((r) => r.entryId)}::uuid[], ${rows.map((r) => r.supersededBy)}::uuid[], ${rows.map((r) => r.rootId)}::uuid[])`.execute(db);
  },

  /** The first version of the event whose version `id` is (undefined when `id` replaced nothing). */
  async supersededRoot(db: Exec, id: string): Promise<string | undefined> {
    const r = await sql<{ root_id: string }>`SELECT root_id FROM ledger_superseded WHERE superseded_by = ${id}`.execute(db);
    return r.rows[0]?.root_id;
  },

  /** The version that replaced entry `id` (undefined while it is current). */
  async successorOf(db: Exec, id: string): Promise<string | undefined> {
    const r = await sql<{ superseded_by: string }>`SELECT superseded_by FROM ledger_superseded WHERE entry_id = ${id}`.execute(db);
    return r.rows[0]?.superseded_by;
  },

  /** Every replacement among the versions of the event whose first version is `rootId`. */
  async supersessions(db: Exec, rootId: string): Promise<{ entry_id: string; superseded_by: string }[]> {
    const r = await sql<{ entry_id: string; superseded_by: string }>`SELECT entry_id, superseded_by FROM ledger_superseded WHERE root_id = ${rootId}`.execute(db);
    return r.rows;
  },

  /** Serialises changes to one event (all its versions share the root id), for this transaction. */
  async lockEvent(db: Exec, rootId: string) {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`event:${rootId}`}, 0))`.execute(db);
  },
};
