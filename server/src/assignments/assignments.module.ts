import type { DomainModule } from '../kernel/module.js';
import { assignmentsRoutes, type AssignmentsDeps } from './assignments.routes.js';

export type { AssignmentsDeps };

/** Remote capture from the core's side: links sent to participants, sealed answers pulled from the gateway. */
export const assignmentsModule: DomainModule<AssignmentsDeps> = {
  name: 'assignments',
  routes: assignmentsRoutes,
  migrations: '1000, 1001',
};
