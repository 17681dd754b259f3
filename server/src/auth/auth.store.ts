import { sql, type Generated, type Kysely, type Selectable } from 'kysely';
import type { Database } from '../database/database.js';
import type { Role } from '../kernel/access.js';

export interface UsersTable {
  id: string;
  username: string;
  password_hash: string;
  role: Role;
  disabled_at: Date | null;
  totp_secret_enc: string | null;
  totp_enabled: Generated<boolean>;
  failed_logins: Generated<number>;
  locked_until: Date | null;
  totp_last_step: string | null;
  display_name: Generated<string | null>;
  created_at: Generated<Date>;
}
export interface RecoveryCodesTable {
  user_id: string;
  code_hash: Buffer;
  created_at: Generated<Date>;
  used_at: Date | null;
}
export interface SessionsTable {
  id: string;
  user_id: string;
  token_hash: Buffer;
  created_at: Generated<Date>;
  expires_at: Date;
  revoked_at: Date | null;
  user_agent: string | null;
  ip: string | null;
}
export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: Buffer;
  scopes: string[];
  created_at: Generated<Date>;
  expires_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}
export interface SettingsTable {
  key: string;
  value: unknown;
  updated_at: Date;
}

declare module '../database/database.js' {
  interface Database {
    users: UsersTable;
    sessions: SessionsTable;
    api_tokens: ApiTokensTable;
    settings: SettingsTable;
    recovery_codes: RecoveryCodesTable;
  }
}

export type UserRow = Selectable<UsersTable>;
export type TokenRow = Selectable<ApiTokensTable>;
export type SessionRow = UserRow & { session_id: string; session_expires_at: Date };
export type ApiTokenRow = UserRow & { token_id: string; token_scopes: string[]; token_expires_at: Date; token_revoked_at: Date | null; token_last_used_at: Date | null };
type Exec = Kysely<Database>;

export const authStore = {
  /** Serialises first-admin setups (this transaction) so exactly one can see an empty users table. */
  lockSetup: async (db: Exec) => {
    await sql`SELECT pg_advisory_xact_lock(${0x73657475})`.execute(db);
  },

  countUsers: async (db: Exec) => Number((await db.selectFrom('users').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n),

  userByUsername: (db: Exec, username: string) =>
    db.selectFrom('users').selectAll().where(sql<boolean>`lower(username) = lower(${username})`).executeTakeFirst(),

  userById: (db: Exec, id: string) => db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst(),

  listUsers: (db: Exec) => db.selectFrom('users').selectAll().orderBy('created_at').execute(),

  insertUser: (db: Exec, u: { id: string; username: string; password_hash: string; role: Role; display_name?: string | null }) =>
    db.insertInto('users').values(u).returningAll().executeTakeFirstOrThrow(),

  updateUser: (db: Exec, id: string, patch: Partial<Omit<UserRow, 'id' | 'created_at'>>) =>
    db.updateTable('users').set(patch).where('id', '=', id).returningAll().executeTakeFirstOrThrow(),

  /** Counts a failure and locks the account when the threshold is reached, atomically. */
  recordFailedLogin: async (db: Exec, id: string, threshold: number, lockSeconds: number) => {
    const r = await sql<{ failed_logins: number; locked_until: Date | null }>`
      UPDATE users SET
        failed_logins = CASE WHEN failed_logins + 1 >= ${threshold} THEN 0 ELSE failed_logins + 1 END,
        locked_until = CASE WHEN failed_logins + 1 >= ${threshold} THEN now() + make_interval(secs => ${lockSeconds}) ELSE locked_until END
      WHERE id = ${id} RETURNING failed_logins, locked_until`.execute(db);
    return r.rows[0];
  },

  insertSession: (db: Exec, s: { id: string; user_id: string; token_hash: Buffer; expires_at: Date; user_agent: string | null; ip: string | null }) =>
    db.insertInto('sessions').values(s).execute(),

  /** The session and its user in one round trip: this runs on every cookie or access-token request. */
  activeSession: async (db: Exec, by: { tokenHash: Buffer } | { id: string }) => {
    const r = await sql<SessionRow>`
      SELECT u.*, s.id AS session_id, s.expires_at AS session_expires_at
      FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE ${'tokenHash' in by ? sql`s.token_hash = ${by.tokenHash}` : sql`s.id = ${by.id}`}
        AND s.revoked_at IS NULL AND s.expires_at > now()`.execute(db);
    return r.rows[0];
  },

  /**
   * Records that a TOTP code of this time step was used, only if no code of this or a later step
   * was: one statement, so of two concurrent uses of one code exactly one sees its row updated.
   */
  consumeTotpStep: async (db: Exec, userId: string, step: number) => {
    const r = await sql`UPDATE users SET totp_last_step = ${String(step)}::bigint
      WHERE id = ${userId} AND (totp_last_step IS NULL OR totp_last_step < ${String(step)}::bigint) RETURNING id`.execute(db);
    return r.rows.length === 1;
  },

  /** Replaces the user's recovery codes (a new set makes every older code useless). */
  replaceRecoveryCodes: async (db: Exec, userId: string, hashes: Buffer[]) => {
    await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    if (hashes.length) await db.insertInto('recovery_codes').values(hashes.map((code_hash) => ({ user_id: userId, code_hash, used_at: null }))).execute();
  },

  /** Uses up one unused code: of two concurrent uses of the same code exactly one updates the row. */
  consumeRecoveryCode: async (db: Exec, userId: string, hash: Buffer) =>
    (await db.updateTable('recovery_codes').set({ used_at: new Date() }).where('user_id', '=', userId).where('code_hash', '=', hash).where('used_at', 'is', null).executeTakeFirst()).numUpdatedRows === 1n,

  unusedRecoveryCodes: async (db: Exec, userId: string) =>
    Number((await db.selectFrom('recovery_codes').select(sql<number>`count(*)`.as('n')).where('user_id', '=', userId).where('used_at', 'is', null).executeTakeFirstOrThrow()).n),

  /** Who the user picker may offer: see users.service.ts for the visibility rule. */
  searchUsers: async (db: Exec, o: { q: string; viewerId: string | null; limit: number }) => {
    const q = o.q.trim().toLowerCase();
    const like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const visible = o.viewerId
      ? sql`(u.id = ${o.viewerId} OR lower(u.username) = ${q} OR EXISTS (
          SELECT 1 FROM workspace_members mm JOIN workspaces mw ON mw.id = mm.workspace_id
          JOIN workspace_members om ON om.user_id = u.id JOIN workspaces ow ON ow.id = om.workspace_id
          WHERE mm.user_id = ${o.viewerId} AND (ow.path LIKE mw.path || '%' OR mw.path LIKE ow.path || '%')))`
      : sql`true`;
    return (
      await sql<{ id: string; username: string; display_name: string | null }>`
        SELECT u.id, u.username, u.display_name FROM users u
        WHERE u.disabled_at IS NULL AND ${visible}
          AND (${q} = '' OR lower(u.username) LIKE ${like} OR lower(coalesce(u.display_name, '')) LIKE ${like})
        ORDER BY (lower(u.username) = ${q}) DESC, (lower(u.username) LIKE ${`${q}%`} OR lower(coalesce(u.display_name, '')) LIKE ${`${q}%`}) DESC, lower(u.username)
        LIMIT ${o.limit}`.execute(db)
    ).rows;
  },

  /** Seconds left on a sign-in lock for this username key (known account or not), or 0. */
  loginLockSeconds: async (db: Exec, key: Buffer) => {
    const r = await sql<{ s: number }>`SELECT ceil(extract(epoch FROM locked_until - now()))::int AS s FROM login_failures
      WHERE username_key = ${key} AND locked_until > now()`.execute(db);
    return r.rows[0]?.s ?? 0;
  },

  /**
   * Counts a failed sign-in for a submitted username, whether or not it names an account, and
   * locks it when `threshold` failures come each within `windowSeconds` of the previous one.
   * Answers whether this failure locked it.
   */
  recordLoginFailure: async (db: Exec, key: Buffer, threshold: number, windowSeconds: number) => {
    // Failures older than the window no longer count towards a lock.
    const n = sql`(CASE WHEN f.updated_at < now() - make_interval(secs => ${windowSeconds}) THEN 0 ELSE f.failures END) + 1`;
    const r = await sql<{ locked: boolean }>`
      INSERT INTO login_failures AS f (username_key, failures, locked_until, updated_at)
      VALUES (${key}, CASE WHEN ${threshold} <= 1 THEN 0 ELSE 1 END,
              CASE WHEN ${threshold} <= 1 THEN now() + make_interval(secs => ${windowSeconds}) END, now())
      ON CONFLICT (username_key) DO UPDATE SET
        failures = CASE WHEN ${n} >= ${threshold} THEN 0 ELSE ${n} END,
        locked_until = CASE WHEN ${n} >= ${threshold} THEN now() + make_interval(secs => ${windowSeconds}) ELSE f.locked_until END,
        updated_at = now()
      RETURNING coalesce(locked_until > now(), false) AS locked`.execute(db);
    return r.rows[0]?.locked ?? false;
  },

  clearLoginFailures: (db: Exec, key: Buffer) => sql`DELETE FROM login_failures WHERE username_key = ${key}`.execute(db),

  /** Forgets failures that can no longer count or lock: the table holds only the current window. */
  pruneLoginFailures: (db: Exec, windowSeconds: number) =>
    sql`DELETE FROM login_failures WHERE updated_at < now() - make_interval(secs => ${windowSeconds})
          AND (locked_until IS NULL OR locked_until < now())`.execute(db),

  revokeSession: (db: Exec, id: string) => db.updateTable('sessions').set({ revoked_at: new Date() }).where('id', '=', id).where('revoked_at', 'is', null).execute(),

  /** Ends every live session of the user, except `keep` (the one asking, on a password change). */
  revokeUserSessions: async (db: Exec, userId: string, keep?: string) => {
    let q = db.updateTable('sessions').set({ revoked_at: new Date() }).where('user_id', '=', userId).where('revoked_at', 'is', null);
    if (keep) q = q.where('id', '!=', keep);
    return Number((await q.executeTakeFirst()).numUpdatedRows);
  },

  /** Revokes every personal API token of the user for good (re-enabling the user does not revive them). */
  revokeUserTokens: async (db: Exec, userId: string, keep?: string) => {
    let q = db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('user_id', '=', userId).where('revoked_at', 'is', null);
    if (keep) q = q.where('id', '!=', keep);
    return Number((await q.executeTakeFirst()).numUpdatedRows);
  },

  insertToken: (db: Exec, t: { id: string; user_id: string; name: string; token_hash: Buffer; scopes: string[]; expires_at: Date }) =>
    db.insertInto('api_tokens').values(t).returningAll().executeTakeFirstOrThrow(),

  listTokens: (db: Exec, userId: string) => db.selectFrom('api_tokens').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').execute(),

  revokeToken: (db: Exec, userId: string, id: string) =>
    db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('id', '=', id).where('user_id', '=', userId).where('revoked_at', 'is', null).returningAll().executeTakeFirst(),

  /** Usernames by user id (ids of users that no longer exist are left out). */
  usernames: async (db: Exec, ids: string[]): Promise<Map<string, string>> => {
    if (!ids.length) return new Map();
    const r = await sql<{ id: string; username: string }>`SELECT id::text, username FROM users WHERE id = ANY(${ids}::uuid[])`.execute(db);
    return new Map(r.rows.map((u) => [u.id, u.username]));
  },

  /** Whether `tokenId` is one of the user's own tokens, not revoked (before anyone may change its grants). */
  isOwnLiveToken: async (db: Exec, userId: string, tokenId: string): Promise<boolean> => {
    const r = await sql<{ id: string }>`SELECT id FROM api_tokens WHERE id = ${tokenId} AND user_id = ${userId} AND revoked_at IS NULL`.execute(db);
    return r.rows.length > 0;
  },

  /** The token and its owner in one round trip; last_used_at is touched at most once a minute. */
  activeToken: async (db: Exec, tokenHash: Buffer) => {
    const r = await sql<ApiTokenRow>`
      SELECT u.*, t.id AS token_id, t.scopes AS token_scopes, t.expires_at AS token_expires_at,
             t.revoked_at AS token_revoked_at, t.last_used_at AS token_last_used_at
      FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ${tokenHash}`.execute(db);
    return r.rows[0];
  },

  /** A live API token by id, with its owner: an open stream re-checks the credential it started with. */
  activeTokenById: async (db: Exec, id: string) => {
    const r = await sql<ApiTokenRow>`
      SELECT u.*, t.id AS token_id, t.scopes AS token_scopes, t.expires_at AS token_expires_at,
             t.revoked_at AS token_revoked_at, t.last_used_at AS token_last_used_at
      FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ${id}`.execute(db);
    return r.rows[0];
  },

  touchToken: (db: Exec, id: string) =>
    sql`UPDATE api_tokens SET last_used_at = now() WHERE id = ${id} AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`.execute(db),

  getSetting: async <T>(db: Exec, key: string): Promise<T | undefined> =>
    (await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst())?.value as T | undefined,

  setSetting: (db: Exec, key: string, value: unknown) =>
    db
      .insertInto('settings')
      .values({ key, value: JSON.stringify(value), updated_at: new Date() })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(value), updated_at: new Date() }))
      .execute(),
};
