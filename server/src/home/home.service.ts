import type { Db } from '../database/database.js';
import { can, requireUser, type AuthContext } from '../kernel/access.js';
import type { Clock } from '../kernel/clock.js';
import { isAppError } from '../kernel/errors.js';
import type { WorkspacesService } from '../workspaces/workspaces.service.js';
import type { RegistrationsService } from '../registrations/registrations.service.js';
import { authStore } from '../auth/auth.store.js';
import { homeStore } from './home.store.js';

export const HOME_WEEKS = 8;
/** Fewer unused recovery codes than this and the home page asks for a new set. */
export const LOW_RECOVERY_CODES = 3;

export interface Trend {
  total: number;
  /** Rows created in each of the last HOME_WEEKS seven-day windows, oldest first. */
  weekly: number[];
}

export type Attention =
  | { kind: 'app_requests'; count: number }
  | { kind: 'workqueue'; queue: string; count: number }
  | { kind: 'enrol_totp' }
  | { kind: 'recovery_codes_low'; count: number };

/**
 * The home page's summary: counts with a weekly trend, the latest changes, and what needs the
 * caller's attention. Each part is there only when the caller may see that domain, and reaches
 * only what its own pages would show them (docs/web.md, "Home page").
 */
export class HomeService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly workspaces: WorkspacesService,
    private readonly registrations: RegistrationsService,
  ) {}

  /** The caller's registration jurisdiction: a path prefix, null for the country, undefined without a role. */
  private async registrationReach(ctx: AuthContext): Promise<string | null | undefined> {
    if (!can(ctx, 'registrations:read')) return undefined;
    try {
      return (await this.registrations.caller(ctx)).reach;
    } catch (e) {
      if (isAppError(e) && (e.code === 'registration_role_required' || e.code === 'forbidden')) return undefined;
      throw e;
    }
  }

  async summary(ctx: AuthContext) {
    const me = requireUser(ctx);
    const now = this.clock.now();
    const weeks = HOME_WEEKS;
    const workspaceIds = can(ctx, 'records:read') && can(ctx, 'workspaces:read') ? (await this.workspaces.list(ctx)).map((w) => w.id) : null;
    const datasets = can(ctx, 'datasets:read') ? { userId: me.userId, all: can(ctx, 'datasets:manage') } : null;
    const reach = await this.registrationReach(ctx);

    const counts: { subjects?: Trend; records?: Trend; datasets?: Trend; registrations?: Trend; pendingRequests?: number } = {};
    if (workspaceIds) {
      counts.subjects = await homeStore.subjects(this.db, workspaceIds, now, weeks);
      counts.records = await homeStore.records(this.db, workspaceIds, now, weeks);
    }
    if (datasets) counts.datasets = await homeStore.datasets(this.db, datasets.userId, datasets.all, now, weeks);
    if (reach !== undefined) counts.registrations = await homeStore.registrations(this.db, reach, now, weeks);

    const attention: Attention[] = [];
    if (can(ctx, 'apps:manage')) {
      counts.pendingRequests = await homeStore.pendingRequests(this.db);
      if (counts.pendingRequests) attention.push({ kind: 'app_requests', count: counts.pendingRequests });
    }
    if (reach !== undefined) {
      const queues = await this.registrations.workqueues(ctx);
      for (const queue of ['ready-for-review', 'requires-updates', 'ready-to-print', 'potential-duplicates', 'assigned-to-me'] as const) {
        if (queues[queue]) attention.push({ kind: 'workqueue', queue, count: queues[queue] });
      }
    }
    const user = await authStore.userById(this.db, me.userId);
    if (user && !user.totp_enabled) attention.push({ kind: 'enrol_totp' });
    else if (user) {
      const left = await homeStore.unusedRecoveryCodes(this.db, me.userId);
      if (left < LOW_RECOVERY_CODES) attention.push({ kind: 'recovery_codes_low', count: left });
    }

    const recent = await homeStore.recent(this.db, { workspaceIds, datasets, registrationReach: reach, limit: 10 });
    const weekStarts = Array.from({ length: weeks }, (_, i) => new Date(now.getTime() - (weeks - i) * 7 * 24 * 3600 * 1000).toISOString());
    return { weekStarts, counts, attention, recent: recent.map((r) => ({ ...r, at: r.at.toISOString() })) };
  }
}
