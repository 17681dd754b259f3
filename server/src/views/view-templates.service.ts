import type { Db } from '../database/database.js';
import { fail } from '../kernel/errors.js';
import { can, requireAuthenticated, requireScope, type AuthContext } from '../kernel/access.js';
import { newId, sha256, sha256Hex } from '../kernel/ids.js';
import { canonicalJson } from '../ledger/ledger.hash.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import type { EventTypesService } from '../event-types/event-types.service.js';
import { checkTypeName } from '../event-types/event-types.service.js';
import { clampLimits, SandboxError, validateViewFiles, type ViewRuntime } from './sandbox/sandbox.js';
import { viewsStore, type TemplateVersionRow } from './views.store.js';
import { MAX_INPUT_BYTES, audit, bad, jsonArgument, templateById, toAppError } from './views.shared.js';
import type { ViewRunsService } from './view-runs.service.js';

export const MAX_EVENT_TYPES = 20;
// Names are shown everywhere and typed by people: any letters or digits, spaces and common punctuation.
const NAME_RE = /^[\p{L}\p{N}][\p{L}\p{N} ._/()&,'+:-]{0,99}$/u;
const MAX_DESCRIPTION = 2000;

export interface RegisterTemplateInput {
  name: string;
  runtime: ViewRuntime;
  files: Record<string, string>;
  eventTypes?: string[];
  description?: string;
  limits?: Record<string, unknown>;
}

export interface SampleEvent {
  type: string;
  occurredAt?: string;
  data: unknown;
}

/**
 * View templates: admin-registered code, versioned (a version is immutable), compiled in the
 * sandbox when registered, and tried with sample events before any app uses them. See docs/views.md.
 */
export class ViewTemplatesService {
  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly eventTypes: EventTypesService,
    /** Its sandbox compiles and test-runs templates; it forgets a deleted template's sources. */
    private readonly runs: ViewRunsService,
  ) {}

  async registerTemplate(ctx: AuthContext, input: RegisterTemplateInput): Promise<{ created: boolean; template: ReturnType<ViewTemplatesService['presentVersion']> & { id: string; name: string; latestVersion: number } }> {
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
      await this.runs.sandbox().check(runtime, files);
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
      await audit(this.ledger, ctx, trx, 'cairn.view.template_registered', `view-template:${template.id}`, {
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

  async templateDetail(ctx: AuthContext, id: string) {
    this.requireAppOrManager(ctx);
    const t = await templateById(this.db, id);
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
    const t = await templateById(this.db, id);
    const v = Number.isSafeInteger(version) ? await viewsStore.version(this.db, t.id, version) : undefined;
    if (!v) throw fail('not_found', `No version ${version} of this template`);
    return { id: t.id, name: t.name, ...this.presentVersion(v), sources: v.files };
  }

  async deleteTemplate(ctx: AuthContext, id: string): Promise<void> {
    requireScope(ctx, 'views:manage');
    await templateById(this.db, id);
    try {
      await this.db.transaction().execute(async (trx) => {
        const t = await viewsStore.lockTemplate(trx, id);
        if (!t) throw fail('not_found', 'No such view template');
        const n = await viewsStore.countInstancesOfTemplate(trx, id);
        if (n > 0) throw fail('view_template_in_use', `${n} view instance${n === 1 ? ' uses' : 's use'} this template; delete them first`, { instances: n });
        await viewsStore.deleteTemplate(trx, id);
        await audit(this.ledger, ctx, trx, 'cairn.view.template_deleted', `view-template:${id}`, { templateId: id, name: t.name, versions: t.latest_version });
      });
    } catch (e) {
      // An instance created in the same instant: the foreign key refused the delete.
      if ((e as { code?: string }).code === '23503') throw fail('view_template_in_use', 'A view instance uses this template; delete it first');
      throw e;
    }
    this.runs.forgetTemplate(id);
    this.ledger.notifyAppended();
  }

  /**
   * Runs a template version with sample events, configuration and input, in the same sandbox and
   * under the same limits as an app's run, before any app uses it (issue 17). The view reads only
   * the sample events (never stored data: the administrator tries code, not people's records),
   * through the same query API, scoped to the template's event types; nothing is cached or counted.
   */
  async testRun(ctx: AuthContext, id: string, req: { version?: number; configuration?: unknown; input?: unknown; events?: SampleEvent[] }) {
    requireScope(ctx, 'views:manage');
    const t = await templateById(this.db, id);
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
    const outcome = await this.runs.sandbox().run({
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
}

/** PostgreSQL's jsonb `@>` on values, for sample events: objects by subset, arrays by any-element containment. */
function jsonContains(have: unknown, want: unknown): boolean {
  if (want === null || typeof want !== 'object') return have === want;
  if (Array.isArray(want)) return Array.isArray(have) && want.every((w) => have.some((h) => jsonContains(h, w)));
  if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
  return Object.entries(want).every(([k, w]) => jsonContains((have as Record<string, unknown>)[k], w));
}
