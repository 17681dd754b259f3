import type { Db } from '../database/database.js';
import { fail } from '../kernel/errors.js';
import { newId, isUuid } from '../kernel/ids.js';
import { authorize, workspaceRole, type WorkspaceResource } from '../policies/policies.js';
import { can, requireAuthenticated, requireScope, requireUser, strongestWorkspaceRole, type AuthContext, type WorkspaceRole, WORKSPACE_ROLES } from '../kernel/access.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import { authStore } from '../auth/auth.store.js';
import { workspacesStore, type WorkspacesTable } from './workspaces.store.js';

const present = (w: WorkspacesTable, role?: string | null) => ({ id: w.id, name: w.name, parentId: w.parent_id, path: w.path, role: role ?? null, createdAt: w.created_at.toISOString() });

/**
 * Workspaces own data and nest (country → district → office). Membership on a workspace grants
 * its role over the whole subtree; admins (workspaces:manage) see and manage everything.
 */
export class WorkspacesService {
  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
  ) {}

  /** The facts policies/ judges a workspace on, or null when it does not exist for this caller. */
  private async resource(ctx: AuthContext, workspaceId: string): Promise<WorkspaceResource | null> {
    requireAuthenticated(ctx);
    if (!isUuid(workspaceId)) return null;
    if (can(ctx, 'workspaces:manage')) return (await workspacesStore.byId(this.db, workspaceId)) ? { kind: 'workspace', memberRoles: [] } : null;
    if (ctx.actor.kind !== 'user') return null;
    return { kind: 'workspace', memberRoles: await workspacesStore.rolesOn(this.db, ctx.actor.userId, workspaceId) };
  }

  /** The caller's effective role on a workspace, or null. Later domains call this for their checks. */
  async roleOn(ctx: AuthContext, workspaceId: string): Promise<WorkspaceRole | null> {
    const ws = await this.resource(ctx, workspaceId);
    return ws && workspaceRole(ctx, ws);
  }

  /**
   * Changing a workspace (members, sub-workspaces) needs a token that may change workspaces, on
   * top of the manager role: a token narrowed to, say, events:read acts for its owner only within
   * those scopes, whatever role the owner holds.
   */
  private requireManageScope(ctx: AuthContext): void {
    requireAuthenticated(ctx);
    if (!can(ctx, 'workspaces:write') && !can(ctx, 'workspaces:manage')) throw fail('forbidden', 'This needs the workspaces:write permission');
  }

  /** Throws not_found (not forbidden) when the caller cannot see the workspace at all: no existence leaks. */
  async requireRole(ctx: AuthContext, workspaceId: string, min: WorkspaceRole): Promise<WorkspaceRole> {
    const ws = await this.resource(ctx, workspaceId);
    if (!ws) throw fail('not_found', 'No such workspace');
    authorize(ctx, min, ws);
    return workspaceRole(ctx, ws)!;
  }

  async list(ctx: AuthContext) {
    requireScope(ctx, 'workspaces:read');
    if (can(ctx, 'workspaces:manage')) return (await workspacesStore.all(this.db)).map((w) => present(w, 'manager'));
    const actor = requireUser(ctx);
    return (await workspacesStore.visibleTo(this.db, actor.userId)).map((w) => present(w, strongestWorkspaceRole(w.roles)));
  }

  async create(ctx: AuthContext, input: { name: string; parentId?: string | null }) {
    this.requireManageScope(ctx);
    const name = input.name.trim();
    if (!name || name.length > 120) throw fail('validation_failed', 'Workspace names are 1-120 characters', [{ pointer: '/name', message: 'invalid name' }]);
    let parent: WorkspacesTable | undefined;
    if (input.parentId) {
      await this.requireRole(ctx, input.parentId, 'manager');
      parent = await workspacesStore.byId(this.db, input.parentId);
    } else {
      requireScope(ctx, 'workspaces:manage');
    }
    const id = newId();
    return this.db.transaction().execute(async (trx) => {
      let w;
      try {
        w = await workspacesStore.insert(trx, { id, parent_id: parent?.id ?? null, name, path: `${parent?.path ?? '/'}${id}/`, created_at: new Date() });
      } catch (e) {
        if ((e as { code?: string }).code === '23505') throw fail('conflict', 'A workspace with that name already exists here');
        throw e;
      }
      await this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type: 'workspace.created', stream: `workspace:${id}`, data: { workspaceId: id, name, parentId: parent?.id ?? null } }], { allowSystemTypes: true }), { db: trx });
      return present(w, 'manager');
    });
  }

  /** Renames a workspace (managers of it); its id, members and data stay. */
  async rename(ctx: AuthContext, workspaceId: string, input: { name: string }) {
    this.requireManageScope(ctx);
    const role = await this.requireRole(ctx, workspaceId, 'manager');
    const name = input.name.trim();
    if (!name || name.length > 120) throw fail('validation_failed', 'Workspace names are 1-120 characters', [{ pointer: '/name', message: 'invalid name' }]);
    return this.db.transaction().execute(async (trx) => {
      let w;
      try {
        w = await workspacesStore.rename(trx, workspaceId, name);
      } catch (e) {
        if ((e as { code?: string }).code === '23505') throw fail('conflict', 'A workspace with that name already exists here', [{ pointer: '/name', message: 'name taken' }]);
        throw e;
      }
      await this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type: 'workspace.renamed', stream: `workspace:${workspaceId}`, data: { workspaceId, name } }], { allowSystemTypes: true }), { db: trx });
      return present(w, role);
    });
  }

  async members(ctx: AuthContext, workspaceId: string) {
    requireScope(ctx, 'workspaces:read');
    await this.requireRole(ctx, workspaceId, 'viewer');
    return (await workspacesStore.members(this.db, workspaceId)).map((m) => ({ userId: m.user_id, username: m.username, displayName: m.display_name, role: m.role }));
  }

  async setMember(ctx: AuthContext, workspaceId: string, userId: string, role: string) {
    this.requireManageScope(ctx);
    await this.requireRole(ctx, workspaceId, 'manager');
    if (!(WORKSPACE_ROLES as readonly string[]).includes(role)) throw fail('validation_failed', `role must be one of ${WORKSPACE_ROLES.join(', ')}`, [{ pointer: '/role', message: 'invalid role' }]);
    if (!isUuid(userId) || !(await authStore.userById(this.db, userId))) throw fail('not_found', 'No such user');
    await this.db.transaction().execute(async (trx) => {
      await workspacesStore.setMember(trx, workspaceId, userId, role);
      await this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type: 'workspace.member_set', stream: `workspace:${workspaceId}`, data: { workspaceId, userId, role } }], { allowSystemTypes: true }), { db: trx });
    });
  }

  async removeMember(ctx: AuthContext, workspaceId: string, userId: string) {
    this.requireManageScope(ctx);
    await this.requireRole(ctx, workspaceId, 'manager');
    if (!isUuid(userId)) throw fail('not_found', 'No such member');
    await this.db.transaction().execute(async (trx) => {
      const r = await workspacesStore.removeMember(trx, workspaceId, userId);
      if (!r.numDeletedRows) throw fail('not_found', 'No such member');
      await this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type: 'workspace.member_removed', stream: `workspace:${workspaceId}`, data: { workspaceId, userId } }], { allowSystemTypes: true }), { db: trx });
    });
  }
}
