import type { AppRoute } from '../../appRoute.js';
import { lazyPage } from '../../lazyPage.js';
const DatasetsPage = lazyPage(() => import('./DatasetsPage.js'), 'DatasetsPage');
const DatasetPage = lazyPage(() => import('./DatasetPage.js'), 'DatasetPage');

/** Dataset pages, registered in web/src/routes.tsx. */
export const datasetsRoutes: AppRoute[] = [
  { path: '/datasets', element: <DatasetsPage />, requires: 'datasets:read' },
  { path: '/datasets/:ds', element: <DatasetPage />, requires: 'datasets:read' },
];
