import type pg from 'pg';
import type { Db } from './database/database.js';
import type { Config } from './kernel/config.js';
import type { Logger } from './kernel/logger.js';
import { systemClock, type Clock } from './kernel/clock.js';
import { LedgerService } from './ledger/ledger.service.js';
import { AuthService } from './auth/auth.service.js';
import { UsersService } from './users/users.service.js';
import { WorkspacesService } from './workspaces/workspaces.service.js';
import { EventTypesService } from './event-types/event-types.service.js';
import { EventsService } from './event-types/events.service.js';
import { GrantsService } from './apps/apps.grants.js';
import { AppsService } from './apps/apps.service.js';

export type ResolvedConfig = Config & { secret: string };

/**
 * The one place services are wired together. Routes, workers, the CLI and tests all get their
 * services from here, so a service is constructed the same way everywhere.
 */
export function createServices(deps: { config: ResolvedConfig; db: Db; pool: pg.Pool; log: Logger; clock?: Clock }) {
  const clock = deps.clock ?? systemClock;
  const ledger = new LedgerService(deps.db, clock);
  const auth = new AuthService(deps.db, ledger, deps.config, clock);
  const users = new UsersService(deps.db, ledger, auth);
  const workspaces = new WorkspacesService(deps.db, ledger);
  const eventTypes = new EventTypesService(deps.db, ledger);
  const grants = new GrantsService(deps.db, ledger, eventTypes);
  const events = new EventsService(deps.db, ledger, grants);
  const apps = new AppsService(deps.db, ledger, eventTypes, clock, {
    associationTtlSeconds: 24 * 3600,
    accessTokenTtlSeconds: deps.config.accessTokenTtlSeconds,
    defaultRateLimitPerMinute: 600,
  });
  auth.bearerResolvers.push((token, meta) => apps.fromBearer(token, meta));
  return { ...deps, clock, ledger, auth, users, workspaces, eventTypes, grants, events, apps };
}

export type Services = ReturnType<typeof createServices>;
