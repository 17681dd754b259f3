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

export class SystemApi {
  constructor(private readonly http: HttpClient) {}

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
