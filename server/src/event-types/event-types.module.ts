import type { DomainModule } from '../kernel/module.js';
import { supersededProjection } from './events.projection.js';
import { eventTypesRoutes, type EventTypesDeps } from './event-types.routes.js';

export type { EventTypesDeps };

/** Typed events: event types, versions of their schemas, modified and deleted events. */
export const eventTypesModule: DomainModule<EventTypesDeps> = {
  name: 'event-types',
  routes: eventTypesRoutes,
  projections: [supersededProjection.name],
  migrations: '0100 (event store)',
};
