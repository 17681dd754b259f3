import type { DomainModule } from '../kernel/module.js';
import { workspacesRoutes, type WorkspacesDeps } from './workspaces.routes.js';

export type { WorkspacesDeps };

/** Nested workspaces and their members. */
export const workspacesModule: DomainModule<WorkspacesDeps> = {
  name: 'workspaces',
  routes: workspacesRoutes,
  reservedTypePrefixes: ['workspace.'],
  migrations: '0001 (workspaces, members)',
};
