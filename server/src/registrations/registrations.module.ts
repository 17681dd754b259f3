import type { DomainModule } from '../kernel/module.js';
import { registrationsProjection } from './registrations.projection.js';
import { registrationStatsRoutes, type RegistrationStatsDeps } from './registration-stats.routes.js';
import { registrationsRoutes, type RegistrationsRoutesDeps } from './registrations.routes.js';

export type RegistrationsDeps = RegistrationsRoutesDeps & RegistrationStatsDeps;

/** Civil registration: types, the declare → validate → register workflow, statistics. */
export const registrationsModule: DomainModule<RegistrationsDeps> = {
  name: 'registrations',
  async routes(app, deps) {
    // The statistics first: the order the routes (and the OpenAPI document) had before modules.
    await registrationStatsRoutes(app, deps);
    await registrationsRoutes(app, deps);
  },
  reservedTypePrefixes: ['registration.', 'registration-type.'],
  projections: [registrationsProjection.name],
  migrations: '0710, 1250 (statistics), 1251 (workqueue counters)',
};
