import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppsService } from './apps.service.js';
import type { GrantsService } from './apps.grants.js';
import type { Config } from '../config.js';
import { Obj, errorResponses } from '../kernel/http.js';

const Status = Type.Union([Type.Literal('awaiting_association'), Type.Literal('code_expired'), Type.Literal('associated'), Type.Literal('revoked')]);
const AppFields = {
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  status: Status,
  associationExpiresAt: Type.Union([Type.String(), Type.Null()]),
  associatedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
  rateLimitPerMinute: Type.Integer(),
  createdAt: Type.String(),
};
const RequestStatus = Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('declined'), Type.Literal('revoked'), Type.Literal('superseded')]);
const PermissionRequest = Type.Object(
  {
    id: Type.String(),
    appId: Type.String(),
    appName: Type.Optional(Type.String()),
    eventType: Type.String(),
    read: Type.Boolean(),
    create: Type.Boolean(),
    modify: Type.Boolean(),
    delete: Type.Boolean(),
    requested: Type.Object(
      { read: Type.Boolean(), create: Type.Boolean(), modify: Type.Boolean(), delete: Type.Boolean() },
      { description: 'What the app asked for; the four rights above are what was granted (less when part was approved)' },
    ),
    message: Type.String(),
    status: RequestStatus,
    createdAt: Type.String(),
    decidedAt: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'PermissionRequest' },
);
const Rights = {
  read: Type.Optional(Type.Boolean()),
  create: Type.Optional(Type.Boolean()),
  modify: Type.Optional(Type.Boolean()),
  delete: Type.Optional(Type.Boolean()),
};
const TokenGrant = Type.Object({ eventType: Type.String(), read: Type.Boolean(), create: Type.Boolean(), modify: Type.Boolean(), delete: Type.Boolean() });
const IdParams = Obj({ id: Type.String({ maxLength: 64 }) });

export interface AppsDeps {
  apps: AppsService;
  grants: GrantsService;
  config: Pick<Config, 'loginRateLimit'>;
}

export async function appsRoutes(root: FastifyInstance, { apps, grants, config }: AppsDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.addSchema(PermissionRequest);
  const publicLimit = { max: Math.max(config.loginRateLimit, 20), timeWindow: 60_000 };

  // --- administrators ---------------------------------------------------------------------

  app.post('/api/v1/apps', {
    config: { access: { scope: 'apps:manage' } },
    schema: {
      tags: ['apps'],
      summary: 'Register an app; answers its one-time association code',
      description: 'Hand the association code (text or QR) to the app; it expires and works once. `rateLimitPerMinute` caps the app\'s API requests (default 600).',
      body: Obj({ name: Type.String({ minLength: 1, maxLength: 100 }), description: Type.Optional(Type.String({ maxLength: 2000 })), rateLimitPerMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })) }),
      response: { 201: Type.Object({ ...AppFields, associationCode: Type.String() }), ...errorResponses },
    },
  }, async (req, reply) => reply.status(201).send(await apps.register(req.auth, req.body)));

  app.get('/api/v1/apps', {
    config: { access: { scope: 'apps:manage' } },
    schema: {
      tags: ['apps'],
      summary: 'Every app with its association status and counts of pending requests and grants',
      response: { 200: Type.Object({ apps: Type.Array(Type.Object({ ...AppFields, pendingRequests: Type.Integer(), activeGrants: Type.Integer() })) }), ...errorResponses },
    },
  }, async (req) => ({ apps: await apps.list(req.auth) }));

  app.get('/api/v1/apps/me', {
    config: { access: { actor: ['app'] } },
    schema: { tags: ['apps'], summary: 'The calling app and its grants', response: { 200: Type.Object({ ...AppFields, grants: Type.Array(Type.Ref('PermissionRequest')) }), ...errorResponses } },
  }, async (req) => apps.me(req.auth));

  app.get('/api/v1/apps/:id', {
    config: { access: { scope: 'apps:manage' } },
    schema: {
      tags: ['apps'],
      summary: 'One app: grants, permission requests and recent activity from the ledger',
      params: IdParams,
      response: {
        200: Type.Object({ ...AppFields, grants: Type.Array(Type.Ref('PermissionRequest')), requests: Type.Array(Type.Ref('PermissionRequest')), recentActivity: Type.Array(Type.Ref('LedgerEntry')) }),
        ...errorResponses,
      },
    },
  }, async (req) => apps.detail(req.auth, req.params.id));

  app.post('/api/v1/apps/:id/association-code', {
    config: { access: { scope: 'apps:manage' } },
    schema: {
      tags: ['apps'],
      summary: 'A fresh association code (the old one stops working)',
      description: 'Associating with it rotates the app\'s client secret: tokens issued under the old one stop working.',
      params: IdParams,
      response: { 200: Type.Object({ ...AppFields, associationCode: Type.String() }), ...errorResponses },
    },
  }, async (req) => apps.newAssociationCode(req.auth, req.params.id));

  app.post('/api/v1/apps/:id/revoke', {
    config: { access: { scope: 'apps:manage' } },
    schema: { tags: ['apps'], summary: 'Revoke an app: its tokens stop working at once', params: IdParams, response: { 200: Type.Object(AppFields), ...errorResponses } },
  }, async (req) => apps.revokeApp(req.auth, req.params.id));

  app.get('/api/v1/permission-requests', {
    config: { access: { scope: 'apps:manage' } },
    schema: {
      tags: ['apps'],
      summary: 'Permission requests, newest first (status=pending for the ones awaiting a decision)',
      querystring: Obj({ status: Type.Optional(RequestStatus), appId: Type.Optional(Type.String({ format: 'uuid' })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
      response: { 200: Type.Object({ requests: Type.Array(Type.Ref('PermissionRequest')) }), ...errorResponses },
    },
  }, async (req) => ({ requests: await apps.listRequests(req.auth, req.query) }));

  const decisionSummary = {
    approve: 'Approve a pending request: the app holds the grant from its next request',
    decline: 'Decline a pending request: status "declined" (it was never granted)',
    revoke: 'Revoke a grant, effective on the app\'s next request (on a pending request: declines it)',
  };
  app.post('/api/v1/permission-requests/:id/approve', {
    config: { access: { scope: 'apps:manage' } },
    schema: {
      tags: ['apps'],
      summary: decisionSummary.approve,
      description:
        'Without a body the request is approved as asked. To approve part of it (e.g. read but not modify), send the rights to grant: ' +
        'an omitted right is granted as asked, `false` withholds it; granting a right that was not asked for, or none, is 400 validation_failed.',
      params: IdParams,
      body: Type.Union([Obj({ read: Type.Optional(Type.Boolean()), create: Type.Optional(Type.Boolean()), modify: Type.Optional(Type.Boolean()), delete: Type.Optional(Type.Boolean()) }), Type.Null()]),
      response: { 200: Type.Ref('PermissionRequest'), ...errorResponses },
    },
  }, async (req) => apps.decide(req.auth, req.params.id, 'approve', req.body ?? undefined));
  for (const decision of ['decline', 'revoke'] as const) {
    app.post(`/api/v1/permission-requests/:id/${decision}`, {
      config: { access: { scope: 'apps:manage' } },
      schema: {
        tags: ['apps'],
        summary: decisionSummary[decision],
        params: IdParams,
        response: { 200: Type.Ref('PermissionRequest'), ...errorResponses },
      },
    }, async (req) => apps.decide(req.auth, req.params.id, decision));
  }

  // --- the app ----------------------------------------------------------------------------

  app.post('/api/v1/apps/associate', {
    config: { access: 'public', rateLimit: publicLimit },
    schema: {
      tags: ['apps'],
      summary: 'Exchange a one-time association code for client credentials',
      description: 'The client secret is shown once and stored hashed. 400 invalid_grant for an unknown, used or expired code.',
      security: [],
      body: Obj({ associationCode: Type.String({ minLength: 1, maxLength: 200 }) }),
      response: { 200: Type.Object({ clientId: Type.String(), clientSecret: Type.String() }), ...errorResponses },
    },
  }, async (req) => apps.associate(req.body.associationCode, { requestId: req.id, ip: req.ip }));

  app.post('/api/v1/oauth/token', {
    config: { access: 'public', rateLimit: publicLimit },
    schema: {
      tags: ['apps'],
      summary: 'OAuth2 client credentials grant: a short-lived access token',
      description:
        'Form-encoded (application/x-www-form-urlencoded, as RFC 6749 says) or JSON. Client credentials in the body (client_id, client_secret) or in HTTP Basic. ' +
        'Errors keep Cairn\'s shape: `error.code` is the OAuth error (invalid_client 401, unsupported_grant_type 400, invalid_request 400).',
      security: [],
      consumes: ['application/x-www-form-urlencoded', 'application/json'],
      body: Type.Object(
        {
          grant_type: Type.Optional(Type.String({ maxLength: 100 })),
          client_id: Type.Optional(Type.String({ maxLength: 200 })),
          client_secret: Type.Optional(Type.String({ maxLength: 200 })),
          scope: Type.Optional(Type.String({ maxLength: 1000 })),
        },
        { additionalProperties: true },
      ),
      response: { 200: Type.Object({ access_token: Type.String(), token_type: Type.Literal('Bearer'), expires_in: Type.Integer() }), ...errorResponses },
    },
  }, async (req, reply) => {
    const body = (req.body ?? {}) as { grant_type?: string; client_id?: string; client_secret?: string };
    let clientId: unknown = body.client_id;
    let clientSecret: unknown = body.client_secret;
    const basic = /^Basic ([A-Za-z0-9+/=]{1,1000})$/.exec(req.headers.authorization ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i > 0) {
        // RFC 6749 2.3.1: the parts are form-urlencoded before Basic encoding.
        try {
          clientId = decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' '));
          clientSecret = decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, ' '));
        } catch {
          clientId = undefined;
        }
      }
    }
    reply.header('pragma', 'no-cache');
    return apps.issueToken({ grantType: body.grant_type, clientId, clientSecret });
  });

  app.post('/api/v1/apps/me/permission-requests', {
    config: { access: { actor: ['app'] } },
    schema: {
      tags: ['apps'],
      summary: 'Ask for read / create / modify / delete on an event type',
      description: 'The message is shown to the administrator deciding. A newer pending request for the same type replaces the older one.',
      body: Obj({ eventType: Type.String({ minLength: 1, maxLength: 200 }), ...Rights, message: Type.Optional(Type.String({ maxLength: 1000 })) }),
      response: { 201: Type.Ref('PermissionRequest'), ...errorResponses },
    },
  }, async (req, reply) => reply.status(201).send(await apps.requestPermission(req.auth, req.body)));

  app.get('/api/v1/apps/me/permission-requests', {
    config: { access: { actor: ['app'] } },
    schema: {
      tags: ['apps'],
      summary: 'The calling app\'s permission requests and their status (poll this)',
      querystring: Obj({ status: Type.Optional(RequestStatus) }),
      response: { 200: Type.Object({ requests: Type.Array(Type.Ref('PermissionRequest')) }), ...errorResponses },
    },
  }, async (req) => ({ requests: await apps.myRequests(req.auth, req.query.status) }));

  // --- people's API tokens ------------------------------------------------------------------

  app.get('/api/v1/auth/tokens/:id/event-grants', {
    config: { access: { actor: ['user'], scope: 'account' } },
    schema: { tags: ['auth'], summary: 'The event-type grants on one of your API tokens', params: IdParams, response: { 200: Type.Object({ grants: Type.Array(TokenGrant) }), ...errorResponses } },
  }, async (req) => ({ grants: await grants.tokenGrants(req.auth, req.params.id) }));

  app.put('/api/v1/auth/tokens/:id/event-grants', {
    config: { access: { actor: ['user'], scope: 'account' } },
    schema: {
      tags: ['auth'],
      summary: 'Restrict one of your API tokens to event types, with read / create / modify / delete each',
      description: 'With grants, the token reaches only your own entries of those types, only with those rights (as an app would). An empty list lifts the restriction.',
      params: IdParams,
      body: Obj({ grants: Type.Array(Obj({ eventType: Type.String({ minLength: 1, maxLength: 200 }), ...Rights }), { maxItems: 200 }) }),
      response: { 200: Type.Object({ grants: Type.Array(TokenGrant) }), ...errorResponses },
    },
  }, async (req) => ({ grants: await grants.setTokenGrants(req.auth, req.params.id, req.body.grants) }));
}
