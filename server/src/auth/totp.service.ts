import type { Db } from '../database/database.js';
import type { Config } from '../config.js';
import type { Clock } from '../kernel/clock.js';
import { fail } from '../kernel/errors.js';
import type { AuthContext } from '../kernel/access.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import { authStore } from './auth.store.js';
import { newTotpSecret, totpUri } from './auth.totp.js';
import { accountUser, audit, issueRecoveryCodes, useTotp, type AuthKeys } from './auth.shared.js';
import type { AccountsService } from './accounts.service.js';

/**
 * Enrolling a second factor (TOTP) on one's own account: a new seed, confirmed by a first code
 * (which issues the recovery codes), and disabling it with a current code.
 */
export class TotpService {
  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly config: Pick<Config, 'publicUrl'>,
    private readonly clock: Clock,
    private readonly keys: AuthKeys,
    private readonly accounts: AccountsService,
  ) {}

  async enrolTotp(ctx: AuthContext) {
    const u = await accountUser(this.db, ctx);
    if (u.totp_enabled) throw fail('conflict', 'A second factor is already enabled; disable it first');
    const secret = newTotpSecret();
    // A new seed starts a new sequence of time steps.
    await authStore.updateUser(this.db, u.id, { totp_secret_enc: this.keys.totpBox.seal(secret), totp_last_step: null });
    const issuer = this.config.publicUrl ? `Cairn (${new URL(this.config.publicUrl).host})` : 'Cairn';
    return { secret, otpauthUri: totpUri(secret, u.username, issuer) };
  }

  async confirmTotp(ctx: AuthContext, code: string) {
    const u = await accountUser(this.db, ctx);
    if (u.totp_enabled) throw fail('conflict', 'The second factor is already enabled');
    if (!u.totp_secret_enc) throw fail('conflict', 'Start enrolment first');
    await useTotp(this.db, this.keys, this.clock, u, code, 'That code is not valid; check your device clock and try again');
    return this.db.transaction().execute(async (trx) => {
      const updated = await authStore.updateUser(trx, u.id, { totp_enabled: true });
      const recoveryCodes = await issueRecoveryCodes(trx, this.keys, u.id);
      await audit(this.ledger, ctx, 'user.totp_enabled', `user:${u.id}`, { userId: u.id, recoveryCodes: recoveryCodes.length }, trx);
      return { user: await this.accounts.present(updated), recoveryCodes };
    });
  }

  async disableTotp(ctx: AuthContext, code: string) {
    const u = await accountUser(this.db, ctx);
    if (!u.totp_enabled) throw fail('conflict', 'No second factor is enabled');
    await useTotp(this.db, this.keys, this.clock, u, code, 'That code is not valid');
    return this.db.transaction().execute(async (trx) => {
      const updated = await authStore.updateUser(trx, u.id, { totp_enabled: false, totp_secret_enc: null });
      await authStore.replaceRecoveryCodes(trx, u.id, []);
      await audit(this.ledger, ctx, 'user.totp_disabled', `user:${u.id}`, { userId: u.id }, trx);
      return { user: await this.accounts.present(updated) };
    });
  }
}
