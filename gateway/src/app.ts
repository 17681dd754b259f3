import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import { Type, type Static, type TSchema } from 'typebox';
import { createChallenge, randomInt, verifySolution } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import type pg from 'pg';
import { gatewayStore, type AssignmentRow } from './store.js';
import { CLOSED_STATUS, closedPage, pickLanguage, type ClosedReason } from './pages.js';

/** Error codes the gateway answers with (same body shape as the core's catalog). */
const STATUS = {
  validation_failed: 400,
  unauthenticated: 401,
  invalid_token: 403,
  pow_failed: 403,
  not_found: 404,
  assignment_cancelled: 409,
  assignment_completed: 409,
  already_submitted: 409,
  assignment_expired: 410,
  rate_limited: 429,
  internal_error: 500,
} as const;
type Code = keyof typeof STATUS;

class GatewayError extends Error {
  constructor(
    readonly code: Code,
    message: string,
  ) {
    super(message);
  }
}

const LinkId = Type.String({ pattern: '^[A-Za-z0-9_-]{32,64}$' });
const B64 = (max: number) => Type.String({ pattern: '^[A-Za-z0-9_-]+$', minLength: 1, maxLength: max });
const Obj = <T extends Record<string, TSchema>>(p: T) => Type.Object(p, { additionalProperties: false });
const LinkParams = Obj({ linkId: LinkId });
// Params arrive as text and the gateway never coerces types: the part is matched as digits.
const PartParams = Obj({ linkId: LinkId, part: Type.String({ pattern: '^[0-9]{1,2}$' }) });
const PutBody = Obj({
  language: Type.String({ minLength: 2, maxLength: 10 }),
  title: Type.Unknown(),
  parts: Type.Array(Obj({ name: Type.String({ minLength: 1, maxLength: 64 }), edition: Type.Integer({ minimum: 1 }), definition: Type.Unknown() }), { minItems: 1, maxItems: 100 }),
  publicKey: B64(200),
  expiresAt: Type.String({ format: 'date-time' }),
});
const SubmitBody = Obj({ token: Type.String({ minLength: 10, maxLength: 300 }), enc: B64(300), ct: B64(4 * 1024 * 1024) });
const OpenBody = Obj({ altcha: Type.String({ minLength: 1, maxLength: 10_000 }) });

const TOKEN_TTL_S = 24 * 3600;
const CHALLENGE_TTL_S = 10 * 60;

export interface GatewayOptions {
  pool: pg.Pool;
  key: string;
  webDir: string;
  rateLimit: number;
  powMaxNumber: number;
  trustProxy?: boolean;
  logLevel?: string;
}

const isClosed = (a: AssignmentRow): ClosedReason | null => {
  if (a.status === 'cancelled') return 'cancelled';
  if (a.status === 'completed') return 'completed';
  if (a.expires_at.getTime() <= Date.now()) return 'expired';
  return null;
};
const closedError = (reason: ClosedReason) =>
  reason === 'expired' ? new GatewayError('assignment_expired', 'This link has expired') : reason === 'cancelled' ? new GatewayError('assignment_cancelled', 'This link was cancelled') : reason === 'completed' ? new GatewayError('assignment_completed', 'This questionnaire was already completed') : new GatewayError('not_found', 'No such link');

function safeEqual(a: string, b: string): boolean {
  const x = crypto.createHash('sha256').update(a).digest();
  const y = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(x, y);
}

/**
 * The gateway: participants' pages and their tiny API (rate-limited by address), and the API the
 * core calls with the shared key. It never calls the core and never holds an answer in the clear:
 * answers arrive sealed (HPKE) by the participant's browser to the assignment's public key.
 */
export async function buildGateway(opts: GatewayOptions): Promise<FastifyInstance> {
  const { pool } = opts;
  const secret = await gatewayStore.secret(pool, crypto.randomBytes(32).toString('base64url'));
  const hmacSignatureSecret = crypto.createHmac('sha256', secret).update('altcha').digest('base64url');
  const hmacKeySignatureSecret = crypto.createHmac('sha256', secret).update('altcha-key').digest('base64url');
  const tokenKey = crypto.createHmac('sha256', secret).update('participant-token').digest();

  const app = Fastify({
    logger: { level: opts.logLevel ?? 'info' },
    disableRequestLogging: true,
    bodyLimit: 6 * 1024 * 1024,
    trustProxy: !!opts.trustProxy,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  }) as unknown as FastifyInstance;

  const send = (reply: FastifyReply, code: Code, message: string) => reply.status(STATUS[code]).send({ error: { code, message, requestId: reply.request.id } });
  app.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof GatewayError) return send(reply, err.code, err.message);
    if (err.validation) return send(reply, 'validation_failed', err.message);
    if (err.statusCode === 429) return send(reply, 'rate_limited', 'Too many requests from this address; wait a minute');
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return send(reply, 'validation_failed', err.message);
    reply.log.error({ err }, 'gateway fault');
    return send(reply, 'internal_error', 'Something went wrong on the gateway');
  });
  app.setNotFoundHandler((_req, reply) => send(reply, 'not_found', 'Not found'));

  app.addHook('onRequest', async (_req, reply) => {
    reply.headers({
      'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'",
      // The link id is in the page's address: never hand it to anyone else.
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'cross-origin-opener-policy': 'same-origin',
    });
  });
  app.addHook('onResponse', async (req, reply) => {
    // Paths carry link ids: log the route pattern, not the URL.
    req.log.info({ method: req.method, route: req.routeOptions.url, status: reply.statusCode }, 'request');
  });

  await app.register(rateLimit, { global: false });
  const limited = { rateLimit: { max: opts.rateLimit, timeWindow: 60_000 } };

  // --- the core's API -------------------------------------------------------------------------
  const core = async (req: FastifyRequest) => {
    const h = req.headers.authorization;
    if (typeof h !== 'string' || !h.startsWith('Bearer ') || !safeEqual(h.slice(7), opts.key)) throw new GatewayError('unauthenticated', 'The core authenticates with Authorization: Bearer <gateway key>');
  };
  app.get('/api/gateway/v1/health', async () => ({ ok: true }));

  app.put('/api/gateway/v1/assignments/:linkId', { onRequest: core, schema: { params: LinkParams, body: PutBody } }, async (req, reply) => {
    const { linkId } = req.params as Static<typeof LinkParams>;
    const b = req.body as Static<typeof PutBody>;
    const created = await gatewayStore.putAssignment(pool, { linkId, ...b, parts: b.parts.map((p) => ({ name: p.name, edition: p.edition, definition: p.definition })) });
    return reply.status(created ? 201 : 200).send({ created });
  });
  app.post('/api/gateway/v1/assignments/:linkId/cancel', { onRequest: core, schema: { params: LinkParams } }, async (req) => {
    const { linkId } = req.params as Static<typeof LinkParams>;
    return { cancelled: await gatewayStore.cancel(pool, linkId) };
  });
  const StatusBody = Obj({ linkIds: Type.Array(LinkId, { maxItems: 1000 }) });
  app.post('/api/gateway/v1/assignments/status', { onRequest: core, schema: { body: StatusBody } }, async (req) => {
    const rows = await gatewayStore.statuses(pool, (req.body as Static<typeof StatusBody>).linkIds);
    return { assignments: rows.map((r) => ({ linkId: r.link_id, status: r.status, partsDone: r.parts_done, openedAt: r.opened_at?.toISOString() ?? null })) };
  });
  const PendingQuery = Obj({ limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })) });
  app.get('/api/gateway/v1/submissions', { onRequest: core, schema: { querystring: PendingQuery } }, async (req) => {
    const rows = await gatewayStore.pending(pool, Math.min(Number((req.query as Static<typeof PendingQuery>).limit ?? 100), 500));
    return { submissions: rows.map((s) => ({ id: s.id, linkId: s.link_id, part: s.part, enc: s.enc, ct: s.ct, receivedAt: s.received_at.toISOString() })) };
  });
  const DeleteBody = Obj({ ids: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 500 }) });
  app.post('/api/gateway/v1/submissions/delete', { onRequest: core, schema: { body: DeleteBody } }, async (req) => ({ deleted: await gatewayStore.deleteSubmissions(pool, (req.body as Static<typeof DeleteBody>).ids) }));

  // --- participants ---------------------------------------------------------------------------
  const sign = (linkId: string, exp: number) => crypto.createHmac('sha256', tokenKey).update(`${linkId}.${exp}`).digest('base64url');
  const issueToken = (linkId: string) => {
    const exp = Math.floor(Date.now() / 1000) + TOKEN_TTL_S;
    return `${exp}.${sign(linkId, exp)}`;
  };
  const checkToken = (linkId: string, token: string) => {
    const [expText, sig] = token.split('.');
    const exp = Number(expText);
    if (!sig || !Number.isInteger(exp) || exp < Date.now() / 1000 || !safeEqual(sig, sign(linkId, exp))) throw new GatewayError('invalid_token', 'This page was not opened through its link and check; reload it');
  };
  const openAssignment = async (linkId: string) => {
    const a = await gatewayStore.assignment(pool, linkId);
    if (!a) throw closedError('unknown');
    const closed = isClosed(a);
    if (closed) throw closedError(closed);
    return a;
  };

  // Read on each visit (a few KB): a rebuilt web/dist names new asset files, and the page must name those.
  const readPage = () => fs.promises.readFile(path.join(opts.webDir, 'gateway.html'), 'utf8').catch(() => null);
  app.get('/a/:linkId', { config: limited, schema: { params: Obj({ linkId: Type.String({ maxLength: 200 }) }) } }, async (req, reply) => {
    const { linkId } = req.params as { linkId: string };
    const a = /^[A-Za-z0-9_-]{32,64}$/.test(linkId) ? await gatewayStore.assignment(pool, linkId) : undefined;
    const reason: ClosedReason | null = a ? isClosed(a) : 'unknown';
    reply.header('cache-control', 'no-store');
    reply.type('text/html; charset=utf-8');
    if (reason) return reply.status(CLOSED_STATUS[reason]).send(closedPage(reason, pickLanguage(a?.language, req.headers['accept-language'])));
    const page = await readPage();
    if (!page) return reply.status(503).send('The participant page is not built: run npm run build -w web');
    return reply.send(page.replace('<html lang="en"', `<html lang="${a!.language === 'fr' ? 'fr' : 'en'}"`));
  });

  app.get('/api/p/v1/challenge', { config: limited }, async (_req, reply) => {
    const challenge = await createChallenge({
      algorithm: 'SHA-256',
      cost: 1,
      counter: randomInt(opts.powMaxNumber),
      deriveKey,
      hmacSignatureSecret,
      hmacKeySignatureSecret,
      expiresAt: new Date(Date.now() + CHALLENGE_TTL_S * 1000),
    });
    reply.header('cache-control', 'no-store');
    return challenge;
  });

  app.post('/api/p/v1/assignments/:linkId/open', { config: limited, schema: { params: LinkParams, body: OpenBody } }, async (req) => {
    const { linkId } = req.params as Static<typeof LinkParams>;
    let payload: { challenge?: unknown; solution?: unknown };
    try {
      payload = JSON.parse(Buffer.from((req.body as Static<typeof OpenBody>).altcha, 'base64').toString('utf8')) as typeof payload;
    } catch {
      throw new GatewayError('pow_failed', 'The human check did not pass; try again');
    }
    const challenge = payload?.challenge as Parameters<typeof verifySolution>[0]['challenge'] | undefined;
    const solution = payload?.solution as Parameters<typeof verifySolution>[0]['solution'] | undefined;
    if (!challenge || !solution || typeof challenge.signature !== 'string') throw new GatewayError('pow_failed', 'The human check did not pass; try again');
    const result = await verifySolution({ challenge, solution, deriveKey, hmacSignatureSecret, hmacKeySignatureSecret }).catch(() => ({ verified: false }));
    if (!result.verified) throw new GatewayError('pow_failed', 'The human check did not pass; try again');
    const a = await openAssignment(linkId);
    if (!(await gatewayStore.usePow(pool, challenge.signature, new Date(Date.now() + CHALLENGE_TTL_S * 1000)))) throw new GatewayError('pow_failed', 'This check was already used; try again');
    await gatewayStore.markOpened(pool, linkId);
    return {
      token: issueToken(linkId),
      assignment: {
        language: a.language,
        title: a.title,
        expiresAt: a.expires_at.toISOString(),
        publicKey: a.public_key,
        parts: a.parts.map((p, i) => ({ name: p.name, edition: p.edition, definition: p.definition, done: a.parts_done.includes(i) })),
      },
    };
  });

  app.post('/api/p/v1/assignments/:linkId/parts/:part', { config: limited, schema: { params: PartParams, body: SubmitBody } }, async (req, reply) => {
    const { linkId } = req.params as Static<typeof PartParams>;
    const part = Number((req.params as Static<typeof PartParams>).part);
    const b = req.body as Static<typeof SubmitBody>;
    checkToken(linkId, b.token);
    const a = await openAssignment(linkId);
    if (part >= a.parts.length) throw new GatewayError('validation_failed', 'No such part');
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const r = await gatewayStore.submit(client, { id: crypto.randomUUID(), linkId, part, enc: b.enc, ct: b.ct });
      await client.query('COMMIT');
      if (r.outcome === 'stored') return reply.status(201).send({ status: r.status });
      if (r.outcome === 'duplicate') throw new GatewayError('already_submitted', 'This part was already sent');
      if (r.outcome === 'closed') throw closedError(isClosed((await gatewayStore.assignment(pool, linkId))!) ?? 'completed');
      throw closedError('unknown');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  });

  if (fs.existsSync(path.join(opts.webDir, 'assets'))) {
    await app.register(fastifyStatic, { root: path.join(opts.webDir, 'assets'), prefix: '/assets/', wildcard: true, preCompressed: true, index: false, decorateReply: false, cacheControl: false, setHeaders: (res) => res.setHeader('cache-control', 'public, max-age=31536000, immutable') });
  }
  return app;
}
