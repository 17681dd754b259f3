import type { HttpClient } from './http.js';
import type { LoginResponse } from './auth.js';

export interface HealthResponse {
  status: 'ok' | string;
  database: { ok: boolean; latencyMs: number };
  version: string;
  /** Where each projection of the ledger stands (see ProjectionsApi for the errors, admins only). */
  projections?: { name: string; mode: 'inline' | 'async'; behind: number; secondsBehind: number; failingEntry: string | null; rebuilding: boolean }[];
}

export interface SetupStatus {
  needsSetup: boolean;
}

export interface SetupRequest {
  username: string;
  password: string;
}

/** GET /api/v1/health/ready when every check passes (otherwise a CairnError 503 `unavailable`, details.failed names them). */
export interface ReadyResponse {
  status: 'ready';
  version: string;
  checks: Record<'database' | 'blobs' | 'migrations', { ok: boolean; latencyMs: number }>;
}

/** The admin's System overview (GET /api/v1/system). */
export interface SystemOverview {
  /** Nodes that wrote a heartbeat in the last 60 s (each writes one every 15 s). */
  nodes: { id: string; hostname: string; pid: number; version: string; startedAt: string; seenAt: string; thisNode: boolean }[];
  projections: NonNullable<HealthResponse['projections']>;
  jobs: { waiting: number; running: number; failed: number };
  storage: { blobs: number; bytes: number };
  checkpoint: { ageSeconds: number | null; unsealed: number };
  lastVerification: { ranAt: string; durationMs: number; ok: boolean; checked: number; checkpoints: number; problems: number; by: string | null } | null;
}

export class SystemApi {
  constructor(private readonly http: HttpClient) {}

  /** Readiness: database, blob store and migrations (for load balancers; liveness is health()). */
  ready(): Promise<ReadyResponse> {
    return this.http.get('/api/v1/health/ready');
  }

  /** Nodes, lags, job queue, storage and the last ledger verification (admins: settings:manage). */
  overview(): Promise<SystemOverview> {
    return this.http.get('/api/v1/system');
  }

  health(signal?: AbortSignal): Promise<HealthResponse> {
    return this.http.get('/api/v1/health', undefined, signal ? { signal } : {});
  }

  /** The OpenAPI document describing every endpoint. */
  openapi(): Promise<Record<string, unknown>> {
    return this.http.get('/api/openapi.json');
  }
}

export class SetupApi {
  constructor(private readonly http: HttpClient) {}

  status(): Promise<SetupStatus> {
    return this.http.get('/api/v1/setup');
  }

  /** Creates the first admin and signs them in; 409 already_set_up once anyone exists. */
  create(req: SetupRequest): Promise<LoginResponse> {
    return this.http.post('/api/v1/setup', req, { noRefresh: true });
  }
}
