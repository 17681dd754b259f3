import './views.css';
import type { AppRoute } from '../../routes.js';
import { ViewTemplatesPage } from './ViewTemplatesPage.js';
import { ViewTemplatePage } from './ViewTemplatePage.js';
import { RegisterTemplatePage } from './RegisterTemplatePage.js';
import { ViewInstancesPage } from './ViewInstancesPage.js';

/** The views screens of the Control Centre, registered in web/src/routes.tsx. */
export const viewsRoutes: AppRoute[] = [
  { path: '/views', element: <ViewTemplatesPage />, requires: 'views:manage' },
  { path: '/views/new', element: <RegisterTemplatePage />, requires: 'views:manage' },
  { path: '/views/templates/:id', element: <ViewTemplatePage />, requires: 'views:manage' },
  { path: '/views/instances', element: <ViewInstancesPage />, requires: 'views:manage' },
];
