import type { ProjectionInfo } from '@cairn/sdk';
import { requireScope, type AuthContext } from '../kernel/access.js';
import type { Projector } from './projector.js';

/** The admin's view of projections: list them with their lag, rebuild one. */
export class ProjectionsService {
  constructor(private readonly projector: Projector) {}

  list(ctx: AuthContext): Promise<ProjectionInfo[]> {
    requireScope(ctx, 'projections:manage');
    return this.projector.list();
  }

  get(ctx: AuthContext, name: string): Promise<ProjectionInfo> {
    requireScope(ctx, 'projections:manage');
    return this.projector.statusOf(name);
  }

  /** Starts a rebuild (or answers the one under way); progress is in get/list. */
  rebuild(ctx: AuthContext, name: string): Promise<ProjectionInfo> {
    requireScope(ctx, 'projections:manage');
    return this.projector.rebuild(name);
  }

  /** Lag of every projection, for /health: no error texts (they may quote data), only where each stands. */
  async health() {
    const all = await this.projector.list();
    return all.map((p) => ({
      name: p.name,
      mode: p.mode,
      behind: p.behind,
      secondsBehind: p.secondsBehind,
      failingEntry: p.failing?.entryId ?? p.rebuild?.failing?.entryId ?? null,
      rebuilding: p.rebuild !== null,
    }));
  }
}
