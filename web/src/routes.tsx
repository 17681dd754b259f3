import type { ReactNode } from 'react';
import { HomePage } from './pages/HomePage.js';
import { LedgerPage } from './pages/LedgerPage.js';
import { AccountPage } from './pages/AccountPage.js';
import { AdminUsersPage } from './pages/AdminUsersPage.js';
import { datahubRoutes } from './pages/datahub/routes.js';
import { datasetsRoutes } from './pages/datasets/routes.js';
import { viewsRoutes } from './pages/views/routes.js';
import { controlCentreRoutes } from './pages/control-centre/routes.js';
import { registrationsRoutes } from './pages/registrations/routes.js';

/**
 * Pages of the signed-in app. A new capability adds its routes here (and nav items in nav.ts).
 * `requires` is the scope needed; without it the page answers "not found" like any unknown path.
 */
export interface AppRoute {
  path: string;
  element: ReactNode;
  requires?: string;
}

export const appRoutes: AppRoute[] = [
  { path: '/', element: <HomePage /> },
  { path: '/ledger', element: <LedgerPage />, requires: 'events:read' },
  { path: '/account', element: <AccountPage /> },
  { path: '/admin/users', element: <AdminUsersPage />, requires: 'users:manage' },
  ...datahubRoutes,
  ...datasetsRoutes,
  ...viewsRoutes,
  ...controlCentreRoutes,
  ...registrationsRoutes,
];
