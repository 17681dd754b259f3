import { sql, type Kysely } from 'kysely';
import type { Database } from '../database/database.js';

export interface InstrumentsTable {
  name: string;
  edition: number;
  kind: 'form' | 'series';
  definition: unknown;
  definition_hash: Buffer;
  source: 'library' | 'upload';
  created_by_kind: string;
  created_by_id: string | null;
  created_at: Date;
  retired_at: Date | null;
  retired_reason: string | null;
}
declare module '../database/database.js' {
  interface Database {
    instruments: InstrumentsTable;
  }
}
type Exec = Kysely<Database>;

export const instrumentsStore = {
  get: (db: Exec, name: string, edition: number) => db.selectFrom('instruments').selectAll().where('name', '=', name).where('edition', '=', edition).executeTakeFirst(),

  /** What a capture needs to know of an edition: its kind and whether it is retired. */
  captureState: (db: Exec, name: string, edition: number) =>
    db.selectFrom('instruments').select(['kind', 'retired_at']).where('name', '=', name).where('edition', '=', edition).executeTakeFirst(),

  /** Each edition's number and kind, newest first (no definitions). */
  editionKinds: (db: Exec, name: string) => db.selectFrom('instruments').select(['edition', 'kind']).where('name', '=', name).orderBy('edition', 'desc').execute(),

  editions: (db: Exec, name: string) => db.selectFrom('instruments').selectAll().where('name', '=', name).orderBy('edition').execute(),

  /** Takes a row lock on the instrument's editions so two publishers of the same name serialise. */
  async lockName(db: Exec, name: string): Promise<void> {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${'instrument:' + name}, 0))`.execute(db);
  },

  /** Every edition, newest edition of each name first; definitions only when asked (they are large). */
  async list(db: Exec, opts: { includeRetired: boolean }) {
    const r = await sql<Omit<InstrumentsTable, 'definition' | 'definition_hash'> & { details: unknown; languages: unknown }>`
      SELECT name, edition, kind, source, created_by_kind, created_by_id, created_at, retired_at, retired_reason,
             definition->'details' AS details, definition->'languages' AS languages
      FROM instruments ${opts.includeRetired ? sql`` : sql`WHERE retired_at IS NULL`}
      ORDER BY name, edition DESC`.execute(db);
    return r.rows;
  },

  /** Inserts unless that name+edition exists; answers whether it did. */
  async insert(db: Exec, row: InstrumentsTable): Promise<boolean> {
    const r = await db
      .insertInto('instruments')
      .values({ ...row, definition: JSON.stringify(row.definition) as unknown })
      .onConflict((oc) => oc.columns(['name', 'edition']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
  },

  async retire(db: Exec, name: string, edition: number | undefined, at: Date, reason: string | null) {
    let q = db.updateTable('instruments').set({ retired_at: at, retired_reason: reason }).where('name', '=', name).where('retired_at', 'is', null);
    if (edition !== undefined) q = q.where('edition', '=', edition);
    return (await q.returning('edition').execute()).map((r) => r.edition);
  },

  /** Forms a series may name, for the definition validator's synchronous resolver. */
  async forms(db: Exec, refs: { name: string; edition: number }[]) {
    if (!refs.length) return [];
    const r = await sql<{ name: string; edition: number; definition: unknown }>`
      SELECT name, edition, definition FROM instruments
      WHERE (name, edition) IN (SELECT * FROM unnest(${refs.map((x) => x.name)}::text[], ${refs.map((x) => x.edition)}::int[]))`.execute(db);
    return r.rows;
  },
};
