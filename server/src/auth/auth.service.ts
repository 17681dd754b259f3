import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { createHmac, randomInt } from 'node:crypto';
import type { Db } from '../database/database.js';
import type { Config } from '../config.js';
import type { Clock } from '../kernel/clock.js';
import { AppError, fail } from '../kernel/errors.js';
import { newId, randomSecret, sha256, isUuid } from '../kernel/ids.js';
import { SecretBox, deriveKey } from '../kernel/crypto.js';
import {
  ALL_SCOPES, ROLES, anonymous, isScope, requireScope, requireUser, userContext, type AuthContext, type Role, type Scope,
} from '../kernel/access.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import { authStore, type UserRow, type TokenRow, type SessionRow, type ApiTokenRow } from './auth.store.js';
import type { CacheBus, ReadThroughCache } from '../kernel/cache.js';
import { dummyHash, hashPassword, passwordProblem, verifyPassword } from './auth.passwords.js';
import { checkTotp, newTotpSecret, totpUri } from './auth.totp.js';

export const SESSION_COOKIE = 'cairn_session';
export const CSRF_COOKIE = 'cairn_csrf';
export const API_TOKEN_PREFIX = 'cairn_pat_';
export const RECOVERY_CODE_COUNT = 10;
// Letters and digits without 0/o, 1/l/i: a code is read off paper and typed back.
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
/** "xxxxx-xxxxx": 10 characters of a 31-letter alphabet, about 49.5 random bits. */
function newRecoveryCode(): string {
  let c = '';
  for (let i = 0; i < 10; i++) c += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  return `${c.slice(0, 5)}-${c.slice(5)}`;
}
const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$/;

export interface PublicUser {
  id: string;
  username: string;
  role: Role;
  /** The person's name, when one was given (the user picker searches it beside the username). */
  displayName: string | null;
  totpEnabled: boolean;
  mustEnrolTotp: boolean;
  disabled: boolean;
  createdAt: string;
}

export interface LoginResult {
  accessToken: string;
  expiresIn: number;
  user: PublicUser;
  /** For the route to set as cookies; never in the JSON body. */
  session: { token: string; csrf: string; maxAge: number };
}

export function presentToken(t: TokenRow) {
  return {
    id: t.id,
    name: t.name,
    scopes: t.scopes,
    createdAt: t.created_at.toISOString(),
    expiresAt: t.expires_at.toISOString(),
    lastUsedAt: t.last_used_at?.toISOString() ?? null,
    revokedAt: t.revoked_at?.toISOString() ?? null,
  };
}

/**
 * Accounts: first-run setup, sign-in with an optional second factor, sessions for browsers,
 * short-lived access tokens and personal API tokens for programs, and the audit trail of each.
 */
export class AuthService {
  private readonly jwtKey: Uint8Array;
  private readonly csrfKey: Uint8Array;
  private readonly totpBox: SecretBox;
  private readonly loginKeyKey: Uint8Array;
  private requireTotpCache: { value: boolean; at: number } | undefined;
  /** Session (by id or cookie hash) → session and user row; read on every signed-in request. */
  private readonly sessions: ReadThroughCache<string, SessionRow | undefined>;
  /** API token hash → token and owner row. */
  private readonly tokens: ReadThroughCache<string, ApiTokenRow | undefined>;

  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly config: Config & { secret: string },
    private readonly clock: Clock,
    private readonly cache: CacheBus,
  ) {
    this.sessions = cache.cache(['users', 'sessions']);
    this.tokens = cache.cache(['users', 'api_tokens']);
    this.jwtKey = deriveKey(config.secret, 'jwt-access');
    this.csrfKey = deriveKey(config.secret, 'csrf');
    this.totpBox = new SecretBox(config.secret, 'totp');
    this.loginKeyKey = deriveKey(config.secret, 'login-failures');
    this.recoveryKey = deriveKey(config.secret, 'recovery-codes');
  }

  private readonly recoveryKey: Uint8Array;

  // --- recovery codes (docs/security.md, "Recovery codes") ------------------------------

  /** Case, spaces and dashes do not matter when a person types a code back. */
  private recoveryHash(code: string): Buffer {
    return createHmac('sha256', this.recoveryKey).update(code.toLowerCase().replace(/[^a-z0-9]/g, '')).digest();
  }

  /** A fresh set of RECOVERY_CODE_COUNT codes for the user, stored hashed; answered once, in clear. */
  private async issueRecoveryCodes(db: Db, userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await authStore.replaceRecoveryCodes(db, userId, codes.map((c) => this.recoveryHash(c)));
    return codes;
  }

  // --- presenting ------------------------------------------------------------------------

  async requireTotpForAll(): Promise<boolean> {
    const now = Date.now();
    // Cached briefly: it is read on every request, changed almost never.
    if (this.requireTotpCache && now - this.requireTotpCache.at < 2000) return this.requireTotpCache.value;
    const value = (await authStore.getSetting<boolean>(this.db, 'requireTotp')) ?? false;
    this.requireTotpCache = { value, at: now };
    return value;
  }

  /** Called after the settings change so this process sees it at once (others within 2 s). */
  forgetCachedSettings(): void {
    this.requireTotpCache = undefined;
  }

  async present(u: UserRow): Promise<PublicUser> {
    return {
      id: u.id,
      username: u.username,
      role: u.role,
      displayName: u.display_name,
      totpEnabled: u.totp_enabled,
      mustEnrolTotp: !u.totp_enabled && (await this.requireTotpForAll()),
      disabled: u.disabled_at !== null,
      createdAt: u.created_at.toISOString(),
    };
  }

  private audit(ctx: AuthContext, type: string, stream: string | null, data: Record<string, unknown>, db?: Db) {
    // Outside a caller's transaction the ledger opens its own: the stream lock that orders
    // concurrent entries of one user's stream (two failed sign-ins at once) holds only in one.
    return this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type, stream, data }], { allowSystemTypes: true }), db ? { db } : {});
  }

  // --- first run -------------------------------------------------------------------------

  async needsSetup(): Promise<boolean> {
    return (await authStore.countUsers(this.db)) === 0;
  }

  /** Creates the first admin; refused once any user exists (also from the CLI). */
  async createFirstAdmin(username: string, password: string): Promise<UserRow> {
    this.checkUsername(username);
    const problem = passwordProblem(password, username);
    if (problem) throw fail('validation_failed', problem, [{ pointer: '/password', message: problem }]);
    const passwordHash = await hashPassword(password);
    return this.db.transaction().execute(async (trx) => {
      // Serialises concurrent setups so exactly one can see an empty users table.
      await authStore.lockSetup(trx);
      if ((await authStore.countUsers(trx)) > 0) throw fail('already_set_up', 'Cairn is already set up; sign in instead');
      const user = await authStore.insertUser(trx, { id: newId(), username, password_hash: passwordHash, role: 'admin' });
      const ctx = userContext(user, 'session');
      await this.audit(ctx, 'user.created', `user:${user.id}`, { userId: user.id, username, role: 'admin', firstAdmin: true }, trx);
      return user;
    });
  }

  private checkUsername(username: string) {
    if (typeof username !== 'string' || !USERNAME_RE.test(username)) {
      throw fail('validation_failed', 'Usernames are 2-64 letters, digits and . _ @ -, starting with a letter or digit', [{ pointer: '/username', message: 'invalid username' }]);
    }
  }

  // --- sign-in ---------------------------------------------------------------------------

  /**
   * HMAC of the lower-cased submitted username: the key failed sign-ins are counted under, for
   * accounts that exist and names that do not alike (a lock must not reveal which names exist).
   */
  private loginKey(username: string): Buffer {
    return createHmac('sha256', this.loginKeyKey).update(username.toLowerCase()).digest();
  }

  /** Lifts a sign-in lock (an administrator enabling the user). */
  clearLoginFailures(username: string, db: Db = this.db) {
    return authStore.clearLoginFailures(db, this.loginKey(username));
  }

  private lastPrune = 0;
  /** At most once a minute per process: the failures table only holds the current window. */
  private pruneLoginFailures() {
    if (Date.now() - this.lastPrune < 60_000) return;
    this.lastPrune = Date.now();
    authStore.pruneLoginFailures(this.db, this.config.lockoutSeconds).catch(() => {});
  }

  async login(input: { username: string; password: string; totp?: string; recoveryCode?: string }, meta: { ip?: string; userAgent?: string; requestId?: string }): Promise<LoginResult> {
    const anon = anonymous(meta.requestId, meta.ip);
    const username = typeof input.username === 'string' ? input.username.slice(0, 64) : '';
    const key = this.loginKey(username);
    // Checked before the account is looked up, and counted for unknown names too, so a locked
    // name answers the same 423 whether or not an account has it.
    const lockedFor = await authStore.loginLockSeconds(this.db, key);
    if (lockedFor > 0) {
      throw new AppError('account_locked', 'Too many failed sign-ins: this account is locked for a while', { lockedUntil: new Date(this.clock.now().getTime() + lockedFor * 1000).toISOString() }, {
        'retry-after': String(lockedFor),
      });
    }
    this.pruneLoginFailures();
    const user = typeof input.username === 'string' && input.username.length <= 64 ? await authStore.userByUsername(this.db, input.username) : undefined;
    if (!user) {
      await verifyPassword(await dummyHash(), input.password);
      const locked = await authStore.recordLoginFailure(this.db, key, this.config.lockoutThreshold, this.config.lockoutSeconds);
      await this.audit(anon, 'auth.login_failed', null, { username, reason: 'unknown_user', ip: meta.ip ?? null, locked });
      throw fail('invalid_credentials', 'Wrong username or password');
    }
    const userCtx = userContext(user, 'session', { requestId: meta.requestId, ip: meta.ip });
    const failed = async (reason: string, code: 'invalid_credentials' | 'totp_invalid' | 'totp_reused' | 'recovery_code_invalid', message: string) => {
      const locked = await authStore.recordLoginFailure(this.db, key, this.config.lockoutThreshold, this.config.lockoutSeconds);
      await this.audit(anon, 'auth.login_failed', `user:${user.id}`, { userId: user.id, reason, ip: meta.ip ?? null, locked });
      throw fail(code, message);
    };
    if (!(await verifyPassword(user.password_hash, input.password))) await failed('bad_password', 'invalid_credentials', 'Wrong username or password');
    if (user.disabled_at) throw fail('account_disabled', 'This account is disabled; ask an administrator');
    // "Lost my device": a recovery code instead of a TOTP code signs in once and removes the second
    // factor (its seed is on the lost device), so the person enrols their new device next.
    let recovered = false;
    if (user.totp_enabled && input.recoveryCode && !input.totp) {
      if (!(await authStore.consumeRecoveryCode(this.db, user.id, this.recoveryHash(input.recoveryCode)))) {
        await failed('bad_recovery_code', 'recovery_code_invalid', 'That recovery code is not valid or was already used');
      }
      recovered = true;
    } else if (user.totp_enabled) {
      if (!input.totp) throw fail('totp_required', 'Enter the 6-digit code from your authenticator app');
      const step = await checkTotp(this.totpBox.open(user.totp_secret_enc!), input.totp, this.clock.now());
      if (step === null) await failed('bad_totp', 'totp_invalid', 'That code is not valid; check your device clock and try again');
      if (!(await authStore.consumeTotpStep(this.db, user.id, step!))) await failed('totp_reused', 'totp_reused', 'That code was already used; wait for the next one');
    }
    return this.db.transaction().execute(async (trx) => {
      await authStore.clearLoginFailures(trx, key);
      let signedIn = user;
      if (recovered) {
        signedIn = await authStore.updateUser(trx, user.id, { totp_enabled: false, totp_secret_enc: null, totp_last_step: null });
        await authStore.replaceRecoveryCodes(trx, user.id, []);
        await this.audit(userCtx, 'user.totp_recovered', `user:${user.id}`, { userId: user.id, ip: meta.ip ?? null }, trx);
      }
      const session = await this.openSession(trx, signedIn, meta);
      await this.audit(userCtx, 'auth.login', `user:${user.id}`, { userId: user.id, sessionId: session.id, ip: meta.ip ?? null, userAgent: meta.userAgent?.slice(0, 300) ?? null, secondFactor: user.totp_enabled }, trx);
      return this.loginResult(signedIn, session.id, session.token);
    });
  }

  /** Checks a second-factor code for a signed-in action and uses it up (a code works once). */
  private async useTotp(u: UserRow, code: string, message: string): Promise<void> {
    const step = await checkTotp(this.totpBox.open(u.totp_secret_enc!), String(code), this.clock.now());
    if (step === null) throw fail('totp_invalid', message);
    if (!(await authStore.consumeTotpStep(this.db, u.id, step))) throw fail('totp_reused', 'That code was already used; wait for the next one');
  }

  private async openSession(db: Db, user: UserRow, meta: { ip?: string; userAgent?: string }) {
    const id = newId();
    const token = `cs_${randomSecret()}`;
    await authStore.insertSession(db, {
      id,
      user_id: user.id,
      token_hash: sha256(token),
      expires_at: new Date(this.clock.now().getTime() + this.config.sessionTtlSeconds * 1000),
      user_agent: meta.userAgent?.slice(0, 300) ?? null,
      ip: meta.ip ?? null,
    });
    return { id, token };
  }

  private async loginResult(user: UserRow, sessionId: string, sessionToken: string | undefined): Promise<LoginResult> {
    const ttl = this.config.accessTokenTtlSeconds;
    const accessToken = await new SignJWT({ sid: sessionId, typ: 'access' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuedAt()
      .setExpirationTime(Math.floor(this.clock.now().getTime() / 1000) + ttl)
      .sign(this.jwtKey);
    return {
      accessToken,
      expiresIn: ttl,
      user: await this.present(user),
      session: { token: sessionToken ?? '', csrf: this.csrfFor(sessionId), maxAge: this.config.sessionTtlSeconds },
    };
  }

  /** Double-submit token bound to the session, so a planted cookie from another session is useless. */
  csrfFor(sessionId: string): string {
    return createHmac('sha256', this.csrfKey).update(sessionId).digest('base64url');
  }

  /** Creates and signs in the first admin (the setup page's single step). */
  async setup(input: { username: string; password: string }, meta: { ip?: string; userAgent?: string; requestId?: string }) {
    const user = await this.createFirstAdmin(input.username, input.password);
    const session = await this.openSession(this.db, user, meta);
    return this.loginResult(user, session.id, session.token);
  }

  async refresh(ctx: AuthContext): Promise<LoginResult> {
    const actor = requireUser(ctx);
    if (actor.via !== 'session' || !actor.sessionId) throw fail('unauthenticated', 'Refreshing needs the browser session cookie');
    const row = await authStore.activeSession(this.db, { id: actor.sessionId });
    if (!row) throw fail('unauthenticated', 'The session has ended; sign in again');
    return this.loginResult(row, actor.sessionId, undefined);
  }

  async logout(ctx: AuthContext): Promise<void> {
    const actor = requireUser(ctx);
    if (!actor.sessionId) return;
    await authStore.revokeSession(this.db, actor.sessionId);
    this.cache.changed('sessions');
    await this.audit(ctx, 'auth.logout', `user:${actor.userId}`, { userId: actor.userId, sessionId: actor.sessionId });
  }

  // --- resolving callers -----------------------------------------------------------------

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
      ({ payload: claims } = await jwtVerify(token, this.jwtKey, { algorithms: ['HS256'], currentDate: this.clock.now() }));
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

  /** Called after a committed change to users, sessions or API tokens made outside this service. */
  accountsChanged(): void {
    this.cache.changed('users', 'sessions', 'api_tokens');
  }

  /** Users who must enrol a second factor may only reach their account until they do. */
  async mustEnrol(ctx: AuthContext): Promise<boolean> {
    if (ctx.actor.kind !== 'user') return false;
    if (!(await this.requireTotpForAll())) return false;
    const u = await authStore.userById(this.db, ctx.actor.userId);
    return !!u && !u.totp_enabled;
  }

  // --- own account -----------------------------------------------------------------------

  async me(ctx: AuthContext) {
    const actor = requireUser(ctx);
    const u = await authStore.userById(this.db, actor.userId);
    if (!u) throw fail('unauthenticated', 'No such user');
    return { user: await this.present(u), scopes: [...ctx.scopes] };
  }

  async changePassword(ctx: AuthContext, currentPassword: string, newPassword: string) {
    const u = await this.accountUser(ctx);
    const actor = requireUser(ctx);
    if (!(await verifyPassword(u.password_hash, currentPassword))) throw fail('invalid_credentials', 'The current password is wrong');
    const problem = passwordProblem(newPassword, u.username);
    if (problem) throw fail('validation_failed', problem, [{ pointer: '/newPassword', message: problem }]);
    const password_hash = await hashPassword(newPassword);
    // A new password ends every other way in: the user's other sessions (and the access tokens
    // bound to them) and every personal API token; the credential asking (its session, or the API
    // token itself) stays valid. Tokens are revoked rather than kept because a password change is
    // what people do when they suspect a leak, and a token made by whoever had the old password
    // must not outlive it. The answer says how many ended (docs/security.md).
    const result = await this.db.transaction().execute(async (trx) => {
      await authStore.updateUser(trx, u.id, { password_hash });
      const endedSessions = await authStore.revokeUserSessions(trx, u.id, actor.via === 'api_token' ? undefined : actor.sessionId);
      const revokedTokens = await authStore.revokeUserTokens(trx, u.id, actor.via === 'api_token' ? actor.tokenId : undefined);
      await this.audit(ctx, 'user.password_changed', `user:${u.id}`, { userId: u.id, endedSessions, revokedTokens }, trx);
      return { endedSessions, revokedTokens };
    });
    this.cache.changed('sessions', 'api_tokens');
    return result;
  }

  /** The signed-in user's own row, for changes to their own account. */
  private async accountUser(ctx: AuthContext): Promise<UserRow> {
    requireScope(ctx, 'account');
    const actor = requireUser(ctx);
    return (await authStore.userById(this.db, actor.userId))!;
  }

  async enrolTotp(ctx: AuthContext) {
    const u = await this.accountUser(ctx);
    if (u.totp_enabled) throw fail('conflict', 'A second factor is already enabled; disable it first');
    const secret = newTotpSecret();
    // A new seed starts a new sequence of time steps.
    await authStore.updateUser(this.db, u.id, { totp_secret_enc: this.totpBox.seal(secret), totp_last_step: null });
    const issuer = this.config.publicUrl ? `Cairn (${new URL(this.config.publicUrl).host})` : 'Cairn';
    return { secret, otpauthUri: totpUri(secret, u.username, issuer) };
  }

  async confirmTotp(ctx: AuthContext, code: string) {
    const u = await this.accountUser(ctx);
    if (u.totp_enabled) throw fail('conflict', 'The second factor is already enabled');
    if (!u.totp_secret_enc) throw fail('conflict', 'Start enrolment first');
    await this.useTotp(u, code, 'That code is not valid; check your device clock and try again');
    return this.db.transaction().execute(async (trx) => {
      const updated = await authStore.updateUser(trx, u.id, { totp_enabled: true });
      const recoveryCodes = await this.issueRecoveryCodes(trx, u.id);
      await this.audit(ctx, 'user.totp_enabled', `user:${u.id}`, { userId: u.id, recoveryCodes: recoveryCodes.length }, trx);
      return { user: await this.present(updated), recoveryCodes };
    });
  }

  async disableTotp(ctx: AuthContext, code: string) {
    const u = await this.accountUser(ctx);
    if (!u.totp_enabled) throw fail('conflict', 'No second factor is enabled');
    await this.useTotp(u, code, 'That code is not valid');
    return this.db.transaction().execute(async (trx) => {
      const updated = await authStore.updateUser(trx, u.id, { totp_enabled: false, totp_secret_enc: null });
      await authStore.replaceRecoveryCodes(trx, u.id, []);
      await this.audit(ctx, 'user.totp_disabled', `user:${u.id}`, { userId: u.id }, trx);
      return { user: await this.present(updated) };
    });
  }

  /** How many of the caller's recovery codes are still unused. */
  async recoveryCodesLeft(ctx: AuthContext) {
    requireScope(ctx, 'account');
    const actor = requireUser(ctx);
    return { remaining: await authStore.unusedRecoveryCodes(this.db, actor.userId) };
  }

  /** A new set of recovery codes (the old ones stop working); needs a current TOTP code. */
  async regenerateRecoveryCodes(ctx: AuthContext, code: string) {
    const u = await this.accountUser(ctx);
    if (!u.totp_enabled) throw fail('conflict', 'Recovery codes come with a second factor; enrol one first');
    await this.useTotp(u, code, 'That code is not valid');
    return this.db.transaction().execute(async (trx) => {
      const recoveryCodes = await this.issueRecoveryCodes(trx, u.id);
      await this.audit(ctx, 'user.recovery_codes_regenerated', `user:${u.id}`, { userId: u.id, recoveryCodes: recoveryCodes.length }, trx);
      return { recoveryCodes };
    });
  }

  // --- personal API tokens ---------------------------------------------------------------

  async listTokens(ctx: AuthContext) {
    requireScope(ctx, 'account');
    const actor = requireUser(ctx);
    return (await authStore.listTokens(this.db, actor.userId)).map(presentToken);
  }

  async createToken(ctx: AuthContext, input: { name: string; scopes: string[]; expiresInDays: number }) {
    requireScope(ctx, 'account');
    const actor = requireUser(ctx);
    // A token cannot mint tokens: only an interactive session (or access token) can.
    if (actor.via === 'api_token') throw fail('forbidden', 'API tokens cannot create other tokens');
    const name = String(input.name ?? '').trim();
    if (!name || name.length > 100) throw fail('validation_failed', 'Give the token a name of 1-100 characters', [{ pointer: '/name', message: 'required' }]);
    const unknown = input.scopes.filter((s) => !isScope(s));
    if (unknown.length) throw fail('validation_failed', `Unknown scopes: ${unknown.join(', ')}`, [{ pointer: '/scopes', message: 'unknown scope' }]);
    const own = ROLES[actor.role] as readonly Scope[];
    const beyond = input.scopes.filter((s) => !own.includes(s as Scope));
    if (beyond.length) throw fail('forbidden', `You cannot grant scopes you do not hold: ${beyond.join(', ')}`);
    if (!input.scopes.length) throw fail('validation_failed', 'Pick at least one scope', [{ pointer: '/scopes', message: 'empty' }]);
    const secret = `${API_TOKEN_PREFIX}${randomSecret()}`;
    return this.db.transaction().execute(async (trx) => {
      const row = await authStore.insertToken(trx, {
        id: newId(),
        user_id: actor.userId,
        name,
        token_hash: sha256(secret),
        scopes: [...new Set(input.scopes)],
        expires_at: new Date(this.clock.now().getTime() + input.expiresInDays * 86_400_000),
      });
      await this.audit(ctx, 'token.created', `user:${actor.userId}`, { userId: actor.userId, tokenId: row.id, name, scopes: row.scopes, expiresAt: row.expires_at.toISOString() }, trx);
      return { token: presentToken(row), secret };
    });
  }

  async revokeToken(ctx: AuthContext, id: string) {
    requireScope(ctx, 'account');
    const actor = requireUser(ctx);
    if (!isUuid(id)) throw fail('not_found', 'No such token');
    await this.db.transaction().execute(async (trx) => {
      const row = await authStore.revokeToken(trx, actor.userId, id);
      if (!row) throw fail('not_found', 'No such token, or it is already revoked');
      await this.audit(ctx, 'token.revoked', `user:${actor.userId}`, { userId: actor.userId, tokenId: id }, trx);
    });
    this.cache.changed('api_tokens');
  }

  scopes() {
    return ALL_SCOPES;
  }
}
