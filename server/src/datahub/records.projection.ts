import type { ConsumedEntry, Projection } from '../projections/projection.js';
import { datahubStore, type RecordsTable } from './datahub.store.js';

interface CreatedData {
  recordId: string;
  workspaceId: string;
  subjectId: string;
  sessionId: string;
  instrument: { name: string; edition: number };
  date: string;
  data: unknown;
  measures: unknown;
  importId?: string;
}
interface ImportedData {
  importId: string;
  workspaceId: string;
  instrument: { name: string; edition: number };
  records: { recordId: string; subjectId: string; sessionId: string; date: string; data: unknown; measures: unknown }[];
}
interface UpdatedData {
  recordId: string;
  version: number;
  data: unknown;
  measures: unknown;
}
interface DeletedData {
  recordId: string;
  version: number;
  reason: string;
}

const created = (e: ConsumedEntry, d: Omit<CreatedData, 'instrument' | 'workspaceId'>, ws: string, instrument: { name: string; edition: number }, importId: string | null): RecordsTable => ({
  id: d.recordId,
  workspace_id: ws,
  subject_id: d.subjectId,
  session_id: d.sessionId,
  instrument_name: instrument.name,
  instrument_edition: instrument.edition,
  date: new Date(d.date),
  data: d.data,
  measures: d.measures,
  version: 1,
  import_id: importId,
  // The entry's own time, not a clock read while writing: a rebuild must come out identical.
  created_at: e.recordedAt,
  updated_at: e.recordedAt,
  created_by_kind: e.actor.kind,
  created_by_id: e.actor.id,
  deleted_at: null,
  deleted_reason: null,
});

/**
 * The data hub's `records` table, folded from each record's stream (`record.created`,
 * `record.updated`, `record.deleted`) and from imports' chunk entries (`record.imported`).
 * Inline: a capture answers with the record it stored and an edit checks the version it read
 * (optimistic concurrency), both in the writer's transaction.
 */
export const recordsProjection: Projection = {
  name: 'datahub.records',
  version: 1,
  mode: 'inline',
  consumes: { types: ['record.created', 'record.imported', 'record.updated', 'record.deleted'] },
  tables: ['records'],
  batchSize: 2000,
  // apply finds rows by id (the primary key) only; the three partial read indexes are built last.
  deferIndexes: true,
  async apply(trx, entries, tables) {
    // Creations are gathered into one INSERT until an edit needs them in place (ledger order holds).
    let pending: RecordsTable[] = [];
    const flush = async () => {
      if (pending.length) await datahubStore.insertRecords(trx, pending, tables.records);
      pending = [];
    };
    for (const e of entries) {
      switch (e.type) {
        case 'record.created': {
          const d = e.data as CreatedData;
          pending.push(created(e, d, d.workspaceId, d.instrument, d.importId ?? null));
          break;
        }
        case 'record.imported': {
          const d = e.data as ImportedData;
          for (const r of d.records) pending.push(created(e, r, d.workspaceId, d.instrument, d.importId));
          break;
        }
        case 'record.updated': {
          await flush();
          const d = e.data as UpdatedData;
          await datahubStore.updateRecord(trx, d.recordId, { data: d.data, measures: d.measures, version: d.version, updated_at: e.recordedAt }, tables.records);
          break;
        }
        case 'record.deleted': {
          await flush();
          const d = e.data as DeletedData;
          await datahubStore.deleteRecord(trx, d.recordId, e.recordedAt, d.reason, d.version, tables.records);
          break;
        }
      }
    }
    await flush();
  },
};
