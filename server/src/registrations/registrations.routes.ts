import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { REGISTRATION_STATUSES, WORKQUEUES } from '@cairn/sdk';
import type { RegistrationsService } from './registrations.service.js';
import type { Config } from '../config.js';
import { fail } from '../kernel/errors.js';
import { Obj, Uuid, errorResponses } from '../kernel/http.js';
import { OccurredAt } from '../kernel/occurred-at.js';
import { MAX_DOCUMENT_BYTES } from './registrations.service.js';

const read = { scope: 'registrations:read' } as const;
const write = { scope: 'registrations:write' } as const;
const manage = { scope: 'registrations:manage' } as const;

const TypeId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9]*(-[a-z0-9]+)*$' });
/** A registration id (UUID) or its 7-character tracking id. */
const RegId = Type.String({ minLength: 7, maxLength: 36, pattern: '^([0-9a-fA-F-]{36}|[A-Z0-9]{7})$' });
const ActionName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9]*(-[a-z0-9]+)*$' });
const Answers = Type.Record(Type.String({ maxLength: 200 }), Type.Unknown(), { description: 'Answers keyed by field id (e.g. "child.firstName"); null removes an answer' });
const TransactionId = Type.String({ minLength: 1, maxLength: 200 });
const UserRef = Type.Union([Type.Object({ id: Type.String(), username: Type.String() }), Type.Null()]);

const Registration = Type.Object({
  id: Type.String(),
  trackingId: Type.String(),
  type: Type.String(),
  typeVersion: Type.Integer(),
  status: Type.String(),
  flags: Type.Array(Type.String()),
  data: Type.Record(Type.String(), Type.Unknown()),
  derived: Type.Record(Type.String(), Type.Unknown()),
  registrationNumber: Type.Union([Type.String(), Type.Null()]),
  officeId: Type.String(),
  eventDate: Type.Union([Type.String(), Type.Null()]),
  eventLocationId: Type.Union([Type.String(), Type.Null()]),
  assignedTo: UserRef,
  duplicateOf: Type.Array(Type.String()),
  printedCopies: Type.Integer(),
  createdBy: UserRef,
  createdAt: Type.String(),
  updatedAt: Type.String(),
  version: Type.Integer(),
  correction: Type.Optional(Type.Object({ data: Type.Record(Type.String(), Type.Unknown()) })),
});
const Created = Type.Intersect([Registration, Type.Object({ replayed: Type.Boolean({ description: 'True when the transactionId had already been applied (HTTP 200)' }) })]);
const Detail = Type.Intersect([Registration, Type.Object({ actions: Type.Array(Type.Object({ action: Type.String(), allowed: Type.Boolean(), reason: Type.Optional(Type.String()) })) })]);
const ActionResult = Type.Object({ registration: Registration, replayed: Type.Boolean() });
const History = Type.Array(
  Type.Object({
    entryId: Type.String(),
    action: Type.String(),
    at: Type.String(),
    actor: Type.Object({ kind: Type.String(), id: Type.Union([Type.String(), Type.Null()]), username: Type.Union([Type.String(), Type.Null()]), role: Type.Union([Type.String(), Type.Null()]), officeId: Type.Union([Type.String(), Type.Null()]), officeName: Type.Union([Type.String(), Type.Null()]) }),
    reason: Type.Union([Type.String(), Type.Null()]),
    changes: Type.Array(Type.Object({ field: Type.String(), from: Type.Unknown(), to: Type.Unknown() })),
    details: Type.Record(Type.String(), Type.Unknown()),
    statusAfter: Type.String(),
    flagsAfter: Type.Array(Type.String()),
  }),
);
const TypeSummary = Type.Object({ id: Type.String(), version: Type.Integer(), label: Type.Unknown(), languages: Type.Array(Type.String()), createdAt: Type.String() });
const TypeVersion = Type.Intersect([TypeSummary, Type.Object({ document: Type.Unknown({ description: 'docs/registration-type.schema.json' }) })]);
const Profile = Type.Object({
  userId: Type.String(),
  role: Type.Union([Type.String(), Type.Null()]),
  office: Type.Union([Type.Object({ id: Type.String(), name: Type.String(), externalId: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
  jurisdiction: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
  reach: Type.Union([Type.String(), Type.Null()]),
});
const Counts = Type.Object(Object.fromEntries(WORKQUEUES.map((q) => [q, Type.Integer()])));

function baseUrl(req: FastifyRequest, configured: string | undefined): string {
  return configured ?? `${req.protocol}://${req.host}`;
}

export interface RegistrationsRoutesDeps {
  registrations: RegistrationsService;
  config: Pick<Config, 'publicUrl'>;
}

export async function registrationsRoutes(root: FastifyInstance, { registrations, config }: RegistrationsRoutesDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();

  // --- types --------------------------------------------------------------------------------
  app.get('/api/v1/registration-types', {
    config: { access: read },
    schema: { tags: ['registrations'], summary: 'Registration types, latest version of each (birth and death ship ready-made)', response: { 200: Type.Array(TypeSummary), ...errorResponses } },
  }, async (req) => registrations.listTypes(req.auth));

  app.get('/api/v1/registration-types/:id', {
    config: { access: read },
    schema: { tags: ['registrations'], summary: 'A registration type document: the latest version, or ?version=', params: Obj({ id: TypeId }), querystring: Obj({ version: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })) }), response: { 200: TypeVersion, ...errorResponses } },
  }, async (req) => registrations.getType(req.auth, req.params.id, req.query.version));

  app.get('/api/v1/registration-types/:id/versions', {
    config: { access: read },
    schema: { tags: ['registrations'], summary: 'Every saved version of a type', params: Obj({ id: TypeId }), response: { 200: Type.Array(TypeSummary), ...errorResponses } },
  }, async (req) => registrations.typeVersions(req.auth, req.params.id));

  app.put('/api/v1/registration-types/:id', {
    config: { access: manage },
    schema: { tags: ['registrations'], summary: 'Save a new version of a type (validated against docs/registration-type.schema.json; errors point into the document)', params: Obj({ id: TypeId }), body: Type.Unknown(), response: { 200: TypeVersion, ...errorResponses } },
  }, async (req) => registrations.putType(req.auth, req.params.id, req.body));

  app.post('/api/v1/registration-types/:id/hook-secret', {
    config: { access: manage },
    schema: { tags: ['registrations'], summary: "Create or rotate the Standard Webhooks secret signing the type's action hooks (shown once)", params: Obj({ id: TypeId }), body: Type.Optional(Obj({})), response: { 200: Obj({ secret: Type.String() }), ...errorResponses } },
  }, async (req) => registrations.rotateHookSecret(req.auth, req.params.id));

  // --- users --------------------------------------------------------------------------------
  app.get('/api/v1/registration-users/me', {
    config: { access: 'authenticated' },
    schema: { tags: ['registrations'], summary: 'Your registration role, office and jurisdiction', response: { 200: Profile, ...errorResponses } },
  }, async (req) => registrations.profile(req.auth, 'me'));

  app.get('/api/v1/registration-users/:userId', {
    config: { access: manage },
    schema: { tags: ['registrations'], summary: "A user's registration role and office", params: Obj({ userId: Uuid }), response: { 200: Profile, ...errorResponses } },
  }, async (req) => registrations.profile(req.auth, req.params.userId));

  app.put('/api/v1/registration-users/:userId', {
    config: { access: manage },
    schema: {
      tags: ['registrations'],
      summary: "Set a user's office (a workspace of kind office) and registration role; null clears",
      params: Obj({ userId: Uuid }),
      body: Obj({ officeId: Type.Union([Uuid, Type.Null()]), role: Type.Union([Type.String({ maxLength: 64 }), Type.Null()]) }),
      response: { 200: Profile, ...errorResponses },
    },
  }, async (req) => registrations.setProfile(req.auth, req.params.userId, req.body));

  // --- registrations ------------------------------------------------------------------------
  app.post('/api/v1/registrations', {
    config: { access: write },
    schema: {
      tags: ['registrations'],
      summary: 'Create a registration by notifying (incomplete data accepted, flagged incomplete) or declaring it',
      body: Obj({ type: TypeId, action: Type.Union([Type.Literal('notify'), Type.Literal('declare')]), data: Answers, transactionId: Type.Optional(TransactionId), occurredAt: Type.Optional(OccurredAt) }),
      response: { 201: Created, 200: Created, ...errorResponses },
    },
  }, async (req, reply) => {
    const r = await registrations.create(req.auth, req.body);
    return reply.status(r.replayed ? 200 : 201).send({ ...r.registration, replayed: r.replayed });
  });

  app.get('/api/v1/registrations', {
    config: { access: read },
    schema: {
      tags: ['registrations'],
      summary: 'Registrations within your jurisdiction, most recently changed first, with a cursor',
      querystring: Obj({
        status: Type.Optional(Type.Union(REGISTRATION_STATUSES.map((s) => Type.Literal(s)))),
        flag: Type.Optional(Type.String({ maxLength: 64 })),
        type: Type.Optional(TypeId),
        location: Type.Optional(Uuid),
        assignedTo: Type.Optional(Type.String({ maxLength: 36 })),
        queue: Type.Optional(Type.Union(WORKQUEUES.map((q) => Type.Literal(q)))),
        after: Type.Optional(Type.String({ maxLength: 80 })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
      }),
      response: { 200: Type.Object({ items: Type.Array(Registration), next: Type.Union([Type.String(), Type.Null()]) }), ...errorResponses },
    },
  }, async (req) => registrations.list(req.auth, req.query));

  app.get('/api/v1/registrations/workqueues', {
    config: { access: read },
    schema: { tags: ['registrations'], summary: 'How many registrations each workqueue holds within your jurisdiction', response: { 200: Counts, ...errorResponses } },
  }, async (req) => registrations.workqueues(req.auth));

  app.get('/api/v1/registrations/:id', {
    config: { access: read },
    schema: { tags: ['registrations'], summary: 'A registration (by id or tracking id) with the actions you may take now; the opening is audited', params: Obj({ id: RegId }), response: { 200: Detail, ...errorResponses } },
  }, async (req) => registrations.get(req.auth, req.params.id));

  app.get('/api/v1/registrations/:id/history', {
    config: { access: read },
    schema: { tags: ['registrations'], summary: 'Every action on a registration: who, role, office, when, what changed, why', params: Obj({ id: RegId }), response: { 200: History, ...errorResponses } },
  }, async (req) => registrations.history(req.auth, req.params.id));

  app.post('/api/v1/registrations/:id/actions/:action', {
    config: { access: write },
    schema: {
      tags: ['registrations'],
      summary: 'Take an action: declare, validate, register, reject, archive, print-certificate, request-correction, approve-correction, reject-correction, assign, unassign, de-duplication decisions, or a custom action of the type',
      params: Obj({ id: RegId, action: ActionName }),
      body: Type.Optional(Obj({ data: Type.Optional(Answers), reason: Type.Optional(Type.String({ maxLength: 2000 })), transactionId: Type.Optional(TransactionId), occurredAt: Type.Optional(OccurredAt), force: Type.Optional(Type.Boolean()) })),
      response: { 200: ActionResult, ...errorResponses },
    },
  }, async (req) => registrations.act(req.auth, req.params.id, req.params.action, req.body ?? {}));

  app.get('/api/v1/registrations/:id/documents/:documentId', {
    config: { access: read },
    schema: { tags: ['registrations'], summary: 'A supporting document or signature of a registration', params: Obj({ id: RegId, documentId: Type.String({ pattern: '^[0-9a-f]{64}$' }) }) },
  }, async (req, reply) => {
    const d = await registrations.document(req.auth, req.params.id, req.params.documentId);
    return reply.header('content-type', d.mediaType).header('content-length', d.size).header('content-disposition', 'inline').header('x-content-type-options', 'nosniff').send(d.stream);
  });

  app.get('/api/v1/registrations/:id/certificate.pdf', {
    config: { access: read },
    schema: { tags: ['registrations'], summary: 'The certificate of a registered record as PDF (selectable text, QR code to the public verification page)', params: Obj({ id: RegId }), querystring: Obj({ template: Type.Optional(Type.String({ maxLength: 64 })) }) },
  }, async (req, reply) => {
    const pdf = await registrations.certificate(req.auth, req.params.id, req.query.template, baseUrl(req, config.publicUrl));
    // The registrar's page previews it in a frame of its own origin; nothing else may frame it.
    return reply
      .header('content-type', 'application/pdf')
      .header('content-disposition', 'inline; filename="certificate.pdf"')
      .header('content-security-policy', "default-src 'none'; frame-ancestors 'self'")
      .header('x-frame-options', 'SAMEORIGIN')
      .send(pdf);
  });

  app.get('/api/v1/verify/:code', {
    config: { access: 'public' },
    schema: { tags: ['registrations'], summary: "A certificate's QR code: valid or not, the registration number and date, nothing more", params: Obj({ code: Type.String({ maxLength: 100 }) }), response: { 200: Obj({ valid: Type.Boolean(), registrationNumber: Type.Union([Type.String(), Type.Null()]), date: Type.Union([Type.String(), Type.Null()]) }), ...errorResponses } },
  }, async (req) => registrations.verify(req.params.code));

  // The page a certificate's QR code opens: a public, script-free page in English and French that
  // says only whether the certificate is valid, its number and date (what /api/v1/verify answers).
  app.get('/verify/:code', {
    config: { access: 'public' },
    schema: { hide: true, params: Obj({ code: Type.String({ maxLength: 100 }) }) },
  }, async (req, reply) => {
    const v = await registrations.verify(req.params.code);
    const esc = (x: string) => x.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const body = v.valid
      ? `<h1>Valid certificate · Certificat valide</h1><p>Registration number · Numéro d’enregistrement: <strong>${esc(v.registrationNumber ?? '')}</strong></p><p>Registered on · Enregistré le: <strong>${esc(v.date ?? '')}</strong></p>`
      : '<h1>Not a valid certificate · Certificat non valide</h1><p>This code matches no registered record. · Ce code ne correspond à aucun acte enregistré.</p>';
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .header('cache-control', 'no-store')
      .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Certificate verification · Vérification</title><style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}h1{font-size:1.4rem;color:${v.valid ? '#17603a' : '#a11'}}</style></head><body>${body}</body></html>`);
  });

  // Raw bodies: documents are bytes, and a callback's signature covers its exact text.
  await app.register(async (raw) => {
    const r = raw.withTypeProvider<TypeBoxTypeProvider>();
    r.removeAllContentTypeParsers();
    r.addContentTypeParser(['image/png', 'image/jpeg', 'application/pdf'], { parseAs: 'buffer', bodyLimit: MAX_DOCUMENT_BYTES }, (_req, body, done) => done(null, body));
    r.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body));
    r.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_DOCUMENT_BYTES }, (req, _body, done) => done(fail('unsupported_media_type', `Send image/png, image/jpeg or application/pdf (not ${req.headers['content-type'] ?? 'nothing'})`)));

    r.post('/api/v1/registrations/documents', {
      config: { access: write },
      schema: { tags: ['registrations'], summary: 'Upload a supporting document or signature image (PNG, JPEG or PDF, at most 10 MiB); answers its documentId', response: { 201: Obj({ documentId: Type.String(), mediaType: Type.String(), size: Type.Integer() }), ...errorResponses } },
    }, async (req, reply) => {
      if (!Buffer.isBuffer(req.body)) throw fail('unsupported_media_type', 'Send the file as the body with its Content-Type');
      return reply.status(201).send(await registrations.uploadDocument(req.auth, req.body, req.headers['content-type'] ?? ''));
    });

    r.post('/api/v1/registrations/:id/external-validation', {
      config: { access: 'public' },
      schema: { tags: ['registrations'], summary: 'The external system answers a registration it left waiting (202): { registrationNumber } or { rejected: true, reason }, signed with the type’s hook secret (Standard Webhooks)', params: Obj({ id: Uuid }), response: { 200: Registration, ...errorResponses } },
    }, async (req) => {
      if (typeof req.body !== 'string') throw fail('unsupported_media_type', 'Send JSON');
      return registrations.externalValidation(req.params.id, req.body, req.headers);
    });
  });
}
