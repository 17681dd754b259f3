import { seg, type HttpClient } from './http.js';

/** Outbound webhooks (docs/webhooks.md). Administrators with `webhooks:manage`. */
export interface WebhookSubscription {
  id: string;
  name: string;
  url: string;
  eventTypes: string[];
  registrationActions: string[];
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
  pending: number;
  failed: number;
  delivered: number;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDelivery {
  id: string;
  /** Delivery order within the subscription. */
  seq: number;
  subscriptionId: string;
  entryId: string;
  eventType: string;
  stream: string | null;
  replayOf: string | null;
  status: WebhookDeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  /** The first 1,000 characters of the last answer. */
  lastBody: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface WebhookAttempt {
  attempt: number;
  at: string;
  status: number | null;
  error: string | null;
  body: string | null;
  durationMs: number;
}

export interface WebhookInput {
  name: string;
  url: string;
  eventTypes?: string[];
  registrationActions?: string[];
}

export class WebhooksApi {
  constructor(private readonly http: HttpClient) {}

  async list(): Promise<WebhookSubscription[]> {
    return (await this.http.get<{ subscriptions: WebhookSubscription[] }>('/api/v1/webhooks')).subscriptions;
  }
  /** The answer's `secret` (Standard Webhooks `whsec_...`) is shown this once. */
  create(input: WebhookInput): Promise<{ subscription: WebhookSubscription; secret: string }> {
    return this.http.post('/api/v1/webhooks', input);
  }
  async get(id: string): Promise<WebhookSubscription> {
    return (await this.http.get<{ subscription: WebhookSubscription }>(`/api/v1/webhooks/${seg(id)}`)).subscription;
  }
  async update(id: string, patch: Partial<WebhookInput> & { enabled?: boolean }): Promise<WebhookSubscription> {
    return (await this.http.patch<{ subscription: WebhookSubscription }>(`/api/v1/webhooks/${seg(id)}`, patch)).subscription;
  }
  rotateSecret(id: string): Promise<{ secret: string }> {
    return this.http.post(`/api/v1/webhooks/${seg(id)}/secret`);
  }
  deliveries(id: string, q: { status?: WebhookDeliveryStatus; before?: number; limit?: number } = {}): Promise<{ deliveries: WebhookDelivery[]; next: number | null }> {
    return this.http.get(`/api/v1/webhooks/${seg(id)}/deliveries`, q);
  }
  delivery(id: string): Promise<{ delivery: WebhookDelivery; attempts: WebhookAttempt[] }> {
    return this.http.get(`/api/v1/webhooks/deliveries/${seg(id)}`);
  }
  async replay(deliveryId: string): Promise<WebhookDelivery> {
    return (await this.http.post<{ delivery: WebhookDelivery }>(`/api/v1/webhooks/deliveries/${seg(deliveryId)}/replay`)).delivery;
  }
}
