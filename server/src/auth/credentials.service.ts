import { jwtVerify, errors as joseErrors } from 'jose';
import type { Db } from '../database/database.js';
import type { Clock } from '../kernel/clock.js';
import { fail } from '../kernel/errors.js';
import { sha256, isUuid } from '../kernel/ids.js';
import { userContext, type AuthContext } from '../kernel/access.js';
import type { CacheBus, ReadThroughCache } from '../kernel/cache.js';
import { authStore, type UserRow, type SessionRow, type ApiTokenRow } from './auth.store.js';
import { API_TOKEN_PREFIX, type AuthKeys } from './auth.shared.js';
import type { AccountsService } from './accounts.service.js';

/**
 * Resolving callers: a session cookie, an access token or a personal API token (and, through
 * `bearerResolvers`, other domains' tokens) to the caller's AuthContext, through caches read on
 * every request; the CSRF token a session expects; whether a user must enrol a second factor
 * first. What the auth hook (auth.hook.ts) asks.
 */
export class CredentialsService {
  /** Session (by id or cookie hash) → session and user row; read on every signed-in request. */
  private readonly sessions: ReadThroughCache<string, SessionRow | undefined>;
  /** API token hash → token and owner row. */
  private readonly tokens: ReadThroughCache<string, ApiTokenRow | undefined>;

  constructor(
    private readonly db: Db,
    private readonly keys: AuthKeys,
    private readonly clock: Clock,
    cache: CacheBus,
    private readonly accounts: AccountsService,
  ) {
    this.sessions = cache.cache(['users', 'sessions']);
    this.tokens = cache.cache(['users', 'api_tokens']);
  }

  /** Double-submit token bound to the session, so a planted cookie from another session is useless. */
  csrfFor(sessionId: string): string {
    return this.keys.csrfFor(sessionId);
  }

  private async contextFor(user: UserRow, via: 'session' | 'access_token' | 'api_token', extra: Parameters<typeof userContext>[2]): Promise<AuthContext> {
    if (user.disabled_at) throw fail('account_disabled', 'This account is disabled');
    return userContext(user, via, extra);
  }

  async fromSessionCookie(token: string, meta: { requestId?: string; ip?: string }): Promise<AuthContext | undefined> {
    if (!token.startsWith('cs_') || token.length > 100) return undefined;
    const hash = sha256(token);
    const row = await this.activeSession(`h:${hash.toString('hex')}`, { tokenHash: hash });
    if (!row) return undefined;
    return this.contextFor(row, 'session', { sessionId: row.session_id, ...meta });
  }

  /**
   * Bearer formats owned by other domains (apps' access tokens): each resolver answers a context
   * for the tokens it recognises, throws for a recognised but bad one, or passes (undefined).
   */
  readonly bearerResolvers: Array<(token: string, meta: { requestId?: string; ip?: string }) => Promise<AuthContext | undefined>> = [];

  async fromBearer(token: string, meta: { requestId?: string; ip?: string }): Promise<AuthContext> {
    for (const resolve of this.bearerResolvers) {
      const ctx = await resolve(token, meta);
      if (ctx) return ctx;
    }
    if (token.startsWith(API_TOKEN_PREFIX)) {
      if (token.length > 200) throw fail('invalid_token', 'The bearer token is not valid');
      const hash = sha256(token);
      const key = hash.toString('hex');
      const row = await this.tokens.get(key, () => authStore.activeToken(this.db, hash));
      if (!row || row.token_revoked_at) throw fail('invalid_token', 'The API token is not valid or was revoked');
      if (row.token_expires_at <= this.clock.now()) throw fail('token_expired', 'The API token has expired');
      if (!row.token_last_used_at || this.clock.now().getTime() - row.token_last_used_at.getTime() > 60_000) {
        await authStore.touchToken(this.db, row.token_id);
        this.tokens.update(key, { ...row, token_last_used_at: this.clock.now() });
      }
      return this.contextFor(row, 'api_token', { tokenId: row.token_id, scopes: row.token_scopes, ...meta });
    }
    let claims: { sub?: string; sid?: unknown; typ?: unknown };
    try {
      ({ payload: claims } = await jwtVerify(token, this.keys.jwt, { algorithms: ['HS256'], currentDate: this.clock.now() }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw fail('token_expired', 'The access token has expired; refresh it or sign in again');
      throw fail('invalid_token', 'The bearer token is not valid');
    }
    if (claims.typ !== 'access' || typeof claims.sid !== 'string' || !isUuid(claims.sid)) throw fail('invalid_token', 'The bearer token is not valid');
    const row = await this.activeSession(`i:${claims.sid}`, { id: claims.sid });
    if (!row || row.id !== claims.sub) throw fail('invalid_token', 'The session behind this token has ended');
    return this.contextFor(row, 'access_token', { sessionId: claims.sid, ...meta });
  }

  /**
   * A live session and its user, through the cache. The cached row keeps its expiry, checked here
   * against the database's clock semantics (wall time), as the query's `expires_at > now()` does.
   */
  private async activeSession(key: string, by: { tokenHash: Buffer } | { id: string }): Promise<SessionRow | undefined> {
    const row = await this.sessions.get(key, () => authStore.activeSession(this.db, by));
    return row && row.session_expires_at.getTime() > Date.now() ? row : undefined;
  }

  /**
   * The caller's context as it stands now, for a long-lived request (a live tail) that must end
   * when its credential does: a revoked token, an ended session, a disabled or demoted user. Goes
   * through the same caches as every request, so it is as current as the next request would be.
   * Throws `invalid_token` / `account_disabled` when the credential no longer stands.
   */
  async recheck(ctx: AuthContext): Promise<AuthContext> {
    const a = ctx.actor;
    if (a.kind !== 'user') return ctx; // apps: their grants are re-read by the ledger's readScope hook
    const meta = { requestId: ctx.requestId, ip: ctx.ip };
    if (a.via === 'api_token') {
      const row = a.tokenId ? await this.tokens.get(`id:${a.tokenId}`, () => authStore.activeTokenById(this.db, a.tokenId!)) : undefined;
      if (!row || row.token_revoked_at || row.id !== a.userId) throw fail('invalid_token', 'The API token was revoked');
      if (row.token_expires_at <= this.clock.now()) throw fail('token_expired', 'The API token has expired');
      return this.contextFor(row, 'api_token', { tokenId: row.token_id, scopes: row.token_scopes, ...meta });
    }
    const row = a.sessionId ? await this.activeSession(`i:${a.sessionId}`, { id: a.sessionId }) : undefined;
    if (!row || row.id !== a.userId) throw fail('invalid_token', 'The session has ended');
    return this.contextFor(row, a.via, { sessionId: a.sessionId, ...meta });
  }

  /** Users who must enrol a second factor may only reach their account until they do. */
  async mustEnrol(ctx: AuthContext): Promise<boolean> {
    if (ctx.actor.kind !== 'user') return false;
    if (!(await this.accounts.requireTotpForAll())) return false;
    const u = await authStore.userById(this.db, ctx.actor.userId);
    return !!u && !u.totp_enabled;
  }
}
