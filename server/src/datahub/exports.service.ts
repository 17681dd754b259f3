import { PassThrough, Transform, type Readable } from 'node:stream';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Db } from '../database/database.js';
import { fail } from '../kernel/errors.js';
import type { AuthContext } from '../kernel/access.js';
import { isUuid } from '../kernel/ids.js';
import { isValidDate } from '@cairn/sdk/instruments';
import { datahubStore } from './datahub.store.js';
import type { InstrumentsService } from '../instruments/instruments.service.js';
import { NAME_RE } from '../instruments/instruments.service.js';
import { instrumentsStore } from '../instruments/instruments.store.js';
import type { FormInstrument } from '@cairn/sdk/instruments';
import { unionColumns, answerToCell, type Column } from './datahub.columns.js';
import type { SubjectsService } from './subjects.service.js';
import type { WorkspacesService } from '../workspaces/workspaces.service.js';

export const EXPORT_FORMATS = ['csv', 'tsv', 'xlsx', 'json'] as const;
export const EXPORT_SHAPES = ['wide', 'long'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export type ExportShape = (typeof EXPORT_SHAPES)[number];

export interface ExportRequest {
  format: ExportFormat;
  shape: ExportShape;
  instrument?: string;
  edition?: number;
  /** Records captured on or after this date (YYYY-MM-DD, UTC). */
  from?: string;
  /** Records captured on or before this date (YYYY-MM-DD, UTC), inclusive. */
  to?: string;
  /** Subject ids of the workspace, each possibly comma-separated (a query string's repeated or comma form); at most 1,000. */
  subjects?: string[];
}

export const MAX_EXPORT_SUBJECTS = 1000;

export interface ExportStream {
  stream: Readable;
  contentType: string;
  filename: string;
}

/** SQL literal for COPY, which takes no bind parameters. Inputs are validated before they get here. */
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
const ISO = `to_char(r.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;
const FIXED = ['record_id', 'subject', 'session_id', 'date', 'instrument', 'edition'];

/**
 * One column's value: text for CSV/TSV/Excel (`->>`), or the stored jsonb for JSON (`->`), so a
 * number stays a number, a boolean a boolean and a multiselect an array there.
 */
function columnSql(c: Column, json = false): string {
  const f = `r.data->${lit(c.field)}`;
  if (json) {
    switch (c.type) {
      case 'likert':
        return `${f}->${lit(c.item!)}`;
      case 'measure':
        return `r.measures->${lit(c.measure!)}`;
      default:
        return f;
    }
  }
  switch (c.type) {
    case 'likert':
      return `${f}->>${lit(c.item!)}`;
    case 'multiselect':
      return `CASE WHEN jsonb_typeof(${f}) = 'array' THEN array_to_string(ARRAY(SELECT jsonb_array_elements_text(${f})), ';') END`;
    case 'measure':
      return `r.measures->>${lit(c.measure!)}`;
    default:
      return `r.data->>${lit(c.field)}`;
  }
}

/**
 * COPY sends one message per row; writing each to the socket separately costs a syscall and a
 * stream callback per row. Batching into ~64 KiB chunks keeps the relay cheap (and still bounded).
 */
function coalesce(size = 64 * 1024): Transform {
  let parts: Buffer[] = [];
  let length = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      parts.push(chunk);
      length += chunk.length;
      if (length < size) return cb();
      const out = Buffer.concat(parts, length);
      parts = [];
      length = 0;
      cb(null, out);
    },
    flush(cb) {
      cb(null, length ? Buffer.concat(parts, length) : undefined);
    },
  });
}

/** Joins COPY's one-JSON-value-per-line output into a JSON array, byte-exactly, in constant memory. */
function jsonArray(): Transform {
  let started = false;
  let held = '';
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      // latin1 round-trips bytes unchanged, and "\n" (0x0A) never occurs inside a UTF-8 sequence.
      const text = held + chunk.toString('latin1');
      held = text.slice(-1);
      const body = text.slice(0, -1).replace(/\n/g, ',\n');
      cb(null, Buffer.from((started ? '' : '[\n') + body, 'latin1'));
      started = true;
    },
    flush(cb) {
      cb(null, Buffer.from((started ? '' : '[') + (held === '\n' ? '\n' : held) + ']\n', 'latin1'));
    },
  });
}

/**
 * Streamed exports. CSV, TSV and JSON are produced by PostgreSQL itself (COPY ... TO STDOUT)
 * and piped to the response with backpressure, so the server holds one socket buffer whatever
 * the size; Excel rows come from a server-side cursor in batches into exceljs's streaming writer.
 */
export class ExportsService {
  constructor(
    private readonly db: Db,
    private readonly pool: pg.Pool,
    private readonly subjects: SubjectsService,
    private readonly workspaces: WorkspacesService,
    private readonly instruments: InstrumentsService,
  ) {}

  async forWorkspace(ctx: AuthContext, workspaceId: string, req: ExportRequest): Promise<ExportStream> {
    await this.workspaces.requireRole(ctx, workspaceId, 'viewer');
    return this.build({ workspaceId }, req, 'workspace');
  }

  async forSubject(ctx: AuthContext, subjectId: string, req: ExportRequest): Promise<ExportStream> {
    const s = await this.subjects.subjectFor(ctx, subjectId, 'viewer');
    return this.build({ workspaceId: s.workspace_id, subjectId: s.id }, req, `subject-${s.identifier.slice(0, 16).replace(/[^A-Za-z0-9._-]/g, '_')}`);
  }

  private async forms(name: string, edition?: number): Promise<FormInstrument[]> {
    if (!NAME_RE.test(name)) throw fail('not_found', 'No such instrument');
    const rows = await instrumentsStore.editionKinds(this.db, name);
    const editions = rows.filter((r) => edition === undefined || r.edition === edition);
    if (!editions.length) throw fail('not_found', 'No such instrument edition');
    if (editions[0]!.kind !== 'form') throw fail('validation_failed', `${name} is a series; export each of its forms`, [{ in: 'querystring', pointer: '/instrument', message: 'a series has no records' }]);
    return Promise.all(editions.map(async (e) => (await this.instruments.definition(name, e.edition)) as FormInstrument));
  }

  private async build(scope: { workspaceId: string; subjectId?: string }, req: ExportRequest, label: string): Promise<ExportStream> {
    if (req.instrument === undefined && req.edition !== undefined) throw fail('validation_failed', 'edition needs instrument', [{ in: 'querystring', pointer: '/edition', message: 'needs instrument' }]);
    if (req.shape === 'wide' && req.format !== 'json' && req.instrument === undefined) {
      throw fail('validation_failed', 'A wide table has one column per field, so it needs an instrument (or use the long shape, or JSON)', [{ in: 'querystring', pointer: '/instrument', message: 'required for wide tables' }]);
    }
    const forms = req.instrument !== undefined ? await this.forms(req.instrument, req.edition) : [];
    if (!isUuid(scope.workspaceId) || (scope.subjectId && !isUuid(scope.subjectId))) throw fail('not_found', 'No such workspace');
    const filters = await this.filters(scope, req);
    const where = [`r.workspace_id = ${lit(scope.workspaceId)}`, 'r.deleted_at IS NULL', ...filters];
    if (scope.subjectId) where.push(`r.subject_id = ${lit(scope.subjectId)}`);
    if (req.instrument !== undefined) where.push(`r.instrument_name = ${lit(req.instrument)}`);
    if (req.edition !== undefined) where.push(`r.instrument_edition = ${Number(req.edition)}`);
    const from = `FROM records r JOIN subjects s ON s.id = r.subject_id WHERE ${where.join(' AND ')}`;
    const order = req.instrument !== undefined ? 'ORDER BY r.instrument_edition, r.date, r.id' : 'ORDER BY r.date, r.id';
    const fixed = `r.id AS record_id, s.identifier AS subject, r.session_id, ${ISO} AS date, r.instrument_name AS instrument, r.instrument_edition AS edition`;
    const columns = req.shape === 'wide' ? unionColumns(forms, true) : [];
    const base = `${[label, req.instrument, req.edition !== undefined ? `e${req.edition}` : undefined, req.shape].filter(Boolean).join('-')}`;

    const json = req.format === 'json';
    let select: string;
    if (req.shape === 'wide') {
      select = `SELECT ${fixed}${columns.map((c) => `, ${columnSql(c, json)} AS ${ident(c.header)}`).join('')} ${from} ${order}`;
    } else if (forms.length) {
      // Long, one instrument: every column of the wide table (fields, then measures) as a row, in definition order.
      const cols = unionColumns(forms, true);
      const kinds = cols.map((c) => lit(c.type === 'measure' ? 'measure' : 'field')).join(',');
      const names = cols.map((c) => lit(c.header.startsWith('measure:') ? c.measure! : c.header)).join(',');
      const values = `CASE v.i ${cols.map((c, i) => `WHEN ${i + 1} THEN ${columnSql(c, json)}`).join(' ')} END`;
      select = `SELECT ${fixed}, v.kind, v.name, ${values} AS value ${from.replace('WHERE', `CROSS JOIN unnest(ARRAY[${kinds || "''"}]::text[], ARRAY[${names || "''"}]::text[]) WITH ORDINALITY AS v(kind, name, i) WHERE ${cols.length ? '' : 'false AND '}`)} ${order}, v.i`;
    } else {
      // Long, any instruments: top-level answers and measures as stored.
      const fixed0 = `r0.id AS record_id, r0.identifier AS subject, r0.session_id, ${ISO.replace('r.date', 'r0.date')} AS date, r0.instrument_name AS instrument, r0.instrument_edition AS edition`;
      select = `SELECT ${fixed0}, v.kind, v.name, v.value FROM (SELECT r.*, s.identifier ${from}) r0
        CROSS JOIN LATERAL (SELECT 'field' AS kind, key AS name, ${json ? 'value' : `CASE WHEN jsonb_typeof(value) IN ('object', 'array') THEN value::text ELSE value #>> '{}' END`} AS value, 1 AS o FROM jsonb_each(r0.data)
                            UNION ALL SELECT 'measure', key, ${json ? 'value' : `value #>> '{}'`}, 2 FROM jsonb_each(r0.measures)) v
        ORDER BY r0.date, r0.id, v.o, v.name`;
    }

    if (req.format === 'csv' || req.format === 'tsv') {
      const delimiter = req.format === 'tsv' ? ", DELIMITER E'\\t'" : '';
      return { stream: await this.copy(`COPY (${select}) TO STDOUT WITH (FORMAT csv, HEADER true${delimiter})`), contentType: req.format === 'csv' ? 'text/csv; charset=utf-8' : 'text/tab-separated-values; charset=utf-8', filename: `${base}.${req.format}` };
    }
    if (req.format === 'json') {
      const object = req.shape === 'wide' && !forms.length
        ? `SELECT json_build_object('recordId', r.id, 'subject', s.identifier, 'sessionId', r.session_id, 'date', ${ISO}, 'instrument', r.instrument_name, 'edition', r.instrument_edition, 'data', r.data, 'measures', r.measures)::text ${from} ${order}`
        : `SELECT row_to_json(t)::text FROM (${select}) t`;
      // CSV mode with a quote and a delimiter that never occur in JSON text (control characters are
      // always escaped there) writes each value raw: no COPY text-format backslash doubling.
      const stream = await this.copy(`COPY (${object}) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')`);
      return { stream: stream.pipe(jsonArray()), contentType: 'application/json; charset=utf-8', filename: `${base}.json` };
    }
    return { stream: await this.excel(select, req.shape === 'wide' ? columns : undefined), contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', filename: `${base}.xlsx` };
  }

  /**
   * The date range and the subjects as SQL conditions, checked first (COPY takes no bind
   * parameters: only validated dates and uuids reach the text, quoted anyway). Dates are whole UTC
   * days, both ends included, as the export's `date` column is written. Subject ids the workspace
   * does not have are refused, missing and elsewhere alike, so the answer says nothing about
   * other workspaces.
   */
  private async filters(scope: { workspaceId: string; subjectId?: string }, req: ExportRequest): Promise<string[]> {
    const out: string[] = [];
    for (const key of ['from', 'to'] as const) {
      const d = req[key];
      if (d !== undefined && !isValidDate(d)) throw fail('validation_failed', `${key} must be a real date YYYY-MM-DD`, [{ in: 'querystring', pointer: `/${key}`, message: 'must be a date YYYY-MM-DD' }]);
    }
    if (req.from !== undefined && req.to !== undefined && req.from > req.to) {
      throw fail('validation_failed', 'from is after to', [{ in: 'querystring', pointer: '/to', message: 'must be on or after from' }]);
    }
    if (req.from !== undefined) out.push(`r.date >= (DATE ${lit(req.from)}::timestamp AT TIME ZONE 'UTC')`);
    if (req.to !== undefined) out.push(`r.date < ((DATE ${lit(req.to)} + 1)::timestamp AT TIME ZONE 'UTC')`);
    if (req.subjects === undefined) return out;
    const ids = req.subjects.flatMap((s) => s.split(',')).map((s) => s.trim());
    if (scope.subjectId) throw fail('validation_failed', "A subject's export cannot choose subjects", [{ in: 'querystring', pointer: '/subjects', message: 'only for workspace exports' }]);
    if (ids.length > MAX_EXPORT_SUBJECTS) throw fail('validation_failed', `At most ${MAX_EXPORT_SUBJECTS} subjects`, [{ in: 'querystring', pointer: '/subjects', message: `at most ${MAX_EXPORT_SUBJECTS} ids` }]);
    const bad = ids.findIndex((id) => !isUuid(id));
    if (bad >= 0) throw fail('validation_failed', 'subjects are subject ids (uuids)', [{ in: 'querystring', pointer: `/subjects/${bad}`, message: 'must be a subject id (uuid)' }]);
    const wanted = [...new Set(ids.map((id) => id.toLowerCase()))];
    if (!wanted.length) return out;
    const found = new Set(await datahubStore.subjectIdsIn(this.db, scope.workspaceId, wanted));
    const unknown = ids.map((id, i) => ({ id, i })).filter(({ id }) => !found.has(id.toLowerCase()));
    if (unknown.length) {
      throw fail('unknown_subject', `${unknown.length} of the subjects chosen are not subjects of this workspace`, unknown.slice(0, 100).map(({ i }) => ({ in: 'querystring', pointer: `/subjects/${i}`, message: 'no such subject in this workspace' })));
    }
    out.push(`r.subject_id = ANY(ARRAY[${wanted.map(lit).join(',')}]::uuid[])`);
    return out;
  }

  /** Runs COPY ... TO STDOUT on a dedicated connection, released (or discarded if cut short) at the end. */
  private async copy(statement: string): Promise<Readable> {
    const client = await this.pool.connect();
    let released = false;
    const release = (broken: boolean) => {
      if (released) return;
      released = true;
      client.release(broken ? new Error('export interrupted') : undefined);
    };
    const stream = client.query(copyTo(statement));
    stream.once('end', () => release(false));
    stream.once('error', () => release(true));
    stream.once('close', () => release(!stream.readableEnded));
    const out = coalesce();
    // A client that goes away destroys `out`; take the COPY down with it.
    out.once('close', () => {
      if (!stream.readableEnded) stream.destroy();
    });
    stream.once('error', (e) => out.destroy(e));
    return stream.pipe(out);
  }

  private async excel(select: string, wideColumns: Column[] | undefined): Promise<Readable> {
    // Loaded on first use: exceljs is the heaviest module in the server and most never need it.
    const { default: ExcelJS } = await import('exceljs');
    const client = await this.pool.connect();
    const out = new PassThrough();
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: false, useSharedStrings: false });
    const sheet = workbook.addWorksheet('records');
    const numeric = new Set((wideColumns ?? []).filter((c) => c.type === 'number' || c.type === 'likert').map((c) => c.header));
    const dates = new Set(['date', ...(wideColumns ?? []).filter((c) => c.type === 'date').map((c) => c.header)]);
    const run = async () => {
      let ok = false;
      try {
        await client.query('BEGIN READ ONLY');
        await client.query(`DECLARE export_cursor NO SCROLL CURSOR FOR ${select}`);
        let header: string[] | undefined;
        for (;;) {
          const res = await client.query({ text: 'FETCH 2000 FROM export_cursor', rowMode: 'array' });
          if (!header) {
            header = res.fields.map((f) => f.name);
            sheet.addRow(header).commit();
          }
          for (const row of res.rows as unknown[][]) {
            sheet.addRow(row.map((v, i) => cell(v, header![i]!, numeric, dates))).commit();
          }
          if (res.rows.length < 2000) break;
          // Let the response drain before reading more: memory stays flat whatever the size.
          if (out.writableNeedDrain || out.readableLength > 1 << 20) await new Promise<void>((r) => out.once('drain', () => r()));
        }
        await client.query('COMMIT');
        await sheet.commit();
        await workbook.commit();
        ok = true;
      } catch (e) {
        out.destroy(e as Error);
      } finally {
        client.release(ok ? undefined : new Error('export interrupted'));
      }
    };
    void run();
    return out;
  }
}

const EXCEL_DATE = /^\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\dZ)?$/;

function cell(v: unknown, header: string, numeric: Set<string>, dates: Set<string>): unknown {
  if (v === null || v === undefined) return null;
  if (header === 'edition') return Number(v);
  // A real date cell (Excel sorts, filters and formats it), in UTC like the other formats.
  if (typeof v === 'string' && dates.has(header) && EXCEL_DATE.test(v)) {
    const d = new Date(v.length === 10 ? `${v}T00:00:00Z` : v);
    if (!Number.isNaN(d.getTime())) return d;
  }
  if (typeof v === 'string' && numeric.has(header) && v !== '' && Number.isFinite(Number(v))) return Number(v);
  if (typeof v === 'string' && header.startsWith('measure:')) {
    if (v === 'true' || v === 'false') return v === 'true';
    if (/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v)) return Number(v);
  }
  if (typeof v === 'string' && (v === 'true' || v === 'false') && !FIXED.includes(header)) return v === 'true';
  return typeof v === 'object' ? answerToCell(v) : v;
}
