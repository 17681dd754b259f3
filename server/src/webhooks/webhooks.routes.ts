import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { WebhooksService } from './webhooks.service.js';
import { Obj, Uuid, errorResponses } from '../kernel/http.js';

const manage = { scope: 'webhooks:manage' } as const;
const tags = ['webhooks'];
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const EventType = Type.String({ minLength: 1, maxLength: 200, description: 'An event type name, e.g. calendar.example/event' });
const Action = Type.String({ minLength: 1, maxLength: 63, description: 'A registration action, e.g. declare, register' });

const SubscriptionSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    url: Type.String(),
    eventTypes: Type.Array(Type.String()),
    registrationActions: Type.Array(Type.String()),
    enabled: Type.Boolean(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
    pending: Type.Integer(),
    failed: Type.Integer(),
    delivered: Type.Integer(),
  },
  { $id: 'WebhookSubscription' },
);

const DeliverySchema = Type.Object(
  {
    id: Type.String(),
    seq: Type.Integer({ description: 'Delivery order within the subscription' }),
    subscriptionId: Type.String(),
    entryId: Type.String(),
    eventType: Type.String(),
    stream: Nullable(Type.String()),
    replayOf: Nullable(Type.String()),
    status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
    attempts: Type.Integer(),
    nextAttemptAt: Nullable(Type.String()),
    lastStatus: Nullable(Type.Integer()),
    lastError: Nullable(Type.String()),
    lastBody: Nullable(Type.String({ description: 'The first 1,000 characters of the last answer' })),
    createdAt: Type.String(),
    finishedAt: Nullable(Type.String()),
  },
  { $id: 'WebhookDelivery' },
);

const AttemptSchema = Type.Object({
  attempt: Type.Integer(),
  at: Type.String(),
  status: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
  body: Nullable(Type.String()),
  durationMs: Type.Integer(),
});

const Id = Obj({ id: Uuid });
const Fields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  url: Type.String({ minLength: 1, maxLength: 2000, description: 'http or https URL that receives signed POSTs' }),
  eventTypes: Type.Array(EventType, { maxItems: 100 }),
  registrationActions: Type.Array(Action, { maxItems: 50 }),
};

export interface WebhooksDeps {
  webhooks: WebhooksService;
}

export async function webhooksRoutes(root: FastifyInstance, { webhooks }: WebhooksDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.addSchema(SubscriptionSchema);
  app.addSchema(DeliverySchema);

  app.get('/api/v1/webhooks', {
    config: { access: manage },
    schema: { tags, summary: 'Webhook subscriptions with their delivery counts', response: { 200: Type.Object({ subscriptions: Type.Array(Type.Ref('WebhookSubscription')) }), ...errorResponses } },
  }, async (req) => ({ subscriptions: await webhooks.list(req.auth) }));

  app.post('/api/v1/webhooks', {
    config: { access: manage },
    schema: {
      tags,
      summary: 'Subscribe a URL to entries of some event types and/or registration actions',
      description: 'Answers the signing secret once (Standard Webhooks `whsec_...`); it is stored encrypted and never shown again.',
      body: Obj({ name: Fields.name, url: Fields.url, eventTypes: Type.Optional(Fields.eventTypes), registrationActions: Type.Optional(Fields.registrationActions) }),
      response: { 201: Type.Object({ subscription: Type.Ref('WebhookSubscription'), secret: Type.String() }), ...errorResponses },
    },
  }, async (req, reply) => reply.status(201).send(await webhooks.create(req.auth, req.body)));

  app.get('/api/v1/webhooks/:id', {
    config: { access: manage },
    schema: { tags, summary: 'One webhook subscription', params: Id, response: { 200: Type.Object({ subscription: Type.Ref('WebhookSubscription') }), ...errorResponses } },
  }, async (req) => ({ subscription: await webhooks.get(req.auth, req.params.id) }));

  app.patch('/api/v1/webhooks/:id', {
    config: { access: manage },
    schema: {
      tags,
      summary: 'Change a subscription; enabled: false pauses it (entries keep queueing nowhere), true resumes where it stopped',
      params: Id,
      body: Obj({ name: Type.Optional(Fields.name), url: Type.Optional(Fields.url), eventTypes: Type.Optional(Fields.eventTypes), registrationActions: Type.Optional(Fields.registrationActions), enabled: Type.Optional(Type.Boolean()) }, { minProperties: 1 }),
      response: { 200: Type.Object({ subscription: Type.Ref('WebhookSubscription') }), ...errorResponses },
    },
  }, async (req) => ({ subscription: await webhooks.update(req.auth, req.params.id, req.body) }));

  app.post('/api/v1/webhooks/:id/secret', {
    config: { access: manage },
    schema: { tags, summary: 'Rotate the signing secret (answered once)', params: Id, response: { 200: Type.Object({ secret: Type.String() }), ...errorResponses } },
  }, async (req) => webhooks.rotateSecret(req.auth, req.params.id));

  app.get('/api/v1/webhooks/:id/deliveries', {
    config: { access: manage },
    schema: {
      tags,
      summary: 'The delivery log, newest first',
      params: Id,
      querystring: Obj({
        status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')])),
        before: Type.Optional(Type.Integer({ minimum: 1, description: 'A `next` from the previous page' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
      }),
      response: { 200: Type.Object({ deliveries: Type.Array(Type.Ref('WebhookDelivery')), next: Nullable(Type.Integer()) }), ...errorResponses },
    },
  }, async (req) => webhooks.deliveries(req.auth, req.params.id, { status: req.query.status, beforeSeq: req.query.before, limit: req.query.limit }));

  app.get('/api/v1/webhooks/deliveries/:id', {
    config: { access: manage },
    schema: { tags, summary: 'One delivery with every attempt and its answer', params: Id, response: { 200: Type.Object({ delivery: Type.Ref('WebhookDelivery'), attempts: Type.Array(AttemptSchema) }), ...errorResponses } },
  }, async (req) => webhooks.delivery(req.auth, req.params.id));

  app.post('/api/v1/webhooks/deliveries/:id/replay', {
    config: { access: manage },
    schema: { tags, summary: 'Send a delivered or failed delivery again (queued behind what is pending)', params: Id, response: { 202: Type.Object({ delivery: Type.Ref('WebhookDelivery') }), ...errorResponses } },
  }, async (req, reply) => reply.status(202).send({ delivery: await webhooks.replay(req.auth, req.params.id) }));
}
