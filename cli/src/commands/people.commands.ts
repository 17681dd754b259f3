import type { Command } from 'commander';
import { userLabel, type CairnClient, type Role } from '@cairn/sdk';
import { authedClient } from '../context.js';
import { CliError } from '../errors.js';
import { table } from '../format.js';
import { resolveUser, resolveWorkspace, workspacePath } from '../resolve.js';

const ROLES = ['viewer', 'member', 'manager'];
const json = (v: unknown): void => void process.stdout.write(`${JSON.stringify(v)}\n`);
const role = (v: string) => {
  if (!ROLES.includes(v)) throw new CliError(`--role must be one of ${ROLES.join(', ')}, not ${JSON.stringify(v)}`, 'usage_error', 2);
  return v;
};
const days = (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 366) throw new CliError(`--days must be 1-366, not ${JSON.stringify(v)}`, 'usage_error', 2);
  return Number(v);
};
/** Runs a command with the signed-in client. */
const withClient = <A extends unknown[]>(fn: (c: CairnClient, ...args: A) => Promise<void>) => async (...args: A) => fn(await authedClient(), ...args);

/**
 * People and their access by name, never by UUID: `cairn users`, `cairn workspaces list|create|
 * rename|members|add-member|remove-member`, `cairn tokens`, `cairn apps`. Workspaces and people
 * are given by name (workspaces also by their path of names, A/B/C); ids work too.
 */
export function registerPeopleCommands(program: Command): void {
  const users = program.command('users').description('accounts: list, create, find by name');
  users
    .command('search <text>')
    .description('find people by username or name (as the user picker does)')
    .option('--json', 'print JSON')
    .action(withClient(async (c, text: string, o: { json?: boolean }) => {
      const found = await c.users.search(text, { limit: 50 });
      if (o.json) return json(found);
      process.stdout.write(`${table(['username', 'name'], found.map((u) => [u.username, u.displayName ?? '']))}\n`);
    }));
  users
    .command('list')
    .description('every account (administrators)')
    .option('--json', 'print JSON')
    .action(withClient(async (c, o: { json?: boolean }) => {
      const list = await c.users.list();
      if (o.json) return json(list);
      process.stdout.write(`${table(['username', 'name', 'role', 'two-step', 'status'], list.map((u) => [u.username, u.displayName ?? '', u.role, u.totpEnabled ? 'on' : 'off', u.disabled ? 'disabled' : 'active']))}\n`);
    }));
  users
    .command('create <username>')
    .description('create an account; the initial password comes from CAIRN_NEW_PASSWORD (never a flag: it would stay in the shell history)')
    .option('--name <name>', "the person's name")
    .option('--admin', 'an administrator (default: member)')
    .action(withClient(async (c, username: string, o: { name?: string; admin?: boolean }) => {
      const password = process.env.CAIRN_NEW_PASSWORD;
      if (!password) throw new CliError('set CAIRN_NEW_PASSWORD to the initial password', 'usage_error', 2);
      const u = await c.users.create({ username, password, role: (o.admin ? 'admin' : 'member') as Role, displayName: o.name ?? null });
      process.stdout.write(`Created ${userLabel(u)} (${u.role})\n`);
    }));
  users
    .command('set-name <user> <name>')
    .description("set a person's name (yours, or anyone's as an administrator); \"\" clears it")
    .action(withClient(async (c, user: string, name: string) => {
      const u = await c.users.setDisplayName(await resolveUser(c, user), name || null);
      process.stdout.write(`Now ${userLabel(u)}\n`);
    }));

  const ws = program.commands.find((x) => x.name() === 'workspaces') ?? program.command('workspaces').description('workspaces');
  ws.command('list')
    .description('the workspaces you can see, as paths of names, with your role')
    .option('--json', 'print JSON')
    .action(withClient(async (c, o: { json?: boolean }) => {
      const all = await c.workspaces.list();
      if (o.json) return json(all);
      const rows = all.map((w) => [workspacePath(w, all), w.role ?? '', w.id]).sort((a, b) => a[0]!.localeCompare(b[0]!));
      process.stdout.write(`${table(['workspace', 'your role', 'id'], rows)}\n`);
    }));
  ws.command('create <name>')
    .description('create a workspace (top level: administrators), or one inside another with --parent')
    .option('--parent <workspace>', 'the workspace to create it in (name, path of names or id)')
    .action(withClient(async (c, name: string, o: { parent?: string }) => {
      const w = await c.workspaces.create({ name, parentId: o.parent ? await resolveWorkspace(c, o.parent, '--parent') : null });
      process.stdout.write(`Created ${w.name} (${w.id})\n`);
    }));
  ws.command('rename <workspace> <name>')
    .description('rename a workspace you manage')
    .action(withClient(async (c, workspace: string, name: string) => {
      const w = await c.workspaces.rename(await resolveWorkspace(c, workspace, 'workspace'), name);
      process.stdout.write(`Renamed to ${w.name}\n`);
    }));
  ws.command('members <workspace>')
    .description("a workspace's members and their roles")
    .option('--json', 'print JSON')
    .action(withClient(async (c, workspace: string, o: { json?: boolean }) => {
      const list = await c.workspaces.members(await resolveWorkspace(c, workspace, 'workspace'));
      if (o.json) return json(list);
      process.stdout.write(`${table(['username', 'name', 'role'], list.map((m) => [m.username, m.displayName ?? '', m.role]))}\n`);
    }));
  ws.command('add-member <workspace> <user>')
    .description('add a person (username or name) or change their role')
    .option('--role <role>', ROLES.join(', '), role, 'member')
    .action(withClient(async (c, workspace: string, user: string, o: { role: string }) => {
      await c.workspaces.setMember(await resolveWorkspace(c, workspace, 'workspace'), await resolveUser(c, user), o.role);
      process.stdout.write(`${user} is now ${o.role} of ${workspace}\n`);
    }));
  ws.command('remove-member <workspace> <user>')
    .description('remove a person from a workspace')
    .action(withClient(async (c, workspace: string, user: string) => {
      await c.workspaces.removeMember(await resolveWorkspace(c, workspace, 'workspace'), await resolveUser(c, user));
      process.stdout.write(`Removed ${user} from ${workspace}\n`);
    }));

  const tokens = program.command('tokens').description('your personal API tokens');
  tokens
    .command('list')
    .option('--json', 'print JSON')
    .action(withClient(async (c, o: { json?: boolean }) => {
      const list = await c.auth.tokens.list();
      if (o.json) return json(list);
      process.stdout.write(`${table(['name', 'scopes', 'expires', 'status', 'id'], list.map((t) => [t.name, t.scopes.join(' '), (t.expiresAt ?? 'never').slice(0, 10), t.revokedAt ? 'revoked' : 'active', t.id]))}\n`);
    }));
  tokens
    .command('create <name>')
    .description('create a token; the secret is printed once, on stdout')
    .requiredOption('--scope <scope...>', 'permissions it carries (see `cairn tokens scopes`)')
    .option('--days <n>', 'days until it expires (1-366)', days, 30)
    .action(withClient(async (c, name: string, o: { scope: string[]; days: number }) => {
      const r = await c.auth.tokens.create({ name, scopes: o.scope, expiresInDays: o.days });
      process.stderr.write(`Created ${r.token.name}, expires ${(r.token.expiresAt ?? 'never').slice(0, 10)}. Copy the secret now: it is not shown again.\n`);
      process.stdout.write(`${r.secret}\n`);
    }));
  tokens
    .command('revoke <name>')
    .description('revoke a token (by name or id)')
    .action(withClient(async (c, name: string) => {
      const hits = (await c.auth.tokens.list()).filter((t) => !t.revokedAt && (t.id === name || t.name === name));
      if (hits.length !== 1) throw new CliError(hits.length ? `${hits.length} active tokens are called ${JSON.stringify(name)}; give the id` : `no active token ${JSON.stringify(name)}`, hits.length ? 'ambiguous_token' : 'unknown_token', 2);
      await c.auth.tokens.revoke(hits[0]!.id);
      process.stdout.write(`Revoked ${hits[0]!.name}\n`);
    }));
  tokens
    .command('scopes')
    .description('every permission a token can carry')
    .action(withClient(async (c) => {
      process.stdout.write(`${table(['scope', 'what it allows'], (await c.auth.scopes()).map((s) => [s.name, s.description]))}\n`);
    }));

  const apps = program.command('apps').description('third-party apps (administrators)');
  apps
    .command('list')
    .option('--json', 'print JSON')
    .action(withClient(async (c, o: { json?: boolean }) => {
      const list = await c.apps.list();
      if (o.json) return json(list);
      process.stdout.write(`${table(['name', 'status', 'id'], list.map((a) => [a.name, a.status, a.id]))}\n`);
    }));
  apps
    .command('register <name>')
    .description('register an app; prints its one-time association code')
    .option('--description <text>', 'what it is for')
    .action(withClient(async (c, name: string, o: { description?: string }) => {
      const a = await c.apps.register({ name, description: o.description });
      process.stderr.write(`Registered ${a.name} (${a.id}). Hand this association code to the app; it works once:\n`);
      process.stdout.write(`${a.associationCode}\n`);
    }));
}
