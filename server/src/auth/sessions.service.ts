import { SignJWT } from 'jose';
import type { Db } from '../database/database.js';
import type { Config } from '../config.js';
import type { Clock } from '../kernel/clock.js';
import { AppError, fail } from '../kernel/errors.js';
import { newId, randomSecret, sha256 } from '../kernel/ids.js';
import { anonymous, requireUser, userContext, type AuthContext } from '../kernel/access.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import type { CacheBus } from '../kernel/cache.js';
import { authStore, type UserRow } from './auth.store.js';
import { dummyHash, verifyPassword } from './auth.passwords.js';
import { checkTotp } from './auth.totp.js';
import { audit, type AuthKeys, type LoginResult } from './auth.shared.js';
import type { AccountsService } from './accounts.service.js';

/**
 * Signing in and out: the password with an optional second factor (or a recovery code when the
 * device is lost), failed sign-ins counted and locked per name, browser sessions, and the
 * short-lived access tokens a session refreshes.
 */
export class SessionsService {
  private lastPrune = 0;

  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly config: Config & { secret: string },
    private readonly clock: Clock,
    private readonly cache: CacheBus,
    private readonly keys: AuthKeys,
    private readonly accounts: AccountsService,
  ) {}

  /** Lifts a sign-in lock (an administrator enabling the user). */
  clearLoginFailures(username: string, db: Db = this.db) {
    return authStore.clearLoginFailures(db, this.keys.loginKey(username));
  }

  /** At most once a minute per process: the failures table only holds the current window. */
  private pruneLoginFailures() {
    if (Date.now() - this.lastPrune < 60_000) return;
    this.lastPrune = Date.now();
    authStore.pruneLoginFailures(this.db, this.config.lockoutSeconds).catch(() => {});
  }

  async login(input: { username: string; password: string; totp?: string; recoveryCode?: string }, meta: { ip?: string; userAgent?: string; requestId?: string }): Promise<LoginResult> {
    const anon = anonymous(meta.requestId, meta.ip);
    const username = typeof input.username === 'string' ? input.username.slice(0, 64) : '';
    const key = this.keys.loginKey(username);
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
      await audit(this.ledger, anon, 'auth.login_failed', null, { username, reason: 'unknown_user', ip: meta.ip ?? null, locked });
      throw fail('invalid_credentials', 'Wrong username or password');
    }
    const userCtx = userContext(user, 'session', { requestId: meta.requestId, ip: meta.ip });
    const failed = async (reason: string, code: 'invalid_credentials' | 'totp_invalid' | 'totp_reused' | 'recovery_code_invalid', message: string) => {
      const locked = await authStore.recordLoginFailure(this.db, key, this.config.lockoutThreshold, this.config.lockoutSeconds);
      await audit(this.ledger, anon, 'auth.login_failed', `user:${user.id}`, { userId: user.id, reason, ip: meta.ip ?? null, locked });
      throw fail(code, message);
    };
    if (!(await verifyPassword(user.password_hash, input.password))) await failed('bad_password', 'invalid_credentials', 'Wrong username or password');
    if (user.disabled_at) throw fail('account_disabled', 'This account is disabled; ask an administrator');
    // "Lost my device": a recovery code instead of a TOTP code signs in once and removes the second
    // factor (its seed is on the lost device), so the person enrols their new device next.
    let recovered = false;
    if (user.totp_enabled && input.recoveryCode && !input.totp) {
      if (!(await authStore.consumeRecoveryCode(this.db, user.id, this.keys.recoveryHash(input.recoveryCode)))) {
        await failed('bad_recovery_code', 'recovery_code_invalid', 'That recovery code is not valid or was already used');
      }
      recovered = true;
    } else if (user.totp_enabled) {
      if (!input.totp) throw fail('totp_required', 'Enter the 6-digit code from your authenticator app');
      const step = await checkTotp(this.keys.totpBox.open(user.totp_secret_enc!), input.totp, this.clock.now());
      if (step === null) await failed('bad_totp', 'totp_invalid', 'That code is not valid; check your device clock and try again');
      if (!(await authStore.consumeTotpStep(this.db, user.id, step!))) await failed('totp_reused', 'totp_reused', 'That code was already used; wait for the next one');
    }
    return this.db.transaction().execute(async (trx) => {
      await authStore.clearLoginFailures(trx, key);
      let signedIn = user;
      if (recovered) {
        signedIn = await authStore.updateUser(trx, user.id, { totp_enabled: false, totp_secret_enc: null, totp_last_step: null });
        await authStore.replaceRecoveryCodes(trx, user.id, []);
        await audit(this.ledger, userCtx, 'user.totp_recovered', `user:${user.id}`, { userId: user.id, ip: meta.ip ?? null }, trx);
      }
      const session = await this.openSession(trx, signedIn, meta);
      await audit(this.ledger, userCtx, 'auth.login', `user:${user.id}`, { userId: user.id, sessionId: session.id, ip: meta.ip ?? null, userAgent: meta.userAgent?.slice(0, 300) ?? null, secondFactor: user.totp_enabled }, trx);
      return this.loginResult(signedIn, session.id, session.token);
    });
  }

  /** A new browser session for the user (sign-in, and the first admin's at setup). */
  async openSession(db: Db, user: UserRow, meta: { ip?: string; userAgent?: string }) {
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

  /** A fresh access token for the session, with the cookies' values (`sessionToken` only when new). */
  async loginResult(user: UserRow, sessionId: string, sessionToken: string | undefined): Promise<LoginResult> {
    const ttl = this.config.accessTokenTtlSeconds;
    const accessToken = await new SignJWT({ sid: sessionId, typ: 'access' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuedAt()
      .setExpirationTime(Math.floor(this.clock.now().getTime() / 1000) + ttl)
      .sign(this.keys.jwt);
    return {
      accessToken,
      expiresIn: ttl,
      user: await this.accounts.present(user),
      session: { token: sessionToken ?? '', csrf: this.keys.csrfFor(sessionId), maxAge: this.config.sessionTtlSeconds },
    };
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
    await audit(this.ledger, ctx, 'auth.logout', `user:${actor.userId}`, { userId: actor.userId, sessionId: actor.sessionId });
  }
}
