import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { NotifiersService } from './notifiers.service.js';
import { Obj, Uuid, errorResponses } from '../kernel/http.js';

const manage = { scope: 'registrations:manage' } as const;
const tags = ['registrations'];

const NotifierSchema = Type.Object({
  appId: Type.String(),
  appName: Type.String(),
  appRevoked: Type.Boolean(),
  officeId: Type.String(),
  officeName: Type.String(),
  grantedAt: Type.String(),
});

/** What the notifying app gets back: enough to follow up by tracking id, none of the data. */
const Receipt = Type.Object({
  id: Type.String(),
  trackingId: Type.String(),
  type: Type.String(),
  status: Type.String(),
  flags: Type.Array(Type.String()),
  officeId: Type.String(),
  createdAt: Type.String(),
  replayed: Type.Boolean({ description: 'True when the transactionId had already been applied (HTTP 200)' }),
});

export interface NotifiersDeps {
  notifiers: NotifiersService;
}

export async function notifiersRoutes(root: FastifyInstance, { notifiers }: NotifiersDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/api/v1/registration-notifiers', {
    config: { access: manage },
    schema: { tags, summary: 'Apps allowed to post notifications (partial declarations), with their office', response: { 200: Type.Object({ notifiers: Type.Array(NotifierSchema) }), ...errorResponses } },
  }, async (req) => ({ notifiers: await notifiers.list(req.auth) }));

  app.put('/api/v1/registration-notifiers/:appId', {
    config: { access: manage },
    schema: {
      tags,
      summary: "Let an app post notifications into an office's workqueue (or move it to another office)",
      params: Obj({ appId: Uuid }),
      body: Obj({ officeId: Uuid }),
      response: { 200: Type.Object({ notifier: NotifierSchema }), ...errorResponses },
    },
  }, async (req) => ({ notifier: await notifiers.put(req.auth, req.params.appId, req.body.officeId) }));

  app.delete('/api/v1/registration-notifiers/:appId', {
    config: { access: manage },
    schema: { tags, summary: 'Withdraw the permission (effective on its next request)', params: Obj({ appId: Uuid }), response: { 204: Type.Null(), ...errorResponses } },
  }, async (req, reply) => {
    await notifiers.remove(req.auth, req.params.appId);
    return reply.status(204).send(null);
  });

  app.get('/api/v1/registration-notifications/office', {
    config: { access: { actor: ['app'] } },
    schema: { tags, summary: "The calling app's notifier setting: which office its notifications go to", response: { 200: Type.Object({ notifier: NotifierSchema }), ...errorResponses } },
  }, async (req) => ({ notifier: await notifiers.mine(req.auth) }));

  app.post('/api/v1/registration-notifications', {
    config: { access: { actor: ['app'] } },
    schema: {
      tags,
      summary: 'Post a notification: a partial declaration that arrives flagged incomplete in the app\'s office',
      description: 'For apps an administrator made notifiers (PUT /registration-notifiers/{appId}). Incomplete data is accepted; what is given is validated like any answer.',
      body: Obj({
        type: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9]*(-[a-z0-9]+)*$' }),
        data: Type.Record(Type.String({ maxLength: 200 }), Type.Unknown(), { description: 'Answers keyed by field id' }),
        transactionId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        occurredAt: Type.Optional(Type.String({ maxLength: 64 })),
      }),
      response: { 201: Receipt, 200: Receipt, ...errorResponses },
    },
  }, async (req, reply) => {
    const { registration: r, replayed } = await notifiers.notify(req.auth, req.body);
    return reply.status(replayed ? 200 : 201).send({ id: r.id, trackingId: r.trackingId, type: r.type, status: r.status, flags: r.flags, officeId: r.officeId, createdAt: r.createdAt, replayed });
  });
}
