import type { DomainModule } from '../kernel/module.js';
import { searchRoutes, type SearchDeps } from './search.routes.js';

export type { SearchDeps };

/** Finding registrations, de-duplication, the legacy register import; the index is an inline projection. */
export const searchModule: DomainModule<SearchDeps> = {
  name: 'search',
  routes: searchRoutes,
  projections: ['registration-search'],
  migrations: '0800, 1200, 1210, 1211, 1212 (pairs of de-duplication keys)',
};
