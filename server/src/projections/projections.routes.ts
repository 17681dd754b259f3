import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ProjectionsService } from './projections.service.js';
import { Obj, errorResponses } from '../kernel/http.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const ProjectionSchema = Type.Object(
  {
    name: Type.String(),
    mode: Type.Union([Type.Literal('inline'), Type.Literal('async')]),
    version: Type.Integer(),
    behind: Type.Integer({ description: 'Entries not applied yet (counted up to 100,000; 0 for inline projections)' }),
    secondsBehind: Type.Number({ description: 'Age of the oldest entry not applied yet' }),
    applied: Type.Integer(),
    failing: Nullable(Type.Object({ entryId: Type.String(), error: Type.String(), since: Type.String() })),
    rebuild: Nullable(
      Type.Object({
        version: Type.Integer(),
        applied: Type.Integer(),
        total: Type.Integer(),
        startedAt: Type.String(),
        failing: Nullable(Type.Object({ entryId: Type.String(), error: Type.String() })),
      }),
    ),
    rebuiltAt: Nullable(Type.String()),
  },
  { $id: 'Projection' },
);

const NameParams = Obj({ name: Type.String({ pattern: '^[a-z][a-z0-9_.-]{0,62}$' }) });

export interface ProjectionsDeps {
  projections: ProjectionsService;
}

export async function projectionsRoutes(root: FastifyInstance, { projections }: ProjectionsDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/api/v1/projections', {
    config: { access: { scope: 'projections:manage' } },
    schema: { tags: ['projections'], summary: 'Projections with their position, lag, failure and rebuild progress', response: { 200: Type.Object({ projections: Type.Array(ProjectionSchema) }), ...errorResponses } },
  }, async (req) => ({ projections: await projections.list(req.auth) }));

  app.get('/api/v1/projections/:name', {
    config: { access: { scope: 'projections:manage' } },
    schema: { tags: ['projections'], summary: 'One projection (poll it to follow a rebuild)', params: NameParams, response: { 200: Type.Object({ projection: ProjectionSchema }), ...errorResponses } },
  }, async (req) => ({ projection: await projections.get(req.auth, req.params.name) }));

  app.post('/api/v1/projections/:name/rebuild', {
    config: { access: { scope: 'projections:manage' } },
    schema: {
      tags: ['projections'],
      summary: 'Rebuild a projection from the ledger beside the live state, swapped in once caught up',
      description: 'Answers at once with the projection (its `rebuild` shows progress); a rebuild already under way is not restarted.',
      params: NameParams,
      response: { 202: Type.Object({ projection: ProjectionSchema }), ...errorResponses },
    },
  }, async (req, reply) => reply.status(202).send({ projection: await projections.rebuild(req.auth, req.params.name) }));
}
