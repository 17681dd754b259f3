import type { DomainModule } from '../kernel/module.js';
import { projectionsRoutes, type ProjectionsDeps } from './projections.routes.js';

export type { ProjectionsDeps };

/** The projector's state: list projections, their lag and failures, rebuild one. */
export const projectionsModule: DomainModule<ProjectionsDeps> = {
  name: 'projections',
  routes: projectionsRoutes,
  migrations: '0650',
};
