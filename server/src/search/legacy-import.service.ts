import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { JsonValue, RegistrationImportReport, RegistrationImportRowError, RegistrationTypeDocument } from '@cairn/sdk';
import type { Database } from '../database/database.js';
import type { AuthContext } from '../kernel/access.js';
import { authorize } from '../policies/policies.js';
import type { Clock } from '../kernel/clock.js';
import { AppError, fail } from '../kernel/errors.js';
import { isUuid, newId } from '../kernel/ids.js';
import { csvUploadRecords } from '../kernel/request-text.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import { entryType, type EntryData } from '../registrations/registrations.fold.js';
import { newTrackingId, type RegistrationsService } from '../registrations/registrations.service.js';
import { fold } from './linkage/strings.js';
import { fieldKinds, formFields } from './search.index.js';
import type { Found } from './search.matching.js';
import type { SearchService } from './search.service.js';
import { searchStore } from './search.store.js';

/** Rows written per transaction: one ledger append, one candidate query, one projection pass. */
const BATCH = 1000;
/**
 * Batches written at once, each in its own transaction. A batch's write is JavaScript (entries,
 * projections' rows) and PostgreSQL (the statements) taking turns; two at once keep both busy.
 */
const WRITERS = 2;
export const MAX_IMPORT_ROWS = 1_000_000;
export const MAX_IMPORT_BYTES = 1024 * 1024 * 1024;
/** Refused and duplicate rows listed in the report (their counts are always exact). */
const MAX_LISTED = 10_000;
/** A row that passed validation, with the registration id it will get. */
interface Checked {
  row: Row;
  id: string;
  legacyId: string | null;
  fields: Partial<EntryData>;
}

/**
 * Adds each phase's elapsed seconds to the report. Phases of several batches overlap (one is
 * checked while two others are written), so the phases can add up to more than the import took.
 */
function phaseTimer(report: RegistrationImportReport): (phase: keyof RegistrationImportReport['seconds']) => void {
  let t = performance.now();
  return (phase) => {
    const now = performance.now();
    report.seconds[phase] = Math.round((report.seconds[phase] + (now - t) / 1000) * 1000) / 1000;
    t = now;
  };
}

/** Kinds a CSV cell can carry; documents, signatures and addresses cannot. */
const CELL_KINDS = new Set(['text', 'number', 'boolean', 'date', 'multiselect', 'personName', 'nationalId', 'phone', 'email', 'location']);

interface Place {
  id: string;
  kind: string;
  path: string;
}

/** A column of the file: its field, the field's kind, and for a field with options how a cell names one. */
interface Column {
  field: string;
  kind: string;
  choose?: (cell: string) => string;
}

interface Row {
  row: number;
  line: number;
  cells: string[];
}

/**
 * Importing a legacy register (issue 13): a CSV whose header names the type's field ids (and an
 * optional `legacyId`), one registration per row, declared (or notified) by the caller as if each
 * row went through POST /registrations, de-duplicated against the register and against the rows
 * before it. Streams: rows are read, checked and written a batch at a time, and the upload waits
 * while a batch is written.
 */
export class LegacyImportService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly ledger: LedgerService,
    private readonly registrations: RegistrationsService,
    private readonly search: SearchService,
    private readonly clock: Clock,
  ) {}

  async importCsv(ctx: AuthContext, q: { type: string; action: string }, body: Readable): Promise<RegistrationImportReport> {
    const c = await this.registrations.caller(ctx);
    if (q.action !== 'declare' && q.action !== 'notify') throw fail('validation_failed', 'An import declares or notifies', [{ pointer: '/action', message: 'must be declare or notify' }]);
    const action = q.action;
    authorize(ctx, action, { kind: 'registration', caller: { role: c.role, reach: c.reach }, officePath: c.officePath });
    const type = await this.registrations.typeDocument(q.type).catch((e: unknown) => {
      if (e instanceof AppError && e.code === 'not_found') throw fail('validation_failed', `No registration type "${q.type}"`, [{ pointer: '/type', message: 'unknown type' }]);
      throw e;
    });
    const doc = type.document;
    const roles = (doc.actions as Record<string, { roles?: string[] } | undefined> | undefined)?.[action]?.roles;
    if (roles && !roles.includes(c.role)) throw fail('forbidden', `This type lets only ${roles.join(', ')} ${action}`);
    // A hook must answer for each row before it is recorded; an import would call it 100,000 times.
    if (doc.hooks?.[action]) throw fail('action_not_allowed', `This type calls an external system on ${action}; send these registrations one by one through POST /api/v1/registrations`);
    const kinds = fieldKinds(doc);
    const choices = optionChoosers(doc);
    const report: RegistrationImportReport = { type: q.type, action, rows: 0, created: 0, refusedCount: 0, duplicatesCount: 0, alreadyImported: 0, refused: [], duplicates: [], truncated: false, seconds: { validate: 0, lookups: 0, deduplicate: 0, write: 0 } };
    let columns: Column[] | null = null;
    let places: Map<string, Place> | null = null;
    let byName: Map<string, Place[]> | null = null;
    const seenLegacy = new Map<string, number>();
    let batch: Row[] = [];
    // Pipelined: a batch is checked (validation, legacy ids, de-duplication in a worker thread)
    // while the ones before it are written, up to WRITERS at once, so the threads and PostgreSQL
    // work together instead of taking turns. Batches being written are not in the index yet: the
    // check also compares with them in memory.
    const writing: Array<Promise<void>> = [];
    const checker = this.search.importChecker(doc.id, type.version, WRITERS);
    const flush = async () => {
      if (!batch.length) return;
      const rows = batch;
      batch = [];
      const checked = await this.checkBatch(doc, action, columns!, rows, { places: places!, byName: byName!, seenLegacy }, report, checker);
      if (writing.length >= WRITERS) await writing.shift();
      const w = this.commitBatch(ctx, c, doc, type.version, action, checked.fresh, checked.found, report);
      // Awaited by a later flush or at the end; until then a failure must not count as unhandled.
      w.catch(() => {});
      writing.push(w);
    };
    try {
      for await (const { record, line } of csvUploadRecords(body, MAX_IMPORT_BYTES, `An import file holds at most ${MAX_IMPORT_BYTES / 1024 / 1024} MiB`)) {
        if (!columns) {
          columns = this.header(record, kinds).map((col) => ({ ...col, choose: choices.get(col.field) }));
          if (columns.some((col) => col.kind === 'location')) ({ places, byName } = await this.loadPlaces());
          else ({ places, byName } = { places: new Map(), byName: new Map() });
          continue;
        }
        if (report.rows >= MAX_IMPORT_ROWS) throw fail('payload_too_large', `An import holds at most ${MAX_IMPORT_ROWS} rows; split the file (rows up to here were imported: ${report.created})`);
        report.rows++;
        batch.push({ row: report.rows, line, cells: record });
        if (batch.length >= BATCH) await flush();
      }
      await flush();
      for (const w of writing.splice(0)) await w;
    } catch (e) {
      // The batches being written finish (or fail) before the caller hears of the error.
      await Promise.allSettled(writing);
      throw e;
    } finally {
      checker.close();
    }
    // Batches written at once finish in any order: the report lists rows in file order.
    report.duplicates.sort((a, b) => a.row - b.row);
    if (!columns) throw fail('invalid_import', 'The file is empty: its first row must name the columns (the type’s field ids, and legacyId)', { errors: [] });
    return report;
  }

  /** The header: every column a field of the type (a kind a cell can hold) or legacyId, once. */
  private header(record: string[], kinds: Map<string, string>): Array<{ field: string; kind: string }> {
    const errors: RegistrationImportRowError[] = [];
    const seen = new Set<string>();
    const columns = record.map((raw, i) => {
      const field = raw.trim();
      const at = `/header/${i}`;
      const kind = field === 'legacyId' ? 'legacyId' : kinds.get(field);
      if (!kind) errors.push({ field, pointer: at, code: 'unknown_field', message: `"${field.slice(0, 100)}" is not a field of this type` });
      else if (kind !== 'legacyId' && !CELL_KINDS.has(kind)) errors.push({ field, pointer: at, code: 'unsupported_field', message: `a ${kind} field cannot be imported from CSV` });
      else if (seen.has(field)) errors.push({ field, pointer: at, code: 'duplicate_column', message: `column ${field} appears twice` });
      seen.add(field);
      return { field, kind: kind ?? 'unknown' };
    });
    if (errors.length) throw fail('invalid_import', 'The header row must name fields of the type (and legacyId); nothing was imported', { errors });
    return columns;
  }

  /** Areas and offices, by id and by name or external id (folded), for cells that name a place. */
  private async loadPlaces(): Promise<{ places: Map<string, Place>; byName: Map<string, Place[]> }> {
    const rows = await searchStore.places(this.db);
    const places = new Map<string, Place>();
    const byName = new Map<string, Place[]>();
    const add = (k: string, p: Place) => {
      const list = byName.get(k) ?? [];
      if (!list.includes(p)) list.push(p);
      byName.set(k, list);
    };
    for (const r of rows) {
      const p = { id: r.id, kind: r.kind, path: r.path };
      places.set(r.id, p);
      add(fold(r.name), p);
      if (r.external_id) add(`#${r.external_id.toUpperCase()}`, p);
    }
    return { places, byName };
  }

  /** Validation, legacy ids already imported, de-duplication: everything before the write. */
  private async checkBatch(
    doc: RegistrationTypeDocument,
    action: 'declare' | 'notify',
    columns: Column[],
    rows: Row[],
    lookups: { places: Map<string, Place>; byName: Map<string, Place[]>; seenLegacy: Map<string, number> },
    report: RegistrationImportReport,
    checker: ReturnType<SearchService['importChecker']>,
  ): Promise<{ fresh: Checked[]; found: Found[] }> {
    const refuse = (r: Row, legacyId: string | null, errors: RegistrationImportRowError[]) => {
      report.refusedCount++;
      if (report.refused.length < MAX_LISTED) report.refused.push({ row: r.row, line: r.line, legacyId, errors: errors.slice(0, 50) });
      else report.truncated = true;
    };
    const lap = phaseTimer(report);
    const now = this.clock.now();
    const valid: Checked[] = [];
    for (const r of rows) {
      const data: Record<string, JsonValue> = {};
      const errors: RegistrationImportRowError[] = [];
      columns.forEach((col, i) => {
        const v = (r.cells[i] ?? '').trim();
        if (!v) return;
        const pointer = `/${col.field.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if (col.kind === 'location') {
          const p = resolvePlace(v, lookups.places, lookups.byName);
          if (typeof p === 'string') errors.push({ field: col.field, pointer, code: p === 'ambiguous' ? 'ambiguous_location' : 'unknown_location', message: p === 'ambiguous' ? `several locations are called "${v.slice(0, 100)}"; give its id` : `no location has the id or name "${v.slice(0, 100)}"` });
          else data[col.field] = p.id;
        } else data[col.field] = cell(col.kind, v, col.choose);
      });
      const legacyId = typeof data.legacyId === 'string' ? data.legacyId : null;
      if (legacyId !== null) {
        const before = lookups.seenLegacy.get(legacyId);
        if (before !== undefined) errors.push({ field: 'legacyId', pointer: '/legacyId', code: 'duplicate_legacy_id', message: `legacyId ${legacyId.slice(0, 100)} is already on row ${before}` });
        else lookups.seenLegacy.set(legacyId, r.row);
      }
      let fields: Partial<EntryData> | null = null;
      try {
        const checked = await this.registrations.checkData(doc, data, action === 'declare' ? 'complete' : 'notify', lookups.places);
        fields = { ...this.registrations.dataFields(doc, checked, now), ...(action === 'notify' && checked.missing.length ? { missing: checked.missing } : {}) };
      } catch (e) {
        if (!(e instanceof AppError) || e.code !== 'invalid_registration_data') throw e;
        // A cell already refused here (an unknown place) is not also "required".
        const own = new Set(errors.map((x) => x.field));
        errors.push(...((e.details as { errors?: RegistrationImportRowError[] } | undefined)?.errors ?? []).filter((x) => !own.has(x.field)));
      }
      if (errors.length || !fields) refuse(r, legacyId, errors);
      else valid.push({ row: r, id: newId(), legacyId, fields });
    }
    // A file imported again (after an interruption): rows whose legacyId the register already holds are skipped.
    lap('validate');
    const taken = new Set(await searchStore.legacyIdsTaken(this.db, doc.id, valid.flatMap((v) => (v.legacyId ? [v.legacyId] : []))));
    const fresh = valid.filter((v) => !v.legacyId || !taken.has(v.legacyId));
    report.alreadyImported += valid.length - fresh.length;
    lap('lookups');
    if (!fresh.length || action !== 'declare') return { fresh, found: fresh.map(() => ({ matches: [] })) };
    // The batches before this one may still be being written: the checker's memory holds them (checkBatch).
    const found = await checker.check(fresh.map((v) => ({ id: v.id, data: v.fields.data ?? {} })), 'declare');
    lap('deduplicate');
    return { fresh, found };
  }

  /** One transaction: the batch's entries (and duplicate-detected actions) through the ledger, then the report's lines. */
  private async commitBatch(
    ctx: AuthContext,
    c: Awaited<ReturnType<RegistrationsService['caller']>>,
    doc: RegistrationTypeDocument,
    version: number,
    action: 'declare' | 'notify',
    fresh: Checked[],
    found: Found[],
    report: RegistrationImportReport,
  ): Promise<void> {
    if (!fresh.length) return;
    const lap = phaseTimer(report);
    const now = this.clock.now();
    for (let attempt = 0; ; attempt++) {
      const tracking = await this.trackingIds(fresh.length);
      const entries = fresh.flatMap((v, i) => {
        const base = { registrationId: v.id, actorRole: c.role, actorOfficeId: c.officeId };
        const out: Array<{ type: string; stream: string; data: Record<string, unknown>; occurredAt: Date }> = [
          { type: entryType(action), stream: `registration:${v.id}`, occurredAt: now, data: { ...base, ...v.fields, create: { trackingId: tracking[i]!, type: doc.id, typeVersion: version, officeId: c.officeId, officePath: c.officePath } } },
        ];
        const dup = found[i]!;
        if (dup.matches.length) out.push({ type: entryType('duplicate-detected'), stream: `registration:${v.id}`, occurredAt: now, data: { ...base, matches: dup.matches, details: dup.details ?? {} } });
        return out;
      });
      try {
        // The registrations and search projections are inline: they fold these entries in this transaction.
        await this.db.transaction().execute((trx) => this.ledger.append(ctx, this.ledger.prepare(ctx, entries, { allowSystemTypes: true }), { db: trx }));
        this.ledger.notifyAppended();
        break;
      } catch (e) {
        // Tracking IDs drawn between the check and the write by someone else: draw again.
        if (attempt < 3 && (e as { constraint?: string }).constraint === 'registrations_tracking_id_key') continue;
        throw e;
      }
    }
    lap('write');
    report.created += fresh.length;
    const matched = [...new Set(found.flatMap((f) => f.matches))];
    if (!matched.length) return;
    const refs = new Map((await searchStore.hits(this.db, matched)).map((h) => [h.id, h]));
    const mine = new Map((await searchStore.hits(this.db, fresh.filter((_, i) => found[i]!.matches.length).map((v) => v.id))).map((h) => [h.id, h]));
    fresh.forEach((v, i) => {
      const f = found[i]!;
      if (!f.matches.length) return;
      report.duplicatesCount++;
      if (report.duplicates.length >= MAX_LISTED) {
        report.truncated = true;
        return;
      }
      const scores = (f.details?.scores ?? {}) as Record<string, { probability?: number }>;
      report.duplicates.push({
        row: v.row.row,
        id: v.id,
        trackingId: mine.get(v.id)?.tracking_id ?? '',
        legacyId: v.legacyId,
        matches: f.matches.map((m) => ({ id: m, trackingId: refs.get(m)?.tracking_id ?? '', legacyId: refs.get(m)?.legacy_id ?? null, score: scores[m]?.probability ?? null })),
      });
    });
  }

  /** Fresh tracking IDs, none already taken. */
  private async trackingIds(n: number): Promise<string[]> {
    const ids = new Set<string>();
    while (ids.size < n) {
      const draw = Array.from({ length: n - ids.size }, newTrackingId).filter((t) => !ids.has(t));
    const taken = new Set(await searchStore.trackingIdsTaken(this.db, draw));
      for (const t of draw) if (!taken.has(t)) ids.add(t);
    }
    return [...ids];
  }
}

/**
 * For each field with options, how a cell names one: its value or any of its labels, in any
 * language, case and accents aside ("F", "female", "Féminin"), or one letter that begins the value
 * or a label of that option alone (paper registers write M and F). Anything else is left as it is,
 * for validation to refuse (`not_an_option`).
 */
function optionChoosers(doc: RegistrationTypeDocument): Map<string, (cell: string) => string> {
  const out = new Map<string, (cell: string) => string>();
  for (const [name, item] of formFields(doc)) {
    const options = item.options as Array<{ value: unknown; label?: unknown }> | undefined;
    if (Array.isArray(options) && options.length) out.set(name, chooser(options));
  }
  return out;
}

function chooser(options: Array<{ value: unknown; label?: unknown }>): (cell: string) => string {
  const names = new Map<string, string>();
  const initials = new Map<string, Set<string>>();
  for (const o of options) {
    if (typeof o.value !== 'string') continue;
    const labels = typeof o.label === 'string' ? [o.label] : o.label && typeof o.label === 'object' ? Object.values(o.label as Record<string, unknown>).filter((l): l is string => typeof l === 'string') : [];
    for (const name of [o.value, ...labels].map(fold).filter(Boolean)) {
      if (!names.has(name)) names.set(name, o.value);
      const first = name[0]!;
      initials.set(first, (initials.get(first) ?? new Set()).add(o.value));
    }
  }
  return (v) => {
    const f = fold(v);
    const named = names.get(f);
    if (named !== undefined) return named;
    const by = f.length === 1 ? initials.get(f) : undefined;
    return by?.size === 1 ? [...by][0]! : v;
  };
}

/** A cell's text as the field's answer: numbers, yes/no, lists split on "|", an age for a date given as one, an option by its name. */
function cell(kind: string, v: string, choose?: (cell: string) => string): JsonValue {
  if (choose && kind !== 'multiselect') return choose(v);
  switch (kind) {
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
    case 'boolean':
      return /^(true|yes|1|oui|vrai)$/i.test(v) ? true : /^(false|no|0|non|faux)$/i.test(v) ? false : v;
    case 'multiselect':
      return v.split('|').map((x) => x.trim()).filter(Boolean).map((x) => (choose ? choose(x) : x));
    case 'date':
      // Paper registers often give a parent's age, not a date of birth.
      return /^\d{1,3}$/.test(v) ? { age: Number(v) } : v;
    default:
      return v;
  }
}

/** A place by id, by external id, or by name (accents and case ignored); a name two places share is ambiguous. */
function resolvePlace(v: string, places: Map<string, Place>, byName: Map<string, Place[]>): Place | 'unknown' | 'ambiguous' {
  if (isUuid(v)) return places.get(v.toLowerCase()) ?? 'unknown';
  const byExternal = byName.get(`#${v.toUpperCase()}`);
  if (byExternal?.length === 1) return byExternal[0]!;
  const named = byName.get(fold(v));
  if (!named?.length) return byExternal?.length ? 'ambiguous' : 'unknown';
  return named.length === 1 ? named[0]! : 'ambiguous';
}
