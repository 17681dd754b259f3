import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { VERSION } from '../app.js';

export async function healthRoutes(app: FastifyInstance, { db }: Services) {
  app.get(
    '/api/v1/health',
    {
      config: { access: 'public' },
      schema: {
        tags: ['system'],
        summary: 'Liveness and database reachability',
        response: {
          200: Type.Object({ status: Type.Literal('ok'), version: Type.String(), database: Type.Object({ ok: Type.Boolean(), latencyMs: Type.Number() }) }),
          503: Type.Object({ status: Type.Literal('degraded'), version: Type.String(), database: Type.Object({ ok: Type.Boolean(), latencyMs: Type.Number() }) }),
        },
      },
    },
    async (_req, reply) => {
      const start = performance.now();
      try {
        await sql`SELECT 1`.execute(db);
        return { status: 'ok' as const, version: VERSION, database: { ok: true, latencyMs: Math.round((performance.now() - start) * 100) / 100 } };
      } catch {
        return reply.status(503).send({ status: 'degraded' as const, version: VERSION, database: { ok: false, latencyMs: Math.round(performance.now() - start) } });
      }
    },
  );
}
