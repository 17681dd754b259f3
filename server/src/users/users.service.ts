import type { Db } from '../database/database.js';
import { fail } from '../kernel/errors.js';
import { newId, isUuid } from '../kernel/ids.js';
import { can, requireScope, requireUser, type AuthContext, type Role } from '../kernel/access.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import { authStore } from '../auth/auth.store.js';
import type { AccountsService } from '../auth/accounts.service.js';
import type { SessionsService } from '../auth/sessions.service.js';
import { hashPassword, passwordProblem } from '../auth/auth.passwords.js';

const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$/;

/** Administration of other people's accounts; every change is an audit entry. */
export class UsersService {
  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly accounts: Pick<AccountsService, 'present' | 'accountsChanged' | 'requireTotpForAll' | 'forgetCachedSettings'>,
    private readonly sessions: Pick<SessionsService, 'clearLoginFailures'>,
  ) {}

  private audit(ctx: AuthContext, type: string, userId: string, data: Record<string, unknown>, db: Db) {
    return this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type, stream: `user:${userId}`, data: { userId, ...data } }], { allowSystemTypes: true }), { db });
  }

  async list(ctx: AuthContext) {
    requireScope(ctx, 'users:manage');
    return Promise.all((await authStore.listUsers(this.db)).map((u) => this.accounts.present(u)));
  }

  /**
   * The user picker's search, by username or name, anywhere in the text. Administrators
   * (users:manage) find every enabled account. Anyone else finds people they share a workspace
   * tree with (a member of a workspace at, above or below one of theirs), themselves, and anyone
   * whose exact username they type: a person can be told a username, but the instance's
   * directory is not listed to every member (docs/workspaces.md, "Finding people").
   */
  async search(ctx: AuthContext, q: string, limit = 10) {
    const me = requireUser(ctx);
    const rows = await authStore.searchUsers(this.db, { q, viewerId: can(ctx, 'users:manage') ? null : me.userId, limit: Math.min(Math.max(limit, 1), 50) });
    return rows.map((r) => ({ id: r.id, username: r.username, displayName: r.display_name }));
  }

  /** Sets or clears a person's name (admins for anyone, a user for themselves). */
  async setDisplayName(ctx: AuthContext, id: string, displayName: string | null) {
    const me = requireUser(ctx);
    if (me.userId !== id) requireScope(ctx, 'users:manage');
    else requireScope(ctx, 'account');
    const name = displayName?.trim() || null;
    if (name && name.length > 120) throw fail('validation_failed', 'Names are at most 120 characters', [{ pointer: '/displayName', message: 'too long' }]);
    if (!isUuid(id)) throw fail('not_found', 'No such user');
    const result = await this.db.transaction().execute(async (trx) => {
      if (!(await authStore.userById(trx, id))) throw fail('not_found', 'No such user');
      const updated = await authStore.updateUser(trx, id, { display_name: name });
      await this.audit(ctx, 'user.renamed', id, { displayName: name }, trx);
      return this.accounts.present(updated);
    });
    this.accounts.accountsChanged();
    return result;
  }

  async create(ctx: AuthContext, input: { username: string; password: string; role: Role; displayName?: string | null }) {
    requireScope(ctx, 'users:manage');
    const displayName = input.displayName?.trim() || null;
    if (displayName && displayName.length > 120) throw fail('validation_failed', 'Names are at most 120 characters', [{ pointer: '/displayName', message: 'too long' }]);
    if (!USERNAME_RE.test(input.username)) throw fail('validation_failed', 'Usernames are 2-64 letters, digits and . _ @ -', [{ pointer: '/username', message: 'invalid username' }]);
    const problem = passwordProblem(input.password, input.username);
    if (problem) throw fail('validation_failed', problem, [{ pointer: '/password', message: problem }]);
    const password_hash = await hashPassword(input.password);
    return this.db.transaction().execute(async (trx) => {
      if (await authStore.userByUsername(trx, input.username)) throw fail('username_taken', 'That username is taken');
      let user;
      try {
        user = await authStore.insertUser(trx, { id: newId(), username: input.username, password_hash, role: input.role, display_name: displayName });
      } catch (e) {
        if ((e as { code?: string }).code === '23505') throw fail('username_taken', 'That username is taken');
        throw e;
      }
      await this.audit(ctx, 'user.created', user.id, { username: user.username, role: user.role }, trx);
      return this.accounts.present(user);
    });
  }

  private async change(ctx: AuthContext, id: string, type: string, patch: Parameters<typeof authStore.updateUser>[2], end: { sessions?: boolean; tokens?: boolean; lock?: boolean; recoveryCodes?: boolean }) {
    requireScope(ctx, 'users:manage');
    if (!isUuid(id)) throw fail('not_found', 'No such user');
    const result = await this.db.transaction().execute(async (trx) => {
      const u = await authStore.userById(trx, id);
      if (!u) throw fail('not_found', 'No such user');
      const updated = await authStore.updateUser(trx, id, patch);
      const data: Record<string, number> = {};
      if (end.sessions) data.endedSessions = await authStore.revokeUserSessions(trx, id);
      // Revoked for good, not merely refused while disabled: enabling the user again must not
      // bring back tokens that were out in the world when they were disabled.
      if (end.tokens) data.revokedTokens = await authStore.revokeUserTokens(trx, id);
      if (end.lock) await this.sessions.clearLoginFailures(u.username, trx);
      if (end.recoveryCodes) await authStore.replaceRecoveryCodes(trx, id, []);
      await this.audit(ctx, type, id, data, trx);
      return this.accounts.present(updated);
    });
    this.accounts.accountsChanged();
    return result;
  }

  disable(ctx: AuthContext, id: string) {
    const me = requireUser(ctx);
    if (me.userId === id) throw fail('conflict', 'You cannot disable your own account');
    return this.change(ctx, id, 'user.disabled', { disabled_at: new Date() }, { sessions: true, tokens: true });
  }

  enable(ctx: AuthContext, id: string) {
    return this.change(ctx, id, 'user.enabled', { disabled_at: null, failed_logins: 0, locked_until: null }, { lock: true });
  }

  resetTotp(ctx: AuthContext, id: string) {
    return this.change(ctx, id, 'user.totp_reset', { totp_enabled: false, totp_secret_enc: null, totp_last_step: null }, { sessions: true, recoveryCodes: true });
  }

  async getSettings(ctx: AuthContext) {
    requireScope(ctx, 'settings:manage');
    return { requireTotp: await this.accounts.requireTotpForAll() };
  }

  async updateSettings(ctx: AuthContext, patch: { requireTotp?: boolean }) {
    requireScope(ctx, 'settings:manage');
    if (patch.requireTotp && ctx.actor.kind === 'user') {
      // Otherwise the admin who flips the switch is the first one locked into enrolment.
      const me = await authStore.userById(this.db, ctx.actor.userId);
      if (!me?.totp_enabled) throw fail('conflict', 'Enrol your own second factor before requiring one for everyone');
    }
    await this.db.transaction().execute(async (trx) => {
      if (patch.requireTotp !== undefined) await authStore.setSetting(trx, 'requireTotp', patch.requireTotp);
      await this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type: 'settings.changed', stream: 'settings', data: patch }], { allowSystemTypes: true }), { db: trx });
    });
    this.accounts.forgetCachedSettings();
    return { requireTotp: (await authStore.getSetting<boolean>(this.db, 'requireTotp')) ?? false };
  }
}
