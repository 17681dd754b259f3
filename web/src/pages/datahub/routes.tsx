import './datahub.css';
import type { AppRoute } from '../../routes.js';
import { DatahubPage } from './DatahubPage.js';
import { SubjectsPage } from './SubjectsPage.js';
import { SubjectPage } from './SubjectPage.js';
import { CapturePage } from './CapturePage.js';
import { RecordPage } from './RecordPage.js';
import { PlaygroundPage } from './PlaygroundPage.js';
import { ExportPage } from './ExportPage.js';
import { ImportPage } from './ImportPage.js';

/** The data hub's pages, registered in web/src/routes.tsx. */
export const datahubRoutes: AppRoute[] = [
  { path: '/datahub', element: <DatahubPage />, requires: 'records:read' },
  { path: '/datahub/w/:ws/subjects', element: <SubjectsPage />, requires: 'records:read' },
  { path: '/datahub/w/:ws/export', element: <ExportPage />, requires: 'records:read' },
  { path: '/datahub/w/:ws/import', element: <ImportPage />, requires: 'records:write' },
  { path: '/datahub/subjects/:id', element: <SubjectPage />, requires: 'records:read' },
  { path: '/datahub/sessions/:id/capture', element: <CapturePage />, requires: 'records:write' },
  { path: '/datahub/records/:id', element: <RecordPage />, requires: 'records:read' },
  { path: '/datahub/playground', element: <PlaygroundPage /> },
];
