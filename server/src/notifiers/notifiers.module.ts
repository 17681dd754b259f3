import type { DomainModule } from '../kernel/module.js';
import { notifiersRoutes, type NotifiersDeps } from './notifiers.routes.js';

export type { NotifiersDeps };

/** Inbound notifications from other systems' apps. */
export const notifiersModule: DomainModule<NotifiersDeps> = {
  name: 'notifiers',
  routes: notifiersRoutes,
  migrations: '1151',
};
