import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../kernel/errors.js';
import { errorResponses } from '../kernel/http.js';
import { TUS_PATH } from '../datasets/datasets.uploads.js';
import type { MetricsService } from './metrics.service.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const TUS_UPLOAD_ROUTE = `${TUS_PATH}/:id`;

const SystemSchema = Type.Object({
  nodes: Type.Array(
    Type.Object({
      id: Type.String(),
      hostname: Type.String(),
      pid: Type.Integer(),
      version: Type.String(),
      startedAt: Type.String(),
      seenAt: Type.String(),
      thisNode: Type.Boolean({ description: 'The node that answered this request' }),
    }),
    { description: 'Nodes that wrote a heartbeat in the last 60 s (each writes one every 15 s)' },
  ),
  projections: Type.Array(
    Type.Object({
      name: Type.String(),
      mode: Type.Union([Type.Literal('inline'), Type.Literal('async')]),
      behind: Type.Integer(),
      secondsBehind: Type.Number(),
      failingEntry: Nullable(Type.String()),
      rebuilding: Type.Boolean(),
    }),
  ),
  jobs: Type.Object({ waiting: Type.Integer(), running: Type.Integer(), failed: Type.Integer() }),
  storage: Type.Object({ blobs: Type.Integer(), bytes: Type.Integer({ description: 'Bytes of the distinct blobs dataset versions refer to' }) }),
  checkpoint: Type.Object({ ageSeconds: Nullable(Type.Number()), unsealed: Type.Integer({ description: 'Entries past the last checkpoint (counted up to 100,000)' }) }),
  lastVerification: Nullable(
    Type.Object({
      ranAt: Type.String(),
      durationMs: Type.Integer(),
      ok: Type.Boolean(),
      checked: Type.Integer(),
      checkpoints: Type.Integer(),
      problems: Type.Integer(),
      by: Nullable(Type.String({ description: 'Username of who ran it' })),
    }),
  ),
});

export interface MetricsDeps {
  /** This app's metrics: one per served app, its heartbeat started and stopped with it. */
  metrics: MetricsService;
}

export async function metricsRoutes(root: FastifyInstance, { metrics }: MetricsDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();

  // onResponse runs on the socket's finish, hijacked replies (tus) included, and after refusals by
  // earlier hooks, so every answer is counted once. The label is the route *pattern*: ids never
  // become labels (a label per id would grow without bound).
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    if (route === TUS_UPLOAD_ROUTE && request.method === 'PATCH' && reply.statusCode === 204) {
      // tus answers the new offset: what this PATCH added is exactly the difference.
      const delta = Number(reply.raw.getHeader('upload-offset')) - Number(request.headers['upload-offset']);
      if (Number.isSafeInteger(delta) && delta > 0) metrics.uploadBytes.inc(delta);
    }
  });

  app.addHook('onReady', async () => metrics.startHeartbeat());
  app.addHook('onClose', async () => metrics.stopHeartbeat());

  // Declared public because its caller is a Prometheus scraper, not a Cairn user: it is guarded by
  // its own token (CAIRN_METRICS_TOKEN), checked here in constant time. Without that setting the
  // endpoint does not exist (404), so metrics are never public by default.
  app.get('/metrics', {
    config: { access: 'public' },
    schema: { tags: ['system'], summary: 'Prometheus metrics (Authorization: Bearer <CAIRN_METRICS_TOKEN>)', hide: true },
  }, async (req, reply) => {
    if (!metrics.enabled) throw new AppError('route_not_found', 'Metrics are off: set CAIRN_METRICS_TOKEN to serve them');
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!m) throw new AppError('unauthenticated', 'Send Authorization: Bearer <CAIRN_METRICS_TOKEN>');
    if (!metrics.tokenMatches(m[1]!)) throw new AppError('invalid_token', 'The metrics token is not valid');
    const { contentType, body } = await metrics.scrape();
    return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
  });

  app.get('/api/v1/system', {
    config: { access: { scope: 'settings:manage' } },
    schema: {
      tags: ['system'],
      summary: 'The System overview: nodes seen recently, projection and checkpoint lags, job queue, storage used, last ledger verification',
      response: { 200: SystemSchema, ...errorResponses },
    },
  }, async (req) => metrics.system(req.auth));
}
