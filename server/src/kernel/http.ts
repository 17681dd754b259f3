import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { AppError, type ErrorBody } from './errors.js';
import type { AuthContext, RouteAccess } from './access.js';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from './database-unavailable.js';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext;
  }
  interface FastifyInstance {
    /** Compiles every route's validators and serializers now (they otherwise compile on first use); answers how many. */
    compileAllSchemas(): number;
    /** Every /api route's declared access rule, in registration order (HEAD routes Fastify adds included). */
    routeAccess: readonly { method: string; url: string; access: RouteAccess }[];
  }
  interface FastifyContextConfig {
    /** Who may call the route. Every /api route must declare it; the server refuses to boot otherwise. */
    access?: RouteAccess;
  }
}

/** The error body every failure uses, for OpenAPI. */
export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable snake_case error code' }),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
      requestId: Type.Optional(Type.String()),
    }),
  },
  { $id: 'Error' },
);

export const errorResponses = {
  400: Type.Ref('Error'),
  401: Type.Ref('Error'),
  403: Type.Ref('Error'),
  404: Type.Ref('Error'),
  409: Type.Ref('Error'),
  422: Type.Ref('Error'),
  429: Type.Ref('Error'),
};

export const Uuid = Type.String({ format: 'uuid' });
export const Obj = <T extends Record<string, TSchema>>(props: T, opts: Record<string, unknown> = {}) => Type.Object(props, { additionalProperties: false, ...opts });

function body(request: FastifyRequest, code: string, message: string, details?: unknown): ErrorBody {
  return { error: { code, message, ...(details !== undefined ? { details } : {}), requestId: request.id } };
}

interface AjvIssue {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

/** Turns any error into the catalog's shape; only a genuine fault of ours is a 500, and it says nothing inside. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError & { validation?: AjvIssue[]; validationContext?: string }, request, reply: FastifyReply) => {
    if (err instanceof AppError) {
      if (err.headers) reply.headers(err.headers);
      return reply.status(err.status).send(body(request, err.code, err.message, err.details));
    }
    if (err.validation) {
      const part = err.validationContext ?? 'body';
      const details = err.validation.map((v) => {
        let pointer = v.instancePath ?? '';
        if (v.keyword === 'additionalProperties' && v.params?.additionalProperty) pointer += `/${String(v.params.additionalProperty)}`;
        if (v.keyword === 'required' && v.params?.missingProperty) pointer += `/${String(v.params.missingProperty)}`;
        return { in: part, pointer: pointer || '/', message: v.keyword === 'additionalProperties' ? 'unknown field' : (v.message ?? 'invalid') };
      });
      const first = details[0]!;
      return reply.status(400).send(body(request, 'validation_failed', `Invalid ${part}: ${first.pointer} ${first.message}`, details));
    }
    const status = err.statusCode ?? 500;
    switch (err.code) {
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply.status(415).send(body(request, 'unsupported_media_type', 'Send JSON (Content-Type: application/json)'));
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply.status(413).send(body(request, 'payload_too_large', 'The request body is too large'));
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return reply.status(400).send(body(request, 'invalid_json', 'The request body is not valid JSON'));
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return reply.status(400).send(body(request, 'invalid_request', 'Content-Length does not match the body'));
    }
    if (status === 429) return reply.status(429).send(body(request, 'rate_limited', 'Too many requests; slow down and retry later'));
    // PostgreSQL restarting or out of reach: the caller's request was fine and may simply be retried.
    if (isDatabaseUnavailable(err)) {
      request.log.warn({ msg: err.message, code: (err as { code?: unknown }).code }, 'database unavailable');
      return reply.status(503).header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS)).send(body(request, 'database_unavailable', 'The database cannot be reached right now; retry in a moment'));
    }
    // Safety net under every service's own checks: a value PostgreSQL cannot store or compare
    // (class 22, "data exception": NUL bytes, bad encodings, out-of-range numbers or dates,
    // over-long text) came from the request, so it is the request's fault, never a 500.
    const pgCode = (err as { code?: unknown }).code;
    if (typeof pgCode === 'string' && /^22[0-9A-Z]{3}$/.test(pgCode) && !('statusCode' in err && err.statusCode)) {
      request.log.warn({ pgCode, msg: err.message }, 'request value refused by PostgreSQL');
      return reply.status(400).send(body(request, 'invalid_request', 'A value in the request cannot be stored (invalid characters, or out of range)'));
    }
    if (err instanceof SyntaxError && status === 400) return reply.status(400).send(body(request, 'invalid_json', 'The request body is not valid JSON'));
    if (status >= 400 && status < 500) return reply.status(status).send(body(request, 'invalid_request', 'The request could not be understood'));
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send(body(request, 'internal_error', 'Something went wrong on our side; the request id helps us find it'));
  });
}

/** Unknown /api paths answer a JSON 404; with the web app served, other GETs for HTML get the SPA. */
export function installNotFound(app: FastifyInstance, opts: { spa: boolean }): void {
  app.setNotFoundHandler((request, reply) => {
    if (opts.spa && request.method === 'GET' && !request.url.startsWith('/api/') && (request.headers.accept ?? '').includes('text/html')) {
      return reply.type('text/html').sendFile('index.html');
    }
    return reply.status(404).send(body(request, 'route_not_found', `No route ${request.method} ${request.url.split('?')[0]}`));
  });
}
