import type { DomainModule } from '../kernel/module.js';
import { usersRoutes, type UsersDeps } from './users.routes.js';

export type { UsersDeps };

/** Users administration and instance-wide settings. */
export const usersModule: DomainModule<UsersDeps> = {
  name: 'users',
  routes: usersRoutes,
  reservedTypePrefixes: ['user.', 'settings.'],
  migrations: '0001 (users, settings), 1300 (display names)',
};
