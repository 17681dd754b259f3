import type { DomainModule } from '../kernel/module.js';
import { viewsRoutes, type ViewsDeps } from './views.routes.js';

export type { ViewsDeps };

/** View templates and instances; their code runs in views/sandbox/. */
export const viewsModule: DomainModule<ViewsDeps> = {
  name: 'views',
  routes: viewsRoutes,
  migrations: '0200',
};
