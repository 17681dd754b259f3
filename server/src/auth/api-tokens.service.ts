import type { Db } from '../database/database.js';
import type { Clock } from '../kernel/clock.js';
import { fail } from '../kernel/errors.js';
import { newId, randomSecret, sha256, isUuid } from '../kernel/ids.js';
import { ALL_SCOPES, ROLES, isScope, requireScope, requireUser, type AuthContext, type Scope } from '../kernel/access.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import type { CacheBus } from '../kernel/cache.js';
import { authStore, type TokenRow } from './auth.store.js';
import { API_TOKEN_PREFIX, audit } from './auth.shared.js';

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

/** Personal API tokens: a user's own, for programs, with scopes they hold, listed and revoked by them. */
export class ApiTokensService {
  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly clock: Clock,
    private readonly cache: CacheBus,
  ) {}

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
      await audit(this.ledger, ctx, 'token.created', `user:${actor.userId}`, { userId: actor.userId, tokenId: row.id, name, scopes: row.scopes, expiresAt: row.expires_at.toISOString() }, trx);
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
      await audit(this.ledger, ctx, 'token.revoked', `user:${actor.userId}`, { userId: actor.userId, tokenId: id }, trx);
    });
    this.cache.changed('api_tokens');
  }

  scopes() {
    return ALL_SCOPES;
  }
}
