import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { InstrumentsService } from './instruments.service.js';
import { Obj, errorResponses } from '../kernel/http.js';

const Name = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9]+(-[a-z0-9]+)*$' });
const Edition = Type.Integer({ minimum: 1, maximum: 2147483647 });
const Definition = Type.Unknown({ description: 'An instrument definition (docs/instrument.schema.json)' });
const Instrument = Type.Object({ name: Type.String(), edition: Type.Integer(), kind: Type.String(), title: Type.Unknown(), languages: Type.Unknown(), source: Type.String(), createdAt: Type.String(), retiredAt: Type.Union([Type.String(), Type.Null()]), retiredReason: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: true });

export interface InstrumentsDeps {
  instruments: InstrumentsService;
}

export async function instrumentsRoutes(root: FastifyInstance, { instruments }: InstrumentsDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/api/v1/instruments', {
    config: { access: 'authenticated' },
    schema: { tags: ['instruments'], summary: 'Every published edition, newest edition of each first', querystring: Obj({ includeRetired: Type.Optional(Type.Boolean()) }), response: { 200: Type.Object({ instruments: Type.Array(Instrument) }), ...errorResponses } },
  }, async (req) => ({ instruments: await instruments.list(req.auth, { includeRetired: req.query.includeRetired }) }));

  app.post('/api/v1/instruments', {
    config: { access: { scope: 'instruments:manage' } },
    schema: { tags: ['instruments'], summary: 'Upload a new instrument (its first edition). Errors point into the definition (details.errors[].pointer)', body: Definition, response: { 201: Type.Object({ instrument: Type.Unknown() }), ...errorResponses } },
  }, async (req, reply) => reply.status(201).send({ instrument: await instruments.publish(req.auth, req.body) }));

  app.post('/api/v1/instruments/validate', {
    config: { access: 'authenticated' },
    schema: { tags: ['instruments'], summary: 'Check a definition without publishing it (the playground)', body: Definition, response: { 200: Type.Object({ ok: Type.Boolean(), errors: Type.Array(Type.Object({ pointer: Type.String(), message: Type.String() })) }), ...errorResponses } },
  }, async (req) => {
    const r = await instruments.validate(req.auth, req.body);
    return r.ok ? { ok: true, errors: [] } : { ok: false, errors: r.errors };
  });

  app.get('/api/v1/instruments/:name', {
    config: { access: 'authenticated' },
    schema: { tags: ['instruments'], summary: 'The latest edition, with the list of all editions', params: Obj({ name: Name }), response: { 200: Type.Object({ instrument: Type.Unknown() }), ...errorResponses } },
  }, async (req) => ({ instrument: await instruments.get(req.auth, req.params.name) }));

  app.post('/api/v1/instruments/:name/editions', {
    config: { access: { scope: 'instruments:manage' } },
    schema: { tags: ['instruments'], summary: 'Publish a new edition (its edition number must be above the latest)', params: Obj({ name: Name }), body: Definition, response: { 201: Type.Object({ instrument: Type.Unknown() }), ...errorResponses } },
  }, async (req, reply) => reply.status(201).send({ instrument: await instruments.publish(req.auth, req.body, { expectName: req.params.name }) }));

  app.get('/api/v1/instruments/:name/editions/:edition', {
    config: { access: 'authenticated' },
    schema: { tags: ['instruments'], summary: 'One edition with its definition', params: Obj({ name: Name, edition: Edition }), response: { 200: Type.Object({ instrument: Type.Unknown() }), ...errorResponses } },
  }, async (req) => {
    const p = req.params;
    return { instrument: await instruments.edition(req.auth, p.name, p.edition) };
  });

  app.post('/api/v1/instruments/:name/retire', {
    config: { access: { scope: 'instruments:manage' } },
    schema: { tags: ['instruments'], summary: 'Retire one edition, or all: no new records; existing ones keep rendering', params: Obj({ name: Name }), body: Obj({ edition: Type.Optional(Edition), reason: Type.Optional(Type.String({ maxLength: 1000 })) }), response: { 200: Type.Object({ instrument: Type.Unknown() }), ...errorResponses } },
  }, async (req) => {
    const b = req.body;
    return { instrument: await instruments.retire(req.auth, req.params.name, b.edition, b.reason) };
  });
}
