import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { fail } from '../kernel/errors.js';
import { Obj, errorResponses } from '../kernel/http.js';
import type { LegacyImportService } from './legacy-import.service.js';
import type { SearchService } from './search.service.js';

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
const write = { scope: 'registrations:write' } as const;
const RowError = Type.Object({ field: Type.String(), pointer: Type.String(), code: Type.String(), message: Type.String() });
const ImportReport = Type.Object({
  type: Type.String(),
  action: Type.String(),
  rows: Type.Integer(),
  created: Type.Integer(),
  refusedCount: Type.Integer(),
  duplicatesCount: Type.Integer(),
  alreadyImported: Type.Integer(),
  refused: Type.Array(Type.Object({ row: Type.Integer(), line: Type.Integer(), legacyId: Type.Union([Type.String(), Type.Null()]), errors: Type.Array(RowError) })),
  duplicates: Type.Array(Type.Object({
    row: Type.Integer(), id: Type.String(), trackingId: Type.String(), legacyId: Type.Union([Type.String(), Type.Null()]),
    matches: Type.Array(Type.Object({ id: Type.String(), trackingId: Type.String(), legacyId: Type.Union([Type.String(), Type.Null()]), score: Type.Union([Type.Number(), Type.Null()]) })),
  })),
  truncated: Type.Boolean(),
  seconds: Type.Object({ validate: Type.Number(), lookups: Type.Number(), deduplicate: Type.Number(), write: Type.Number() }),
});
const isStream = (body: unknown): body is Readable => !!body && typeof (body as { pipe?: unknown }).pipe === 'function';
const Ref = Type.Object({ id: Type.String(), trackingId: Type.String(), legacyId: Type.Union([Type.String(), Type.Null()]) });

export interface SearchDeps {
  search: SearchService;
  legacyImport: LegacyImportService;
}

export async function searchRoutes(root: FastifyInstance, { search, legacyImport: legacy }: SearchDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  // The locations and data hub imports register the same pass-through parser; whichever module comes first does.
  if (!app.hasContentTypeParser('text/csv')) app.addContentTypeParser('text/csv', (_req, payload, done) => done(null, payload));

  app.post('/api/v1/registrations/import', {
    config: { access: write },
    schema: {
      tags: ['registrations'],
      summary: "Import a legacy register (Content-Type: text/csv; header = the type's field ids and an optional legacyId; locations by id or name): one registration per row, de-duplicated against the register and the rows before it; answers the report",
      querystring: Obj({ type: TypeId, action: Type.Union([Type.Literal('declare'), Type.Literal('notify')]) }),
      response: { 200: ImportReport, ...errorResponses },
    },
  }, async (req) => {
    if (!isStream(req.body)) throw fail('unsupported_media_type', 'Send the CSV file as the body with Content-Type: text/csv');
    return legacy.importCsv(req.auth, req.query, req.body);
  });

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

  app.get('/api/v1/registrations/:id/matches', {
    config: { access: read },
    schema: {
      tags: ['registrations'],
      summary: 'The registrations a flagged one may duplicate, with their answers and how each field compared (the review page); matches outside your jurisdiction included',
      params: Obj({ id: Type.String({ minLength: 7, maxLength: 36 }) }),
      response: {
        200: Type.Object({
          id: Type.String(),
          trackingId: Type.String(),
          matches: Type.Array(Type.Object({
            id: Type.String(), trackingId: Type.String(), type: Type.String(), typeVersion: Type.Integer(), status: Type.String(), flags: Type.Array(Type.String()),
            registrationNumber: Type.Union([Type.String(), Type.Null()]), data: Type.Record(Type.String(), Type.Unknown()),
            score: Type.Union([Type.Number(), Type.Null()]), fields: Type.Array(Type.Object({ field: Type.String(), level: Type.String(), weight: Type.Number() })),
          })),
        }),
        ...errorResponses,
      },
    },
  }, async (req) => search.matches(req.auth, req.params.id));

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
