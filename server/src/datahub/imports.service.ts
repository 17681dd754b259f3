import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { Db } from '../database/database.js';
import { fail } from '../kernel/errors.js';
import { pipeCsvUpload, csvInputError } from '../kernel/request-text.js';
import type { AuthContext } from '../kernel/access.js';
import type { Clock } from '../kernel/clock.js';
import { newId } from '../kernel/ids.js';
import type { LedgerService, AppendInput } from '../ledger/ledger.service.js';
import type { InstrumentsService } from '../instruments/instruments.service.js';
import type { WorkspacesService } from '../workspaces/workspaces.service.js';
import type { FormInstrument, JsonValue, MeasureValue } from '@cairn/sdk/instruments';
import { cellToAnswer, fieldColumns, type Column } from './datahub.columns.js';
import { datahubStore, type SessionsTable, type SubjectsTable } from './datahub.store.js';
import { DERIVED_ID_RE, byActor, type SubjectsService } from './subjects.service.js';
import { todayOf } from './records.service.js';
import { validateSubmission } from '@cairn/sdk/instruments';

export const MAX_IMPORT_ROWS = 200_000;
export const MAX_IMPORT_BYTES = 256 * 1024 * 1024;
const MAX_REPORTED_ERRORS = 1000;
/** Subjects or records per transaction. */
const CHUNK = 1000;
/** Keeps each chunk's ledger entry well under the ledger's 1 MiB data limit (string length, a lower bound of bytes). */
const MAX_ENTRY_BYTES = 600_000;
/** Columns of an export that an import accepts and ignores, so an export can be re-imported. */
const IGNORED = new Set(['record_id', 'session_id', 'instrument', 'edition']);

export interface ImportError {
  /** Line number in the file (the header is line 1). */
  row: number;
  /** The column (or answer path) at fault; empty for the whole row. */
  field: string;
  code: string;
  message: string;
}

export interface ImportOptions {
  instrument: string;
  edition: number;
  /** Import the valid rows even when others fail. Without it, nothing is imported while any row fails. */
  onlyValid?: boolean;
  /** Check everything, write nothing. */
  dryRun?: boolean;
}

export interface AcceptedRow {
  subject: string;
  date: Date;
  data: Record<string, JsonValue>;
  measures: Record<string, MeasureValue>;
}

const csvEscape = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/**
 * Bulk import from CSV in the template's shape: `subject`, `date`, then one column per answer.
 * Every row is checked (identifier, date, each cell's type, then the same submission validator
 * as a form) before anything is written.
 */
export class ImportsService {
  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly subjects: SubjectsService,
    private readonly workspaces: WorkspacesService,
    private readonly instruments: InstrumentsService,
    private readonly clock: Clock,
  ) {}

  async template(ctx: AuthContext, workspaceId: string, instrument: string, edition: number) {
    await this.workspaces.requireRole(ctx, workspaceId, 'viewer');
    const form = await this.instruments.formForCapture(instrument, edition);
    const header = ['subject', 'date', ...fieldColumns(form).map((c) => c.header)];
    return { filename: `${form.name}-e${form.edition}-import-template.csv`, body: header.map(csvEscape).join(',') + '\r\n' };
  }

  async run(ctx: AuthContext, workspaceId: string, body: Readable, opts: ImportOptions) {
    await this.workspaces.requireRole(ctx, workspaceId, 'member');
    const form = await this.instruments.formForCapture(opts.instrument, opts.edition);
    const pattern = (await datahubStore.settings(this.db, workspaceId))?.subject_id_pattern ?? null;
    const checked = await this.check(body, form, pattern);
    const summary = { rows: checked.rows, valid: checked.accepted.length, invalid: checked.invalidRows, errors: checked.errors, errorCount: checked.errorCount };
    if (checked.fatal) throw fail('invalid_import', checked.fatal, summary);
    if (checked.invalidRows && !opts.onlyValid) {
      throw fail('invalid_import', `${checked.invalidRows} of ${checked.rows} rows have errors; nothing was imported. Fix them, or choose to import only the valid rows`, summary);
    }
    if (opts.dryRun || !checked.accepted.length) return { importId: null, imported: 0, skipped: checked.invalidRows, subjectsCreated: 0, dryRun: !!opts.dryRun, ...summary };
    const written = await this.write(ctx, workspaceId, form, checked.accepted, 'import');
    return { importId: written.importId, imported: checked.accepted.length, skipped: checked.invalidRows, subjectsCreated: written.subjectsCreated, dryRun: false, ...summary };
  }

  private async check(body: Readable, form: FormInstrument, pattern: string | null) {
    const errors: ImportError[] = [];
    let errorCount = 0;
    const report = (e: ImportError) => {
      errorCount++;
      if (errors.length < MAX_REPORTED_ERRORS) errors.push(e);
    };
    const accepted: AcceptedRow[] = [];
    let rows = 0;
    let invalidRows = 0;
    let fatal: string | undefined;
    const today = todayOf(this.clock);
    const now = this.clock.now().getTime();
    const known = new Map(fieldColumns(form).map((c) => [c.header, c]));
    let layout: { subject: number; date: number; cols: Array<Column | null> } | undefined;

    const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true, max_record_size: 1 << 20, info: true });
    pipeCsvUpload(body, parser, MAX_IMPORT_BYTES);
    try {
      for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
        const line = info.lines;
        if (!layout) {
          const cols: Array<Column | null> = [];
          let subject = -1;
          let date = -1;
          const seen = new Set<string>();
          record.forEach((raw, i) => {
            const h = raw.trim();
            if (seen.has(h)) report({ row: 1, field: h, code: 'duplicate_column', message: `column ${h} appears twice` });
            seen.add(h);
            if (h === 'subject') subject = i;
            else if (h === 'date') date = i;
            else if (!known.has(h) && !IGNORED.has(h) && !h.startsWith('measure:')) report({ row: 1, field: h, code: 'unknown_column', message: `${form.name} edition ${form.edition} has no field ${h}` });
            cols.push(known.get(h) ?? null);
          });
          if (subject < 0) report({ row: 1, field: 'subject', code: 'missing_column', message: 'the subject column is required' });
          if (date < 0) report({ row: 1, field: 'date', code: 'missing_column', message: 'the date column is required' });
          if (errorCount) {
            fatal = 'The header row does not match the template; nothing was imported';
            break;
          }
          layout = { subject, date, cols };
          continue;
        }
        rows++;
        if (rows > MAX_IMPORT_ROWS) {
          fatal = `An import holds at most ${MAX_IMPORT_ROWS} rows; split the file`;
          break;
        }
        const before = errorCount;
        if (record.length !== layout.cols.length) report({ row: line, field: '', code: 'column_count', message: `expected ${layout.cols.length} cells, found ${record.length}` });
        const subject = (record[layout.subject] ?? '').trim();
        const problem = subject === '' ? 'is required' : this.subjects.identifierProblem(DERIVED_ID_RE.test(subject) ? 'derived' : 'custom', subject, pattern);
        if (problem) report({ row: line, field: 'subject', code: 'invalid_identifier', message: `subject ${problem}` });
        const dateText = (record[layout.date] ?? '').trim();
        const date = /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?)?$/.test(dateText) ? new Date(dateText.length === 10 ? `${dateText}T00:00:00Z` : dateText) : new Date(NaN);
        // A real date in the future is its own problem: "not a real date" sent people looking for a typo.
        // Date.parse rolls 2021-02-30 over to 2 March: a date that does not exist is refused too.
        const exists = !Number.isNaN(date.getTime()) && (dateText.length !== 10 || date.toISOString().slice(0, 10) === dateText);
        if (!exists || date.getUTCFullYear() < 1900) report({ row: line, field: 'date', code: 'invalid_date', message: 'date must be YYYY-MM-DD (or a date-time) from 1900 on' });
        else if (date.getTime() > now + 60_000) report({ row: line, field: 'date', code: 'date_in_future', message: 'the record date is in the future; a record is dated when it was collected' });
        const answers: Record<string, unknown> = {};
        // Cells that could not be read: the form's own checks below then skip them (their
        // "required" would only repeat the problem), but still run for every other cell.
        const unreadable = new Set<string>();
        layout.cols.forEach((col, i) => {
          if (!col || i >= record.length) return;
          const cell = cellToAnswer(col.def!, record[i]!);
          if (!cell.ok) {
            unreadable.add(col.header).add(col.field);
            return report({ row: line, field: col.header, code: 'wrong_type', message: cell.message });
          }
          if (col.type === 'likert') {
            if (cell.value !== null) ((answers[col.field] ??= {}) as Record<string, unknown>)[col.item!] = cell.value;
            else answers[col.field] ??= {};
          } else answers[col.field] = cell.value;
        });
        // Every problem of the row, not only the first kind found (docs/instruments.md, Imports).
        const result = validateSubmission(form, answers, { today });
        if (!result.ok) {
          for (const e of result.errors) if (!unreadable.has(e.field)) report({ row: line, field: e.field, code: e.code, message: e.message });
        } else if (errorCount === before) {
          if (JSON.stringify(result.data).includes('\\u0000')) report({ row: line, field: '', code: 'wrong_type', message: 'a cell contains a NUL character, which cannot be stored' });
          else accepted.push({ subject, date, data: result.data, measures: result.measures });
        }
        if (errorCount !== before) invalidRows++;
      }
    } catch (e) {
      if ((e as { tooLarge?: boolean }).tooLarge) throw fail('payload_too_large', `An import file holds at most ${MAX_IMPORT_BYTES / 1024 / 1024} MiB`);
      // Not UTF-8, or not CSV at all: the request's fault, named by line, before any row was written.
      throw csvInputError(e, parser.info.lines) ?? e;
    } finally {
      body.unpipe(parser);
      body.resume(); // drain whatever is left so the connection can answer
    }
    if (!layout && !fatal) fatal = 'The file is empty: it needs at least the header row of the template';
    return { errors, errorCount, accepted, rows, invalidRows, fatal };
  }

  /** Writes checked rows: subjects created as needed, one ended retrospective session per subject, records in chunks. */
  async write(ctx: AuthContext, workspaceId: string, form: FormInstrument, accepted: AcceptedRow[], source: 'import' | 'demo') {
    const importId = newId();
    const now = this.clock.now();
    const actor = byActor(ctx);
    // Subjects and their import sessions first: one retrospective session per subject, already ended.
    const identifiers = [...new Set(accepted.map((r) => r.subject))];
    const subjectIds = new Map<string, string>();
    const sessionIds = new Map<string, string>();
    const firstDate = new Map<string, Date>();
    for (const r of accepted) if (!firstDate.has(r.subject) || r.date < firstDate.get(r.subject)!) firstDate.set(r.subject, r.date);
    let subjectsCreated = 0;
    for (let i = 0; i < identifiers.length; i += CHUNK) {
      const ids = identifiers.slice(i, i + CHUNK);
      await this.db.transaction().execute(async (trx) => {
        const known = new Map((await datahubStore.subjectsByIdentifiers(trx, workspaceId, ids)).map((s) => [s.identifier, s.id]));
        const fresh: SubjectsTable[] = ids.filter((ident) => !known.has(ident)).map((ident) => ({ id: newId(), workspace_id: workspaceId, identifier: ident, identifier_kind: DERIVED_ID_RE.test(ident) ? 'derived' : 'custom', date_of_birth: null, sex: null, created_at: now }));
        const inserted = await datahubStore.insertSubjects(trx, fresh);
        for (const s of inserted) known.set(s.identifier, s.id);
        subjectsCreated += inserted.length;
        // Someone else may have registered one of them meanwhile: read those back.
        const missing = ids.filter((ident) => !known.has(ident));
        if (missing.length) for (const s of await datahubStore.subjectsByIdentifiers(trx, workspaceId, missing)) known.set(s.identifier, s.id);
        const sessions: SessionsTable[] = ids.map((ident) => ({ id: newId(), workspace_id: workspaceId, subject_id: known.get(ident)!, kind: 'retrospective', date: firstDate.get(ident)!, started_at: now, ended_at: now, ...actor }));
        ids.forEach((ident, k) => {
          subjectIds.set(ident, known.get(ident)!);
          sessionIds.set(ident, sessions[k]!.id);
        });
        await datahubStore.insertSessions(trx, sessions);
        const entry: AppendInput = {
          type: 'subject.imported',
          stream: `import:${importId}`,
          data: {
            importId,
            workspaceId,
            subjects: inserted.map((x) => ({ subjectId: x.id, identifier: x.identifier, identifierKind: DERIVED_ID_RE.test(x.identifier) ? 'derived' : 'custom' })),
            sessions: sessions.map((x) => ({ sessionId: x.id, subjectId: x.subject_id, kind: 'retrospective', date: x.date.toISOString(), endedAt: now.toISOString() })),
          },
        };
        await this.ledger.append(ctx, this.ledger.prepare(ctx, [entry], { allowSystemTypes: true }), { db: trx });
      });
    }
    // One ledger entry per chunk of records (in the import's stream), not one per record: an
    // import is one action, and 100,000 single-entry streams would cost 100,000 stream heads and
    // locks for nothing. The entry carries every record's full data, so it is just as tamper-evident;
    // a record's later edits and deletion go to its own stream as usual.
    for (let i = 0; i < accepted.length; ) {
      const items: Record<string, unknown>[] = [];
      let bytes = 0;
      for (; i < accepted.length && items.length < CHUNK && bytes < MAX_ENTRY_BYTES; i++) {
        const r = accepted[i]!;
        const item = { recordId: newId(), subjectId: subjectIds.get(r.subject)!, sessionId: sessionIds.get(r.subject)!, date: r.date.toISOString(), data: r.data, measures: r.measures };
        bytes += JSON.stringify(item).length + 16;
        items.push(item);
      }
      const entries = this.ledger.prepare(ctx, [{ type: 'record.imported', stream: `import:${importId}`, data: { importId, workspaceId, instrument: { name: form.name, edition: form.edition }, records: items } }], { allowSystemTypes: true });
      // The records projection inserts the chunk's rows from the entry, in the append's transaction.
      await this.ledger.append(ctx, entries);
    }
    await this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type: 'datahub.imported', stream: `import:${importId}`, data: { importId, workspaceId, source, instrument: { name: form.name, edition: form.edition }, records: accepted.length, subjectsCreated } }], { allowSystemTypes: true }));
    return { importId, subjectsCreated };
  }
}
