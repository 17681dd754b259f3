import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static, type TSchema } from 'typebox';
import type { AssignmentsService } from './assignments.service.js';
import type { Config } from '../config.js';
import { Obj, Uuid, errorResponses } from '../kernel/http.js';
import { ASSIGNMENT_STATUSES } from './assignments.store.js';

const Any = Type.Unknown();
const IdParams = Obj({ id: Uuid });
const read = { scope: 'records:read' } as const;
const write = { scope: 'records:write' } as const;
const ok = (schema: TSchema = Any) => ({ 200: schema, 503: Type.Ref('Error'), ...errorResponses });
const AssignFields = {
  instrument: Obj({ name: Type.String({ minLength: 1, maxLength: 64 }), edition: Type.Integer({ minimum: 1, maximum: 2147483647 }) }),
  language: Type.Optional(Type.String({ minLength: 2, maxLength: 10, pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$' })),
  expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 })),
  expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
};
const CreateBody = Obj({ ...AssignFields, email: Type.Optional(Type.String({ maxLength: 254 })) });
const BulkBody = Obj({ ...AssignFields, subjectIds: Type.Array(Uuid, { minItems: 1, maxItems: 500 }) });
const ListQuery = Obj({ status: Type.Optional(Type.Union(ASSIGNMENT_STATUSES.map((s) => Type.Literal(s)))), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) });

export interface AssignmentsDeps {
  assignments: AssignmentsService;
  config: Pick<Config, 'workers'>;
}

/** Remote capture: assignments sent through the gateway (docs/remote-capture.md). */
export async function assignmentsRoutes(root: FastifyInstance, { assignments, config }: AssignmentsDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.post('/api/v1/subjects/:id/assignments', {
    config: { access: write },
    schema: { tags: ['assignments'], summary: 'Send an instrument or a series to a subject to fill remotely: a link (and optionally an email) through the gateway', params: IdParams, body: CreateBody, response: { 201: Any, 503: Type.Ref('Error'), ...errorResponses } },
  }, async (req, reply) => reply.status(201).send(await assignments.create(req.auth, req.params.id, req.body)));

  app.get('/api/v1/subjects/:id/assignments', {
    config: { access: read },
    schema: { tags: ['assignments'], summary: "A subject's remote assignments with their status, newest first", params: IdParams, response: ok() },
  }, async (req) => ({ assignments: await assignments.forSubject(req.auth, req.params.id) }));

  app.get('/api/v1/workspaces/:id/assignments', {
    config: { access: read },
    schema: { tags: ['assignments'], summary: "A workspace's remote assignments (optionally of one status) and the count per status", params: IdParams, querystring: ListQuery, response: ok() },
  }, async (req) => assignments.forWorkspace(req.auth, req.params.id, req.query));

  app.post('/api/v1/workspaces/:id/assignments', {
    config: { access: write },
    schema: { tags: ['assignments'], summary: 'Send one instrument or series to many subjects of a workspace at once (each gets its own link)', params: IdParams, body: BulkBody, response: { 201: Any, 503: Type.Ref('Error'), ...errorResponses } },
  }, async (req, reply) => reply.status(201).send(await assignments.bulk(req.auth, req.params.id, req.body)));

  app.get('/api/v1/assignments/:id', {
    config: { access: read },
    schema: { tags: ['assignments'], summary: 'An assignment and each of its parts: waiting, recorded (with the record) or kept aside as invalid (with why)', params: IdParams, response: ok() },
  }, async (req) => assignments.get(req.auth, req.params.id));

  app.post('/api/v1/assignments/:id/cancel', {
    config: { access: write },
    schema: { tags: ['assignments'], summary: 'Cancel an assignment: its link answers 409 from now on', params: IdParams, response: ok() },
  }, async (req) => ({ assignment: await assignments.cancel(req.auth, req.params.id) }));

  app.get('/api/v1/remote-capture', {
    config: { access: read },
    schema: { tags: ['assignments'], summary: 'Whether remote capture and mail are configured, and how the last pull from the gateway went', response: ok() },
  }, async (req) => assignments.status(req.auth));

  app.post('/api/v1/remote-capture/pull', {
    config: { access: { scope: 'settings:manage' } },
    schema: { tags: ['assignments'], summary: 'Pull sealed answers from the gateway now (the server also does it every few seconds)', response: ok() },
  }, async (req) => assignments.pullAs(req.auth));

  // The puller runs in serving processes that run workers, from start to close.
  if (config.workers) {
    app.addHook('onReady', async () => assignments.start());
    app.addHook('onClose', async () => assignments.stop());
  }
}
