import { fail } from '../kernel/errors.js';
import type { RemoteCaptureConfig } from './assignments.config.js';

export interface SealedSubmission {
  id: string;
  linkId: string;
  part: number;
  enc: string;
  ct: string;
  receivedAt: string;
}
export interface GatewayAssignment {
  language: string;
  title: unknown;
  parts: { name: string; edition: number; definition: unknown }[];
  publicKey: string;
  expiresAt: string;
}

/**
 * The core's side of the gateway's API. Only the core calls (the gateway never calls back): with
 * the shared key as a bearer token, a 10-second limit per call, and any failure turned into
 * 503 gateway_unavailable so a caller learns the gateway is down, never a 500.
 */
export class GatewayClient {
  constructor(private readonly config: Pick<RemoteCaptureConfig, 'gatewayUrl' | 'gatewayKey'>) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.config.gatewayUrl}/api/gateway/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${this.config.gatewayKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (e) {
      throw fail('gateway_unavailable', `The remote-capture gateway cannot be reached (${(e as Error).message})`);
    }
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      throw fail('gateway_unavailable', `The remote-capture gateway answered ${res.status}: ${text.slice(0, 200)}`);
    }
    return (await res.json()) as T;
  }

  put(linkId: string, a: GatewayAssignment) {
    return this.call<{ created: boolean }>('PUT', `/assignments/${linkId}`, a);
  }
  cancel(linkId: string) {
    return this.call<{ cancelled: boolean }>('POST', `/assignments/${linkId}/cancel`);
  }
  statuses(linkIds: string[]) {
    return this.call<{ assignments: { linkId: string; status: string; partsDone: number[]; openedAt: string | null }[] }>('POST', '/assignments/status', { linkIds });
  }
  pending(limit: number) {
    return this.call<{ submissions: SealedSubmission[] }>('GET', `/submissions?limit=${limit}`);
  }
  delete(ids: string[]) {
    return this.call<{ deleted: number }>('POST', '/submissions/delete', { ids });
  }
}
