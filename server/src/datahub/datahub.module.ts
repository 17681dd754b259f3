import type { DomainModule } from '../kernel/module.js';
import { recordsProjection } from './records.projection.js';
import { datahubRoutes, type DatahubDeps } from './datahub.routes.js';

export type { DatahubDeps };

/** Subjects, sessions, records, exports and imports. */
export const datahubModule: DomainModule<DatahubDeps> = {
  name: 'datahub',
  routes: datahubRoutes,
  reservedTypePrefixes: ['subject.', 'session.', 'record.', 'datahub.'],
  projections: [recordsProjection.name],
  migrations: '0300, 0310 (subject labels), 0651 (records projection), 1201 (subject identifier search)',
};
