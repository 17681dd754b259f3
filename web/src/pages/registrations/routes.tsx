import './registrations.css';
import type { AppRoute } from '../../appRoute.js';
import { lazyPage } from '../../lazyPage.js';
const WorkqueuesPage = lazyPage(() => import('./WorkqueuesPage.js'), 'WorkqueuesPage');
const DeclarePage = lazyPage(() => import('./DeclarePage.js'), 'DeclarePage');
const UpdatePage = lazyPage(() => import('./DeclarePage.js'), 'UpdatePage');
const RegistrationPage = lazyPage(() => import('./RegistrationPage.js'), 'RegistrationPage');
const PerformancePage = lazyPage(() => import('./PerformancePage.js'), 'PerformancePage');
const SearchPage = lazyPage(() => import('./SearchPage.js'), 'SearchPage');
const DuplicateReviewPage = lazyPage(() => import('./DuplicateReviewPage.js'), 'DuplicateReviewPage');
const ImportPage = lazyPage(() => import('./ImportPage.js'), 'ImportPage');

/** Civil registration's pages, registered in web/src/routes.tsx. */
export const registrationsRoutes: AppRoute[] = [
  { path: '/registrations', element: <WorkqueuesPage />, requires: 'registrations:read' },
  { path: '/registrations/declare/:type', element: <DeclarePage />, requires: 'registrations:write' },
  { path: '/registrations/performance', element: <PerformancePage />, requires: 'registrations:read' },
  { path: '/registrations/search', element: <SearchPage />, requires: 'registrations:read' },
  { path: '/registrations/import', element: <ImportPage />, requires: 'registrations:write' },
  { path: '/registrations/:id/duplicates', element: <DuplicateReviewPage />, requires: 'registrations:read' },
  { path: '/registrations/:id/update', element: <UpdatePage />, requires: 'registrations:write' },
  { path: '/registrations/:id', element: <RegistrationPage />, requires: 'registrations:read' },
];
