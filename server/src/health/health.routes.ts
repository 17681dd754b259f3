import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { VERSION } from '../app.js';

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

export async function healthRoutes(app: FastifyInstance, { db, projections }: Services) {
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
      const start = performance.now();
      try {
        await sql`SELECT 1`.execute(db);
        const latencyMs = Math.round((performance.now() - start) * 100) / 100;
        return { status: 'ok' as const, version: VERSION, database: { ok: true, latencyMs }, projections: await projections.health().catch(() => undefined) };
      } catch {
        return reply.status(503).send({ status: 'degraded' as const, version: VERSION, database: { ok: false, latencyMs: Math.round(performance.now() - start) } });
      }
    },
  );
}
