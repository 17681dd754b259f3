import type { DomainModule } from '../kernel/module.js';
import { authRoutes, type AuthDeps } from './auth.routes.js';

export type { AuthDeps };

/** Sign-in, sessions, API tokens, second factor. The auth hook itself is auth.hook.ts, registered by app.ts before every module. */
export const authModule: DomainModule<AuthDeps> = {
  name: 'auth',
  routes: authRoutes,
  reservedTypePrefixes: ['auth.', 'token.'],
  migrations: '0001 (accounts), 0620 (access ends, login failures), 1300 (recovery codes)',
};
