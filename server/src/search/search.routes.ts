import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { Obj, errorResponses } from '../kernel/http.js';

const read = { scope: 'registrations:read' } as const;
const TypeId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9]*(-[a-z0-9]+)*$' });
const Cursor = Type.String({ minLength: 1, maxLength: 64 });
const Limit = Type.Integer({ minimum: 1, maximum: 100 });

const Result = Type.Object({
  id: Type.String(),
  trackingId: Type.String(),
  type: Type.String(),
  status: Type.String(),
  flags: Type.Array(Type.String()),
  registrationNumber: Type.Union([Type.String(), Type.Null()]),
  legacyId: Type.Union([Type.String(), Type.Null()]),
  eventDate: Type.Union([Type.String(), Type.Null()]),
  summary: Type.Record(Type.String(), Type.String()),
  score: Type.Number(),
  matched: Type.Array(Type.Object({ field: Type.String(), how: Type.String(), value: Type.String(), query: Type.Optional(Type.String()) })),
});
const Page = Type.Object({ results: Type.Array(Result), next: Type.Union([Type.String(), Type.Null()]) });
const Filter = Obj({
  field: Type.String({ minLength: 1, maxLength: 200 }),
  op: Type.Union([Type.Literal('fuzzy'), Type.Literal('exact'), Type.Literal('range'), Type.Literal('within')]),
  value: Type.Optional(Type.String({ maxLength: 200 })),
  from: Type.Optional(Type.String({ maxLength: 10 })),
  to: Type.Optional(Type.String({ maxLength: 10 })),
});
const Ref = Type.Object({ id: Type.String(), trackingId: Type.String(), legacyId: Type.Union([Type.String(), Type.Null()]) });

export async function searchRoutes(root: FastifyInstance, { search }: Services) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/api/v1/registrations/search', {
    config: { access: read },
    schema: {
      tags: ['registrations'],
      summary: 'Quick search: tracking ID, registration number, national ID, phone, legacy ID, or names in any order with typos and transliterations; within your jurisdiction',
      querystring: Obj({ q: Type.String({ maxLength: 200 }), type: Type.Optional(TypeId), limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) }),
      response: { 200: Page, ...errorResponses },
    },
  }, async (req) => search.quick(req.auth, req.query));

  app.post('/api/v1/registrations/search', {
    config: { access: read },
    schema: {
      tags: ['registrations'],
      summary: "Advanced search on a type's fields: fuzzy names, exact values, date ranges, within a location; combined with AND",
      body: Obj({ type: TypeId, filters: Type.Array(Filter, { minItems: 1, maxItems: 20 }), limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) }),
      response: { 200: Page, ...errorResponses },
    },
  }, async (req) => search.advanced(req.auth, req.body));

  app.get('/api/v1/registrations/duplicates', {
    config: { access: read },
    schema: {
      tags: ['registrations'],
      summary: 'Every open potential-duplicate pair within your jurisdiction, with the match probability',
      querystring: Obj({ type: Type.Optional(TypeId) }),
      response: { 200: Type.Array(Type.Object({ a: Ref, b: Ref, score: Type.Union([Type.Number(), Type.Null()]) })), ...errorResponses },
    },
  }, async (req) => search.openDuplicates(req.auth, req.query.type));
}
