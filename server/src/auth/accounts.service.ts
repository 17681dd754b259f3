import type { Db } from '../database/database.js';
import { fail } from '../kernel/errors.js';
import { requireUser, type AuthContext } from '../kernel/access.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import type { CacheBus } from '../kernel/cache.js';
import { authStore, type UserRow } from './auth.store.js';
import { hashPassword, passwordProblem, verifyPassword } from './auth.passwords.js';
import { accountUser, audit, type PublicUser } from './auth.shared.js';

/**
 * A signed-in user's own account (who am I, changing the password), how an account is presented
 * everywhere, and the "every user needs a second factor" setting as this process reads it.
 */
export class AccountsService {
  private requireTotpCache: { value: boolean; at: number } | undefined;

  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly cache: CacheBus,
  ) {}

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

  /** Called after a committed change to users, sessions or API tokens made outside the auth services. */
  accountsChanged(): void {
    this.cache.changed('users', 'sessions', 'api_tokens');
  }

  // --- own account -----------------------------------------------------------------------

  async me(ctx: AuthContext) {
    const actor = requireUser(ctx);
    const u = await authStore.userById(this.db, actor.userId);
    if (!u) throw fail('unauthenticated', 'No such user');
    return { user: await this.present(u), scopes: [...ctx.scopes] };
  }

  async changePassword(ctx: AuthContext, currentPassword: string, newPassword: string) {
    const u = await accountUser(this.db, ctx);
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
      await audit(this.ledger, ctx, 'user.password_changed', `user:${u.id}`, { userId: u.id, endedSessions, revokedTokens }, trx);
      return { endedSessions, revokedTokens };
    });
    this.cache.changed('sessions', 'api_tokens');
    return result;
  }
}
