import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { askHidden, readStdinSecret } from '../prompt.js';

/**
 * The server is loaded only by the commands that run it, so `cairn events list` does not pay
 * for Fastify, PostgreSQL drivers and migrations at start-up.
 */
async function serverExport<T>(name: string): Promise<T> {
  const spec = '@cairn/server';
  const mod = (await import(spec)) as Record<string, unknown>;
  const fn = mod[name];
  if (typeof fn !== 'function') throw new CliError(`@cairn/server does not export ${name}()`, 'not_available');
  return fn as T;
}

type StartServer = () => Promise<{ close?: () => Promise<void>; url?: string } | unknown>;
type RunMigrations = () => Promise<unknown>;
type CreateFirstAdmin = (input: { username: string; password: string }) => Promise<{ id?: string; username?: string } | unknown>;

export function registerServerCommands(program: Command): void {
  program
    .command('serve')
    .description('start the Cairn server (API and web app); settings come from the environment (PORT, CAIRN_DATA_DIR, DATABASE_URL, ...)')
    .action(async () => {
      const startServer = await serverExport<StartServer>('startServer');
      // The server installs its own SIGINT/SIGTERM handling and keeps the process alive.
      await startServer();
    });

  program
    .command('migrate')
    .description('apply pending database migrations and exit (the server also does this at start)')
    .action(async () => {
      const runMigrations = await serverExport<RunMigrations>('runMigrations');
      const result = await runMigrations();
      const applied = (result as { applied?: unknown })?.applied;
      if (Array.isArray(applied)) process.stdout.write(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}\n` : 'Database is up to date\n');
      else process.stdout.write('Migrations applied\n');
    });

  const admin = program.command('admin').description('administration that works on the database directly, without a running server');
  admin
    .command('create')
    .description('create the first admin account (refused once any user exists)')
    .requiredOption('--username <name>', 'username of the new admin')
    .option('--password-stdin', 'read the password from the first line of stdin instead of prompting')
    .action(async (opts: { username: string; passwordStdin?: boolean }) => {
      const password = opts.passwordStdin ? await readStdinSecret('password') : await promptNewPassword();
      const createFirstAdmin = await serverExport<CreateFirstAdmin>('createFirstAdmin');
      await createFirstAdmin({ username: opts.username, password });
      process.stdout.write(`Created admin ${opts.username}\n`);
    });
}

async function promptNewPassword(): Promise<string> {
  const a = await askHidden('Password: ', 'password');
  if (!a) throw new CliError('the password is empty', 'input_required');
  if (process.stdin.isTTY) {
    const b = await askHidden('Repeat password: ', 'password');
    if (a !== b) throw new CliError('the passwords do not match', 'input_mismatch');
  }
  return a;
}
