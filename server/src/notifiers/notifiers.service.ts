import type { CreateRegistrationInput, Registration } from '@cairn/sdk';
import type { Db } from '../database/database.js';
import { requireScope, type AuthContext } from '../kernel/access.js';
import type { Clock } from '../kernel/clock.js';
import { fail } from '../kernel/errors.js';
import { isUuid } from '../kernel/ids.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import type { Caller, RegistrationsService } from '../registrations/registrations.service.js';
import { notifiersStore as store, type NotifierRow } from './notifiers.store.js';

export interface Notifier {
  appId: string;
  appName: string;
  appRevoked: boolean;
  officeId: string;
  officeName: string;
  grantedAt: string;
}

/**
 * Inbound notifications (docs/webhooks.md): another system (a hospital's, as OpenCRVS takes
 * birth notifications from DHIS2) signs in as an app with OAuth2 client credentials and posts a
 * partial declaration. An administrator makes the app a notifier for one office; the app may then
 * take exactly one action, `notify`, which creates the registration in that office, flagged
 * incomplete, in its `in-progress` workqueue. It reads nothing back beyond what it created. The
 * permission is looked up on every notification, so withdrawing it (or revoking the app) is
 * effective at once, on every node.
 */
export class NotifiersService {
  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly registrations: RegistrationsService,
    private readonly clock: Clock,
  ) {}

  async list(ctx: AuthContext): Promise<Notifier[]> {
    requireScope(ctx, 'registrations:manage');
    return (await store.list(this.db)).map(present);
  }

  async put(ctx: AuthContext, appId: string, officeId: string): Promise<Notifier> {
    requireScope(ctx, 'registrations:manage');
    const app = isUuid(appId) ? await store.app(this.db, appId) : undefined;
    if (!app) throw fail('not_found', 'No such app');
    const office = await store.office(this.db, officeId);
    if (!office || office.kind !== 'office') throw fail('validation_failed', 'Choose an office of the administrative tree', [{ pointer: '/officeId', message: 'is not an office' }]);
    await this.db.transaction().execute(async (trx) => {
      await store.put(trx, appId, officeId, ctx.actor.kind === 'user' ? ctx.actor.userId : null, this.clock.now());
      await this.audit(ctx, trx, 'cairn.app.notifier_set', appId, { officeId });
    });
    this.ledger.notifyAppended();
    return present((await store.get(this.db, appId))!);
  }

  async remove(ctx: AuthContext, appId: string): Promise<void> {
    requireScope(ctx, 'registrations:manage');
    if (!isUuid(appId)) throw fail('not_found', 'This app is not a notifier');
    await this.db.transaction().execute(async (trx) => {
      if (!(await store.remove(trx, appId))) throw fail('not_found', 'This app is not a notifier');
      await this.audit(ctx, trx, 'cairn.app.notifier_removed', appId, {});
    });
    this.ledger.notifyAppended();
  }

  /** The app's own notifier setting (so it can tell where its notifications go). */
  async mine(ctx: AuthContext): Promise<Notifier> {
    return present(await this.notifier(ctx));
  }

  async notify(ctx: AuthContext, input: Omit<CreateRegistrationInput, 'action'>): Promise<{ registration: Registration; replayed: boolean }> {
    const n = await this.notifier(ctx);
    // The app notifies as a field agent of its office would: the type's rules for notify apply.
    const caller: Caller = { ctx, userId: n.app_id, role: 'field-agent', officeId: n.office_id, officePath: n.office_path, reach: n.office_path.replace(/[^/]+\/$/, '') };
    return this.registrations.create(ctx, { ...input, action: 'notify' }, caller);
  }

  private async notifier(ctx: AuthContext): Promise<NotifierRow> {
    if (ctx.actor.kind !== 'app') throw fail('forbidden', 'Only an app (OAuth2 client credentials) sends notifications');
    const n = await store.get(this.db, ctx.actor.appId);
    if (!n) throw fail('forbidden', 'This app may not send notifications; an administrator makes it a notifier for an office');
    return n;
  }

  private audit(ctx: AuthContext, db: Db, type: string, appId: string, data: Record<string, unknown>) {
    return this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type, stream: `app:${appId}`, data: { appId, ...data } }], { allowSystemTypes: true }), { db });
  }
}

const present = (r: NotifierRow): Notifier => ({ appId: r.app_id, appName: r.app_name, appRevoked: r.app_revoked, officeId: r.office_id, officeName: r.office_name, grantedAt: r.granted_at.toISOString() });
