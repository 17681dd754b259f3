import type { Kysely } from 'kysely';
import type { Database, Db } from '../database/database.js';
import { AppError, fail } from '../kernel/errors.js';
import { can, requireAuthenticated, requireScope, type AuthContext } from '../kernel/access.js';
import { authorize, decide } from '../policies/policies.js';
import { isUuid, newId, sha256, sha256Hex } from '../kernel/ids.js';
import type { Logger } from '../kernel/logger.js';
import { JsonValueError, canonicalJson, canonicalJsonChecked } from '../ledger/ledger.hash.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import type { AppsService } from '../apps/apps.service.js';
import type { GrantsService } from '../apps/apps.grants.js';
import type { EventTypesService } from '../event-types/event-types.service.js';
import { checkTypeName } from '../event-types/event-types.service.js';
import {
  clampLimits,
  createSandbox,
  isSandboxError,
  SandboxError,
  validateViewFiles,
  type EventsPage,
  type EventsQuery,
  type Sandbox,
  type SandboxLimits,
  type SandboxOptions,
  type ViewRuntime,
} from './sandbox/sandbox.js';
import {
  viewsStore,
  type InstanceRow,
  type OccurredCursor,
  type RunnableRow,
  type StatsDelta,
  type StoredResult,
  type TemplateRow,
  type TemplateVersionRow,
} from './views.store.js';

export const MAX_EVENT_TYPES = 20;
export const MAX_CONFIGURATION_BYTES = 64 * 1024;
export const MAX_INPUT_BYTES = 256 * 1024;
/** Results above this are returned but not cached: the cache is for the cheap, frequent case. */
export const MAX_CACHED_RESULT_BYTES = 1024 * 1024;
/** Distinct inputs remembered per instance; older ones are forgotten first. */
export const CACHED_INPUTS_PER_INSTANCE = 32;
/** Results kept in this process's memory in front of the table, all instances together. */
const MEMORY_CACHE_BYTES = 32 * 1024 * 1024;
const MEMORY_CACHE_ENTRIES = 4096;
/** Instance definitions kept in memory (they never change; a deleted one is noticed on its next run). */
const DEFINITIONS_KEPT = 2000;
/** Result text waiting to be written, all instances together (UTF-16 units). */
const MAX_PENDING_RESULT_CHARS = 16 * 1024 * 1024;
/** How long run counters and results wait to be written together (see scheduleWrite). */
const WRITE_DELAY_MS = 100;
/** Stored results per instance between two prunes of its older inputs. */
const STORES_PER_PRUNE = 8;
// Names are shown everywhere and typed by people: any letters or digits, spaces and common punctuation.
const NAME_RE = /^[\p{L}\p{N}][\p{L}\p{N} ._/()&,'+:-]{0,99}$/u;
const MAX_DESCRIPTION = 2000;
// PostgreSQL's timestamptz covers 4713 BC .. 294276 AD, JavaScript dates ±275760 years: dates
// beyond this range are clamped so a silly bound never turns into a database error.
const MIN_DATE_MS = Date.UTC(-4000, 0, 1);
const MAX_DATE_MS = Date.UTC(200000, 0, 1);

export interface RegisterTemplateInput {
  name: string;
  runtime: ViewRuntime;
  files: Record<string, string>;
  eventTypes?: string[];
  description?: string;
  limits?: Record<string, unknown>;
}

/** What running an instance needs and never changes (instances are immutable, versions too). */
interface Definition {
  id: string;
  appId: string;
  templateId: string;
  templateVersion: number;
  runtime: ViewRuntime;
  eventTypes: string[];
  limits: SandboxLimits;
  configuration: unknown;
}

interface HeldResult {
  key: string;
  resultJson: string;
  eventsRead: number;
  bytes: number;
}

export interface RunOutcome {
  /** The result exactly as the view serialised it. */
  resultJson: string;
  stats: { durationMs: number; eventsRead: number; cached: boolean };
}

const bad = (pointer: string, message: string) => fail('validation_failed', message, [{ pointer, message }]);

/** The view's failures keep their own stable codes on the HTTP side. */
export function toAppError(e: unknown): unknown {
  if (isSandboxError(e)) return new AppError(e.code, e.message, undefined, e.retryAfterSeconds ? { 'retry-after': String(e.retryAfterSeconds) } : undefined);
  return e;
}

function encodeCursor(c: OccurredCursor): string {
  return Buffer.from(`${c.micros}.${c.id}`).toString('base64url');
}

function decodeCursor(s: string): OccurredCursor {
  const m = /^(-?\d{1,19})\.([0-9a-f-]{36})$/.exec(Buffer.from(s, 'base64url').toString('latin1'));
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(s) || !m || !isUuid(m[2]!)) throw new SandboxError('view_query_invalid', 'events.query "after" is not a cursor this server issued');
  return { micros: m[1]!, id: m[2]! };
}

function queryDate(s: string | undefined, what: string): Date | undefined {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new SandboxError('view_query_invalid', `events.query "${what}" must be an ISO 8601 date`);
  return new Date(Math.min(MAX_DATE_MS, Math.max(MIN_DATE_MS, t)));
}

/**
 * Views: templates (admin-registered code, versioned), instances (an app's use of a template
 * with a fixed configuration) and runs in the sandbox, with a result cache keyed on the state of
 * the events the view may read. See docs/views.md.
 */
export class ViewsService {
  private sandboxInstance: Sandbox | undefined;
  private closed = false;
  /** Template versions are immutable, so their sources can be kept once loaded. */
  private readonly filesCache = new Map<string, Record<string, string>>();
  private readonly definitions = new Map<string, Definition>();
  /**
   * Results this process computed or read, by instance and input hash, in front of the shared
   * table. An entry only ever answers when its state key equals the one read for the run.
   */
  private readonly held = new Map<string, HeldResult>();
  private heldBytes = 0;
  /** Run counters and results not written yet: written after the answers, many at a time. */
  private pendingStats = new Map<string, StatsDelta>();
  private pendingResults = new Map<string, StoredResult>();
  private pendingResultBytes = 0;
  private readonly storesSincePrune = new Map<string, number>();
  private writing: Promise<void> | undefined;
  private writeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly apps: AppsService,
    private readonly grants: GrantsService,
    private readonly eventTypes: EventTypesService,
    private readonly log: Logger,
    private readonly sandboxOptions: SandboxOptions = { pythonWorkers: 1 },
  ) {}

  // --- sandbox lifecycle -----------------------------------------------------------------

  /**
   * One sandbox per process, started on first need (or by `warmUp` at boot): a server that never
   * runs a view, a CLI command or a test of another domain pays nothing for it (an idle Python
   * process costs ~180 MB).
   */
  private sandbox(): Sandbox {
    if (this.closed) throw new AppError('view_unavailable', 'The server is shutting down');
    // Python processes start on the first Python template or run, JavaScript workers now.
    this.sandboxInstance ??= createSandbox({ lazyPython: true, ...this.sandboxOptions });
    return this.sandboxInstance;
  }

  warmUp(): void {
    if (!this.closed) this.sandbox();
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.sandboxInstance;
    this.sandboxInstance = undefined;
    await s?.close();
    // Counters of the last runs go to the database before it closes.
    await this.settleWrites();
  }

  private async audit(ctx: AuthContext, db: Kysely<Database>, type: string, stream: string, data: Record<string, unknown>) {
    await this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type, stream, data }], { allowSystemTypes: true }), { db });
  }

  // --- templates -------------------------------------------------------------------------

  async registerTemplate(ctx: AuthContext, input: RegisterTemplateInput): Promise<{ created: boolean; template: ReturnType<ViewsService['presentVersion']> & { id: string; name: string; latestVersion: number } }> {
    requireScope(ctx, 'views:manage');
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (!NAME_RE.test(name)) throw bad('/name', 'Template names are 1-100 letters, digits, spaces and . _ / ( ) & , \' + : -, starting with a letter or digit');
    const description = input.description ?? '';
    if (typeof description !== 'string' || description.length > MAX_DESCRIPTION) throw bad('/description', `The description is at most ${MAX_DESCRIPTION} characters`);
    try {
      validateViewFiles(input.runtime, input.files);
    } catch (e) {
      throw toAppError(e);
    }
    const runtime = input.runtime;
    const files = input.files;
    const eventTypes = await this.checkEventTypes(input.eventTypes ?? []);
    const limits = clampLimits(this.checkLimits(input.limits));
    try {
      await this.sandbox().check(runtime, files);
    } catch (e) {
      throw toAppError(e);
    }
    const contentHash = sha256(canonicalJson({ runtime, files, eventTypes, limits, description }));
    const createdBy = ctx.actor.kind === 'user' ? ctx.actor.userId : null;
    const out = await this.db.transaction().execute(async (trx) => {
      let template = await viewsStore.templateByName(trx, name);
      let version = 1;
      if (!template) {
        const id = newId();
        template = (await viewsStore.insertTemplate(trx, { id, name, createdBy })) ?? (await viewsStore.templateByName(trx, name));
        if (!template) throw fail('conflict', 'The template was registered concurrently; try again');
        if (template.id !== id) version = template.latest_version + 1;
      } else {
        version = template.latest_version + 1;
      }
      if (version > 1) {
        const latest = (await viewsStore.version(trx, template.id, template.latest_version))!;
        // The same sources, types and limits again is not a new version.
        if (latest.content_hash.equals(contentHash)) return { created: false, template, row: latest };
        await viewsStore.setLatestVersion(trx, template.id, version);
      }
      const row = await viewsStore.insertVersion(trx, { templateId: template.id, version, runtime, description, files, eventTypes, limits: { ...limits }, contentHash, createdBy });
      await this.audit(ctx, trx, 'cairn.view.template_registered', `view-template:${template.id}`, {
        templateId: template.id,
        name,
        version,
        runtime,
        eventTypes,
        limits: { ...limits },
        // Hashes, not sources: the ledger says what ran; the sources live with the version.
        files: Object.fromEntries(Object.entries(files).map(([f, src]) => [f, sha256Hex(src)])),
      });
      return { created: true, template: { ...template, latest_version: version }, row };
    });
    if (out.created) this.ledger.notifyAppended();
    return { created: out.created, template: { id: out.template.id, name: out.template.name, latestVersion: out.template.latest_version, ...this.presentVersion(out.row) } };
  }

  private async checkEventTypes(types: unknown): Promise<string[]> {
    if (!Array.isArray(types)) throw bad('/eventTypes', 'eventTypes must be a list of event type names');
    if (types.length > MAX_EVENT_TYPES) throw bad('/eventTypes', `A view reads at most ${MAX_EVENT_TYPES} event types`);
    const seen = new Set<string>();
    for (const [i, t] of types.entries()) {
      const name = checkTypeName(t, `/eventTypes/${i}`);
      if (seen.has(name)) throw bad(`/eventTypes/${i}`, `${name} is listed twice`);
      if (!(await this.eventTypes.exists(name))) throw bad(`/eventTypes/${i}`, `No event type ${name}: register it first`);
      seen.add(name);
    }
    return [...seen].sort();
  }

  private checkLimits(limits: unknown): Record<string, number> {
    if (limits === undefined || limits === null) return {};
    if (typeof limits !== 'object' || Array.isArray(limits)) throw bad('/limits', 'limits must be an object');
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(limits)) {
      if (!['memoryMb', 'cpuMs', 'maxResultBytes', 'maxQueryLimit'].includes(k)) throw bad(`/limits/${k}`, `Unknown limit ${k.slice(0, 40)}`);
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw bad(`/limits/${k}`, `${k} must be a positive integer`);
      out[k] = v;
    }
    return out;
  }

  presentVersion(v: Pick<TemplateVersionRow, 'version' | 'runtime' | 'description' | 'event_types' | 'limits' | 'created_at'> & { files?: Record<string, string>; file_names?: string[]; instances?: number }) {
    return {
      version: v.version,
      runtime: v.runtime,
      description: v.description,
      eventTypes: v.event_types,
      limits: clampLimits(v.limits),
      files: v.file_names ?? Object.keys(v.files ?? {}).sort(),
      createdAt: v.created_at.toISOString(),
      ...(v.instances !== undefined ? { instances: v.instances } : {}),
    };
  }

  private requireAppOrManager(ctx: AuthContext) {
    requireAuthenticated(ctx);
    if (ctx.actor.kind !== 'app' && !can(ctx, 'views:manage')) throw fail('forbidden', 'This needs the views:manage permission');
  }

  async listTemplates(ctx: AuthContext) {
    this.requireAppOrManager(ctx);
    const rows = await viewsStore.listTemplates(this.db);
    const manager = can(ctx, 'views:manage');
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      latestVersion: r.latest_version,
      runtime: r.runtime,
      description: r.description,
      eventTypes: r.event_types,
      limits: clampLimits(r.limits),
      createdAt: r.created_at.toISOString(),
      updatedAt: r.version_created_at.toISOString(),
      // Which apps use what is the administrator's business, not other apps'.
      ...(manager ? { instances: r.instances } : {}),
    }));
  }

  private async template(id: string): Promise<TemplateRow> {
    const t = isUuid(id) ? await viewsStore.templateById(this.db, id) : undefined;
    if (!t) throw fail('not_found', 'No such view template');
    return t;
  }

  async templateDetail(ctx: AuthContext, id: string) {
    this.requireAppOrManager(ctx);
    const t = await this.template(id);
    const manager = can(ctx, 'views:manage');
    const versions = await viewsStore.versions(this.db, t.id);
    const latest = manager ? await viewsStore.version(this.db, t.id, t.latest_version) : undefined;
    return {
      id: t.id,
      name: t.name,
      latestVersion: t.latest_version,
      createdAt: t.created_at.toISOString(),
      versions: versions.map((v) => {
        const p = this.presentVersion(v);
        if (!manager) delete (p as { instances?: number }).instances;
        return p;
      }),
      // The code is shown to administrators (who approve it), not to every app.
      ...(latest ? { sources: latest.files } : {}),
    };
  }

  async templateVersion(ctx: AuthContext, id: string, version: number) {
    requireScope(ctx, 'views:manage');
    const t = await this.template(id);
    const v = Number.isSafeInteger(version) ? await viewsStore.version(this.db, t.id, version) : undefined;
    if (!v) throw fail('not_found', `No version ${version} of this template`);
    return { id: t.id, name: t.name, ...this.presentVersion(v), sources: v.files };
  }

  async deleteTemplate(ctx: AuthContext, id: string): Promise<void> {
    requireScope(ctx, 'views:manage');
    await this.template(id);
    try {
      await this.db.transaction().execute(async (trx) => {
        const t = await viewsStore.lockTemplate(trx, id);
        if (!t) throw fail('not_found', 'No such view template');
        const n = await viewsStore.countInstancesOfTemplate(trx, id);
        if (n > 0) throw fail('view_template_in_use', `${n} view instance${n === 1 ? ' uses' : 's use'} this template; delete them first`, { instances: n });
        await viewsStore.deleteTemplate(trx, id);
        await this.audit(ctx, trx, 'cairn.view.template_deleted', `view-template:${id}`, { templateId: id, name: t.name, versions: t.latest_version });
      });
    } catch (e) {
      // An instance created in the same instant: the foreign key refused the delete.
      if ((e as { code?: string }).code === '23503') throw fail('view_template_in_use', 'A view instance uses this template; delete it first');
      throw e;
    }
    for (const k of this.filesCache.keys()) if (k.startsWith(`${id}@`)) this.filesCache.delete(k);
    this.ledger.notifyAppended();
  }

  // --- instances -------------------------------------------------------------------------

  private requireApp(ctx: AuthContext) {
    requireAuthenticated(ctx);
    if (ctx.actor.kind !== 'app') throw fail('forbidden', 'Only an app can do this');
    return ctx.actor;
  }

  async createInstance(ctx: AuthContext, input: { templateId: string; templateVersion?: number; configuration?: unknown }) {
    const actor = this.requireApp(ctx);
    const t = await this.template(input.templateId).catch(() => {
      throw bad('/templateId', 'No such view template');
    });
    const version = input.templateVersion ?? t.latest_version;
    const v = await viewsStore.version(this.db, t.id, version);
    if (!v) throw bad('/templateVersion', `No version ${version} of this template`);
    const configurationJson = jsonArgument(input.configuration ?? {}, '/configuration', MAX_CONFIGURATION_BYTES);

    const id = newId();
    try {
      await this.db.transaction().execute(async (trx) => {
        await viewsStore.insertInstance(trx, { id, appId: actor.appId, templateId: t.id, templateVersion: v.version, configurationJson, requests: [] });
        await this.audit(ctx, trx, 'cairn.view.instance_created', `view:${id}`, { instanceId: id, appId: actor.appId, templateId: t.id, templateVersion: v.version });
      });
    } catch (e) {
      if ((e as { code?: string }).code === '23503') throw bad('/templateId', 'No such view template');
      throw e;
    }
    this.ledger.notifyAppended();

    // Ask for read on every type the template reads, unless the app already holds or awaits it.
    // A request carries the app's current rights on the type too: approving it supersedes the
    // old grant, which must not lose the app its create/modify/delete rights.
    const current = (await this.grants.grantsFor(ctx)) ?? new Map();
    const mine = await this.apps.myRequests(ctx);
    const requests: { eventType: string; requestId: string | null }[] = [];
    for (const type of v.event_types) {
      const g = current.get(type);
      const existing =
        mine.find((r) => r.eventType === type && r.status === 'approved' && r.read) ?? mine.find((r) => r.eventType === type && r.status === 'pending' && r.read);
      if (existing) {
        requests.push({ eventType: type, requestId: existing.id });
        continue;
      }
      const r = await this.apps.requestPermission(ctx, {
        eventType: type,
        read: true,
        create: !!g?.create,
        modify: !!g?.modify,
        delete: !!g?.delete,
        message: `The view "${t.name}" (version ${v.version}) reads ${type}.`,
      });
      requests.push({ eventType: type, requestId: r.id });
    }
    await viewsStore.setInstanceRequests(this.db, id, requests);
    return this.instance(ctx, id);
  }

  private async ownInstance(ctx: AuthContext, id: string): Promise<RunnableRow & { readable: string[] }> {
    requireAuthenticated(ctx);
    const row = isUuid(id) ? await viewsStore.runnable(this.db, id) : undefined;
    // Another app's instance does not exist as far as this caller knows (policies/: view-instance).
    if (!row || !decide(ctx, 'read', { kind: 'view-instance', appId: row.app_id }).allow) throw fail('not_found', 'No such view');
    return row;
  }

  async instance(ctx: AuthContext, id: string) {
    // Counters of this process's runs are written after the answers: show them all.
    await this.settleWrites();
    const row = await this.ownInstance(ctx, id);
    const readable = new Set(row.readable);
    const statuses = await viewsStore.requestStatuses(this.db, row.permission_requests.map((r) => r.requestId).filter((x): x is string => !!x));
    return this.presentInstance(row, readable, statuses);
  }

  async listInstances(ctx: AuthContext, f: { appId?: string; templateId?: string; limit?: number }) {
    requireAuthenticated(ctx);
    let appId = f.appId;
    if (ctx.actor.kind === 'app') appId = ctx.actor.appId;
    else requireScope(ctx, 'views:manage');
    if (appId !== undefined && !isUuid(appId)) throw bad('/appId', 'appId must be a UUID');
    if (f.templateId !== undefined && !isUuid(f.templateId)) throw bad('/templateId', 'templateId must be a UUID');
    await this.settleWrites();
    const rows = await viewsStore.listInstances(this.db, { appId, templateId: f.templateId, limit: Math.min(1000, f.limit ?? 500) });
    const grants = await viewsStore.readGrantsOfApps(this.db, [...new Set(rows.map((r) => r.app_id))]);
    const statuses = await viewsStore.requestStatuses(this.db, rows.flatMap((r) => r.permission_requests.map((p) => p.requestId)).filter((x): x is string => !!x));
    return rows.map((r) => ({
      ...this.presentInstance(r, new Set(r.event_types.filter((t) => grants.has(`${r.app_id} ${t}`))), statuses),
      appName: r.app_name,
    }));
  }

  private presentInstance(row: RunnableRow, readable: Set<string>, statuses: Map<string, string>) {
    const missing = row.event_types.filter((t) => !readable.has(t));
    return {
      id: row.id,
      appId: row.app_id,
      templateId: row.template_id,
      templateName: row.template_name,
      templateVersion: row.template_version,
      runtime: row.runtime,
      eventTypes: row.event_types,
      configuration: row.configuration,
      status: missing.length ? ('awaiting_approval' as const) : ('ready' as const),
      missingGrants: missing,
      permissionRequests: row.permission_requests.map((p) => ({
        eventType: p.eventType,
        requestId: p.requestId,
        status: (p.requestId ? statuses.get(p.requestId) : undefined) ?? 'unknown',
      })),
      createdAt: row.created_at.toISOString(),
      stats: presentStats(row),
    };
  }

  async deleteInstance(ctx: AuthContext, id: string): Promise<void> {
    const row = await this.ownInstance(ctx, id);
    await this.db.transaction().execute(async (trx) => {
      await viewsStore.deleteInstance(trx, row.id);
      await this.audit(ctx, trx, 'cairn.view.instance_deleted', `view:${row.id}`, { instanceId: row.id, appId: row.app_id, templateId: row.template_id });
    });
    this.forgetInstance(row.id);
    this.ledger.notifyAppended();
  }

  // --- runs ------------------------------------------------------------------------------

  private async filesOf(templateId: string, version: number): Promise<Record<string, string>> {
    const key = `${templateId}@${version}`;
    let files = this.filesCache.get(key);
    if (!files) {
      files = await viewsStore.files(this.db, templateId, version);
      if (!files) throw fail('not_found', 'No such view template');
      if (this.filesCache.size >= 200) this.filesCache.delete(this.filesCache.keys().next().value!);
      this.filesCache.set(key, files);
    }
    return files;
  }

  private async definition(id: string): Promise<Definition | undefined> {
    const known = this.definitions.get(id);
    if (known) return known;
    const row = await viewsStore.definition(this.db, id);
    if (!row) return undefined;
    const def: Definition = {
      id: row.id,
      appId: row.app_id,
      templateId: row.template_id,
      templateVersion: row.template_version,
      runtime: row.runtime,
      eventTypes: row.event_types,
      limits: clampLimits(row.limits),
      configuration: row.configuration,
    };
    if (this.definitions.size >= DEFINITIONS_KEPT) this.definitions.delete(this.definitions.keys().next().value!);
    this.definitions.set(id, def);
    return def;
  }

  private forgetInstance(id: string): void {
    this.definitions.delete(id);
    for (const [k, r] of this.pendingResults) {
      if (r.instanceId === id) {
        this.pendingResults.delete(k);
        this.pendingResultBytes -= r.resultJson.length;
      }
    }
    for (const [k, h] of this.held) {
      if (k.startsWith(`${id}:`)) {
        this.held.delete(k);
        this.heldBytes -= h.bytes;
      }
    }
  }

  private hold(k: string, h: HeldResult): void {
    const old = this.held.get(k);
    if (old) {
      this.held.delete(k);
      this.heldBytes -= old.bytes;
    }
    this.held.set(k, h);
    this.heldBytes += h.bytes;
    // Map order is insertion order, and a use re-inserts: the first entries are the least recent.
    while (this.heldBytes > MEMORY_CACHE_BYTES || this.held.size > MEMORY_CACHE_ENTRIES) {
      const [oldest, e] = this.held.entries().next().value!;
      this.held.delete(oldest);
      this.heldBytes -= e.bytes;
    }
  }

  /**
   * Runs an instance for its app. The same input over the same events answers from the cache;
   * otherwise the view runs in the sandbox, reading only the template's types, all of which the
   * app must hold a read grant on right now.
   *
   * One database round trip on the way (the state of the events, whether the instance still
   * exists, what the cache holds), with the app's grants from GrantsService. Definitions and
   * sources are immutable and kept in memory; counters and results are written after the answer.
   */
  /**
   * Runs a template version with sample events, configuration and input, in the same sandbox and
   * under the same limits as an app's run, before any app uses it (issue 17). The view reads only
   * the sample events (never stored data: the administrator tries code, not people's records),
   * through the same query API, scoped to the template's event types; nothing is cached or counted.
   */
  async testRun(ctx: AuthContext, id: string, req: { version?: number; configuration?: unknown; input?: unknown; events?: SampleEvent[] }) {
    requireScope(ctx, 'views:manage');
    const t = await this.template(id);
    const version = req.version ?? t.latest_version;
    const v = await viewsStore.version(this.db, t.id, version);
    if (!v) throw fail('not_found', `No version ${version} of this template`, [{ pointer: '/version', message: 'no such version' }]);
    const configuration = JSON.parse(jsonArgument(req.configuration ?? null, '/configuration', MAX_INPUT_BYTES));
    const input = JSON.parse(jsonArgument(req.input ?? null, '/input', MAX_INPUT_BYTES));
    const types = new Set(v.event_types);
    const samples = (req.events ?? []).map((e, i) => {
      if (!types.has(e.type)) throw fail('validation_failed', `events/${i}: this template reads ${[...types].join(', ') || 'no event types'}, not ${e.type}`, [{ pointer: `/events/${i}/type`, message: 'not a type of this template' }]);
      const at = e.occurredAt ?? new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
      if (Number.isNaN(Date.parse(at))) throw fail('validation_failed', `events/${i}/occurredAt is not a date`, [{ pointer: `/events/${i}/occurredAt`, message: 'not a date' }]);
      return { id: `sample-${i + 1}`, type: e.type, occurredAt: new Date(at).toISOString(), data: e.data };
    });
    samples.sort((a, b) => a.occurredAt.localeCompare(b.occurredAt) || a.id.localeCompare(b.id));
    const started = performance.now();
    const outcome = await this.sandbox().run({
      runtime: v.runtime,
      files: v.files,
      configuration,
      input,
      limits: clampLimits(v.limits),
      queryEvents: async (q) => {
        if (!types.has(q.type)) throw new SandboxError('view_query_invalid', `This view may not read ${q.type.slice(0, 200)}: it reads ${[...types].join(', ') || 'no event types'}`);
        const from = q.from ? Date.parse(q.from) : -Infinity;
        const to = q.to ? Date.parse(q.to) : Infinity;
        const after = q.after ? Number(q.after) : 0;
        const match = samples.filter((e, k) => k >= after && e.type === q.type && Date.parse(e.occurredAt) >= from && Date.parse(e.occurredAt) < to && (q.filter === undefined || jsonContains(e.data, q.filter)));
        const limit = q.limit ?? 1000;
        const page = match.slice(0, limit);
        const last = page.length === limit && match.length > limit ? samples.indexOf(page[page.length - 1]!) + 1 : null;
        return { events: page, next: last === null ? null : String(last) };
      },
    }).catch((e: unknown) => {
      throw toAppError(e);
    });
    return { version, result: outcome.result, stats: { durationMs: Math.round(performance.now() - started), eventsRead: outcome.stats.eventsRead } };
  }

  async run(ctx: AuthContext, id: string, input: unknown): Promise<RunOutcome> {
    const actor = this.requireApp(ctx);
    const inputJson = jsonArgument(input ?? null, '/input', MAX_INPUT_BYTES);
    const inputHash = sha256(inputJson);
    const started = performance.now();
    const def = isUuid(id) ? await this.definition(id) : undefined;
    if (!def) throw fail('not_found', 'No such view');
    authorize(ctx, 'run', { kind: 'view-instance', appId: def.appId });
    const heldKey = `${def.id}:${inputHash.toString('base64')}`;
    const held = this.held.get(heldKey);
    const [state, grants] = await Promise.all([
      viewsStore.runState(this.db, { id: def.id, types: def.eventTypes, inputHash, heldKey: held?.key ?? null }),
      this.grants.grantsFor(ctx),
    ]);
    if (!state.present) {
      this.forgetInstance(def.id);
      throw fail('not_found', 'No such view');
    }
    // Checked on every run, before any cache: a revoke stops the view on the very next request.
    const missing = def.eventTypes.filter((t) => !grants?.get(t)?.read);
    if (missing.length) {
      throw new AppError('view_not_approved', `This view needs a read grant on ${missing.join(', ')}; an administrator has not approved it (yet)`, { missingGrants: missing });
    }

    const hit =
      held && held.key === state.key
        ? held
        : state.resultJson !== null
          ? { key: state.key, resultJson: state.resultJson, eventsRead: state.storedEventsRead, bytes: Buffer.byteLength(state.resultJson, 'utf8') }
          : undefined;
    if (hit) {
      this.hold(heldKey, hit);
      const durationMs = Math.round(performance.now() - started);
      this.count(def.id, { cached: true, ok: true, durationMs, eventsRead: 0, errorCode: null });
      return { resultJson: hit.resultJson, stats: { durationMs, eventsRead: 0, cached: true } };
    }

    const allowed = new Set(def.eventTypes);
    let outcome;
    try {
      outcome = await this.sandbox().run({
        runtime: def.runtime,
        files: await this.filesOf(def.templateId, def.templateVersion),
        configuration: def.configuration,
        input: JSON.parse(inputJson),
        limits: def.limits,
        queryEvents: this.eventsReader(allowed),
      });
    } catch (e) {
      const err = toAppError(e);
      const durationMs = Math.round(performance.now() - started);
      this.count(def.id, { cached: false, ok: false, durationMs, eventsRead: 0, errorCode: err instanceof AppError ? err.code : 'internal_error' });
      throw err;
    }
    const { resultJson, stats } = outcome;
    const durationMs = Math.round(performance.now() - started);
    // Only a key no late transaction can slip under may vouch for a result (see viewsStore.runState).
    const bytes = Buffer.byteLength(resultJson, 'utf8');
    if (state.stable && bytes <= MAX_CACHED_RESULT_BYTES) {
      this.hold(heldKey, { key: state.key, resultJson, eventsRead: stats.eventsRead, bytes });
      // While the database lags behind, results beyond a bound are only held here (the cache
      // is an optimisation; memory must not grow with the backlog).
      const replaced = this.pendingResults.get(heldKey);
      if (replaced || this.pendingResultBytes + resultJson.length <= MAX_PENDING_RESULT_CHARS) {
        this.pendingResultBytes += resultJson.length - (replaced?.resultJson.length ?? 0);
        this.pendingResults.set(heldKey, { instanceId: def.id, inputHash, stateKey: state.key, resultJson, eventsRead: stats.eventsRead });
      }
    }
    this.count(def.id, { cached: false, ok: true, durationMs, eventsRead: stats.eventsRead, errorCode: null });
    return { resultJson, stats: { durationMs, eventsRead: stats.eventsRead, cached: false } };
  }

  // --- counters and stored results, written behind the answers ---------------------------

  /** Runs by outcome in this process (`cached`, `ok` or the error code), for /metrics. */
  readonly runOutcomes = new Map<string, number>();

  private count(id: string, run: { cached: boolean; ok: boolean; durationMs: number; eventsRead: number; errorCode: string | null }): void {
    const outcome = run.cached ? 'cached' : run.ok ? 'ok' : (run.errorCode ?? 'failed');
    this.runOutcomes.set(outcome, (this.runOutcomes.get(outcome) ?? 0) + 1);
    const d = this.pendingStats.get(id) ?? { id, runs: 0, cacheHits: 0, failures: 0, eventsRead: 0, totalDurationMs: 0, lastRunAt: new Date(), lastDurationMs: 0, lastErrorCode: null };
    d.runs++;
    if (run.cached) d.cacheHits++;
    if (!run.ok) d.failures++;
    d.eventsRead += run.eventsRead;
    d.totalDurationMs += run.durationMs;
    d.lastRunAt = new Date();
    d.lastDurationMs = run.durationMs;
    d.lastErrorCode = run.errorCode;
    this.pendingStats.set(id, d);
    this.scheduleWrite();
  }

  /**
   * Writes start a moment after the first unwritten run, so that every run in that moment goes in
   * one statement: a write per run cost the server as much CPU as the run itself. Reading the
   * counters here (instance, listInstances) or closing writes at once.
   */
  private scheduleWrite(): void {
    if (this.writing || this.writeTimer) return; // the coming write takes what arrives meanwhile
    this.writeTimer = setTimeout(() => this.startWrite(), WRITE_DELAY_MS);
    this.writeTimer.unref();
  }

  private startWrite(): Promise<void> {
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    this.writing ??= this.writeLoop().finally(() => {
      this.writing = undefined;
      if (this.pendingStats.size || this.pendingResults.size) this.scheduleWrite();
    });
    return this.writing;
  }

  private async writeLoop(): Promise<void> {
    let failures = 0;
    while (this.pendingStats.size || this.pendingResults.size) {
      const stats = [...this.pendingStats.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
      const results = [...this.pendingResults.values()];
      this.pendingStats = new Map();
      this.pendingResults = new Map();
      this.pendingResultBytes = 0;
      try {
        await viewsStore.writeRuns(this.db, stats, results);
        failures = 0;
      } catch (err) {
        // Counters are put back and tried again; results are only a cache and may be dropped.
        for (const d of stats) this.restoreStats(d);
        failures++;
        this.log.warn({ err, failures }, 'writing view run counters failed');
        if (this.closed || failures >= 5) {
          if (this.closed) this.log.warn({ lost: this.pendingStats.size }, 'view run counters not written at shutdown');
          this.pendingStats.clear();
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * failures));
        continue;
      }
      const prune: string[] = [];
      for (const r of results) {
        const n = (this.storesSincePrune.get(r.instanceId) ?? 0) + 1;
        if (n >= STORES_PER_PRUNE) {
          prune.push(r.instanceId);
          this.storesSincePrune.delete(r.instanceId);
        } else this.storesSincePrune.set(r.instanceId, n);
      }
      if (this.storesSincePrune.size > DEFINITIONS_KEPT) this.storesSincePrune.clear();
      if (prune.length) await viewsStore.pruneResults(this.db, [...new Set(prune)], CACHED_INPUTS_PER_INSTANCE).catch((err: unknown) => this.log.warn({ err }, 'pruning view results failed'));
    }
  }

  /** Puts back counters whose write failed, under any that arrived since (which are newer). */
  private restoreStats(d: StatsDelta): void {
    const newer = this.pendingStats.get(d.id);
    if (!newer) {
      this.pendingStats.set(d.id, d);
      return;
    }
    newer.runs += d.runs;
    newer.cacheHits += d.cacheHits;
    newer.failures += d.failures;
    newer.eventsRead += d.eventsRead;
    newer.totalDurationMs += d.totalDurationMs;
  }

  /** Resolves once every counter and result recorded so far is written (or given up on). */
  private async settleWrites(): Promise<void> {
    while (this.writing || this.pendingStats.size || this.pendingResults.size) await this.startWrite();
  }

  /**
   * The host side of `events.query` for one run: scoped to the view's granted types, current
   * events only. When a page is full, the next one is fetched while the view works on this one
   * (views read page after page), so the database and the sandbox work at the same time; at most
   * one page is read ahead.
   */
  private eventsReader(allowed: Set<string>): (q: EventsQuery) => Promise<EventsPage> {
    let ahead: { key: string; page: Promise<EventsPage> } | undefined;
    const keyOf = (q: EventsQuery) => JSON.stringify([q.type, q.from, q.to, q.after, q.limit, q.filter]);
    return async (q) => {
      if (!allowed.has(q.type)) {
        throw new SandboxError('view_query_invalid', `This view may not read ${q.type.slice(0, 200)}: it reads ${[...allowed].join(', ') || 'no event types'}`);
      }
      const key = keyOf(q);
      const page = ahead?.key === key ? ahead.page : this.readPage(q);
      ahead = undefined;
      const result = await page;
      if (result.next) {
        const following = { ...q, after: result.next };
        const p = this.readPage(following);
        p.catch(() => {}); // a page read ahead and never asked for must not surface as unhandled
        ahead = { key: keyOf(following), page: p };
      }
      return result;
    };
  }

  private async readPage(q: EventsQuery): Promise<EventsPage> {
    let filterJson: string | undefined;
    if (q.filter !== undefined) {
      try {
        filterJson = canonicalJsonChecked(q.filter);
      } catch {
        throw new SandboxError('view_query_invalid', 'events.query "filter" contains a value the database cannot store (NUL, invalid Unicode, too deep)');
      }
    }
    const limit = q.limit ?? 1000;
    const page = await viewsStore
      .eventsPage(this.db, {
        type: q.type,
        from: queryDate(q.from, 'from'),
        to: queryDate(q.to, 'to'),
        after: q.after !== undefined ? decodeCursor(q.after) : undefined,
        limit,
        filterJson,
      })
      .catch((err: unknown) => {
        if (isSandboxError(err)) throw err;
        this.log.warn({ err }, 'view events query failed');
        throw new SandboxError('view_unavailable', 'The events could not be read');
      });
    const next = page.n >= limit && page.last_micros !== null && page.last_id !== null ? encodeCursor({ micros: page.last_micros, id: page.last_id }) : null;
    return { eventsJson: page.events, count: page.n, next };
  }
}

function presentStats(row: InstanceRow) {
  return {
    runs: row.runs,
    cacheHits: row.cache_hits,
    failures: row.failures,
    eventsRead: row.events_read,
    averageDurationMs: row.runs ? Math.round(row.total_duration_ms / row.runs) : null,
    lastRunAt: row.last_run_at?.toISOString() ?? null,
    lastDurationMs: row.last_duration_ms,
    lastErrorCode: row.last_error_code,
  };
}

/** Checks a JSON argument the database will store or hash, and answers its canonical text. */
/** PostgreSQL's jsonb `@>` on values, for sample events: objects by subset, arrays by any-element containment. */
function jsonContains(have: unknown, want: unknown): boolean {
  if (want === null || typeof want !== 'object') return have === want;
  if (Array.isArray(want)) return Array.isArray(have) && want.every((w) => have.some((h) => jsonContains(h, w)));
  if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
  return Object.entries(want).every(([k, w]) => jsonContains((have as Record<string, unknown>)[k], w));
}

export interface SampleEvent {
  type: string;
  occurredAt?: string;
  data: unknown;
}

function jsonArgument(value: unknown, pointer: string, maxBytes: number): string {
  let text: string;
  try {
    text = canonicalJsonChecked(value);
  } catch (e) {
    if (e instanceof JsonValueError) throw bad(`${pointer}${e.pointer === '/' ? '' : e.pointer}`, `${pointer.slice(1)} ${e.message}`);
    throw e;
  }
  if (Buffer.byteLength(text, 'utf8') > maxBytes) throw bad(pointer, `${pointer.slice(1)} is larger than ${maxBytes} bytes`);
  return text;
}
