import { Navigate } from 'react-router';
import './control-centre.css';
import type { AppRoute } from '../../appRoute.js';
import { lazyPage } from '../../lazyPage.js';
const AppsPage = lazyPage(() => import('./AppsPage.js'), 'AppsPage');
const AppPage = lazyPage(() => import('./AppPage.js'), 'AppPage');
const RequestsPage = lazyPage(() => import('./RequestsPage.js'), 'RequestsPage');
const EventTypePage = lazyPage(() => import('./EventTypesPage.js'), 'EventTypePage');
const EventTypesPage = lazyPage(() => import('./EventTypesPage.js'), 'EventTypesPage');
const EventsPage = lazyPage(() => import('./EventsPage.js'), 'EventsPage');
const LocationsPage = lazyPage(() => import('./LocationsPage.js'), 'LocationsPage');
const SystemPage = lazyPage(() => import('./SystemPage.js'), 'SystemPage');

/** The Control Centre's pages (apps and typed events), registered in web/src/routes.tsx. */
export const controlCentreRoutes: AppRoute[] = [
  { path: '/control-centre', element: <Navigate to="/control-centre/apps" replace />, requires: 'apps:manage' },
  { path: '/control-centre/apps', element: <AppsPage />, requires: 'apps:manage' },
  { path: '/control-centre/apps/:id', element: <AppPage />, requires: 'apps:manage' },
  { path: '/control-centre/requests', element: <RequestsPage />, requires: 'apps:manage' },
  // Listing types needs only a session; the Control Centre shows them to readers of events.
  { path: '/control-centre/event-types', element: <EventTypesPage />, requires: 'events:read' },
  // Type names contain "/": the rest of the path is the name.
  { path: '/control-centre/event-types/*', element: <EventTypePage />, requires: 'events:read' },
  { path: '/control-centre/events', element: <EventsPage />, requires: 'events:read' },
  { path: '/control-centre/locations', element: <LocationsPage />, requires: 'workspaces:manage' },
  // The admin's System page (nodes, lags, queue, storage, ledger verification); outside the Control Centre's tabs.
  { path: '/system', element: <SystemPage />, requires: 'settings:manage' },
];
