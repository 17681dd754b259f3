import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql, type Kysely } from 'kysely';
import { CairnClient } from '@cairn/sdk';
import type { Database } from '../src/database/database.js';
import { newId } from '../src/kernel/ids.js';
import { startTestServer } from './harness.js';

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

export type RegistrationTree = Record<'country' | 'province' | 'district1' | 'office1' | 'district2' | 'office2', string>;

/**
 * A server with its first admin and the usual administrative tree: a country, a province, two
 * districts with an office each. `names` renames places (e.g. one whose name starts with "=").
 */
export async function registrationWorld(password: string, names: Partial<Record<keyof RegistrationTree, string>> = {}) {
  const server = await startTestServer({ CAIRN_LOGIN_RATE_LIMIT: '1000' });
  const admin = new CairnClient({ baseUrl: server.url });
  admin.setToken((await admin.setup.create({ username: 'admin', password })).accessToken);
  const at = (key: keyof RegistrationTree, fallback: string, kind: 'area' | 'office', parent?: string) => place(server.services.db, names[key] ?? fallback, kind, parent);
  const tree = {} as RegistrationTree;
  tree.country = await at('country', 'Country', 'area');
  tree.province = await at('province', 'Province', 'area', tree.country);
  tree.district1 = await at('district1', 'District One', 'area', tree.province);
  tree.office1 = await at('office1', 'Office One', 'office', tree.district1);
  tree.district2 = await at('district2', 'District Two', 'area', tree.province);
  tree.office2 = await at('office2', 'Office Two', 'office', tree.district2);
  const user = (name: string, role: string | null, office: string | null) => registrationUser(server.url, admin, name, password, role, office);
  /** The people of a test by key, each [username, role, office] as for `user`, made one after another. */
  const users = async <K extends string>(people: Record<K, [name: string, role: string | null, office: string | null]>) => {
    const made = {} as Record<K, RegistrationClient>;
    for (const key of Object.keys(people) as K[]) {
      const [name, role, office] = people[key];
      made[key] = await user(name, role, office);
    }
    return made;
  };
  return { server, admin, tree, user, users };
}

export const today = () => new Date().toISOString().slice(0, 10);

/** Answers for the shipped birth type: a girl born today in `placeOfBirth`, with her mother. */
export const birthAnswers = (placeOfBirth: string, over: Record<string, unknown> = {}) => ({
  'child.lastName': 'Diallo',
  'child.sex': 'female',
  'child.dob': today(),
  'child.placeOfBirth': placeOfBirth,
  'mother.firstName': 'Awa',
  'mother.lastName': 'Diallo',
  ...over,
});

/**
 * A real HTTP server on loopback playing the external system of an action hook: `answer` decides
 * each request's status and JSON body (and a delay, to be slower than the hook's timeout); every
 * request is kept with its headers for the signature checks.
 */
export async function hookReceiver(answer: () => { status: number; json: unknown; delayMs?: number }) {
  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const a = answer();
      const send = () => res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.json));
      if (a.delayMs) setTimeout(send, a.delayMs);
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
