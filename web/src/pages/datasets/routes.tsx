import type { AppRoute } from '../../routes.js';
import { DatasetsPage } from './DatasetsPage.js';
import { DatasetPage } from './DatasetPage.js';

/** Dataset pages, registered in web/src/routes.tsx. */
export const datasetsRoutes: AppRoute[] = [
  { path: '/datasets', element: <DatasetsPage />, requires: 'datasets:read' },
  { path: '/datasets/:ds', element: <DatasetPage />, requires: 'datasets:read' },
];
