import { sql, type Kysely } from 'kysely';
import type { Database } from '../database/database.js';

export interface WorkspacesTable {
  id: string;
  parent_id: string | null;
  name: string;
  path: string;
  created_at: Date;
}
export interface WorkspaceMembersTable {
  workspace_id: string;
  user_id: string;
  role: string;
}
declare module '../database/database.js' {
  interface Database {
    workspaces: WorkspacesTable;
    workspace_members: WorkspaceMembersTable;
  }
}
type Exec = Kysely<Database>;

export const workspacesStore = {
  byId: (db: Exec, id: string) => db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst(),

  insert: (db: Exec, w: WorkspacesTable) => db.insertInto('workspaces').values(w).returningAll().executeTakeFirstOrThrow(),

  all: (db: Exec) => db.selectFrom('workspaces').selectAll().orderBy('path').execute(),

  /** Workspaces at or below any workspace the user is a member of, with the strongest inherited role. */
  visibleTo: async (db: Exec, userId: string) =>
    (
      await sql<WorkspacesTable & { roles: string[] }>`
        SELECT w.*, array_agg(m.role) AS roles
        FROM workspace_members m
        JOIN workspaces a ON a.id = m.workspace_id
        JOIN workspaces w ON w.path LIKE a.path || '%'
        WHERE m.user_id = ${userId}
        GROUP BY w.id ORDER BY w.path`.execute(db)
    ).rows,

  /** Roles the user holds on this workspace or any ancestor (a grant covers the subtree). */
  rolesOn: async (db: Exec, userId: string, workspaceId: string) =>
    (
      await sql<{ role: string }>`
        SELECT m.role FROM workspaces w
        JOIN workspaces a ON w.path LIKE a.path || '%'
        JOIN workspace_members m ON m.workspace_id = a.id AND m.user_id = ${userId}
        WHERE w.id = ${workspaceId}`.execute(db)
    ).rows.map((r) => r.role),

  members: async (db: Exec, workspaceId: string) =>
    (
      await sql<{ user_id: string; username: string; display_name: string | null; role: string }>`
        SELECT m.user_id, u.username, u.display_name, m.role FROM workspace_members m JOIN users u ON u.id = m.user_id
        WHERE m.workspace_id = ${workspaceId} ORDER BY u.username`.execute(db)
    ).rows,

  rename: (db: Exec, id: string, name: string) => db.updateTable('workspaces').set({ name }).where('id', '=', id).returningAll().executeTakeFirstOrThrow(),

  setMember: (db: Exec, workspaceId: string, userId: string, role: string) =>
    db
      .insertInto('workspace_members')
      .values({ workspace_id: workspaceId, user_id: userId, role })
      .onConflict((oc) => oc.columns(['workspace_id', 'user_id']).doUpdateSet({ role }))
      .execute(),

  removeMember: (db: Exec, workspaceId: string, userId: string) =>
    db.deleteFrom('workspace_members').where('workspace_id', '=', workspaceId).where('user_id', '=', userId).executeTakeFirst(),
};
