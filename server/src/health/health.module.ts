import type { DomainModule } from '../kernel/module.js';
import { healthRoutes, type HealthDeps } from './health.routes.js';

export type { HealthDeps };

/** Readiness and liveness probes. */
export const healthModule: DomainModule<HealthDeps> = {
  name: 'health',
  routes: healthRoutes,
};
