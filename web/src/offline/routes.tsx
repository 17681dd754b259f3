import type { AppRoute } from '../routes.js';
import { lazyPage } from '../lazyPage.js';
const OfflinePage = lazyPage(() => import('./OfflinePage.js'), 'OfflinePage');

/** The outbox page, registered in web/src/routes.tsx. */
export const offlineRoutes: AppRoute[] = [{ path: '/outbox', element: <OfflinePage /> }];
