import type { AppRoute } from '../appRoute.js';
import { lazyPage } from '../lazyPage.js';
const OfflinePage = lazyPage(() => import('./OfflinePage.js'), 'OfflinePage');

/** The outbox page, registered in web/src/routes.tsx. */
export const offlineRoutes: AppRoute[] = [{ path: '/outbox', element: <OfflinePage /> }];
