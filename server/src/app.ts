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
import { anonymous, enforceRouteAccess, type RouteAccess } from './kernel/access.js';
import { ErrorSchema, installErrorHandling, installNotFound } from './kernel/http.js';
import { installRequestTextChecks } from './kernel/request-text.js';
import { securityHeaders } from './kernel/security-headers.js';
import { clientErrorHandler, frameworkErrors } from './kernel/raw-responses.js';
import type { Services } from './services.js';
import { SESSION_COOKIE } from './auth/auth.service.js';
import { healthRoutes } from './health/health.routes.js';
import { authRoutes } from './auth/auth.routes.js';
import { usersRoutes } from './users/users.routes.js';
import { workspacesRoutes } from './workspaces/workspaces.routes.js';
import { ledgerRoutes } from './ledger/ledger.routes.js';
import { eventTypesRoutes } from './event-types/event-types.routes.js';
import { appsRoutes } from './apps/apps.routes.js';
import { instrumentsRoutes } from './instruments/instruments.routes.js';
import { datahubRoutes } from './datahub/datahub.routes.js';
import { datasetsRoutes } from './datasets/datasets.routes.js';
import { viewsRoutes } from './views/views.routes.js';
import { projectionsRoutes } from './projections/projections.routes.js';
import { locationsRoutes } from './locations/locations.routes.js';
import { registrationsRoutes } from './registrations/registrations.routes.js';
import { searchRoutes } from './search/search.routes.js';
import { registrationStatsRoutes } from './registrations/registration-stats.routes.js';
import { metricsRoutes } from './metrics/metrics.routes.js';
import { assignmentsRoutes } from './assignments/assignments.routes.js';
import { webhooksRoutes } from './webhooks/webhooks.routes.js';
import { notifiersRoutes } from './notifiers/notifiers.routes.js';
import { homeRoutes } from './home/home.routes.js';

export { VERSION } from './kernel/version.js';
import { VERSION } from './kernel/version.js';
const WEB_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');
const WEB_ASSETS = path.join(WEB_DIST, 'assets') + path.sep;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Routes a user who must still enrol a second factor can reach. */
const ENROLMENT_ALLOWED = /^\/api\/v1\/(auth\/(me|totp\/|logout|refresh)|health|setup)/;

/** Every domain's routes, in one list: a new capability adds one line here. */
// metricsRoutes first: its onResponse hook must see every route registered after it.
const routeModules = [metricsRoutes, healthRoutes, authRoutes, usersRoutes, workspacesRoutes, ledgerRoutes, eventTypesRoutes, appsRoutes, instrumentsRoutes, datahubRoutes, datasetsRoutes, viewsRoutes, locationsRoutes, projectionsRoutes, searchRoutes, registrationStatsRoutes, registrationsRoutes, webhooksRoutes, notifiersRoutes, homeRoutes, assignmentsRoutes];

export async function buildApp(services: Services): Promise<FastifyInstance> {
  const { config, log, auth } = services;
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

  app.addHook('onRequest', async (request) => {
    const meta = { requestId: request.id, ip: request.ip };
    request.auth = anonymous(meta.requestId, meta.ip);
    // No text column can hold NUL: refuse it in the path or query before any handler sees it.
    if (/%00/.test(request.url)) throw new AppError('invalid_request', 'The URL contains a NUL character');
    const access = request.routeOptions.config?.access;
    if (!access) return; // static files, docs, 404s
    const header = request.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(header);
      if (!m) {
        if (access !== 'public') throw new AppError('invalid_token', 'Send Authorization: Bearer <token>');
      } else {
        try {
          request.auth = await auth.fromBearer(m[1]!, meta);
        } catch (e) {
          if (access !== 'public') throw e;
        }
      }
    } else {
      const cookieToken = request.cookies[SESSION_COOKIE];
      if (cookieToken) {
        const ctx = await auth.fromSessionCookie(cookieToken, meta).catch((e) => {
          if (access !== 'public') throw e;
          return undefined;
        });
        if (ctx) {
          if (!SAFE_METHODS.has(request.method)) {
            const sent = request.headers['x-csrf-token'];
            const actor = ctx.actor as { sessionId?: string };
            if (typeof sent !== 'string' || !actor.sessionId || sent !== auth.csrfFor(actor.sessionId)) {
              throw new AppError('csrf_failed', 'Missing or wrong X-CSRF-Token header for a cookie-authenticated request');
            }
          }
          request.auth = ctx;
        }
      }
    }
    enforceRouteAccess(access, request.auth);
    if (request.auth.actor.kind === 'user' && !ENROLMENT_ALLOWED.test(request.url) && (await auth.mustEnrol(request.auth))) {
      throw new AppError('totp_enrolment_required', 'An administrator requires a second factor: enrol one on your account page first');
    }
  });

  // Registered on the root instance (not encapsulated) so shared schemas such as User and
  // LedgerEntry, added by the module that owns them, resolve from later modules.
  for (const mod of routeModules) await mod(app, services);

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
