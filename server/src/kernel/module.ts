import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

/**
 * A domain module (docs/architecture.md, "A domain module"): what one domain folder brings to the
 * server. `routes` receives only the dependencies the domain's routes use (`Deps`, declared in the
 * domain's `x.module.ts`), never the whole service bag or a database handle: a route calls a
 * service, and what a domain's HTTP surface can reach is visible in one type.
 *
 * The other fields declare what the domain owns elsewhere, so it is listed in one place per
 * domain. They are declarations, not registration: the wiring (services.ts) still registers
 * projections and job tasks, and the ledger keeps its list of reserved prefixes; a test
 * (app.modules.test.ts) checks the declarations and the registrations name the same things.
 */
export interface DomainModule<Deps> {
  /** Unique; also the Fastify plugin's name. */
  readonly name: string;
  routes(app: FastifyInstance, deps: Deps): Promise<void> | void;
  /** Type prefixes only Cairn itself may write (ledger.service.ts, SYSTEM_TYPE_PREFIXES). */
  readonly reservedTypePrefixes?: readonly string[];
  /** Names of the projections of the ledger the domain registers (projections/projection.ts). */
  readonly projections?: readonly string[];
  /** Names of the background job tasks the domain registers (jobs/jobs.runner.ts). */
  readonly jobs?: readonly string[];
  /** The domain's migration number ranges (documentation: migrations are numbered by domain). */
  readonly migrations?: string;
}

/** A module with the dependencies it was given, ready for `app.register(modulePlugin(...))`. */
export interface MountedModule {
  readonly module: DomainModule<never>;
  readonly plugin: FastifyPluginAsync;
}

/**
 * A module's routes as a Fastify plugin that stays in the root scope (fastify-plugin): shared
 * schemas one module adds (User, LedgerEntry) resolve from later modules, the root's validator
 * compiler and error handler apply, and a hook a module adds (metrics' onResponse) sees every
 * route registered after it, exactly as when routes were registered on the root instance.
 */
export function mount<Deps>(module: DomainModule<Deps>, deps: Deps): MountedModule {
  const plugin = fp(async (app: FastifyInstance) => {
    await module.routes(app, deps);
  }, { name: `cairn-${module.name}`, fastify: '5.x' });
  return { module, plugin };
}
