import { DatahubApi, userLabel, type CairnClient, type Workspace } from '@cairn/sdk';
import { CliError } from './errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: string) => UUID.test(v);

/** "Country/District/Office": a workspace's names from the top, for messages and lists. */
export function workspacePath(w: Workspace, all: Workspace[]): string {
  const byId = new Map(all.map((x) => [x.id, x]));
  const names: string[] = [];
  for (let cur: Workspace | undefined = w; cur && names.length < 50; cur = cur.parentId ? byId.get(cur.parentId) : undefined) names.unshift(cur.name);
  return names.join('/');
}

/**
 * A workspace by id, by name, or by its path of names ("Zambia/Central/Ibombo"), case-insensitive.
 * Unknown or ambiguous names are usage errors (exit 2) that say what to type instead.
 */
export async function resolveWorkspace(client: CairnClient, given: string, flag = '--workspace'): Promise<string> {
  if (isUuid(given)) return given;
  const all = await client.workspaces.list();
  const want = given.trim().toLowerCase();
  const hits = all.filter((w) => (want.includes('/') ? workspacePath(w, all).toLowerCase() === want : w.name.toLowerCase() === want));
  if (hits.length === 1) return hits[0]!.id;
  if (!hits.length) throw new CliError(`${flag}: no workspace named ${JSON.stringify(given)} that you can see (list them with \`cairn workspaces list\`)`, 'unknown_workspace', 2);
  throw new CliError(`${flag}: ${JSON.stringify(given)} names ${hits.length} workspaces: ${hits.map((w) => workspacePath(w, all)).join(', ')}; give the path of names or the id`, 'ambiguous_workspace', 2);
}

/** A subject by id or by its identifier in a workspace (exact, case-insensitive). */
export async function resolveSubject(client: CairnClient, workspaceId: string, given: string, flag = '--subject'): Promise<string> {
  if (isUuid(given)) return given;
  const r = await new DatahubApi(client.http).subjects(workspaceId, { q: given, limit: 50 });
  const want = given.trim().toLowerCase();
  const exact = r.subjects.filter((s) => s.identifier.toLowerCase() === want);
  // An identifier first; else a label (unique in the workspace, e.g. P-017 for a derived identifier).
  const hits = exact.length ? exact : r.subjects.filter((s) => (s.label ?? '').toLowerCase() === want);
  if (hits.length === 1) return hits[0]!.id;
  if (!hits.length) throw new CliError(`${flag}: no subject with the identifier or label ${JSON.stringify(given)} in this workspace`, 'unknown_subject', 2);
  throw new CliError(`${flag}: ${JSON.stringify(given)} matches ${hits.length} subjects; give the id`, 'ambiguous_subject', 2);
}

/** A person by id, exact username, or exact name (as the user picker finds them). */
export async function resolveUser(client: CairnClient, given: string, flag = 'user'): Promise<string> {
  if (isUuid(given)) return given;
  const want = given.trim().toLowerCase();
  const found = await client.users.search(given.trim(), { limit: 50 });
  const byUsername = found.filter((u) => u.username.toLowerCase() === want);
  if (byUsername.length === 1) return byUsername[0]!.id;
  const byName = found.filter((u) => (u.displayName ?? '').toLowerCase() === want);
  if (byName.length === 1) return byName[0]!.id;
  if (byName.length > 1) throw new CliError(`${flag}: ${JSON.stringify(given)} is the name of ${byName.length} people: ${byName.map(userLabel).join(', ')}; give the username`, 'ambiguous_user', 2);
  throw new CliError(`${flag}: nobody you can see is called ${JSON.stringify(given)} (try \`cairn users search\`)`, 'unknown_user', 2);
}
