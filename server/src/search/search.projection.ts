import type { Kysely } from 'kysely';
import type { RegistrationTypeDocument } from '@cairn/sdk';
import type { Database } from '../database/database.js';
import type { ConsumedEntry, Projection, ProjectionTables } from '../projections/projection.js';
import { buildSearchRow, linkagePreset, type SearchRow } from './search.index.js';
import { searchStore, type SourceRow } from './search.store.js';
import { LinkageModel } from './linkage/model.js';
import { allFlags, type RegState } from '../registrations/registrations.fold.js';
import { statesWrittenIn } from '../registrations/registrations.projection.js';

export type TypeLoader = (id: string, version: number) => Promise<RegistrationTypeDocument>;

/**
 * The registration search index as an inline projection: every registration entry re-indexes its
 * registration from the registrations projection's row, which the ledger has already brought up
 * to date in the same transaction (it is registered first). Inline because de-duplication on
 * declare must see every registration committed before it, including one declared a millisecond
 * earlier (docs/architecture.md, "what is written synchronously"). A rebuild refolds every
 * registration entry, so it re-indexes every registration from its current state.
 */
export function registrationSearchProjection(loadType: TypeLoader, opts: { bulkPage?: number } = {}): Projection {
  const bulkPage = opts.bulkPage ?? BULK_PAGE;
  // Type versions never change once saved: their linkage set-up is kept for good.
  const models = new Map<string, { doc: RegistrationTypeDocument; preset: ReturnType<typeof linkagePreset>; model: LinkageModel }>();
  return {
    name: 'registration-search',
    // 2: the name-word lexicon (registration_name_words) joined the index; 3: with each word's
    // deletions; 4: de-duplication keys with pairs of weak keys, hashed (migration 1212).
    version: 4,
    consumes: { typePrefixes: ['registration.'] },
    mode: 'inline',
    tables: ['registration_search', 'registration_name_words'],
    batchSize: 2000,
    // apply finds rows by primary key only: the GIN and path indexes are built once, at the end.
    deferIndexes: true,
    /**
     * A rebuild's bulk pass: an index row is a function of its registration's current state alone,
     * so every registration is indexed once, in id order, instead of once per entry of its stream.
     * The registrations table already holds every entry below the horizon (it is applied first, in
     * the writers' own transactions); entries after it re-index their registrations as usual.
     */
    async bulkRebuild(trx: Kysely<Database>, tables: ProjectionTables, horizon: string): Promise<number | null> {
      // One transaction: a word written once need not be sent again.
      const written = new Set<string>();
      let sources = await searchStore.sourcesAfter(trx, null, bulkPage);
      let rows = await rowsOf(sources);
      for (;;) {
        // Read ahead, then build the next page's rows while PostgreSQL writes this page's: the two
        // halves of the work (rows in JS, inserts in PostgreSQL) overlap instead of taking turns.
        const next = sources.length < bulkPage ? [] : await searchStore.sourcesAfter(trx, sources[sources.length - 1]!.id, bulkPage);
        const writing = searchStore.upsert(trx, rows, targets(tables), written);
        const [, nextRows] = await Promise.all([writing, new Promise<void>((r) => setImmediate(r)).then(() => rowsOf(next))]);
        if (!next.length) break;
        sources = next;
        rows = nextRows;
      }
      return searchStore.entriesBelow(trx, horizon);
    },
    async apply(trx: Kysely<Database>, entries: ConsumedEntry[], tables: ProjectionTables): Promise<void> {
      const ids = new Set<string>();
      for (const e of entries) {
        // Reads are audited in the registration's stream but change nothing.
        if (e.type === 'registration.read') continue;
        const id = (e.data as { registrationId?: unknown } | null)?.registrationId;
        if (typeof id === 'string') ids.add(id);
      }
      if (!ids.size) return;
      // The registrations projection, applied just before in this transaction, hands over the
      // states it wrote; only the others (none, in a writer's transaction) are read back.
      const written = statesWrittenIn(trx);
      const sources: SourceRow[] = [];
      const unread: string[] = [];
      for (const id of ids) {
        const s = written?.get(id);
        if (s) sources.push(sourceOf(s));
        else unread.push(id);
      }
      sources.push(...(await searchStore.sources(trx, unread)));
      await searchStore.upsert(trx, await rowsOf(sources), targets(tables));
    },
  };

  async function rowsOf(sources: SourceRow[]): Promise<SearchRow[]> {
    const rows: SearchRow[] = [];
    for (const s of sources) {
      const key = `${s.type}@${s.type_version}`;
      let m = models.get(key);
      if (!m) {
        const doc = await loadType(s.type, s.type_version);
        const preset = linkagePreset(doc);
        m = { doc, preset, model: new LinkageModel(preset.config) };
        models.set(key, m);
      }
      const { doc, preset, model } = m;
      rows.push(
        buildSearchRow(doc, {
          id: s.id, type: s.type, status: s.status, flags: s.flags, officePath: s.office_path, eventLocationPath: s.event_location_path,
          eventDate: s.event_date, trackingId: s.tracking_id, registrationNumber: s.registration_number, data: s.data, updatedAt: s.updated_at,
        }, preset, model),
      );
    }
    return rows;
  }
}

const BULK_PAGE = 5000;
const targets = (tables: ProjectionTables) => ({ search: tables.registration_search!, words: tables.registration_name_words! });

/** A registration's state as the index reads it (the columns searchStore.sources selects). */
const sourceOf = (s: RegState): SourceRow => ({
  id: s.id, type: s.type, type_version: s.typeVersion, status: s.status, flags: allFlags(s), office_path: s.officePath, event_location_path: s.eventLocationPath,
  event_date: s.eventDate, tracking_id: s.trackingId, registration_number: s.registrationNumber, data: s.data, updated_at: s.updatedAt,
});
