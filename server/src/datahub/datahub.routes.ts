import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from 'typebox';
import type { SubjectsService } from './subjects.service.js';
import type { RecordsService } from './records.service.js';
import type { ExportsService } from './exports.service.js';
import type { ImportsService } from './imports.service.js';
import type { DatahubService } from './datahub.service.js';
import { fail } from '../kernel/errors.js';
import { Obj, Uuid, errorResponses } from '../kernel/http.js';
import { OccurredAt } from '../kernel/occurred-at.js';
import { SESSION_KINDS, SEXES } from './subjects.service.js';
import { EXPORT_FORMATS, EXPORT_SHAPES, type ExportRequest, type ExportStream } from './exports.service.js';

const Any = Type.Unknown();
const WsParams = Obj({ id: Uuid });
const IdParams = Obj({ id: Uuid });
const InstrumentRef = Obj({ name: Type.String({ minLength: 1, maxLength: 64 }), edition: Type.Integer({ minimum: 1, maximum: 2147483647 }) });
const ExportQuery = Obj({
  format: Type.Union(EXPORT_FORMATS.map((f) => Type.Literal(f)), { default: 'csv' }),
  shape: Type.Union(EXPORT_SHAPES.map((s) => Type.Literal(s)), { default: 'wide' }),
  instrument: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  edition: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647 })),
  from: Type.Optional(Type.String({ format: 'date', description: 'Records captured on or after this date (YYYY-MM-DD, UTC)' })),
  to: Type.Optional(Type.String({ format: 'date', description: 'Records captured on or before this date (YYYY-MM-DD, UTC), inclusive' })),
  // Repeated (?subjects=a&subjects=b) or comma-separated (?subjects=a,b); at most 1,000 ids in all (checked by the service).
  subjects: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64_000 }), { maxItems: 1000, description: 'Subject ids (uuids) of the workspace, repeated or comma-separated; at most 1,000' })),
});
const read = { scope: 'records:read' } as const;
const write = { scope: 'records:write' } as const;
const ok = (schema: TSchema = Any) => ({ 200: schema, ...errorResponses });

function sendExport(reply: FastifyReply, e: ExportStream) {
  reply.header('content-type', e.contentType);
  reply.header('content-disposition', `attachment; filename="${e.filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`);
  return reply.send(e.stream);
}

export interface DatahubDeps {
  subjects: SubjectsService;
  records: RecordsService;
  exports: ExportsService;
  imports: ImportsService;
  datahub: DatahubService;
}

export async function datahubRoutes(root: FastifyInstance, { subjects, records, exports, imports, datahub }: DatahubDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  // Imports stream their CSV body straight into the parser instead of buffering it.
  app.addContentTypeParser('text/csv', (_req, payload, done) => done(null, payload));

  app.get('/api/v1/datahub/identity-key', {
    config: { access: read },
    schema: { tags: ['subjects'], summary: 'The HMAC key browsers use to derive subject identifiers from personal information (which never reaches the server)', response: ok(Obj({ algorithm: Type.String(), version: Type.Integer(), key: Type.String() })) },
  }, async (req) => subjects.identityKeyFor(req.auth));

  app.get('/api/v1/workspaces/:id/datahub/settings', {
    config: { access: read },
    schema: { tags: ['subjects'], summary: 'Data hub settings of a workspace', params: WsParams, response: ok() },
  }, async (req) => subjects.settings(req.auth, req.params.id));

  app.put('/api/v1/workspaces/:id/datahub/settings', {
    config: { access: write },
    schema: { tags: ['subjects'], summary: 'Set the pattern custom subject identifiers must match (managers)', params: WsParams, body: Obj({ subjectIdPattern: Type.Union([Type.String({ maxLength: 500 }), Type.Null()]) }), response: ok() },
  }, async (req) => subjects.setSettings(req.auth, req.params.id, req.body));

  app.get('/api/v1/workspaces/:id/subjects', {
    config: { access: read },
    schema: { tags: ['subjects'], summary: 'Subjects of a workspace, by identifier; q finds identifiers containing it', params: WsParams, querystring: Obj({ q: Type.Optional(Type.String({ maxLength: 200 })), after: Type.Optional(Type.String({ maxLength: 200 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }), response: ok() },
  }, async (req) => subjects.list(req.auth, req.params.id, req.query));

  app.get('/api/v1/workspaces/:id/subjects/similar', {
    config: { access: read },
    schema: {
      tags: ['subjects'],
      summary: 'Subjects that look like a new one (identifier read as a name, date of birth, sex), to warn before creating a second',
      params: WsParams,
      querystring: Obj({ identifier: Type.String({ minLength: 1, maxLength: 200 }), dateOfBirth: Type.Optional(Type.String({ maxLength: 10 })), sex: Type.Optional(Type.Union(SEXES.map((x) => Type.Literal(x)))) }),
      response: ok(),
    },
  }, async (req) => subjects.similar(req.auth, req.params.id, req.query));

  app.post('/api/v1/workspaces/:id/subjects', {
    config: { access: write },
    schema: {
      tags: ['subjects'],
      summary: 'Register a subject: a custom identifier, or one derived in the browser (64 hex digits)',
      params: WsParams,
      body: Obj({
        identifier: Type.String({ minLength: 1, maxLength: 200 }),
        identifierKind: Type.Union([Type.Literal('custom'), Type.Literal('derived')]),
        dateOfBirth: Type.Optional(Type.Union([Type.String({ maxLength: 10 }), Type.Null()])),
        sex: Type.Optional(Type.Union([...SEXES.map((s) => Type.Literal(s)), Type.Null()])),
        label: Type.Optional(Type.Union([Type.String({ maxLength: 200, description: 'A short readable name, 1-60 characters, unique in the workspace (e.g. P-017)' }), Type.Null()])),
      }),
      response: { 201: Any, ...errorResponses },
    },
  }, async (req, reply) => reply.status(201).send({ subject: await subjects.create(req.auth, req.params.id, req.body) }));

  app.get('/api/v1/subjects/:id', {
    config: { access: read },
    schema: { tags: ['subjects'], summary: 'A subject and its active session', params: IdParams, response: ok() },
  }, async (req) => ({ subject: await subjects.get(req.auth, req.params.id) }));

  app.patch('/api/v1/subjects/:id', {
    config: { access: write },
    schema: {
      tags: ['subjects'],
      summary: "Set or clear a subject's label: a short readable name (1-60 characters, unique in the workspace; 409 subject_label_taken)",
      params: IdParams,
      body: Obj({ label: Type.Union([Type.String({ maxLength: 200 }), Type.Null()]) }),
      response: ok(),
    },
  }, async (req) => ({ subject: await subjects.setLabel(req.auth, req.params.id, req.body) }));

  app.get('/api/v1/subjects/:id/sessions', {
    config: { access: read },
    schema: { tags: ['subjects'], summary: 'Sessions of a subject, newest first', params: IdParams, response: ok() },
  }, async (req) => ({ sessions: await subjects.sessions(req.auth, req.params.id) }));

  app.post('/api/v1/subjects/:id/sessions', {
    config: { access: write },
    schema: {
      tags: ['subjects'],
      summary: 'Start a session (one active session per subject)',
      params: IdParams,
      body: Obj({ kind: Type.Union(SESSION_KINDS.map((k) => Type.Literal(k))), date: Type.Optional(Type.String({ maxLength: 40 })) }),
      response: { 201: Any, ...errorResponses },
    },
  }, async (req, reply) => reply.status(201).send({ session: await subjects.startSession(req.auth, req.params.id, req.body) }));

  app.get('/api/v1/sessions/:id', {
    config: { access: read },
    schema: { tags: ['subjects'], summary: 'A session', params: IdParams, response: ok() },
  }, async (req) => ({ session: await subjects.getSession(req.auth, req.params.id) }));

  app.post('/api/v1/sessions/:id/end', {
    config: { access: write },
    schema: { tags: ['subjects'], summary: 'End a session', params: IdParams, response: ok() },
  }, async (req) => ({ session: await subjects.endSession(req.auth, req.params.id) }));

  app.post('/api/v1/sessions/:id/records', {
    config: { access: write },
    schema: {
      tags: ['records'],
      summary: 'Submit a record: answers to one form edition, validated on the server (each error names its field)',
      params: IdParams,
      body: Obj({ instrument: InstrumentRef, data: Any, transactionId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), occurredAt: Type.Optional(OccurredAt) }),
      response: { 200: Any, 201: Any, ...errorResponses },
    },
  }, async (req, reply) => {
    const r = await records.create(req.auth, req.params.id, req.body);
    return reply.status(r.replayed ? 200 : 201).send({ record: r.record });
  });

  app.get('/api/v1/subjects/:id/records', {
    config: { access: read },
    schema: { tags: ['records'], summary: "A subject's records in date order, optionally of one instrument (and edition)", params: IdParams, querystring: Obj({ instrument: Type.Optional(Type.String({ maxLength: 64 })), edition: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })) }), response: ok() },
  }, async (req) => ({ records: await records.forSubject(req.auth, req.params.id, req.query) }));

  app.get('/api/v1/records/:id', {
    config: { access: read },
    schema: { tags: ['records'], summary: 'A record with the instrument edition it was captured with', params: IdParams, response: ok() },
  }, async (req) => records.get(req.auth, req.params.id));

  app.get('/api/v1/records/:id/history', {
    config: { access: read },
    schema: { tags: ['records'], summary: "A record's history from the ledger: created, each edit, deletion", params: IdParams, response: ok() },
  }, async (req) => ({ history: await records.history(req.auth, req.params.id) }));

  app.put('/api/v1/records/:id', {
    config: { access: write },
    schema: { tags: ['records'], summary: 'Edit a record (send the version you read; the edit is validated against its edition)', params: IdParams, body: Obj({ data: Any, version: Type.Integer({ minimum: 1 }) }), response: ok() },
  }, async (req) => ({ record: await records.update(req.auth, req.params.id, req.body) }));

  app.delete('/api/v1/records/:id', {
    config: { access: write },
    schema: { tags: ['records'], summary: 'Delete a record with a reason (a tombstone; the history stays in the ledger)', params: IdParams, body: Obj({ reason: Type.String({ minLength: 1, maxLength: 1000 }) }), response: { 204: Type.Null(), ...errorResponses } },
  }, async (req, reply) => {
    await records.remove(req.auth, req.params.id, req.body.reason);
    return reply.status(204).send(null);
  });

  app.get('/api/v1/workspaces/:id/exports', {
    config: { access: read },
    schema: { tags: ['exports'], summary: "Stream a workspace's records as CSV, TSV, Excel or JSON; wide (a row per record) or long (a row per value)", params: WsParams, querystring: ExportQuery },
  }, async (req, reply) => sendExport(reply, await exports.forWorkspace(req.auth, req.params.id, req.query)));

  app.get('/api/v1/subjects/:id/exports', {
    config: { access: read },
    schema: { tags: ['exports'], summary: "Stream one subject's records (same formats and shapes)", params: IdParams, querystring: ExportQuery },
  }, async (req, reply) => sendExport(reply, await exports.forSubject(req.auth, req.params.id, req.query)));

  app.get('/api/v1/workspaces/:id/imports/template', {
    config: { access: read },
    schema: { tags: ['imports'], summary: 'The CSV template for importing records of one form edition', params: WsParams, querystring: Obj({ instrument: Type.String({ minLength: 1, maxLength: 64 }), edition: Type.Integer({ minimum: 1, maximum: 2147483647 }) }) },
  }, async (req, reply) => {
    const q = req.query;
    const t = await imports.template(req.auth, req.params.id, q.instrument, q.edition);
    reply.header('content-type', 'text/csv; charset=utf-8');
    reply.header('content-disposition', `attachment; filename="${t.filename}"`);
    return reply.send(t.body);
  });

  app.post('/api/v1/workspaces/:id/imports', {
    config: { access: write },
    schema: {
      tags: ['imports'],
      summary: 'Import records from CSV (Content-Type: text/csv). Nothing is written while any row fails, unless onlyValid=true',
      params: WsParams,
      querystring: Obj({ instrument: Type.String({ minLength: 1, maxLength: 64 }), edition: Type.Integer({ minimum: 1, maximum: 2147483647 }), onlyValid: Type.Optional(Type.Boolean()), dryRun: Type.Optional(Type.Boolean()) }),
      response: { 200: Any, 201: Any, ...errorResponses },
    },
  }, async (req, reply) => {
    const body = req.body;
    if (!(body instanceof Readable)) throw fail('unsupported_media_type', 'Send the CSV file as the body with Content-Type: text/csv');
    const q = req.query;
    const r = await imports.run(req.auth, req.params.id, body, q);
    return reply.status(r.imported ? 201 : 200).send(r);
  });

  app.get('/api/v1/workspaces/:id/datahub/summary', {
    config: { access: read },
    schema: { tags: ['subjects'], summary: 'Dashboard figures: counts, records per instrument, records per week', params: WsParams, response: ok() },
  }, async (req) => datahub.summary(req.auth, req.params.id));

  app.post('/api/v1/workspaces/:id/datahub/demo', {
    config: { access: write },
    schema: { tags: ['subjects'], summary: 'Fill an empty workspace with demo subjects and records (managers)', params: WsParams, response: { 201: Any, ...errorResponses } },
  }, async (req, reply) => reply.status(201).send(await datahub.demo(req.auth, req.params.id)));
}
