import type { DomainModule } from '../kernel/module.js';
import { VALIDATE_TASK } from './dataset-versions.service.js';
import { datasetsRoutes, type DatasetsDeps } from './datasets.routes.js';

export type { DatasetsDeps };

/** Versioned file trees, resumable uploads, validation; the blob store's housekeeping (datasets.jobs.ts). */
export const datasetsModule: DomainModule<DatasetsDeps> = {
  name: 'datasets',
  routes: datasetsRoutes,
  reservedTypePrefixes: ['dataset.'],
  jobs: [VALIDATE_TASK, 'blobs:sweep', 'blobs:gc'],
  migrations: '0400, 0900, 1350',
};
