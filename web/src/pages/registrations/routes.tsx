import './registrations.css';
import type { AppRoute } from '../../routes.js';
import { WorkqueuesPage } from './WorkqueuesPage.js';
import { DeclarePage, UpdatePage } from './DeclarePage.js';
import { RegistrationPage } from './RegistrationPage.js';
import { PerformancePage } from './PerformancePage.js';

/** Civil registration's pages, registered in web/src/routes.tsx. */
export const registrationsRoutes: AppRoute[] = [
  { path: '/registrations', element: <WorkqueuesPage />, requires: 'registrations:read' },
  { path: '/registrations/declare/:type', element: <DeclarePage />, requires: 'registrations:write' },
  { path: '/registrations/performance', element: <PerformancePage />, requires: 'registrations:read' },
  { path: '/registrations/:id/update', element: <UpdatePage />, requires: 'registrations:write' },
  { path: '/registrations/:id', element: <RegistrationPage />, requires: 'registrations:read' },
];
