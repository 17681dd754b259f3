import type { DomainModule } from '../kernel/module.js';
import { homeRoutes, type HomeDeps } from './home.routes.js';

export type { HomeDeps };

/** The home page's summary, per caller. */
export const homeModule: DomainModule<HomeDeps> = {
  name: 'home',
  routes: homeRoutes,
};
