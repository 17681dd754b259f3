import './datasets.css';
import type { AppRoute } from '../../appRoute.js';
import { lazyPage } from '../../lazyPage.js';
const DatasetsPage = lazyPage(() => import('./DatasetsPage.js'), 'DatasetsPage');
const DatasetPage = lazyPage(() => import('./DatasetPage.js'), 'DatasetPage');
const ValidationRulesPage = lazyPage(() => import('./validation.js'), 'ValidationRulesPage');

/** Dataset pages, registered in web/src/routes.tsx. */
export const datasetsRoutes: AppRoute[] = [
  { path: '/datasets', element: <DatasetsPage />, requires: 'datasets:read' },
  { path: '/datasets/rules', element: <ValidationRulesPage /> },
  { path: '/datasets/:ds', element: <DatasetPage />, requires: 'datasets:read' },
];

/**
 * The same pages for people without an account (issue 17): the public list, a public dataset or
 * one opened through a reviewer link (`?review=`), read-only; and the validation rules.
 */
export const publicDatasetsRoutes: AppRoute[] = [
  { path: '/datasets', element: <DatasetsPage /> },
  { path: '/datasets/rules', element: <ValidationRulesPage /> },
  { path: '/datasets/:ds', element: <DatasetPage /> },
];
