import type { DomainModule } from '../kernel/module.js';
import { DELIVER_TASK } from './webhooks.service.js';
import { webhooksRoutes, type WebhooksDeps } from './webhooks.routes.js';

export type { WebhooksDeps };

/** Outbound webhooks: subscriptions fed from the ledger, signed deliveries through the job queue. */
export const webhooksModule: DomainModule<WebhooksDeps> = {
  name: 'webhooks',
  routes: webhooksRoutes,
  jobs: [DELIVER_TASK],
  migrations: '1150',
};
