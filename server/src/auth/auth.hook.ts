import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { anonymous, enforceRouteAccess } from '../kernel/access.js';
import { AppError } from '../kernel/errors.js';
import { SESSION_COOKIE } from './auth.shared.js';
import type { CredentialsService } from './credentials.service.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Routes a user who must still enrol a second factor can reach. */
const ENROLMENT_ALLOWED = /^\/api\/v1\/(auth\/(me|totp\/|logout|refresh)|health|setup)/;

export interface AuthHookDeps {
  auth: Pick<CredentialsService, 'fromBearer' | 'fromSessionCookie' | 'csrfFor' | 'mustEnrol'>;
}

/**
 * The auth hook (docs/architecture.md, request flow): bearer token or session cookie →
 * `request.auth`; CSRF for cookie writes; the route's declared `config.access` enforced; a user
 * who must enrol a second factor reaches only enrolment. A plugin in the root scope
 * (fastify-plugin), so its onRequest hook runs for every route; register it after the cookie
 * plugin and before any route.
 */
export const authHook = fp(
  async (app: FastifyInstance, { auth }: AuthHookDeps) => {
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
  },
  { name: 'cairn-auth-hook', fastify: '5.x', dependencies: ['@fastify/cookie'] },
);
