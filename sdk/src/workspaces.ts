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
