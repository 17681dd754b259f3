import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { HealthService } from './health.service.js';

export interface HealthDeps {
  health: Pick<HealthService, 'ready' | 'live'>;
}

const Check = Type.Object({ ok: Type.Boolean(), latencyMs: Type.Number() });

/** Where each projection of the ledger stands; no error texts here (they may quote data): see GET /api/v1/projections. */
const ProjectionLag = Type.Object({
  name: Type.String(),
  mode: Type.Union([Type.Literal('inline'), Type.Literal('async')]),
  behind: Type.Integer({ description: 'Entries not applied yet (counted up to 100,000)' }),
  secondsBehind: Type.Number(),
  failingEntry: Type.Union([Type.String(), Type.Null()], { description: 'The entry it stopped on, if it fails on one' }),
  rebuilding: Type.Boolean(),
});
const Health = (status: 'ok' | 'degraded') =>
  Type.Object({
    status: Type.Literal(status),
    version: Type.String(),
    database: Type.Object({ ok: Type.Boolean(), latencyMs: Type.Number() }),
    projections: Type.Optional(Type.Array(ProjectionLag)),
  });

export async function healthRoutes(app: FastifyInstance, { health }: HealthDeps) {
  app.get(
    '/api/v1/health/ready',
    {
      config: { access: 'public' },
      schema: {
        tags: ['system'],
        summary: 'Readiness: the database answers, the blob store answers, every migration of this build is applied',
        description:
          'For a load balancer: 503 `unavailable` (with `details.failed` naming the checks) takes the node out of rotation. ' +
          'Liveness is `GET /api/v1/health`: a node that is alive but not ready should not be restarted, only not sent traffic.',
        response: {
          200: Type.Object({ status: Type.Literal('ready'), version: Type.String(), checks: Type.Object({ database: Check, blobs: Check, migrations: Check }) }),
          503: Type.Ref('Error'),
        },
      },
    },
    async () => health.ready(),
  );

  app.get(
    '/api/v1/health',
    {
      config: { access: 'public' },
      schema: {
        tags: ['system'],
        summary: 'Liveness, database reachability, and the lag of each projection',
        description: 'A failing or lagging projection does not make the node unhealthy (it still serves); it shows in `projections`.',
        response: { 200: Health('ok'), 503: Health('degraded') },
      },
    },
    async (_req, reply) => {
      const answer = await health.live();
      return answer.status === 'ok' ? answer : reply.status(503).send(answer);
    },
  );
}
