import type { Kysely } from 'kysely';
import type { Database, Db } from '../database/database.js';
import type { Clock } from '../kernel/clock.js';
import { AppError, fail } from '../kernel/errors.js';
import { requireAuthenticated, requireScope, type AuthContext, type Scope } from '../kernel/access.js';
import { isUuid, newId, randomSecret, safeEqual, sha256 } from '../kernel/ids.js';
import { toPublicEntry, type LedgerService } from '../ledger/ledger.service.js';
import { ledgerStore } from '../ledger/ledger.store.js';
import type { EventTypesService } from '../event-types/event-types.service.js';
import { checkTypeName } from '../event-types/event-types.service.js';
import { appsStore, type AppRow, type PermissionRequestRow, type TokenAppRow } from './apps.store.js';
import type { CacheBus, ReadThroughCache } from '../kernel/cache.js';

export const APP_TOKEN_PREFIX = 'cairn_app_';
export const CLIENT_SECRET_PREFIX = 'cairn_cs_';
export const ASSOCIATION_CODE_PREFIX = 'cairn_assoc_';

/** What an app's requests may reach at all; its grants then narrow every event operation per type. */
const APP_SCOPES: Scope[] = ['events:read', 'events:write', 'event-types:manage'];

export interface AppsOptions {
  associationTtlSeconds: number;
  accessTokenTtlSeconds: number;
  defaultRateLimitPerMinute: number;
}

export type AssociationStatus = 'awaiting_association' | 'code_expired' | 'associated' | 'revoked';

export function associationStatus(a: AppRow, now: Date): AssociationStatus {
  if (a.revoked_at) return 'revoked';
  if (a.associated_at) return 'associated';
  return a.association_expires_at && a.association_expires_at > now ? 'awaiting_association' : 'code_expired';
}

export const presentRequest = (r: PermissionRequestRow & { app_name?: string }) => ({
  id: r.id,
  appId: r.app_id,
  ...(r.app_name !== undefined ? { appName: r.app_name } : {}),
  eventType: r.event_type,
  read: r.can_read,
  create: r.can_create,
  modify: r.can_modify,
  delete: r.can_delete,
  // What the app asked for: differs from the four rights above when only part was approved.
  requested: r.requested ?? { read: r.can_read, create: r.can_create, modify: r.can_modify, delete: r.can_delete },
  message: r.message,
  status: r.status,
  createdAt: r.created_at.toISOString(),
  decidedAt: r.decided_at?.toISOString() ?? null,
});

type Right = 'read' | 'create' | 'modify' | 'delete';
const RIGHTS: Right[] = ['read', 'create', 'modify', 'delete'];

/**
 * The rights an approval grants when the administrator approves part of a request: a missing
 * right means "as asked"; granting a right that was not asked for, or none at all (that is a
 * decline), is refused with a pointer to the field.
 */
function partialGrant(r: PermissionRequestRow, grant: Partial<Record<Right, boolean>>): Record<Right, boolean> | undefined {
  const asked: Record<Right, boolean> = { read: r.can_read, create: r.can_create, modify: r.can_modify, delete: r.can_delete };
  const out = { ...asked };
  for (const k of RIGHTS) {
    const v = grant[k];
    if (v === undefined) continue;
    if (v && !asked[k]) throw fail('validation_failed', `The app did not ask to ${k} ${r.event_type}`, [{ pointer: `/${k}`, message: 'not requested' }]);
    out[k] = v;
  }
  if (!RIGHTS.some((k) => out[k])) throw fail('validation_failed', 'An approval grants at least one right; decline the request instead', [{ pointer: '/', message: 'no right granted' }]);
  return RIGHTS.every((k) => out[k] === asked[k]) ? undefined : out;
}

/**
 * Third-party apps: registered by an administrator, associated once with a one-time code, then
 * authenticated with OAuth2 client credentials (short-lived opaque bearer tokens, hashed at rest).
 * Every request re-reads the app row, so revoking an app or a grant stops it on its next request.
 */
export class AppsService {
  private readonly windows = new Map<string, { start: number; count: number }>();
  /** Access token hash → the app behind it; read on every app request. */
  private readonly tokens: ReadThroughCache<string, TokenAppRow | undefined>;

  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly eventTypes: EventTypesService,
    private readonly clock: Clock,
    private readonly options: AppsOptions,
    private readonly cache: CacheBus,
  ) {
    this.tokens = cache.cache(['apps', 'app_access_tokens']);
  }

  present(a: AppRow & { pending?: number; grants?: number }) {
    return {
      id: a.id,
      name: a.name,
      description: a.description,
      status: associationStatus(a, this.clock.now()),
      associationExpiresAt: a.associated_at ? null : (a.association_expires_at?.toISOString() ?? null),
      associatedAt: a.associated_at?.toISOString() ?? null,
      revokedAt: a.revoked_at?.toISOString() ?? null,
      rateLimitPerMinute: a.rate_limit_per_minute,
      createdAt: a.created_at.toISOString(),
      ...(a.pending !== undefined ? { pendingRequests: a.pending, activeGrants: a.grants ?? 0 } : {}),
    };
  }

  private audit(ctx: AuthContext, db: Kysely<Database>, type: string, appId: string, data: Record<string, unknown>) {
    return this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type, stream: `app:${appId}`, data: { appId, ...data } }], { allowSystemTypes: true }), { db });
  }

  private async withAudit<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    const r = await this.db.transaction().execute(fn);
    // Every app change (revocation, decisions, new credentials) is visible on the next request.
    this.cache.changed('apps', 'app_access_tokens', 'app_permission_requests');
    this.ledger.notifyAppended();
    return r;
  }

  private newCode() {
    const code = `${ASSOCIATION_CODE_PREFIX}${randomSecret(18)}`;
    return { code, hash: sha256(code), expiresAt: new Date(this.clock.now().getTime() + this.options.associationTtlSeconds * 1000) };
  }

  // --- administrators ----------------------------------------------------------------------

  async register(ctx: AuthContext, input: { name: string; description?: string; rateLimitPerMinute?: number }) {
    requireScope(ctx, 'apps:manage');
    const name = String(input.name ?? '').trim();
    if (!name || name.length > 100) throw fail('validation_failed', 'App names are 1-100 characters', [{ pointer: '/name', message: 'invalid name' }]);
    const description = String(input.description ?? '').trim();
    if (description.length > 2000) throw fail('validation_failed', 'The description is at most 2000 characters', [{ pointer: '/description', message: 'too long' }]);
    const { code, hash, expiresAt } = this.newCode();
    const app = await this.withAudit(async (trx) => {
      const row = await appsStore.insert(trx, {
        id: newId(),
        name,
        description,
        createdBy: ctx.actor.kind === 'user' ? ctx.actor.userId : null,
        codeHash: hash,
        expiresAt,
        rateLimit: input.rateLimitPerMinute ?? this.options.defaultRateLimitPerMinute,
      });
      await this.audit(ctx, trx, 'cairn.app.registered', row.id, { name });
      return row;
    });
    return { ...this.present(app), associationCode: code };
  }

  private async app(id: string, db: Kysely<Database> = this.db) {
    const a = isUuid(id) ? await appsStore.byId(db, id) : undefined;
    if (!a) throw fail('not_found', 'No such app');
    return a;
  }

  async list(ctx: AuthContext) {
    requireScope(ctx, 'apps:manage');
    return (await appsStore.all(this.db)).map((a) => this.present(a));
  }

  async detail(ctx: AuthContext, id: string) {
    requireScope(ctx, 'apps:manage');
    const a = await this.app(id);
    const requests = await appsStore.requests(this.db, { appId: id, limit: 200 });
    // Recent activity: what the app wrote, and what was decided about it (its own stream).
    const rows = await ledgerStore.recentByActorAndStream(this.db, { kind: 'app', id }, `app:${id}`, 20);
    return {
      ...this.present(a),
      grants: requests.filter((r) => r.status === 'approved').map(presentRequest),
      requests: requests.map(presentRequest),
      recentActivity: rows.slice(0, 20).map(toPublicEntry),
    };
  }

  async newAssociationCode(ctx: AuthContext, id: string) {
    requireScope(ctx, 'apps:manage');
    const a = await this.app(id);
    if (a.revoked_at) throw fail('conflict', 'This app is revoked; register it again');
    const { code, hash, expiresAt } = this.newCode();
    await this.withAudit(async (trx) => {
      await appsStore.setCode(trx, id, hash, expiresAt);
      await this.audit(ctx, trx, 'cairn.app.association_code_issued', id, {});
    });
    return { ...this.present((await appsStore.byId(this.db, id))!), associationCode: code };
  }

  async revokeApp(ctx: AuthContext, id: string) {
    requireScope(ctx, 'apps:manage');
    await this.app(id);
    const row = await this.withAudit(async (trx) => {
      const r = await appsStore.revoke(trx, id, this.clock.now());
      if (!r) throw fail('conflict', 'This app is already revoked');
      await this.audit(ctx, trx, 'cairn.app.revoked', id, {});
      return r;
    });
    return this.present(row);
  }

  async listRequests(ctx: AuthContext, f: { status?: string; appId?: string; limit?: number }) {
    requireScope(ctx, 'apps:manage');
    if (f.appId !== undefined && !isUuid(f.appId)) return [];
    return (await appsStore.requests(this.db, { status: f.status, appId: f.appId, limit: f.limit ?? 200 })).map(presentRequest);
  }

  /**
   * approve: pending → approved. decline: pending → declined (never granted). revoke: approved →
   * revoked; a revoke of a pending request is a decline (the route predates decline).
   */
  async decide(ctx: AuthContext, requestId: string, decision: 'approve' | 'decline' | 'revoke', grant?: Partial<Record<Right, boolean>>) {
    requireScope(ctx, 'apps:manage');
    if (!isUuid(requestId)) throw fail('not_found', 'No such permission request');
    if (grant && decision !== 'approve') throw fail('validation_failed', 'Only an approval grants rights', [{ pointer: '/grant', message: 'only with approve' }]);
    const row = await this.withAudit(async (trx) => {
      const r = await appsStore.request(trx, requestId, true);
      if (!r) throw fail('not_found', 'No such permission request');
      if (decision === 'approve' && r.status !== 'pending') throw fail('conflict', `This request is ${r.status}; only a pending request can be approved`);
      if (decision === 'decline' && r.status !== 'pending') throw fail('conflict', `This request is ${r.status}; only a pending request can be declined`);
      if (decision === 'revoke' && r.status !== 'pending' && r.status !== 'approved') throw fail('conflict', `This request is ${r.status}; only a pending or approved request can be revoked`);
      const app = (await appsStore.byId(trx, r.app_id))!;
      if (decision === 'approve' && app.revoked_at) throw fail('conflict', 'The app is revoked');
      const partial = grant ? partialGrant(r, grant) : undefined;
      const status = decision === 'approve' ? 'approved' : r.status === 'pending' ? 'declined' : 'revoked';
      const updated = await appsStore.decide(trx, requestId, status, ctx.actor.kind === 'user' ? ctx.actor.userId : null, this.clock.now(), partial);
      await this.audit(ctx, trx, `cairn.app.permission_${status}`, r.app_id, {
        requestId,
        eventType: r.event_type,
        read: updated.can_read,
        create: updated.can_create,
        modify: updated.can_modify,
        delete: updated.can_delete,
        ...(partial ? { requested: { read: r.can_read, create: r.can_create, modify: r.can_modify, delete: r.can_delete } } : {}),
        previousStatus: r.status,
      });
      return updated;
    });
    return presentRequest(row);
  }

  // --- the app itself ------------------------------------------------------------------------

  async associate(code: unknown, meta: { requestId?: string; ip?: string }) {
    const bad = () => fail('invalid_grant', 'The association code is not valid, was already used, or has expired');
    if (typeof code !== 'string' || !code.startsWith(ASSOCIATION_CODE_PREFIX) || code.length > 100) throw bad();
    const clientSecret = `${CLIENT_SECRET_PREFIX}${randomSecret()}`;
    const app = await this.withAudit(async (trx) => {
      const a = await appsStore.byCodeHash(trx, sha256(code));
      if (!a || a.revoked_at || !a.association_expires_at || a.association_expires_at <= this.clock.now()) throw bad();
      await appsStore.associate(trx, a.id, sha256(clientSecret), this.clock.now());
      const ctx: AuthContext = { actor: { kind: 'app', appId: a.id, name: a.name }, scopes: new Set(), ...meta };
      await this.audit(ctx, trx, 'cairn.app.associated', a.id, { reassociated: !!a.associated_at });
      return a;
    });
    return { clientId: app.id, clientSecret };
  }

  /** OAuth2 client credentials (RFC 6749 4.4). */
  async issueToken(input: { grantType?: unknown; clientId?: unknown; clientSecret?: unknown }) {
    if (input.grantType !== 'client_credentials') {
      throw fail('unsupported_grant_type', 'Only grant_type=client_credentials is supported');
    }
    const badClient = () => new AppError('invalid_client', 'Unknown client or wrong secret', undefined, { 'www-authenticate': 'Basic realm="cairn"' });
    const { clientId, clientSecret } = input;
    if (typeof clientId !== 'string' || !isUuid(clientId) || typeof clientSecret !== 'string' || clientSecret.length > 200) throw badClient();
    const a = await appsStore.byId(this.db, clientId);
    if (!a || !a.client_secret_hash || !safeEqual(a.client_secret_hash, sha256(clientSecret))) throw badClient();
    if (a.revoked_at) throw new AppError('invalid_client', 'This app was revoked', undefined, { 'www-authenticate': 'Basic realm="cairn"' });
    const token = `${APP_TOKEN_PREFIX}${randomSecret()}`;
    const now = this.clock.now();
    await appsStore.insertToken(this.db, { hash: sha256(token), appId: a.id, issuedAt: now, expiresAt: new Date(now.getTime() + this.options.accessTokenTtlSeconds * 1000) });
    return { access_token: token, token_type: 'Bearer' as const, expires_in: this.options.accessTokenTtlSeconds };
  }

  /** Bearer resolver registered with the auth service: claims `cairn_app_` tokens. */
  async fromBearer(token: string, meta: { requestId?: string; ip?: string }): Promise<AuthContext | undefined> {
    if (!token.startsWith(APP_TOKEN_PREFIX)) return undefined;
    if (token.length > 100) throw fail('invalid_token', 'The app access token is not valid');
    const hash = sha256(token);
    const row = await this.tokens.get(hash.toString('hex'), () => appsStore.tokenApp(this.db, hash));
    if (!row) throw fail('invalid_token', 'The app access token is not valid');
    if (row.revoked_at) throw fail('invalid_token', 'This app was revoked');
    if (row.credentials_since && row.issued_at < row.credentials_since) throw fail('invalid_token', 'The app access token predates the current credentials');
    if (row.expires_at <= this.clock.now()) throw fail('token_expired', 'The app access token has expired; request a new one at /api/v1/oauth/token');
    this.countRequest(row.app_id, row.rate_limit_per_minute);
    return { actor: { kind: 'app', appId: row.app_id, name: row.name }, scopes: new Set(APP_SCOPES), ...meta };
  }

  /**
   * A fixed one-minute window per app, in this process (with several servers each enforces the
   * limit on its own share of the traffic).
   */
  private countRequest(appId: string, limit: number) {
    const now = Date.now();
    const minute = Math.floor(now / 60_000) * 60_000;
    let w = this.windows.get(appId);
    if (!w || w.start !== minute) {
      if (this.windows.size > 10_000) this.windows.clear();
      w = { start: minute, count: 0 };
      this.windows.set(appId, w);
    }
    w.count++;
    if (w.count > limit) {
      const retry = Math.max(1, Math.ceil((minute + 60_000 - now) / 1000));
      throw new AppError('rate_limited', `This app is limited to ${limit} requests a minute; retry in ${retry} s`, { limit, retryAfterSeconds: retry }, { 'retry-after': String(retry) });
    }
  }

  private requireApp(ctx: AuthContext) {
    requireAuthenticated(ctx);
    if (ctx.actor.kind !== 'app') throw fail('forbidden', 'Only an app can do this');
    return ctx.actor;
  }

  async me(ctx: AuthContext) {
    const actor = this.requireApp(ctx);
    const a = await this.app(actor.appId);
    const requests = await appsStore.requests(this.db, { appId: a.id, status: 'approved', limit: 1000 });
    return { ...this.present(a), grants: requests.map(presentRequest) };
  }

  async requestPermission(ctx: AuthContext, input: { eventType: string; read?: boolean; create?: boolean; modify?: boolean; delete?: boolean; message?: string }) {
    const actor = this.requireApp(ctx);
    const eventType = checkTypeName(input.eventType, '/eventType');
    const rights = { read: !!input.read, create: !!input.create, modify: !!input.modify, delete: !!input.delete };
    if (!rights.read && !rights.create && !rights.modify && !rights.delete) {
      throw fail('validation_failed', 'Ask for at least one of read, create, modify, delete', [{ pointer: '/', message: 'nothing requested' }]);
    }
    const message = String(input.message ?? '').trim();
    if (message.length > 1000) throw fail('validation_failed', 'The message is at most 1000 characters', [{ pointer: '/message', message: 'too long' }]);
    if (!(await this.eventTypes.exists(eventType))) {
      throw fail('validation_failed', `No event type ${eventType}: register it first at POST /api/v1/event-types`, [{ pointer: '/eventType', message: 'not registered' }]);
    }
    const row = await this.withAudit(async (trx) => {
      const r = await appsStore.insertRequest(trx, { id: newId(), appId: actor.appId, eventType, ...rights, message });
      await this.audit(ctx, trx, 'cairn.app.permission_requested', actor.appId, { requestId: r.id, eventType, ...rights, message });
      return r;
    });
    return presentRequest(row);
  }

  async myRequests(ctx: AuthContext, status?: string) {
    const actor = this.requireApp(ctx);
    return (await appsStore.requests(this.db, { appId: actor.appId, status, limit: 1000 })).map(presentRequest);
  }
}
