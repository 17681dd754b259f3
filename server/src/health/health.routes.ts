import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { VERSION } from '../kernel/version.js';
import { AppError } from '../kernel/errors.js';
import { migrationFiles } from '../database/migrations.js';

/** sha256 of no bytes: a blob address that is cheap to look up in any store. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** A check that takes longer counts as failed, so a hung dependency cannot hang the probe. */
const CHECK_TIMEOUT_MS = 3000;

async function check(run: () => Promise<unknown>): Promise<{ ok: boolean; latencyMs: number }> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([run(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS)))]);
    return { ok: true, latencyMs: Math.round((performance.now() - start) * 100) / 100 };
  } catch {
    return { ok: false, latencyMs: Math.round(performance.now() - start) };
  } finally {
    clearTimeout(timer);
  }
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

export async function healthRoutes(app: FastifyInstance, { db, projections, blobs }: Services) {
  // Migration files are fixed for the life of the process.
  const shipped = migrationFiles();

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
    async () => {
      let pending: string[] = [];
      const [database, blobStore, migrations] = await Promise.all([
        check(() => sql`SELECT 1`.execute(db)),
        // A lookup reaches the store (a directory or a bucket) without writing anything.
        check(() => blobs.stat(EMPTY_SHA256)),
        check(async () => {
          const r = await sql<{ name: string }>`SELECT name FROM cairn_migrations`.execute(db);
          const applied = new Set(r.rows.map((x) => x.name));
          pending = shipped.filter((f) => !applied.has(f));
          if (pending.length) throw new Error('pending');
        }),
      ]);
      const checks = { database, blobs: blobStore, migrations };
      const failed = Object.entries(checks).filter(([, c]) => !c.ok).map(([name]) => name);
      if (failed.length) {
        throw new AppError('unavailable', `Not ready: ${failed.join(', ')}`, { failed, checks, ...(pending.length ? { pendingMigrations: pending } : {}) });
      }
      return { status: 'ready' as const, version: VERSION, checks };
    },
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
