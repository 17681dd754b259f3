import './views.css';
import type { AppRoute } from '../../appRoute.js';
import { lazyPage } from '../../lazyPage.js';
const ViewTemplatesPage = lazyPage(() => import('./ViewTemplatesPage.js'), 'ViewTemplatesPage');
const ViewTemplatePage = lazyPage(() => import('./ViewTemplatePage.js'), 'ViewTemplatePage');
const RegisterTemplatePage = lazyPage(() => import('./RegisterTemplatePage.js'), 'RegisterTemplatePage');
const ViewInstancesPage = lazyPage(() => import('./ViewInstancesPage.js'), 'ViewInstancesPage');

/** The views screens of the Control Centre, registered in web/src/routes.tsx. */
export const viewsRoutes: AppRoute[] = [
  { path: '/views', element: <ViewTemplatesPage />, requires: 'views:manage' },
  { path: '/views/new', element: <RegisterTemplatePage />, requires: 'views:manage' },
  { path: '/views/templates/:id', element: <ViewTemplatePage />, requires: 'views:manage' },
  { path: '/views/instances', element: <ViewInstancesPage />, requires: 'views:manage' },
];
