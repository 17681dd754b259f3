import type { Kysely } from 'kysely';
import type { Database, Db } from '../database/database.js';
import { fail } from '../kernel/errors.js';
import { authorize } from '../policies/policies.js';
import { can, requireScope, requireUser, type AuthContext } from '../kernel/access.js';
import { isUuid } from '../kernel/ids.js';
import { SYSTEM_TYPE_PREFIXES, isSystemType, type LedgerService, type PreparedEntry } from '../ledger/ledger.service.js';
import type { EntryRow } from '../ledger/ledger.store.js';
import type { CacheBus, ReadThroughCache } from '../kernel/cache.js';
import type { EventTypesService } from '../event-types/event-types.service.js';
import { checkTypeName } from '../event-types/event-types.service.js';
import { authStore } from '../auth/auth.store.js';
import { appsStore, type RightsRow } from './apps.store.js';

export type Operation = 'read' | 'create' | 'modify' | 'delete';
export interface Rights {
  read: boolean;
  create: boolean;
  modify: boolean;
  delete: boolean;
}
export type Grants = Map<string, Rights>;

const toGrants = (rows: RightsRow[]): Grants =>
  new Map(rows.map((r) => [r.event_type, { read: r.can_read, create: r.can_create, modify: r.can_modify, delete: r.can_delete }]));

/**
 * Per-event-type grants, for apps (approved permission requests) and for people's API tokens
 * (grants the owner puts on a token). They plug into the ledger through its hooks, so every read
 * and append path (list, get, the live stream, append) is narrowed without the ledger knowing
 * about apps. Grants are cached per process and dropped on every committed change (kernel/cache.ts):
 * a revoke takes effect on the very next request here, and on other servers as soon as the
 * change notification reaches them.
 */
export class GrantsService {
  /** Entries the events service already authorised as modifications (they need modify, not create). */
  readonly authorisedModifications = new WeakSet<PreparedEntry>();

  /** "app:<id>" or "token:<id>" → that caller's grants (null: not restricted to event types). */
  private readonly cached: ReadThroughCache<string, Grants | null>;

  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly eventTypes: EventTypesService,
    private readonly cache: CacheBus,
  ) {
    this.cached = cache.cache(['apps', 'app_permission_requests', 'token_event_grants']);
    ledger.hooks.readScope.push((ctx, db) => this.readScope(ctx, db));
    // First in line: a caller without the grant learns nothing from validation errors.
    ledger.hooks.beforeAppend.unshift((ctx, entries, db) => this.checkAppend(ctx, entries, db));
  }

  /** The caller's per-type grants, or null when the caller is not restricted to event types. */
  async grantsFor(ctx: AuthContext, db: Kysely<Database> = this.db): Promise<Grants | null> {
    const a = ctx.actor;
    const key = a.kind === 'app' ? `app:${a.appId}` : a.kind === 'user' && a.via === 'api_token' && a.tokenId ? `token:${a.tokenId}` : undefined;
    if (!key) return null;
    // Inside a caller's transaction the answer may include its uncommitted changes: never cache it.
    if (db !== this.db) return this.loadGrants(ctx, db);
    return this.cached.get(key, () => this.loadGrants(ctx, db));
  }

  private async loadGrants(ctx: AuthContext, db: Kysely<Database>): Promise<Grants | null> {
    const a = ctx.actor;
    if (a.kind === 'app') {
      return toGrants(await appsStore.approvedRights(db, a.appId));
    }
    if (a.kind === 'user' && a.via === 'api_token' && a.tokenId) {
      const rows = await appsStore.tokenGrants(db, a.tokenId);
      return rows.length ? toGrants(rows) : null;
    }
    return null;
  }

  private async readScope(ctx: AuthContext, db: Kysely<Database>) {
    const grants = await this.grantsFor(ctx, db);
    if (!grants) return undefined;
    const types = [...grants].filter(([, g]) => g.read).map(([t]) => t);
    if (ctx.actor.kind === 'app') return { kind: 'types' as const, types, currentOnly: true };
    if (ctx.actor.kind === 'user') {
      requireScope(ctx, 'events:read');
      return { kind: 'actor' as const, actorKind: 'user', actorId: ctx.actor.userId, excludeTypePrefixes: SYSTEM_TYPE_PREFIXES, types, currentOnly: true };
    }
    return undefined;
  }

  private async checkAppend(ctx: AuthContext, entries: PreparedEntry[], db: Kysely<Database>) {
    // Cairn's own audit entries (written with allowSystemTypes) are not the caller's events.
    if (entries.every((e) => isSystemType(e.type))) return;
    const grants = await this.grantsFor(ctx, db);
    if (!grants) return;
    entries.forEach((e, i) => {
      if (isSystemType(e.type) || this.authorisedModifications.has(e)) return;
      if (!grants.get(e.type)?.create) {
        throw fail('forbidden', `Event ${i}: you have no create grant on ${e.type}`, [{ pointer: `/events/${i}/type`, message: 'no create grant' }]);
      }
    });
  }

  /**
   * May the caller perform `op` on this stored entry? Judged on the entry's own type (never on
   * anything the request says). Answers not_found when the caller may not even know it exists.
   */
  async authorise(ctx: AuthContext, row: EntryRow, op: Operation): Promise<void> {
    const grants = isSystemType(row.type) ? null : await this.grantsFor(ctx);
    authorize(ctx, op, { kind: 'event', type: row.type, systemType: isSystemType(row.type), author: { kind: row.actor_kind, id: row.actor_id }, grants });
  }

  // --- grants on personal API tokens ---------------------------------------------------

  private async ownToken(ctx: AuthContext, tokenId: string) {
    requireScope(ctx, 'account');
    const actor = requireUser(ctx);
    if (!isUuid(tokenId)) throw fail('not_found', 'No such token');
    if (!(await authStore.isOwnLiveToken(this.db, actor.userId, tokenId))) throw fail('not_found', 'No such token');
    return actor;
  }

  async tokenGrants(ctx: AuthContext, tokenId: string) {
    await this.ownToken(ctx, tokenId);
    return (await appsStore.tokenGrants(this.db, tokenId, { ordered: true })).map(presentRights);
  }

  /** Replaces a token's event-type grants; an empty list lifts the restriction. */
  async setTokenGrants(ctx: AuthContext, tokenId: string, grants: ({ eventType: string } & Partial<Rights>)[]) {
    const actor = await this.ownToken(ctx, tokenId);
    // A token cannot widen itself: only a session (or access token) sets grants.
    if (actor.via === 'api_token') throw fail('forbidden', 'API tokens cannot change token grants');
    const seen = new Set<string>();
    for (const [i, g] of grants.entries()) {
      checkTypeName(g.eventType, `/grants/${i}/eventType`);
      if (seen.has(g.eventType)) throw fail('validation_failed', `${g.eventType} is listed twice`, [{ pointer: `/grants/${i}/eventType`, message: 'duplicate' }]);
      seen.add(g.eventType);
      if (!(await this.eventTypes.exists(g.eventType))) throw fail('validation_failed', `No event type ${g.eventType}`, [{ pointer: `/grants/${i}/eventType`, message: 'not registered' }]);
      if (!g.read && !g.create && !g.modify && !g.delete) throw fail('validation_failed', 'A grant needs at least one of read, create, modify, delete', [{ pointer: `/grants/${i}`, message: 'empty grant' }]);
    }
    await this.db.transaction().execute(async (trx) => {
      await appsStore.replaceTokenGrants(trx, tokenId, grants);
      const data = { userId: actor.userId, tokenId, grants: grants.map((g) => ({ eventType: g.eventType, read: !!g.read, create: !!g.create, modify: !!g.modify, delete: !!g.delete })) };
      await this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type: 'token.event_grants_set', stream: `user:${actor.userId}`, data }], { allowSystemTypes: true }), { db: trx });
    });
    this.cache.changed('token_event_grants');
    this.ledger.notifyAppended();
    return this.tokenGrants(ctx, tokenId);
  }
}

export const presentRights = (r: RightsRow) => ({ eventType: r.event_type, read: r.can_read, create: r.can_create, modify: r.can_modify, delete: r.can_delete });
