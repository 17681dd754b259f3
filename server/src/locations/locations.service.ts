import type { Readable } from 'node:stream';
import type { Location, LocationImportError, LocationImportResult } from '@cairn/sdk';
import type pg from 'pg';
import type { Db } from '../database/database.js';
import { fail } from '../kernel/errors.js';
import { csvUploadRecords } from '../kernel/request-text.js';
import { isUuid, newId } from '../kernel/ids.js';
import { requireScope, type AuthContext } from '../kernel/access.js';
import type { Clock } from '../kernel/clock.js';
import type { AppendInput, LedgerService } from '../ledger/ledger.service.js';
import { locationsStore, type LocationHit, type LocationKind, type StagedLocation } from './locations.store.js';

export const MAX_LOCATION_ROWS = 500_000;
export const MAX_LOCATION_IMPORT_BYTES = 128 * 1024 * 1024;
const MAX_REPORTED_ERRORS = 1000;
/** Keeps each ledger entry of changes well under the ledger's 1 MiB data limit. */
const MAX_ENTRY_CHARS = 500_000;
const CONTROL = /[\u0000-\u001f\u007f]/;

// The answers' shapes are the SDK's (declared once, in sdk/src/workspaces.ts).
export type { Location, LocationImportError, LocationImportResult };

interface Row {
  line: number;
  id: string;
  name: string;
  parentId: string | null;
  kind: LocationKind;
}

interface Node {
  id: string;
  ext: string;
  name: string;
  kind: LocationKind;
  parentExt: string | null;
  /** Line in the file, when the file mentions this location. */
  line: number | null;
  old: { name: string; kind: LocationKind; parentExt: string | null; path: string } | null;
  path?: string;
}

const HEADERS: Record<string, 'id' | 'name' | 'parentId' | 'type'> = { id: 'id', name: 'name', parentid: 'parentId', parent_id: 'parentId', parent: 'parentId', type: 'type', kind: 'type' };

const present = (h: LocationHit): Location => ({ id: h.id, name: h.name, kind: h.kind, externalId: h.external_id, parentId: h.parent_id, ancestors: h.ancestors });

/**
 * Civil registration's administrative hierarchy (country → province → district → office) is the
 * workspace tree: locations are workspaces with a kind (`area` or `office`) and the id the
 * country's own list gives them. This domain imports that list and searches it for pickers.
 * See docs/locations.md.
 */
export class LocationsService {
  constructor(
    private readonly db: Db,
    private readonly pool: pg.Pool,
    private readonly ledger: LedgerService,
    private readonly clock: Clock,
  ) {}

  /**
   * Creates or updates the tree from CSV (`id,name,parentId,type`), idempotently: locations are
   * matched on their id, parents may come after their children, and every row is checked
   * (against the file and the tree already stored) before anything is written. Any error: nothing
   * is written and all errors come back at once, with their lines.
   */
  async importCsv(ctx: AuthContext, body: Readable, opts: { dryRun?: boolean } = {}): Promise<LocationImportResult> {
    requireScope(ctx, 'workspaces:manage');
    const parsed = await parseLocationsCsv(body);
    const report = parsed.report;
    if (parsed.fatal) throw fail('invalid_import', parsed.fatal, report.summary(parsed.total));
    if (report.count) throw fail('invalid_import', `${report.invalidLines.size} of ${parsed.total} rows have errors; nothing was imported`, report.summary(parsed.total));

    const importId = newId();
    const now = this.clock.now();
    const result = await locationsStore.inClientTransaction(this.pool, async (client, db) => {
      await locationsStore.lockImports(client);
      const existing = await locationsStore.existing(client);
      const plan = planImport(parsed.rows, existing, newId);
      if (plan.report.count) throw fail('invalid_import', `${plan.report.invalidLines.size} of ${parsed.rows.length} rows have errors; nothing was imported`, plan.report.summary(parsed.rows.length));
      const counts = { rows: parsed.rows.length, created: plan.created.length, updated: plan.updated.length, moved: plan.moved.length, unchanged: plan.unchanged, ignoredColumns: parsed.ignoredColumns };
      if (!plan.staged.length) {
        if (!opts.dryRun) await this.record(ctx, db, importId, plan, counts);
        return { importId: opts.dryRun ? null : importId, dryRun: !!opts.dryRun, ...counts };
      }
      await locationsStore.stage(client, plan.staged);
      const clashes = await locationsStore.plainWorkspaceClashes(client);
      if (clashes.length) {
        const r = new Reporter();
        for (const ext of clashes) {
          const n = plan.nodes.get(ext)!;
          r.add({ line: n.line ?? 0, field: 'name', code: 'duplicate_name', message: `a workspace named ${n.name} already exists at that place in the tree` });
        }
        throw fail('invalid_import', `${r.invalidLines.size} of ${parsed.rows.length} rows have errors; nothing was imported`, r.summary(parsed.rows.length));
      }
      if (opts.dryRun) return { importId: null, dryRun: true, ...counts };
      try {
        await locationsStore.applyStaged(client, now);
      } catch (e) {
        // The sibling-name index is checked row by row: two siblings swapping names in one import collide midway.
        if ((e as { code?: string }).code === '23505') throw fail('invalid_import', 'Two locations would share a name under one parent while the import is applied (names swapped between siblings?): rename in two imports', { rows: parsed.total, invalid: 0, errorCount: 0, errors: [] });
        throw e;
      }
      await this.record(ctx, db, importId, plan, counts);
      return { importId, dryRun: false, ...counts };
    });
    if (!result.dryRun) this.ledger.notifyAppended();
    return result;
  }

  /**
   * One ledger entry per chunk of changed locations (in the import's stream), then a summary:
   * 100,000 single-entry streams would cost 100,000 stream heads and locks for nothing, and the
   * chunks carry every change in full, so they are just as tamper-evident.
   */
  private async record(ctx: AuthContext, db: Db, importId: string, plan: Plan, counts: Omit<LocationImportResult, 'importId' | 'dryRun'>) {
    const stream = `workspace-import:${importId}`;
    const inputs: AppendInput[] = [];
    const changes = [...plan.created.map((n) => ['created', n] as const), ...plan.moved.map((n) => ['moved', n] as const), ...plan.updated.map((n) => ['updated', n] as const)];
    let items: Record<string, unknown>[] = [];
    let chars = 0;
    const flush = () => {
      if (items.length) inputs.push({ type: 'workspace.locations_changed', stream, data: { importId, changes: items } });
      items = [];
      chars = 0;
    };
    for (const [change, n] of changes) {
      const item = { change, workspaceId: n.id, externalId: n.ext, name: n.name, kind: n.kind, parentId: n.parentExt === null ? null : plan.nodes.get(n.parentExt)!.id };
      chars += JSON.stringify(item).length + 8;
      items.push(item);
      if (chars > MAX_ENTRY_CHARS) flush();
    }
    flush();
    inputs.push({ type: 'workspace.locations_imported', stream, data: { importId, ...counts } });
    await this.ledger.append(ctx, this.ledger.prepare(ctx, inputs, { allowSystemTypes: true }), { db });
  }

  /** Locations by name, as people type: accents, case and punctuation ignored, nearest matches first. */
  async search(ctx: AuthContext, q: { q?: string; kind?: LocationKind; within?: string; limit?: number }): Promise<Location[]> {
    requireScope(ctx, 'workspaces:read');
    const limit = Math.min(Math.max(q.limit ?? 10, 1), 50);
    let withinPath: string | undefined;
    if (q.within !== undefined) {
      withinPath = isUuid(q.within) ? await locationsStore.pathOf(this.db, q.within) : undefined;
      if (!withinPath) throw fail('not_found', 'No such location', [{ in: 'query', pointer: '/within', message: 'no such location' }]);
    }
    const text = (q.q ?? '').trim();
    const norm = text ? await locationsStore.searchNorm(this.db, text) : '';
    // Without a query (or with only punctuation): browse one level of the tree.
    if (!norm) return (await locationsStore.children(this.db, q.within ?? null, { kind: q.kind, limit })).map(present);
    return (await locationsStore.search(this.db, norm, { kind: q.kind, withinPath, limit })).map(present);
  }

  async get(ctx: AuthContext, id: string): Promise<Location> {
    requireScope(ctx, 'workspaces:read');
    const hit = isUuid(id) ? await locationsStore.byId(this.db, id) : undefined;
    if (!hit) throw fail('not_found', 'No such location');
    return present(hit);
  }
}

/** Collects row errors, keeping the first thousand. */
export class Reporter {
  readonly errors: LocationImportError[] = [];
  readonly invalidLines = new Set<number>();
  count = 0;
  add(e: LocationImportError) {
    this.count++;
    this.invalidLines.add(e.line);
    if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push(e);
  }
  summary(rows: number) {
    return { rows, invalid: this.invalidLines.size, errorCount: this.count, errors: [...this.errors].sort((a, b) => a.line - b.line) };
  }
}

/** Reads and checks each row on its own (the tree is checked by planImport). */
export async function parseLocationsCsv(body: Readable) {
  const report = new Reporter();
  const rows: Row[] = [];
  const seen = new Map<string, number>();
  const ignoredColumns: string[] = [];
  let fatal: string | undefined;
  let layout: { id: number; name: number; parentId: number; type: number; width: number } | undefined;
  let total = 0;
  // Leaving early (a bad header, too many rows) drains the rest of the body.
  for await (const { record, line } of csvUploadRecords(body, MAX_LOCATION_IMPORT_BYTES, `A locations file holds at most ${MAX_LOCATION_IMPORT_BYTES / 1024 / 1024} MiB`)) {
    if (!layout) {
      const at: Partial<Record<'id' | 'name' | 'parentId' | 'type', number>> = {};
      record.forEach((raw, i) => {
        const h = HEADERS[raw.trim().toLowerCase()];
        if (!h) ignoredColumns.push(raw.trim());
        else if (at[h] !== undefined) report.add({ line: 1, field: raw.trim(), code: 'duplicate_column', message: `column ${raw.trim()} appears twice` });
        else at[h] = i;
      });
      for (const c of ['id', 'name', 'parentId', 'type'] as const) if (at[c] === undefined) report.add({ line: 1, field: c, code: 'missing_column', message: `the ${c} column is required` });
      if (report.count) {
        fatal = 'The header row must name the columns id, name, parentId and type; nothing was imported';
        break;
      }
      layout = { id: at.id!, name: at.name!, parentId: at.parentId!, type: at.type!, width: record.length };
      continue;
    }
    if (total >= MAX_LOCATION_ROWS) {
      fatal = `An import holds at most ${MAX_LOCATION_ROWS} locations; split the file`;
      break;
    }
    const before = report.count;
    const cell = (i: number) => (record[i] ?? '').trim();
    const id = cell(layout.id);
    const name = cell(layout.name).replace(/\s+/g, ' ');
    const parentId = cell(layout.parentId) || null;
    const type = cell(layout.type).toLowerCase();
    if (!id) report.add({ line, field: 'id', code: 'required', message: 'id is required' });
    else if (id.length > 100 || CONTROL.test(id)) report.add({ line, field: 'id', code: 'invalid_id', message: 'id is at most 100 characters, without control characters' });
    else if (seen.has(id)) report.add({ line, field: 'id', code: 'duplicate_id', message: `id ${id} already appears on line ${seen.get(id)}` });
    else seen.set(id, line);
    if (!name) report.add({ line, field: 'name', code: 'required', message: 'name is required' });
    else if (name.length > 120 || CONTROL.test(name)) report.add({ line, field: 'name', code: 'invalid_name', message: 'name is at most 120 characters, without control characters' });
    if (parentId !== null && (parentId.length > 100 || CONTROL.test(parentId))) report.add({ line, field: 'parentId', code: 'unknown_parent', message: 'parentId is not the id of any location' });
    else if (parentId !== null && parentId === id) report.add({ line, field: 'parentId', code: 'cycle', message: `${id} cannot be its own parent` });
    if (type !== 'area' && type !== 'office') report.add({ line, field: 'type', code: 'invalid_type', message: `type must be area or office, not "${type.slice(0, 40)}"` });
    total++;
    if (report.count === before) rows.push({ line, id, name, parentId, kind: type as LocationKind });
  }
  if (!layout && !fatal) fatal = 'The file is empty: it needs the header row id,name,parentId,type';
  return { rows, total, report, fatal, ignoredColumns };
}

export type Plan = ReturnType<typeof planImport>;

/**
 * The tree after the import (what is stored, overridden by the file), checked as a whole:
 * unknown parents, locations under an office, cycles and two siblings with one name. Then
 * every location's path, and what changes.
 */
export function planImport(rows: Row[], existing: Awaited<ReturnType<typeof locationsStore.existing>>, makeId: () => string) {
  const report = new Reporter();
  const extById = new Map(existing.map((e) => [e.id, e.external_id]));
  const nodes = new Map<string, Node>();
  for (const e of existing) {
    const parentExt = e.parent_id === null ? null : (extById.get(e.parent_id) ?? null);
    nodes.set(e.external_id, { id: e.id, ext: e.external_id, name: e.name, kind: e.kind, parentExt, line: null, old: { name: e.name, kind: e.kind, parentExt, path: e.path } });
  }
  for (const r of rows) {
    const prior = nodes.get(r.id);
    nodes.set(r.id, { id: prior?.id ?? makeId(), ext: r.id, name: r.name, kind: r.kind, parentExt: r.parentId, line: r.line, old: prior?.old ?? null });
  }
  const lineOf = (n: Node, fallback?: Node) => n.line ?? fallback?.line ?? 0;
  const officesReported = new Set<string>();

  for (const n of nodes.values()) {
    if (n.parentExt === null) continue;
    const parent = nodes.get(n.parentExt);
    if (!parent) report.add({ line: lineOf(n), field: 'parentId', code: 'unknown_parent', message: `parent ${n.parentExt} is neither in the file nor already imported` });
    else if (parent.kind === 'office') {
      // A location turned into an office while locations remain under it: one error on its line, not one per child.
      if (n.line === null && officesReported.has(parent.ext)) continue;
      if (n.line === null) officesReported.add(parent.ext);
      report.add({ line: lineOf(n, parent), field: n.line ? 'parentId' : 'type', code: 'parent_is_office', message: n.line ? `${n.ext} is placed under ${parent.ext}, an office; locations go under areas` : `${parent.ext} still has locations under it (${n.ext}...), so it cannot be an office` });
    }
  }
  // Cycles: walk up from each location; meeting a location of the current walk closes a loop.
  const state = new Map<string, 1 | 2>();
  for (const start of nodes.values()) {
    if (state.has(start.ext)) continue;
    const walk: Node[] = [];
    let n: Node | undefined = start;
    while (n && !state.has(n.ext)) {
      state.set(n.ext, 1);
      walk.push(n);
      n = n.parentExt === null ? undefined : nodes.get(n.parentExt);
    }
    if (n && state.get(n.ext) === 1) {
      const loop = walk.slice(walk.indexOf(n));
      const names = loop.map((x) => x.ext).join(' → ');
      for (const x of loop) if (x.line !== null) report.add({ line: x.line, field: 'parentId', code: 'cycle', message: `${names} → ${n.ext} is a loop` });
    }
    for (const x of walk) state.set(x.ext, 2);
  }

  const siblings = new Map<string, Node>();
  for (const n of nodes.values()) {
    const key = `${n.parentExt ?? ''}\u0000${n.name.toLowerCase()}`;
    const other = siblings.get(key);
    if (!other) siblings.set(key, n);
    else {
      const [at, first] = (n.line ?? 0) >= (other.line ?? 0) ? [n, other] : [other, n];
      report.add({ line: lineOf(at), field: 'name', code: 'duplicate_name', message: `${first.ext}${first.line ? ` (line ${first.line})` : ''} has the same name under the same parent` });
    }
  }
  if (report.count) return { report, nodes, staged: [], created: [], updated: [], moved: [], unchanged: 0 };

  // Paths from the root down, iteratively (a file may hold a very deep chain).
  for (const start of nodes.values()) {
    const chain: Node[] = [];
    let n: Node | undefined = start;
    while (n && n.path === undefined) {
      chain.push(n);
      n = n.parentExt === null ? undefined : nodes.get(n.parentExt)!;
    }
    let prefix = n?.path ?? '/';
    for (let i = chain.length - 1; i >= 0; i--) prefix = chain[i]!.path = `${prefix}${chain[i]!.id}/`;
  }

  const created: Node[] = [];
  const updated: Node[] = [];
  const moved: Node[] = [];
  const staged: StagedLocation[] = [];
  let unchanged = 0;
  for (const n of nodes.values()) {
    if (!n.old) created.push(n);
    else if (n.line !== null) {
      if (n.old.parentExt !== n.parentExt) moved.push(n);
      else if (n.old.name !== n.name || n.old.kind !== n.kind) updated.push(n);
      else unchanged++;
    }
    const changed = !n.old || n.old.path !== n.path || n.old.name !== n.name || n.old.kind !== n.kind;
    if (changed) staged.push({ id: n.id, externalId: n.ext, name: n.name, kind: n.kind, parentId: n.parentExt === null ? null : nodes.get(n.parentExt)!.id, path: n.path!, oldPath: n.old?.path ?? null });
  }
  return { report, nodes, staged, created, updated, moved, unchanged };
}
