import { sql, type Kysely } from 'kysely';
import type { Database } from '../database/database.js';

type Exec = Kysely<Database>;

export interface AppRow {
  id: string;
  name: string;
  description: string;
  created_by: string | null;
  created_at: Date;
  association_code_hash: Buffer | null;
  association_expires_at: Date | null;
  associated_at: Date | null;
  client_secret_hash: Buffer | null;
  credentials_since: Date | null;
  rate_limit_per_minute: number;
  revoked_at: Date | null;
}

export interface PermissionRequestRow {
  id: string;
  app_id: string;
  event_type: string;
  can_read: boolean;
  can_create: boolean;
  can_modify: boolean;
  can_delete: boolean;
  message: string;
  status: 'pending' | 'approved' | 'declined' | 'revoked' | 'superseded';
  created_at: Date;
  decided_at: Date | null;
  decided_by: string | null;
  /** What the app asked for when the approval granted less (issue 17); null otherwise. */
  requested?: { read: boolean; create: boolean; modify: boolean; delete: boolean } | null;
}

export interface TokenAppRow {
  app_id: string;
  name: string;
  revoked_at: Date | null;
  credentials_since: Date | null;
  rate_limit_per_minute: number;
  issued_at: Date;
  expires_at: Date;
}

/** One event type's rights, as an app's approved request or a token's grant stores them. */
export interface RightsRow {
  event_type: string;
  can_read: boolean;
  can_create: boolean;
  can_modify: boolean;
  can_delete: boolean;
}

export const appsStore = {
  async insert(db: Exec, a: { id: string; name: string; description: string; createdBy: string | null; codeHash: Buffer; expiresAt: Date; rateLimit: number }) {
    return (await sql<AppRow>`
      INSERT INTO apps (id, name, description, created_by, association_code_hash, association_expires_at, rate_limit_per_minute)
      VALUES (${a.id}, ${a.name}, ${a.description}, ${a.createdBy}, ${a.codeHash}, ${a.expiresAt}, ${a.rateLimit}) RETURNING *`.execute(db)).rows[0]!;
  },
  async byId(db: Exec, id: string) {
    return (await sql<AppRow>`SELECT * FROM apps WHERE id = ${id}`.execute(db)).rows[0];
  },
  async all(db: Exec) {
    return (await sql<AppRow & { pending: number; grants: number }>`
      SELECT a.*,
        (SELECT count(*)::int FROM app_permission_requests r WHERE r.app_id = a.id AND r.status = 'pending') AS pending,
        (SELECT count(*)::int FROM app_permission_requests r WHERE r.app_id = a.id AND r.status = 'approved') AS grants
      FROM apps a ORDER BY a.created_at DESC`.execute(db)).rows;
  },
  async byCodeHash(db: Exec, hash: Buffer) {
    return (await sql<AppRow>`SELECT * FROM apps WHERE association_code_hash = ${hash} FOR UPDATE`.execute(db)).rows[0];
  },
  async setCode(db: Exec, id: string, hash: Buffer, expiresAt: Date) {
    await sql`UPDATE apps SET association_code_hash = ${hash}, association_expires_at = ${expiresAt} WHERE id = ${id}`.execute(db);
  },
  async associate(db: Exec, id: string, secretHash: Buffer, at: Date) {
    await sql`UPDATE apps SET association_code_hash = NULL, association_expires_at = NULL, associated_at = ${at},
      client_secret_hash = ${secretHash}, credentials_since = ${at} WHERE id = ${id}`.execute(db);
    // A re-association rotates the credentials: every token issued under the old secret dies.
    await sql`DELETE FROM app_access_tokens WHERE app_id = ${id}`.execute(db);
  },
  async revoke(db: Exec, id: string, at: Date) {
    const r = await sql<AppRow>`UPDATE apps SET revoked_at = ${at}, association_code_hash = NULL WHERE id = ${id} AND revoked_at IS NULL RETURNING *`.execute(db);
    await sql`DELETE FROM app_access_tokens WHERE app_id = ${id}`.execute(db);
    return r.rows[0];
  },
  async insertToken(db: Exec, t: { hash: Buffer; appId: string; issuedAt: Date; expiresAt: Date }) {
    await sql`DELETE FROM app_access_tokens WHERE app_id = ${t.appId} AND expires_at < ${t.issuedAt}`.execute(db);
    await sql`INSERT INTO app_access_tokens (token_hash, app_id, issued_at, expires_at) VALUES (${t.hash}, ${t.appId}, ${t.issuedAt}, ${t.expiresAt})`.execute(db);
  },
  async tokenApp(db: Exec, hash: Buffer) {
    return (await sql<TokenAppRow>`
      SELECT a.id AS app_id, a.name, a.revoked_at, a.credentials_since, a.rate_limit_per_minute, t.issued_at, t.expires_at
      FROM app_access_tokens t JOIN apps a ON a.id = t.app_id WHERE t.token_hash = ${hash}`.execute(db)).rows[0];
  },

  // --- permission requests ---
  async insertRequest(db: Exec, r: { id: string; appId: string; eventType: string; read: boolean; create: boolean; modify: boolean; delete: boolean; message: string }) {
    // A newer pending request for the same type replaces the older one: the admin decides on the latest ask.
    await sql`UPDATE app_permission_requests SET status = 'superseded', decided_at = now()
      WHERE app_id = ${r.appId} AND event_type = ${r.eventType} AND status = 'pending'`.execute(db);
    return (await sql<PermissionRequestRow>`
      INSERT INTO app_permission_requests (id, app_id, event_type, can_read, can_create, can_modify, can_delete, message, status)
      VALUES (${r.id}, ${r.appId}, ${r.eventType}, ${r.read}, ${r.create}, ${r.modify}, ${r.delete}, ${r.message}, 'pending') RETURNING *`.execute(db)).rows[0]!;
  },
  async request(db: Exec, id: string, lock = false) {
    return (await sql<PermissionRequestRow>`SELECT * FROM app_permission_requests WHERE id = ${id} ${lock ? sql`FOR UPDATE` : sql``}`.execute(db)).rows[0];
  },
  async requests(db: Exec, f: { appId?: string; status?: string; limit: number }) {
    return (await sql<PermissionRequestRow & { app_name: string }>`
      SELECT r.*, a.name AS app_name FROM app_permission_requests r JOIN apps a ON a.id = r.app_id
      WHERE true ${f.appId ? sql`AND r.app_id = ${f.appId}` : sql``} ${f.status ? sql`AND r.status = ${f.status}` : sql``}
      ORDER BY r.created_at DESC LIMIT ${f.limit}`.execute(db)).rows;
  },
  /** `grant`: approve only these rights (a subset of the request); the request as asked is kept in `requested`. */
  async decide(db: Exec, id: string, status: 'approved' | 'declined' | 'revoked', by: string | null, at: Date, grant?: { read: boolean; create: boolean; modify: boolean; delete: boolean }) {
    if (grant) {
      await sql`UPDATE app_permission_requests
        SET requested = jsonb_build_object('read', can_read, 'create', can_create, 'modify', can_modify, 'delete', can_delete),
            can_read = ${grant.read}, can_create = ${grant.create}, can_modify = ${grant.modify}, can_delete = ${grant.delete}
        WHERE id = ${id}`.execute(db);
    }
    if (status === 'approved') {
      const r = (await sql<PermissionRequestRow>`SELECT * FROM app_permission_requests WHERE id = ${id}`.execute(db)).rows[0]!;
      await sql`UPDATE app_permission_requests SET status = 'superseded'
        WHERE app_id = ${r.app_id} AND event_type = ${r.event_type} AND status = 'approved'`.execute(db);
    }
    return (await sql<PermissionRequestRow>`UPDATE app_permission_requests SET status = ${status}, decided_at = ${at}, decided_by = ${by} WHERE id = ${id} RETURNING *`.execute(db)).rows[0]!;
  },

  // --- grants (apps.grants.ts) --------------------------------------------------------------

  /** A live (not revoked) app's approved rights, one row per event type. */
  async approvedRights(db: Exec, appId: string): Promise<RightsRow[]> {
    const r = await sql<RightsRow>`
        SELECT r.event_type, r.can_read, r.can_create, r.can_modify, r.can_delete FROM app_permission_requests r
        JOIN apps ON apps.id = r.app_id AND apps.revoked_at IS NULL
        WHERE r.app_id = ${appId} AND r.status = 'approved'`.execute(db);
    return r.rows;
  },

  /** A personal API token's event-type grants (none: the token is not restricted to event types). */
  async tokenGrants(db: Exec, tokenId: string, opts: { ordered?: boolean } = {}): Promise<RightsRow[]> {
    const r = opts.ordered
      ? await sql<RightsRow>`SELECT event_type, can_read, can_create, can_modify, can_delete FROM token_event_grants WHERE token_id = ${tokenId} ORDER BY event_type`.execute(db)
      : await sql<RightsRow>`
        SELECT event_type, can_read, can_create, can_modify, can_delete FROM token_event_grants WHERE token_id = ${tokenId}`.execute(db);
    return r.rows;
  },

  /** Replaces a token's grants (in the caller's transaction). */
  async replaceTokenGrants(db: Exec, tokenId: string, grants: { eventType: string; read?: boolean; create?: boolean; modify?: boolean; delete?: boolean }[]) {
    await sql`DELETE FROM token_event_grants WHERE token_id = ${tokenId}`.execute(db);
    for (const g of grants) {
      await sql`INSERT INTO token_event_grants (token_id, event_type, can_read, can_create, can_modify, can_delete)
          VALUES (${tokenId}, ${g.eventType}, ${!!g.read}, ${!!g.create}, ${!!g.modify}, ${!!g.delete})`.execute(db);
    }
  },
};
