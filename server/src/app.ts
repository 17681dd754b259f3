import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import { Ajv, type ValidateFunction } from 'ajv';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import addFormats from 'ajv-formats';
import { newId } from './kernel/ids.js';
import { AppError } from './kernel/errors.js';
import type { RouteAccess } from './kernel/access.js';
import { ErrorSchema, installErrorHandling, installNotFound } from './kernel/http.js';
import { installRequestTextChecks } from './kernel/request-text.js';
import { securityHeaders } from './kernel/security-headers.js';
import { clientErrorHandler, frameworkErrors } from './kernel/raw-responses.js';
import type { Services } from './services.js';
import { SESSION_COOKIE } from './auth/auth.shared.js';
import { authHook } from './auth/auth.hook.js';
import { mount, type MountedModule } from './kernel/module.js';
import { MetricsService } from './metrics/metrics.service.js';
import { metricsModule } from './metrics/metrics.module.js';
import { healthModule } from './health/health.module.js';
import { authModule } from './auth/auth.module.js';
import { usersModule } from './users/users.module.js';
import { workspacesModule } from './workspaces/workspaces.module.js';
import { ledgerModule } from './ledger/ledger.module.js';
import { eventTypesModule } from './event-types/event-types.module.js';
import { appsModule } from './apps/apps.module.js';
import { instrumentsModule } from './instruments/instruments.module.js';
import { datahubModule } from './datahub/datahub.module.js';
import { datasetsModule } from './datasets/datasets.module.js';
import { viewsModule } from './views/views.module.js';
import { locationsModule } from './locations/locations.module.js';
import { projectionsModule } from './projections/projections.module.js';
import { searchModule } from './search/search.module.js';
import { registrationsModule } from './registrations/registrations.module.js';
import { webhooksModule } from './webhooks/webhooks.module.js';
import { notifiersModule } from './notifiers/notifiers.module.js';
import { homeModule } from './home/home.module.js';
import { assignmentsModule } from './assignments/assignments.module.js';

export { VERSION } from './kernel/version.js';
import { VERSION } from './kernel/version.js';
const WEB_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');
const WEB_ASSETS = path.join(WEB_DIST, 'assets') + path.sep;

/**
 * Every domain module with the dependencies its routes get, in one list: a new capability adds
 * one line here. The only place routes' dependencies are picked from the services; no module
 * gets the whole bag or a database handle (docs/architecture.md, "A domain module").
 * Metrics first: its onResponse hook must see every route registered after it.
 */
export function domainModules(s: Services): MountedModule[] {
  return [
    // One MetricsService per app: its heartbeat starts and stops with the app.
    mount(metricsModule, { metrics: new MetricsService(s, VERSION) }),
    mount(healthModule, { health: s.health }),
    mount(authModule, { setup: s.setup, sessions: s.sessions, accounts: s.accounts, totp: s.totp, recoveryCodes: s.recoveryCodes, apiTokens: s.apiTokens, config: s.config }),
    mount(usersModule, { users: s.users }),
    mount(workspacesModule, { workspaces: s.workspaces }),
    mount(ledgerModule, { ledger: s.ledger, operations: s.ledgerOperations, auth: s.credentials, events: s.events }),
    mount(eventTypesModule, { eventTypes: s.eventTypes, events: s.events }),
    mount(appsModule, { apps: s.apps, grants: s.grants, config: s.config }),
    mount(instrumentsModule, { instruments: s.instruments }),
    mount(datahubModule, { subjects: s.subjects, records: s.records, exports: s.exports, imports: s.imports, datahub: s.datahub }),
    mount(datasetsModule, { datasets: s.datasets, versions: s.datasetVersions, sharing: s.datasetSharing, uploads: s.uploads }),
    mount(viewsModule, { templates: s.viewTemplates, instances: s.viewInstances, runs: s.viewRuns }),
    mount(locationsModule, { locations: s.locations }),
    mount(projectionsModule, { projections: s.projections }),
    mount(searchModule, { search: s.search, legacyImport: s.legacyImport }),
    mount(registrationsModule, { registrations: s.registrations, registrationStats: s.registrationStats, config: s.config }),
    mount(webhooksModule, { webhooks: s.webhooks }),
    mount(notifiersModule, { notifiers: s.notifiers }),
    mount(homeModule, { home: s.home }),
    mount(assignmentsModule, { assignments: s.assignments, config: s.config }),
  ];
}

export async function buildApp(services: Services): Promise<FastifyInstance> {
  const { config, log, credentials } = services;
  // Schemas compile on first use (below); these force them all, for the test that checks every
  // route's schemas compile (kernel/http.fuzz.test.ts).
  const deferredCompiles: (() => unknown)[] = [];
  const headers = securityHeaders({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
      },
    },
    crossOriginEmbedderPolicy: false,
  });
  const app = Fastify({
    loggerInstance: log,
    bodyLimit: config.bodyLimit,
    trustProxy: process.env.CAIRN_TRUST_PROXY === 'true',
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : newId();
    },
    // One line per request (onResponse below) instead of Fastify's two.
    disableRequestLogging: true,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Refusals made before a route runs answer in the catalog's shape with the security headers too.
    clientErrorHandler: clientErrorHandler(headers),
    frameworkErrors: frameworkErrors(headers),
    routerOptions: { maxParamLength: 200 },
    // Response serializers are compiled on a route's first answer instead of at boot: compiling
    // all of them was a third of start-up (`npm start` must be healthy in under 3 s). Every route
    // is called by the test suite (http.fuzz.test.ts), so a broken schema still fails there.
    schemaController: {
      compilersFactory: {
        buildSerializer: (externalSchemas: unknown, options: unknown) => {
          const build = SerializerSelector()(externalSchemas as never, options as never);
          return (route: Parameters<typeof build>[0]) => {
            let serialize: ((data: unknown) => string) | undefined;
            deferredCompiles.push(() => (serialize ??= build(route)));
            return (data: unknown) => (serialize ??= build(route))(data);
          };
        },
      },
    },
  }) as unknown as FastifyInstance;

  // Bodies are validated strictly (no type coercion: 123 is not "123"); query strings and params
  // arrive as text, so they may be coerced to the declared number/boolean types.
  const strict = new Ajv({ allErrors: false, removeAdditional: false, useDefaults: true, coerceTypes: false, strict: false });
  const lenient = new Ajv({ allErrors: false, removeAdditional: false, useDefaults: true, coerceTypes: 'array', strict: false });
  addFormats.default(strict);
  addFormats.default(lenient);
  for (const a of [strict, lenient]) a.addSchema(ErrorSchema);
  // Compiled on first use, like the serializers above; Fastify reads `.errors` off the function.
  app.setValidatorCompiler(({ schema, httpPart }) => {
    let validate: ValidateFunction | undefined;
    deferredCompiles.push(() => (validate ??= (httpPart === 'body' ? strict : lenient).compile(schema)));
    const lazy = (data: unknown) => {
      validate ??= (httpPart === 'body' ? strict : lenient).compile(schema);
      const ok = validate(data);
      lazy.errors = validate.errors;
      return ok;
    };
    lazy.errors = null as ValidateFunction['errors'];
    return lazy;
  });

  app.addSchema(ErrorSchema);
  app.decorate('compileAllSchemas', () => {
    for (const compile of deferredCompiles) compile();
    return deferredCompiles.length;
  });
  installErrorHandling(app);
  // UTF-8, well-formed Unicode and bounded nesting for every JSON body and URL (kernel/request-text.ts).
  installRequestTextChecks(app);

  app.addHook('onRequest', async (_request, reply) => {
    reply.headers(headers);
  });
  await app.register(cookie);
  await app.register(formbody);
  await app.register(rateLimit, { global: false, errorResponseBuilder: (_req, ctx) => new AppError('rate_limited', `Too many requests; retry in ${Math.ceil(ctx.ttl / 1000)} s`, undefined, { 'retry-after': String(Math.ceil(ctx.ttl / 1000)) }) });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Cairn API', version: VERSION, description: 'Capture, register, version and share records about people. Errors are `{ error: { code, message, details?, requestId } }`.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An access token from /auth/login or a personal API token (cairn_pat_...)' },
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'Browser session; unsafe methods also need the X-CSRF-Token header' },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: true, uiConfig: { deepLinking: true } });
  app.get('/api/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());

  // Every API route must say who may call it; a forgotten declaration stops the boot, not a leak.
  // The declarations are kept (app.routeAccess) so the authorisation-matrix test derives what to
  // expect from them instead of from a list someone must remember to update.
  const routeAccess: { method: string; url: string; access: RouteAccess }[] = [];
  app.decorate('routeAccess', routeAccess);
  app.addHook('onRoute', (route) => {
    const url = route.url;
    if (!url.startsWith('/api/') || url.startsWith('/api/docs')) return;
    if (!route.config?.access) throw new Error(`route ${route.method} ${url} declares no access rule`);
    for (const method of [route.method].flat()) routeAccess.push({ method, url, access: route.config.access });
  });

  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (request.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
  });

  // The auth hook (auth/auth.hook.ts): credentials → request.auth, CSRF, the route's declared access.
  await app.register(authHook, { auth: credentials });

  // Each module is a plugin in the root scope (kernel/module.ts) so shared schemas such as User and
  // LedgerEntry, added by the module that owns them, resolve from later modules.
  for (const { plugin } of domainModules(services)) await app.register(plugin);

  // A serving process caches per-request lookups (kernel/cache.ts); it stops when the app closes.
  if (config.cache) await services.cache.enable();
  app.addHook('onClose', async () => services.cache.close());

  const spa = config.serveWeb && fs.existsSync(path.join(WEB_DIST, 'index.html'));
  if (spa) {
    await app.register(fastifyStatic, {
      root: WEB_DIST,
      wildcard: false,
      index: ['index.html'],
      // The web build writes x.br and x.gz beside each text file (web/precompress.ts).
      preCompressed: true,
      // send's own Cache-Control would override the one below.
      cacheControl: false,
      setHeaders: (res, file) => {
        res.setHeader('vary', 'accept-encoding');
        // Vite names /assets/ files by content hash: a new build gets new names, so a cached copy
        // never goes stale. Everything else (index.html, favicon) is revalidated on each visit.
        res.setHeader('cache-control', file.startsWith(WEB_ASSETS) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  }
  installNotFound(app, { spa });
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
