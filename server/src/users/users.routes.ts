import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { UsersService } from './users.service.js';
import { Obj, Uuid, errorResponses } from '../kernel/http.js';
import type { Role } from '../kernel/access.js';

const IdParams = Obj({ id: Uuid });
const UserOut = Type.Object({ user: Type.Ref('User') });

const UserHit = Type.Object({ id: Type.String(), username: Type.String(), displayName: Type.Union([Type.String(), Type.Null()]) });

export interface UsersDeps {
  users: UsersService;
}

export async function usersRoutes(root: FastifyInstance, { users }: UsersDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/api/v1/users/search', {
    // People are found to share something with them: a token narrowed to, say, events:read
    // acts for its owner only within those scopes and may not list colleagues.
    config: { access: { anyScope: ['workspaces:read', 'datasets:read', 'users:manage'] } },
    schema: {
      tags: ['users'],
      summary: 'Find people by username or name (the user picker)',
      description: 'Administrators find every enabled account; others find people who share a workspace tree with them, and anyone by their exact username.',
      querystring: Obj({ q: Type.String({ maxLength: 120 }), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })) }),
      response: { 200: Type.Object({ users: Type.Array(UserHit) }), ...errorResponses },
    },
  }, async (req) => {
    const q = req.query;
    return { users: await users.search(req.auth, q.q, q.limit) };
  });

  app.patch('/api/v1/users/:id', {
    config: { access: { anyScope: ['users:manage', 'account'] } },
    schema: {
      tags: ['users'],
      summary: "Set a person's name (admins: anyone; others: themselves)",
      params: IdParams,
      body: Obj({ displayName: Type.Union([Type.String({ maxLength: 120 }), Type.Null()]) }),
      response: { 200: UserOut, ...errorResponses },
    },
  }, async (req) => ({ user: await users.setDisplayName(req.auth, req.params.id, req.body.displayName) }));

  app.get('/api/v1/users', {
    config: { access: { scope: 'users:manage' } },
    schema: { tags: ['users'], summary: 'Every user', response: { 200: Type.Object({ users: Type.Array(Type.Ref('User')) }), ...errorResponses } },
  }, async (req) => ({ users: await users.list(req.auth) }));

  app.post('/api/v1/users', {
    config: { access: { scope: 'users:manage' } },
    schema: {
      tags: ['users'],
      summary: 'Create a user',
      body: Obj({
        username: Type.String({ maxLength: 64 }),
        password: Type.String({ maxLength: 1024 }),
        role: Type.Union([Type.Literal('admin'), Type.Literal('member')]),
        displayName: Type.Optional(Type.Union([Type.String({ maxLength: 120 }), Type.Null()])),
      }),
      response: { 201: UserOut, ...errorResponses },
    },
  }, async (req, reply) => reply.status(201).send({ user: await users.create(req.auth, req.body) }));

  for (const [action, fn] of [
    ['disable', users.disable],
    ['enable', users.enable],
    ['reset-totp', users.resetTotp],
  ] as const) {
    app.post(`/api/v1/users/:id/${action}`, {
      config: { access: { scope: 'users:manage' } },
      schema: { tags: ['users'], summary: `${action} a user`, params: IdParams, response: { 200: UserOut, ...errorResponses } },
    }, async (req) => ({ user: await fn.call(users, req.auth, req.params.id) }));
  }

  app.get('/api/v1/settings', {
    config: { access: { scope: 'settings:manage' } },
    schema: { tags: ['settings'], summary: 'Instance settings', response: { 200: Type.Object({ requireTotp: Type.Boolean() }), ...errorResponses } },
  }, async (req) => users.getSettings(req.auth));

  app.patch('/api/v1/settings', {
    config: { access: { scope: 'settings:manage' } },
    schema: { tags: ['settings'], summary: 'Change instance settings', body: Obj({ requireTotp: Type.Optional(Type.Boolean()) }), response: { 200: Type.Object({ requireTotp: Type.Boolean() }), ...errorResponses } },
  }, async (req) => users.updateSettings(req.auth, req.body));
}
