import type { Db } from '../database/database.js';
import { AppError, fail } from '../kernel/errors.js';
import { requireAuthenticated, type AuthContext } from '../kernel/access.js';
import type { Clock } from '../kernel/clock.js';
import { newId, isUuid } from '../kernel/ids.js';
import { clientOccurredAt } from '../kernel/occurred-at.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import { ledgerStore } from '../ledger/ledger.store.js';
import { authStore } from '../auth/auth.store.js';
import type { InstrumentsService } from '../instruments/instruments.service.js';
import { validateSubmission, type FormInstrument, type SubmissionError } from '@cairn/sdk/instruments';
import { datahubStore, type RecordsTable } from './datahub.store.js';
import { byActor, hasNul, type SubjectsService } from './subjects.service.js';

export const presentRecord = (r: RecordsTable) => ({
  id: r.id,
  workspaceId: r.workspace_id,
  subjectId: r.subject_id,
  sessionId: r.session_id,
  instrument: { name: r.instrument_name, edition: r.instrument_edition },
  date: r.date.toISOString(),
  data: r.data,
  measures: r.measures,
  version: r.version,
  importId: r.import_id,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
  deleted: r.deleted_at !== null,
  deletedAt: r.deleted_at?.toISOString() ?? null,
  deletedReason: r.deleted_reason,
});

export const todayOf = (clock: Clock) => clock.now().toISOString().slice(0, 10);

export function submissionFailed(errors: SubmissionError[]) {
  return fail('invalid_submission', `The answers have ${errors.length} error(s); the first: ${errors[0]!.field || '(whole submission)'}: ${errors[0]!.message}`, { errors });
}

/**
 * Records: one submission of one form edition, in a session. Each record is a ledger stream
 * (`record:<id>`: created, updated..., deleted); the `records` table is its projection
 * (records.projection.ts), applied inline: in the same transaction as the entries.
 */
export class RecordsService {
  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly subjects: SubjectsService,
    private readonly instruments: InstrumentsService,
    private readonly clock: Clock,
  ) {}

  validate(form: FormInstrument, data: unknown) {
    return validateSubmission(form, data, { today: todayOf(this.clock) });
  }

  async create(ctx: AuthContext, sessionId: string, input: { instrument: { name: string; edition: number }; data: unknown; transactionId?: string; occurredAt?: string }) {
    if (hasNul(input.transactionId)) throw fail('validation_failed', 'transactionId contains a NUL character', [{ pointer: '/transactionId', message: 'invalid character' }]);
    // Both lookups at once (one round trip of latency); the session's answer, with its access
    // check, always decides first so an instrument error never speaks for an invisible session.
    const [sessionResult, formResult] = await Promise.allSettled([this.subjects.sessionFor(ctx, sessionId, 'member'), this.instruments.formForCapture(input.instrument.name, input.instrument.edition)]);
    if (sessionResult.status === 'rejected') throw sessionResult.reason;
    const session = sessionResult.value;
    if (session.ended_at) throw fail('session_ended', 'This session has ended; start a new one to capture more records');
    if (formResult.status === 'rejected') throw formResult.reason;
    const form = formResult.value;
    const result = this.validate(form, input.data);
    if (!result.ok) throw submissionFailed(result.errors);
    const now = this.clock.now();
    // Captured offline and synced later: the record is dated when the person submitted it.
    const occurredAt = clientOccurredAt(input.occurredAt, now);
    const row = newRecordRow(session, form, result, session.kind === 'retrospective' ? session.date : occurredAt, now, byActor(ctx));
    const entries = this.ledger.prepare(ctx, [{ type: 'record.created', stream: `record:${row.id}`, transactionId: input.transactionId, occurredAt, data: createdData(row) }], { allowSystemTypes: true });
    // The stream is minted per record: a retry matches on the type, and the session is checked below.
    entries[0]!.replayTarget = 'type';
    // The records projection (records.projection.ts) writes the row from the entry, in this transaction.
    const outcome = await this.db.transaction().execute(async (trx) => {
      const [res] = await this.ledger.append(ctx, entries, { db: trx }).catch((e: unknown) => {
        // The ledger names the field as in POST /events; this route's field is /transactionId.
        if (e instanceof AppError && e.code === 'idempotency_conflict') {
          throw fail('idempotency_conflict', 'This transactionId was already used for another kind of write (an event, or a record elsewhere); use a new one', [{ pointer: '/transactionId', message: 'already used for another target' }]);
        }
        throw e;
      });
      if (res!.replayed) return { replayedEntry: res!.id };
      return { stored: (await datahubStore.record(trx, row.id))! };
    });
    const replayedEntry = outcome.replayedEntry;
    if (replayedEntry) {
      // A retry of a submission that already succeeded: answer the original record.
      const prior = await ledgerStore.getById(this.db, replayedEntry);
      const original = await datahubStore.record(this.db, (prior!.data as { recordId: string }).recordId);
      // Only into the same session, which the caller was just checked to hold a member role on:
      // replaying into another session must not hand back a record from a workspace the caller
      // may since have left.
      if (!original || original.session_id !== session.id) {
        throw fail('idempotency_conflict', 'This transactionId was already used for a record in another session; use a new one', [{ pointer: '/transactionId', message: 'already used for another target' }]);
      }
      return { record: presentRecord(original), replayed: true };
    }
    this.ledger.notifyAppended();
    return { record: presentRecord(outcome.stored!), replayed: false };
  }

  private async recordFor(ctx: AuthContext, id: string, min: 'viewer' | 'member') {
    return this.subjects.visible(ctx, isUuid(id) ? await datahubStore.record(this.db, id) : undefined, min, 'record');
  }

  /** The record with the edition it was captured with (it always renders with that edition). */
  async get(ctx: AuthContext, id: string) {
    const r = await this.recordFor(ctx, id, 'viewer');
    const subject = await datahubStore.subject(this.db, r.subject_id);
    const definition = await this.instruments.definition(r.instrument_name, r.instrument_edition);
    return { record: presentRecord(r), subject: { id: subject!.id, identifier: subject!.identifier, label: subject!.label ?? null }, definition };
  }

  async history(ctx: AuthContext, id: string) {
    const r = await this.recordFor(ctx, id, 'viewer');
    // Read the stream directly rather than through the ledger's tail (which stops below running
    // transactions): a record's own history must include what was just written.
    const rows = await ledgerStore.streamHistory(this.db, 'record:' + r.id);
    if (r.import_id) {
      // Imported records were created by an entry of their import's stream holding a chunk of records.
      const created = await ledgerStore.arrayElementsInStream(this.db, { stream: 'import:' + r.import_id, type: 'record.imported', arrayKey: 'records', field: 'recordId', value: r.id });
      rows.unshift(...created.map((e) => ({ ...e, type: 'record.created', stream_seq: 0 })));
    }
    const userIds = [...new Set(rows.flatMap((e) => (e.actor_kind === 'user' && e.actor_id && isUuid(e.actor_id) ? [e.actor_id] : [])))];
    const names = await authStore.usernames(this.db, userIds);
    return rows.map((e) => {
      const d = (e.data ?? {}) as { version?: number; data?: unknown; measures?: unknown; reason?: string };
      return {
        entryId: e.id,
        type: e.type,
        version: d.version ?? 1,
        data: d.data ?? null,
        measures: d.measures ?? null,
        reason: d.reason ?? null,
        actor: { kind: e.actor_kind, id: e.actor_id, username: e.actor_id ? (names.get(e.actor_id) ?? null) : null },
        at: e.recorded_at.toISOString(),
      };
    });
  }

  async update(ctx: AuthContext, id: string, input: { data: unknown; version: number }) {
    const r = await this.recordFor(ctx, id, 'member');
    const form = (await this.instruments.definition(r.instrument_name, r.instrument_edition)) as FormInstrument;
    const result = this.validate(form, input.data);
    if (!result.ok) throw submissionFailed(result.errors);
    const version = input.version + 1;
    const entries = this.ledger.prepare(ctx, [{ type: 'record.updated', stream: `record:${r.id}`, data: { recordId: r.id, version, data: result.data, measures: result.measures } }], { allowSystemTypes: true });
    const updated = await this.db.transaction().execute(async (trx) => {
      const cur = await datahubStore.recordForUpdate(trx, r.id);
      if (!cur || cur.deleted_at) throw fail('not_found', 'No such record (it was deleted)');
      if (cur.version !== input.version) throw fail('version_conflict', `The record changed since you read it (now version ${cur.version}); reload and try again`, { version: cur.version });
      // The records projection applies the entry to the row, in this transaction.
      await this.ledger.append(ctx, entries, { db: trx });
      return (await datahubStore.record(trx, r.id))!;
    });
    this.ledger.notifyAppended();
    return presentRecord(updated);
  }

  /** A tombstone: the record leaves every read and export; its history stays in the ledger. */
  async remove(ctx: AuthContext, id: string, reason: string) {
    const r = await this.recordFor(ctx, id, 'member');
    const why = reason.trim();
    if (!why) throw fail('validation_failed', 'Say why the record is deleted', [{ pointer: '/reason', message: 'required' }]);
    if (hasNul(why)) throw fail('validation_failed', 'The reason contains a NUL character', [{ pointer: '/reason', message: 'invalid character' }]);
    await this.db.transaction().execute(async (trx) => {
      const cur = await datahubStore.recordForUpdate(trx, r.id);
      if (!cur || cur.deleted_at) throw fail('not_found', 'No such record (it was deleted)');
      const version = cur.version + 1;
      await this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type: 'record.deleted', stream: `record:${r.id}`, data: { recordId: r.id, version, reason: why } }], { allowSystemTypes: true }), { db: trx });
    });
    this.ledger.notifyAppended();
  }

  async forSubject(ctx: AuthContext, subjectId: string, f: { instrument?: string; edition?: number; limit?: number }) {
    const s = await this.subjects.subjectFor(ctx, subjectId, 'viewer');
    const rows = await datahubStore.subjectRecords(this.db, s.id, { instrument: f.instrument, edition: f.edition, limit: Math.min(Math.max(f.limit ?? 1000, 1), 5000) });
    return rows.map(presentRecord);
  }
}

/** A new record (version 1) in a session, from a validated submission. */
export function newRecordRow(session: { id: string; workspace_id: string; subject_id: string }, form: { name: string; edition: number }, result: { data: unknown; measures: unknown }, date: Date, now: Date, by: { created_by_kind: string; created_by_id: string | null }): RecordsTable {
  return {
    id: newId(),
    workspace_id: session.workspace_id,
    subject_id: session.subject_id,
    session_id: session.id,
    instrument_name: form.name,
    instrument_edition: form.edition,
    date,
    data: result.data,
    measures: result.measures,
    version: 1,
    import_id: null,
    created_at: now,
    updated_at: now,
    deleted_at: null,
    deleted_reason: null,
    ...by,
  };
}

export function createdData(row: RecordsTable) {
  return {
    recordId: row.id,
    workspaceId: row.workspace_id,
    subjectId: row.subject_id,
    sessionId: row.session_id,
    instrument: { name: row.instrument_name, edition: row.instrument_edition },
    date: row.date.toISOString(),
    version: 1,
    data: row.data as Record<string, unknown>,
    measures: row.measures as Record<string, unknown>,
    ...(row.import_id ? { importId: row.import_id } : {}),
  };
}
