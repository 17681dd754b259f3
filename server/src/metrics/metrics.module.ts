import type { DomainModule } from '../kernel/module.js';
import { metricsRoutes, type MetricsDeps } from './metrics.routes.js';

export type { MetricsDeps };

/** Prometheus metrics and the System overview. First in app.ts's list: its onResponse hook counts every route. */
export const metricsModule: DomainModule<MetricsDeps> = {
  name: 'metrics',
  routes: metricsRoutes,
  migrations: '0910 (node heartbeats, ledger verifications)',
};
