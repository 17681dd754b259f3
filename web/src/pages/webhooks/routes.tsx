import type { AppRoute } from '../../appRoute.js';
import { lazyPage } from '../../lazyPage.js';
const WebhooksPage = lazyPage(() => import('./WebhooksPage.js'), 'WebhooksPage');
const WebhookPage = lazyPage(() => import('./WebhooksPage.js'), 'WebhookPage');

/** The admin's outbound webhooks: subscriptions, their delivery log and replays (docs/webhooks.md). */
export const webhooksRoutes: AppRoute[] = [
  { path: '/webhooks', element: <WebhooksPage />, requires: 'webhooks:manage' },
  { path: '/webhooks/:id', element: <WebhookPage />, requires: 'webhooks:manage' },
];
