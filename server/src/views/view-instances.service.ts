import type { Db } from '../database/database.js';
import { fail } from '../kernel/errors.js';
import { requireAuthenticated, requireScope, type AuthContext } from '../kernel/access.js';
import { decide } from '../policies/policies.js';
import { isUuid, newId } from '../kernel/ids.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import type { AppsService } from '../apps/apps.service.js';
import type { GrantsService } from '../apps/apps.grants.js';
import { viewsStore, type InstanceRow, type RunnableRow } from './views.store.js';
import { audit, bad, jsonArgument, requireApp, templateById } from './views.shared.js';
import type { ViewRunsService } from './view-runs.service.js';

export const MAX_CONFIGURATION_BYTES = 64 * 1024;

/**
 * View instances: an app's use of a template version with a fixed configuration, and the read
 * permission requests filed for it; the instance runs once every one is approved. See docs/views.md.
 */
export class ViewInstancesService {
  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly apps: AppsService,
    private readonly grants: GrantsService,
    /** Its counters are shown with the instances; it forgets a deleted instance's cached results. */
    private readonly runs: ViewRunsService,
  ) {}

  async createInstance(ctx: AuthContext, input: { templateId: string; templateVersion?: number; configuration?: unknown }) {
    const actor = requireApp(ctx);
    const t = await templateById(this.db, input.templateId).catch(() => {
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
        await audit(this.ledger, ctx, trx, 'cairn.view.instance_created', `view:${id}`, { instanceId: id, appId: actor.appId, templateId: t.id, templateVersion: v.version });
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
    await this.runs.settleWrites();
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
    await this.runs.settleWrites();
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
      await audit(this.ledger, ctx, trx, 'cairn.view.instance_deleted', `view:${row.id}`, { instanceId: row.id, appId: row.app_id, templateId: row.template_id });
    });
    this.runs.forgetInstance(row.id);
    this.ledger.notifyAppended();
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
