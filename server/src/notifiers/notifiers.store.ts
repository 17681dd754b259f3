import { sql, type Kysely } from 'kysely';
import type { Database } from '../database/database.js';

type Db = Kysely<Database>;

export interface NotifierRow {
  app_id: string;
  app_name: string;
  app_revoked: boolean;
  office_id: string;
  office_name: string;
  office_path: string;
  granted_at: Date;
}

const SELECT = sql`SELECT n.app_id, a.name AS app_name, (a.revoked_at IS NOT NULL) AS app_revoked, n.office_id, w.name AS office_name, w.path AS office_path, n.granted_at
  FROM registration_notifiers n JOIN apps a ON a.id = n.app_id JOIN workspaces w ON w.id = n.office_id`;

export const notifiersStore = {
  async list(db: Db): Promise<NotifierRow[]> {
    return (await sql<NotifierRow>`${SELECT} ORDER BY a.name, n.app_id`.execute(db)).rows;
  },

  async get(db: Db, appId: string): Promise<NotifierRow | undefined> {
    return (await sql<NotifierRow>`${SELECT} WHERE n.app_id = ${appId}`.execute(db)).rows[0];
  },

  async put(db: Db, appId: string, officeId: string, grantedBy: string | null, at: Date): Promise<void> {
    await sql`INSERT INTO registration_notifiers (app_id, office_id, granted_by, granted_at) VALUES (${appId}, ${officeId}, ${grantedBy}, ${at})
      ON CONFLICT (app_id) DO UPDATE SET office_id = EXCLUDED.office_id, granted_by = EXCLUDED.granted_by, granted_at = EXCLUDED.granted_at`.execute(db);
  },

  async remove(db: Db, appId: string): Promise<boolean> {
    const r = await sql`DELETE FROM registration_notifiers WHERE app_id = ${appId}`.execute(db);
    return Number(r.numAffectedRows ?? 0) > 0;
  },

  async app(db: Db, id: string): Promise<{ id: string; name: string } | undefined> {
    return (await sql<{ id: string; name: string }>`SELECT id, name FROM apps WHERE id = ${id}`.execute(db)).rows[0];
  },

  async office(db: Db, id: string): Promise<{ id: string; kind: string | null } | undefined> {
    return (await sql<{ id: string; kind: string | null }>`SELECT id, kind FROM workspaces WHERE id = ${id}`.execute(db)).rows[0];
  },
};
