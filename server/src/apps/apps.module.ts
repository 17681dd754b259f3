import type { DomainModule } from '../kernel/module.js';
import { appsRoutes, type AppsDeps } from './apps.routes.js';

export type { AppsDeps };

/** Apps, OAuth2 client credentials, permission requests and grants. */
export const appsModule: DomainModule<AppsDeps> = {
  name: 'apps',
  routes: appsRoutes,
  migrations: '0100 (apps, grants), 0901, 1351 (permission requests)',
};
