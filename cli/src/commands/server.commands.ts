import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { askHidden, readStdinSecret } from '../prompt.js';

/**
 * The server is loaded only by the commands that run it, so `cairn events list` does not pay
 * for Fastify, PostgreSQL drivers and migrations at start-up.
 */
export async function serverExport<T>(name: string): Promise<T> {
  const spec = '@cairn/server';
  const mod = (await import(spec)) as Record<string, unknown>;
  const fn = mod[name];
  if (typeof fn !== 'function') throw new CliError(`@cairn/server does not export ${name}()`, 'not_available');
  return fn as T;
}

// Signatures of server/src/index.ts exports (loaded by name so the CLI's type-check does not
// compile the whole server).
type ServerMain = () => Promise<void>;
type RunMigrations = () => Promise<string[]>;
type CreateFirstAdmin = (username: string, password: string) => Promise<unknown>;

export function registerServerCommands(program: Command): void {
  program
    .command('serve')
    .description('start the Cairn server (API and web app); settings come from the environment (PORT, CAIRN_DATA_DIR, DATABASE_URL, ...)')
    .action(async () => {
      // The server's main() is what `npm start` runs: it logs where it listens, reports a bad
      // setting in one line, and stops cleanly on SIGINT/SIGTERM.
      const serverMain = await serverExport<ServerMain>('main');
      await serverMain();
    });

  program
    .command('migrate')
    .description('apply pending database migrations and exit (the server also does this at start)')
    .action(async () => {
      const runMigrations = await serverExport<RunMigrations>('runMigrations');
      const applied = await runMigrations();
      process.stdout.write(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}\n` : 'Database is up to date\n');
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
      await createFirstAdmin(opts.username, password);
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
