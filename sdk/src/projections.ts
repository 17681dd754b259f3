import type { HttpClient } from './http.js';

/** A projection of the ledger as the server reports it (`GET /api/v1/projections`, `/health`; admins: `projections:manage`). */
export interface ProjectionInfo {
  name: string;
  /** inline: applied in the writer's transaction; async: applied by the projector after commit. */
  mode: 'inline' | 'async';
  version: number;
  /** Entries not applied yet (counted up to 100,000; 0 for inline projections). */
  behind: number;
  /** Age of the oldest entry it has not applied, in seconds (0 when caught up). */
  secondsBehind: number;
  applied: number;
  /** The entry it stopped on (it never skips one), with the error. */
  failing: { entryId: string; error: string; since: string } | null;
  /** A rebuild under way: built beside the live state and swapped in once caught up. */
  rebuild: { version: number; applied: number; total: number; startedAt: string; failing: { entryId: string; error: string } | null } | null;
  rebuiltAt: string | null;
}

export class ProjectionsApi {
  constructor(private readonly http: HttpClient) {}

  async list(): Promise<ProjectionInfo[]> {
    return (await this.http.get<{ projections: ProjectionInfo[] }>('/api/v1/projections')).projections;
  }

  async get(name: string): Promise<ProjectionInfo> {
    return (await this.http.get<{ projection: ProjectionInfo }>(`/api/v1/projections/${encodeURIComponent(name)}`)).projection;
  }

  /** Starts a rebuild (or answers the one under way); follow it with get(). */
  async rebuild(name: string): Promise<ProjectionInfo> {
    return (await this.http.post<{ projection: ProjectionInfo }>(`/api/v1/projections/${encodeURIComponent(name)}/rebuild`)).projection;
  }
}
