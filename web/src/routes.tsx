import { Suspense, type ReactNode } from 'react';
import { PageLoading } from './components/ui.js';
import { lazyPage } from './lazyPage.js';
import { HomePage } from './pages/HomePage.js';
import { datahubRoutes } from './pages/datahub/routes.js';
import { datasetsRoutes, publicDatasetsRoutes } from './pages/datasets/routes.js';
import { viewsRoutes } from './pages/views/routes.js';
import { controlCentreRoutes } from './pages/control-centre/routes.js';
import { registrationsRoutes } from './pages/registrations/routes.js';
import { webhooksRoutes } from './pages/webhooks/routes.js';
import { offlineRoutes } from './offline/routes.js';

// Every page but home loads on first use (docs/web.md, "What a first visit downloads").
const LedgerPage = lazyPage(() => import('./pages/LedgerPage.js'), 'LedgerPage');
const AccountPage = lazyPage(() => import('./pages/AccountPage.js'), 'AccountPage');
const AdminUsersPage = lazyPage(() => import('./pages/AdminUsersPage.js'), 'AdminUsersPage');
const WorkspacesPage = lazyPage(() => import('./pages/workspaces/WorkspacesPage.js'), 'WorkspacesPage');

/** Pages of the signed-in app. A new capability adds its routes here (and nav items in nav.ts). */
import type { AppRoute } from './appRoute.js';
export type { AppRoute } from './appRoute.js';

const routes: AppRoute[] = [
  { path: '/', element: <HomePage /> },
  { path: '/ledger', element: <LedgerPage />, requires: 'events:read' },
  { path: '/account', element: <AccountPage /> },
  { path: '/admin/users', element: <AdminUsersPage />, requires: 'users:manage' },
  { path: '/workspaces', element: <WorkspacesPage />, requires: 'workspaces:read' },
  ...datahubRoutes,
  ...datasetsRoutes,
  ...viewsRoutes,
  ...controlCentreRoutes,
  ...registrationsRoutes,
  ...webhooksRoutes,
  ...offlineRoutes,
];

/** A lazily loaded page shows the loading state while its chunk arrives; the shell stays. */
export const appRoutes: AppRoute[] = routes.map((r) => ({ ...r, element: <Suspense fallback={<PageLoading />}>{r.element}</Suspense> }));

/** Pages anyone may open without signing in (public datasets, reviewer links); App.tsx frames them with PublicLayout. */
export const publicRoutes: AppRoute[] = publicDatasetsRoutes.map((r) => ({ ...r, element: <Suspense fallback={<PageLoading />}>{r.element}</Suspense> }));
