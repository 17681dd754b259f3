import type { Db } from '../database/database.js';
import type { Clock } from '../kernel/clock.js';
import { fail } from '../kernel/errors.js';
import { requireScope, requireUser, type AuthContext } from '../kernel/access.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import { authStore } from './auth.store.js';
import { accountUser, audit, issueRecoveryCodes, useTotp, type AuthKeys } from './auth.shared.js';

/**
 * Recovery codes (docs/security.md, "Recovery codes"): one-time codes that sign in without the
 * second-factor device; how many are left, and a new set. Issued first when TOTP is confirmed
 * (totp.service.ts); used at sign-in (sessions.service.ts).
 */
export class RecoveryCodesService {
  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly clock: Clock,
    private readonly keys: AuthKeys,
  ) {}

  /** How many of the caller's recovery codes are still unused. */
  async recoveryCodesLeft(ctx: AuthContext) {
    requireScope(ctx, 'account');
    const actor = requireUser(ctx);
    return { remaining: await authStore.unusedRecoveryCodes(this.db, actor.userId) };
  }

  /** A new set of recovery codes (the old ones stop working); needs a current TOTP code. */
  async regenerateRecoveryCodes(ctx: AuthContext, code: string) {
    const u = await accountUser(this.db, ctx);
    if (!u.totp_enabled) throw fail('conflict', 'Recovery codes come with a second factor; enrol one first');
    await useTotp(this.db, this.keys, this.clock, u, code, 'That code is not valid');
    return this.db.transaction().execute(async (trx) => {
      const recoveryCodes = await issueRecoveryCodes(trx, this.keys, u.id);
      await audit(this.ledger, ctx, 'user.recovery_codes_regenerated', `user:${u.id}`, { userId: u.id, recoveryCodes: recoveryCodes.length }, trx);
      return { recoveryCodes };
    });
  }
}
