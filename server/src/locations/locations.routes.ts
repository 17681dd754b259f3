import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { LocationsService } from './locations.service.js';
import { fail } from '../kernel/errors.js';
import { Obj, Uuid, errorResponses } from '../kernel/http.js';

const Kind = Type.Union([Type.Literal('area'), Type.Literal('office')]);
const LocationSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Kind,
  externalId: Type.Union([Type.String(), Type.Null()]),
  parentId: Type.Union([Type.String(), Type.Null()]),
  ancestors: Type.Array(Type.String(), { description: 'Names of the ancestors, nearest first' }),
});
const ImportResult = Type.Object({
  importId: Type.Union([Type.String(), Type.Null()]),
  dryRun: Type.Boolean(),
  rows: Type.Integer(),
  created: Type.Integer(),
  updated: Type.Integer(),
  moved: Type.Integer(),
  unchanged: Type.Integer(),
  ignoredColumns: Type.Array(Type.String()),
});

const isStream = (body: unknown): body is Readable => !!body && typeof (body as { pipe?: unknown }).pipe === 'function';

export interface LocationsDeps {
  locations: LocationsService;
}

export async function locationsRoutes(root: FastifyInstance, { locations }: LocationsDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  // The data hub's import registers the same pass-through parser; whichever module comes first does.
  if (!app.hasContentTypeParser('text/csv')) app.addContentTypeParser('text/csv', (_req, payload, done) => done(null, payload));

  app.post('/api/v1/workspaces/import', {
    config: { access: { scope: 'workspaces:manage' } },
    schema: {
      tags: ['locations'],
      summary: 'Create or update the tree of locations (areas and offices) from CSV with columns id,name,parentId,type (Content-Type: text/csv). Idempotent; nothing is written while any row fails',
      querystring: Obj({ dryRun: Type.Optional(Type.Boolean()) }),
      response: { 200: ImportResult, ...errorResponses },
    },
  }, async (req) => {
    if (!isStream(req.body)) throw fail('unsupported_media_type', 'Send the CSV file as the body with Content-Type: text/csv');
    return locations.importCsv(req.auth, req.body, { dryRun: req.query.dryRun });
  });

  app.get('/api/v1/locations', {
    config: { access: { scope: 'workspaces:read' } },
    schema: {
      tags: ['locations'],
      summary: 'Search locations by name as people type (accents, case and punctuation ignored); without q, the locations directly under `within` (or the top level)',
      querystring: Obj({
        q: Type.Optional(Type.String({ maxLength: 200 })),
        kind: Type.Optional(Kind),
        within: Type.Optional(Uuid),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
      }),
      response: { 200: Type.Object({ locations: Type.Array(LocationSchema) }), ...errorResponses },
    },
  }, async (req) => ({ locations: await locations.search(req.auth, req.query) }));

  app.get('/api/v1/locations/:id', {
    config: { access: { scope: 'workspaces:read' } },
    schema: { tags: ['locations'], summary: 'One location, with its ancestors', params: Obj({ id: Uuid }), response: { 200: Type.Object({ location: LocationSchema }), ...errorResponses } },
  }, async (req) => ({ location: await locations.get(req.auth, req.params.id) }));
}
