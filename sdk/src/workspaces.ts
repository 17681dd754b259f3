import { seg, type HttpClient } from './http.js';

export type WorkspaceRole = string;

export interface Workspace {
  id: string;
  name: string;
  parentId: string | null;
  /** Names from the root down, e.g. "Country/District/Office" (as the server renders it). */
  path: string;
  /** The caller's role here, when they hold one (directly or through an ancestor). */
  role?: WorkspaceRole;
}

export interface CreateWorkspaceRequest {
  name: string;
  parentId?: string | null;
}

export interface WorkspaceMember {
  userId: string;
  username: string;
  displayName: string | null;
  role: WorkspaceRole;
}

export class WorkspacesApi {
  constructor(private readonly http: HttpClient) {}

  async list(): Promise<Workspace[]> {
    return (await this.http.get<{ workspaces: Workspace[] }>('/api/v1/workspaces')).workspaces;
  }
  async create(req: CreateWorkspaceRequest): Promise<Workspace> {
    return (await this.http.post<{ workspace: Workspace }>('/api/v1/workspaces', req)).workspace;
  }
  async rename(id: string, name: string): Promise<Workspace> {
    return (await this.http.patch<{ workspace: Workspace }>(`/api/v1/workspaces/${seg(id)}`, { name })).workspace;
  }
  async members(id: string): Promise<WorkspaceMember[]> {
    return (await this.http.get<{ members: WorkspaceMember[] }>(`/api/v1/workspaces/${seg(id)}/members`)).members;
  }
  setMember(id: string, userId: string, role: WorkspaceRole): Promise<unknown> {
    return this.http.put(`/api/v1/workspaces/${seg(id)}/members/${seg(userId)}`, { role });
  }
  removeMember(id: string, userId: string): Promise<void> {
    return this.http.delete(`/api/v1/workspaces/${seg(id)}/members/${seg(userId)}`);
  }
}

// --- locations: the administrative hierarchy (areas and offices) ------------------------------

export type LocationKind = 'area' | 'office';

/** A location (a workspace with a kind), as the picker shows it. */
export interface Location {
  id: string;
  name: string;
  kind: LocationKind;
  /** The id the country's own list gives it (the `id` column of the import). */
  externalId: string | null;
  parentId: string | null;
  /** Names of the ancestors, nearest first: ["Central Province", "Zambia"]. */
  ancestors: string[];
}

export interface LocationSearch {
  /** Typed text: accents, case and punctuation are ignored. Without it, one level of the tree. */
  q?: string;
  kind?: LocationKind;
  /** Only locations below this one (a location id). */
  within?: string;
  /** 1-50, default 10. */
  limit?: number;
}

export interface LocationImportResult {
  importId: string | null;
  dryRun: boolean;
  rows: number;
  created: number;
  updated: number;
  moved: number;
  unchanged: number;
  ignoredColumns: string[];
}

/** One refused row, in the `details.errors` of an `invalid_import` error. */
export interface LocationImportError {
  /** Line in the file (the header is line 1). */
  line: number;
  field: string;
  code: string;
  message: string;
}

/** The body of a location import: text, bytes, or a stream (Node: sent with duplex 'half'). */
export type LocationImportBody = string | Blob | Uint8Array | ReadableStream<Uint8Array>;

/** "Ibombo District, Central Province, Zambia": a location and its ancestors, for display. */
export const locationLabel = (l: Pick<Location, 'name' | 'ancestors'>, depth = 2): string => [l.name, ...l.ancestors.slice(0, depth)].join(', ');

export class LocationsApi {
  constructor(private readonly http: HttpClient) {}

  async search(q: LocationSearch = {}): Promise<Location[]> {
    return (await this.http.get<{ locations: Location[] }>('/api/v1/locations', { q: q.q, kind: q.kind, within: q.within, limit: q.limit })).locations;
  }

  async get(id: string): Promise<Location> {
    return (await this.http.get<{ location: Location }>(`/api/v1/locations/${seg(id)}`)).location;
  }

  /**
   * Creates or updates the tree from CSV with columns id,name,parentId,type. Throws CairnError
   * `invalid_import` whose details hold `errors: LocationImportError[]` when any row is refused
   * (then nothing was written).
   */
  importCsv(csv: LocationImportBody, o: { dryRun?: boolean; signal?: AbortSignal } = {}): Promise<LocationImportResult> {
    return this.http.upload('/api/v1/workspaces/import', csv, { contentType: 'text/csv', query: { dryRun: o.dryRun }, signal: o.signal });
  }
}
