import './datahub.css';
import type { AppRoute } from '../../appRoute.js';
import { lazyPage } from '../../lazyPage.js';
const DatahubPage = lazyPage(() => import('./DatahubPage.js'), 'DatahubPage');
const SubjectsPage = lazyPage(() => import('./SubjectsPage.js'), 'SubjectsPage');
const SubjectPage = lazyPage(() => import('./SubjectPage.js'), 'SubjectPage');
const CapturePage = lazyPage(() => import('./CapturePage.js'), 'CapturePage');
const RecordPage = lazyPage(() => import('./RecordPage.js'), 'RecordPage');
const PlaygroundPage = lazyPage(() => import('./PlaygroundPage.js'), 'PlaygroundPage');
const ExportPage = lazyPage(() => import('./ExportPage.js'), 'ExportPage');
const ImportPage = lazyPage(() => import('./ImportPage.js'), 'ImportPage');
const AssignmentsPage = lazyPage(() => import('./RemoteAssignments.js'), 'AssignmentsPage');

/** The data hub's pages, registered in web/src/routes.tsx. */
export const datahubRoutes: AppRoute[] = [
  { path: '/datahub', element: <DatahubPage />, requires: 'records:read' },
  { path: '/datahub/w/:ws/subjects', element: <SubjectsPage />, requires: 'records:read' },
  { path: '/datahub/w/:ws/export', element: <ExportPage />, requires: 'records:read' },
  { path: '/datahub/w/:ws/import', element: <ImportPage />, requires: 'records:write' },
  { path: '/datahub/w/:ws/assignments', element: <AssignmentsPage />, requires: 'records:read' },
  { path: '/datahub/subjects/:id', element: <SubjectPage />, requires: 'records:read' },
  { path: '/datahub/sessions/:id/capture', element: <CapturePage />, requires: 'records:write' },
  { path: '/datahub/records/:id', element: <RecordPage />, requires: 'records:read' },
  { path: '/datahub/playground', element: <PlaygroundPage /> },
];
