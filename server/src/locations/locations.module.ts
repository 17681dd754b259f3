import type { DomainModule } from '../kernel/module.js';
import { locationsRoutes, type LocationsDeps } from './locations.routes.js';

export type { LocationsDeps };

/** The jurisdiction tree's CSV import and location search. */
export const locationsModule: DomainModule<LocationsDeps> = {
  name: 'locations',
  routes: locationsRoutes,
  migrations: '0700 (jurisdictions), 0750 (location search)',
};
