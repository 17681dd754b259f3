import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { WorkspacesService } from './workspaces.service.js';
import { Obj, Uuid, errorResponses } from '../kernel/http.js';
import { WORKSPACE_ROLES } from '../kernel/access.js';

const WorkspaceSchema = Type.Object({ id: Type.String(), name: Type.String(), parentId: Type.Union([Type.String(), Type.Null()]), path: Type.String(), role: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String() });

export interface WorkspacesDeps {
  workspaces: WorkspacesService;
}

export async function workspacesRoutes(root: FastifyInstance, { workspaces }: WorkspacesDeps) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/api/v1/workspaces', {
    config: { access: { scope: 'workspaces:read' } },
    schema: { tags: ['workspaces'], summary: 'Workspaces you can see (admins: all)', response: { 200: Type.Object({ workspaces: Type.Array(WorkspaceSchema) }), ...errorResponses } },
  }, async (req) => ({ workspaces: await workspaces.list(req.auth) }));

  app.post('/api/v1/workspaces', {
    config: { access: { anyScope: ['workspaces:write', 'workspaces:manage'] } },
    schema: {
      tags: ['workspaces'],
      summary: 'Create a workspace (top level: admins; nested: managers of the parent)',
      body: Obj({ name: Type.String({ minLength: 1, maxLength: 120 }), parentId: Type.Optional(Type.Union([Uuid, Type.Null()])) }),
      response: { 201: Type.Object({ workspace: WorkspaceSchema }), ...errorResponses },
    },
  }, async (req, reply) => reply.status(201).send({ workspace: await workspaces.create(req.auth, req.body) }));

  app.patch('/api/v1/workspaces/:id', {
    config: { access: { anyScope: ['workspaces:write', 'workspaces:manage'] } },
    schema: {
      tags: ['workspaces'],
      summary: 'Rename a workspace (managers of it)',
      params: Obj({ id: Uuid }),
      body: Obj({ name: Type.String({ minLength: 1, maxLength: 120 }) }),
      response: { 200: Type.Object({ workspace: WorkspaceSchema }), ...errorResponses },
    },
  }, async (req) => ({ workspace: await workspaces.rename(req.auth, req.params.id, req.body) }));

  app.get('/api/v1/workspaces/:id/members', {
    config: { access: { scope: 'workspaces:read' } },
    schema: { tags: ['workspaces'], summary: 'Members of a workspace', params: Obj({ id: Uuid }), response: { 200: Type.Object({ members: Type.Array(Type.Object({ userId: Type.String(), username: Type.String(), displayName: Type.Union([Type.String(), Type.Null()]), role: Type.String() })) }), ...errorResponses } },
  }, async (req) => ({ members: await workspaces.members(req.auth, req.params.id) }));

  app.put('/api/v1/workspaces/:id/members/:userId', {
    config: { access: { anyScope: ['workspaces:write', 'workspaces:manage'] } },
    schema: {
      tags: ['workspaces'],
      summary: 'Add a member or change their role',
      params: Obj({ id: Uuid, userId: Uuid }),
      body: Obj({ role: Type.Union(WORKSPACE_ROLES.map((r) => Type.Literal(r))) }),
      response: { 204: Type.Null(), ...errorResponses },
    },
  }, async (req, reply) => {
    const p = req.params;
    await workspaces.setMember(req.auth, p.id, p.userId, req.body.role);
    return reply.status(204).send(null);
  });

  app.delete('/api/v1/workspaces/:id/members/:userId', {
    config: { access: { anyScope: ['workspaces:write', 'workspaces:manage'] } },
    schema: { tags: ['workspaces'], summary: 'Remove a member', params: Obj({ id: Uuid, userId: Uuid }), response: { 204: Type.Null(), ...errorResponses } },
  }, async (req, reply) => {
    const p = req.params;
    await workspaces.removeMember(req.auth, p.id, p.userId);
    return reply.status(204).send(null);
  });
}
