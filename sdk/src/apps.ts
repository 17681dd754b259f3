import type { LedgerEntry } from './events.js';
import { seg, type HttpClient } from './http.js';

/** Where an app stands with its association code (docs/apps.md). */
export type AppStatus = 'awaiting_association' | 'code_expired' | 'associated' | 'revoked';

export interface App {
  id: string;
  name: string;
  description: string;
  status: AppStatus;
  /** When the current association code stops working; null once associated. */
  associationExpiresAt: string | null;
  associatedAt: string | null;
  revokedAt: string | null;
  rateLimitPerMinute: number;
  createdAt: string;
}

/** An app in the administrators' list, with its counts. */
export interface AppSummary extends App {
  pendingRequests: number;
  activeGrants: number;
}

/** The answer to registering an app or issuing a new code: the one-time code is shown once. */
export interface AppWithCode extends App {
  associationCode: string;
}

/** read / create / modify / delete on one event type. */
export interface EventRights {
  read: boolean;
  create: boolean;
  modify: boolean;
  delete: boolean;
}

export const EVENT_RIGHTS = ['read', 'create', 'modify', 'delete'] as const;
export type EventRight = (typeof EVENT_RIGHTS)[number];

/** `declined`: refused while pending, never granted; `revoked`: granted, then taken back. */
export type PermissionRequestStatus = 'pending' | 'approved' | 'declined' | 'revoked' | 'superseded';

/** A request for rights on an event type. An approved request is the grant. */
export interface PermissionRequest extends EventRights {
  /** What the app asked for; the rights above are what was granted (less when part was approved). */
  requested: EventRights;
  id: string;
  appId: string;
  appName?: string;
  eventType: string;
  message: string;
  status: PermissionRequestStatus;
  createdAt: string;
  decidedAt: string | null;
}

export interface AppDetail extends App {
  /** The approved requests: what the app may do now. */
  grants: PermissionRequest[];
  /** Every request, newest first. */
  requests: PermissionRequest[];
  /** What the app wrote and what was decided about it, newest first. */
  recentActivity: LedgerEntry[];
}

export interface RegisterAppRequest {
  name: string;
  description?: string;
  rateLimitPerMinute?: number;
}

export interface ListPermissionRequestsQuery {
  status?: PermissionRequestStatus;
  appId?: string;
  limit?: number;
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface AppToken {
  access_token: string;
  token_type: 'Bearer';
  /** Seconds. */
  expires_in: number;
}

export interface AskPermissionRequest extends Partial<EventRights> {
  eventType: string;
  /** Shown to the administrator deciding. */
  message?: string;
}

/**
 * Apps: what administrators do (register, codes, decisions) and what an app does for itself
 * (associate, client-credentials token, ask for permissions). The app-side calls need a client
 * holding the app's access token, except `associate` and `token`, which are public.
 */
export class AppsApi {
  constructor(private readonly http: HttpClient) {}

  // --- administrators (apps:manage) ---

  register(req: RegisterAppRequest): Promise<AppWithCode> {
    return this.http.post('/api/v1/apps', req);
  }
  async list(): Promise<AppSummary[]> {
    return (await this.http.get<{ apps: AppSummary[] }>('/api/v1/apps')).apps;
  }
  get(id: string): Promise<AppDetail> {
    return this.http.get(`/api/v1/apps/${seg(id)}`);
  }
  /** A fresh one-time code; associating with it rotates the app's client secret. */
  newAssociationCode(id: string): Promise<AppWithCode> {
    return this.http.post(`/api/v1/apps/${seg(id)}/association-code`);
  }
  /** Revokes the app: its tokens stop working on the next request. */
  revoke(id: string): Promise<App> {
    return this.http.post(`/api/v1/apps/${seg(id)}/revoke`);
  }
  async permissionRequests(query: ListPermissionRequestsQuery = {}): Promise<PermissionRequest[]> {
    return (await this.http.get<{ requests: PermissionRequest[] }>('/api/v1/permission-requests', { ...query })).requests;
  }
  approveRequest(id: string, grant?: Partial<EventRights>): Promise<PermissionRequest> {
    return this.http.post(`/api/v1/permission-requests/${seg(id)}/approve`, grant);
  }
  /** Declines a pending request: status `declined` (never granted). */
  declineRequest(id: string): Promise<PermissionRequest> {
    return this.http.post(`/api/v1/permission-requests/${seg(id)}/decline`);
  }
  /** Revokes a grant (status `revoked`); on a pending request it declines it (status `declined`). */
  revokeRequest(id: string): Promise<PermissionRequest> {
    return this.http.post(`/api/v1/permission-requests/${seg(id)}/revoke`);
  }

  // --- the app itself ---

  /** Exchanges the one-time association code for client credentials (public; the secret is shown once). */
  associate(associationCode: string): Promise<ClientCredentials> {
    return this.http.post('/api/v1/apps/associate', { associationCode });
  }
  /** OAuth2 client-credentials grant (sent as JSON, which the server accepts besides the form encoding). */
  token(credentials: ClientCredentials): Promise<AppToken> {
    return this.http.post('/api/v1/oauth/token', { grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret });
  }
  me(): Promise<App & { grants: PermissionRequest[] }> {
    return this.http.get('/api/v1/apps/me');
  }
  askPermission(req: AskPermissionRequest): Promise<PermissionRequest> {
    return this.http.post('/api/v1/apps/me/permission-requests', req);
  }
  async myRequests(status?: PermissionRequestStatus): Promise<PermissionRequest[]> {
    return (await this.http.get<{ requests: PermissionRequest[] }>('/api/v1/apps/me/permission-requests', { status })).requests;
  }
}
