import { sql, type Kysely } from 'kysely';
import { CairnClient } from '@cairn/sdk';
import type { Database } from '../src/database/database.js';
import { newId } from '../src/kernel/ids.js';

/**
 * Test data for civil registration: places of the administrative tree and users with a
 * registration role and office.
 */

/** Inserts a workspace of the administrative tree directly (the locations import is tested on its own). */
export async function place(db: Kysely<Database>, name: string, kind: 'area' | 'office', parent?: string): Promise<string> {
  const id = newId();
  const parentPath = parent ? (await sql<{ path: string }>`SELECT path FROM workspaces WHERE id = ${parent}`.execute(db)).rows[0]!.path : '/';
  await sql`INSERT INTO workspaces (id, parent_id, name, path, kind, external_id) VALUES (${id}, ${parent ?? null}, ${name}, ${`${parentPath}${id}/`}, ${kind}, ${name.toUpperCase()})`.execute(db);
  return id;
}

export type RegistrationClient = CairnClient & { userId: string; token: string };

/** A member signed in over the API, with a registration role at an office (none when role is null). */
export async function registrationUser(baseUrl: string, admin: CairnClient, name: string, password: string, role: string | null, office: string | null): Promise<RegistrationClient> {
  const u = await admin.users.create({ username: name, password, role: 'member' });
  const c = new CairnClient({ baseUrl });
  const login = await c.auth.login({ username: name, password });
  c.setToken(login.accessToken);
  if (role) await admin.registrations.setUserProfile(u.id, { officeId: office, role: role as never });
  return Object.assign(c, { userId: u.id, token: login.accessToken });
}
