import type { Projection } from '../projections/projection.js';
import { eventTypesStore } from './event-types.store.js';

/** The entry a modification appends beside the new version: everything the projection needs. */
export const SUPERSEDED_TYPE = 'cairn.event.superseded';

/**
 * Which entries a newer version replaced (`ledger_superseded`), folded from the
 * `cairn.event.superseded` entries a modification appends. Inline: a modification must see the
 * version it replaces as superseded in its own transaction (only the current version can be
 * modified, and the table's unique keys are what stops two modifications of one version).
 */
export const supersededProjection: Projection = {
  name: 'event-store.superseded',
  version: 1,
  mode: 'inline',
  consumes: { types: [SUPERSEDED_TYPE] },
  tables: ['ledger_superseded'],
  async apply(trx, entries, tables) {
    const rows = entries.map((e) => e.data as { entryId: string; supersededBy: string; rootId: string });
    await eventTypesStore.insertSuperseded(trx, tables.ledger_superseded!, rows);
  },
};
