import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { EventTypesService } from './event-types.service.js';
import type { EventsService } from './events.service.js';
import { entryProperties } from '../ledger/ledger.routes.js';
import { Obj, errorResponses } from '../kernel/http.js';
import { AnyObject } from '../kernel/schemas.js';

const TypeSummary = {
  name: Type.String(),
  description: Type.String(),
  latestVersion: Type.Integer(),
  versionCount: Type.Integer(),
  ownerAppId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
};
const VersionSchema = Type.Object({
  version: Type.Integer(),
  schema: Type.Unknown({ description: 'The JSON Schema (2020-12) of this version' }),
  schemaHash: Type.String({ description: 'sha256 of the canonical JSON of the schema' }),
  createdBy: Type.Object({ kind: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }),
  createdAt: Type.String(),
});

const ModifiedEntry = Type.Object({
  ...entryProperties,
  previousId: Type.String({ description: 'The version this one replaces' }),
  rootId: Type.String({ description: 'The first version: the event\'s stable identity' }),
});

export interface EventTypesDeps {
  eventTypes: EventTypesService;
  events: EventsService;
}

export async function eventTypesRoutes(root: FastifyInstance, { eventTypes, events }: EventTypesDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.post('/api/v1/event-types', {
    config: { access: { anyScope: ['event-types:manage'] } },
    schema: {
      tags: ['event-types'],
      summary: 'Register an event type, or a new version of its schema',
      description:
        'A changed schema becomes the next version; the latest schema again is a no-op (200). Send `version` to assert which version you mean: ' +
        'an existing version with a different schema is refused (409), versions never change. Schemas are JSON Schema 2020-12 within the limits in docs/apps.md (422 invalid_schema otherwise). ' +
        'Apps may add versions only to the types they registered.',
      body: Obj({
        name: Type.String({ minLength: 1, maxLength: 200 }),
        schema: Type.Object({}, { additionalProperties: true }),
        description: Type.Optional(Type.String({ maxLength: 2000 })),
        version: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
      }),
      response: {
        201: Type.Object({ ...TypeSummary, version: Type.Integer(), created: Type.Boolean(), schemaHash: Type.String() }),
        200: Type.Object({ ...TypeSummary, version: Type.Integer(), created: Type.Boolean(), schemaHash: Type.String() }),
        ...errorResponses,
      },
    },
  }, async (req, reply) => {
    const r = await eventTypes.register(req.auth, req.body);
    return reply.status(r.created ? 201 : 200).send(r);
  });

  app.get('/api/v1/event-types', {
    config: { access: 'authenticated' },
    schema: { tags: ['event-types'], summary: 'Every registered event type', response: { 200: Type.Object({ eventTypes: Type.Array(Type.Object(TypeSummary)) }), ...errorResponses } },
  }, async (req) => ({ eventTypes: await eventTypes.list(req.auth) }));

  // Type names contain "/" (calendar.example/event), so the name is the rest of the path.
  app.get('/api/v1/event-types/*', {
    config: { access: 'authenticated' },
    schema: {
      tags: ['event-types'],
      summary: 'One event type with its versions and schemas',
      description: 'The path after /event-types/ is the type name, e.g. /api/v1/event-types/calendar.example/event. `version` narrows to one version.',
      params: Obj({ '*': Type.String({ maxLength: 200 }) }),
      querystring: Obj({ version: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })) }),
      response: { 200: Type.Object({ ...TypeSummary, versions: Type.Array(VersionSchema) }), ...errorResponses },
    },
  }, async (req) => eventTypes.get(req.auth, req.params['*'], req.query.version));

  app.patch('/api/v1/events/:id', {
    config: { access: { anyScope: ['events:write'] } },
    schema: {
      tags: ['events'],
      summary: 'Modify an event: appends its next version',
      description:
        'The new version is a new ledger entry of the same type in the same stream, validated against the latest schema; the old one stays readable by id and in /versions. ' +
        'Needs a modify grant on the stored entry\'s type. Only the current version can be modified (409 with details.currentId otherwise). occurredAt defaults to the current version\'s.',
      params: Obj({ id: Type.String({ maxLength: 64 }) }),
      body: Obj({ data: AnyObject(), occurredAt: Type.Optional(Type.String({ maxLength: 64 })) }),
      response: { 200: ModifiedEntry, ...errorResponses },
    },
  }, async (req) => events.modify(req.auth, req.params.id, req.body));

  app.delete('/api/v1/events/:id', {
    config: { access: { anyScope: ['events:write'] } },
    schema: {
      tags: ['events'],
      summary: 'Delete an event: erases the data of all its versions',
      description: 'Leaves a tombstone (`ledger.erased` entries) so the ledger still verifies; the data is gone from every read. Needs a delete grant on the stored entry\'s type.',
      params: Obj({ id: Type.String({ maxLength: 64 }) }),
      response: { 204: Type.Null(), ...errorResponses },
    },
  }, async (req, reply) => {
    await events.delete(req.auth, req.params.id);
    return reply.status(204).send(null);
  });

  app.get('/api/v1/events/:id/versions', {
    config: { access: 'authenticated' },
    schema: {
      tags: ['events'],
      summary: 'The history of an event: every version, oldest first',
      params: Obj({ id: Type.String({ maxLength: 64 }) }),
      response: {
        200: Type.Object({ rootId: Type.String(), currentId: Type.Union([Type.String(), Type.Null()]), versions: Type.Array(Type.Ref('LedgerEntry')) }),
        ...errorResponses,
      },
    },
  }, async (req) => events.versions(req.auth, req.params.id));
}
