import { Command, CommanderError } from 'commander';
import { registerAuthCommands } from './commands/auth.commands.js';
import { registerEventsCommands } from './commands/events.commands.js';
import { registerLedgerCommands } from './commands/ledger.commands.js';
import { registerProjectionsCommands } from './commands/projections.commands.js';
import { registerDatasetsCommands } from './commands/datasets.js';
import { registerDatahubCommands } from './commands/datahub.js';
import { registerServerCommands } from './commands/server.commands.js';
import { registerWorkspacesCommands } from './commands/workspaces.commands.js';
import { registerRegistrationsCommands } from './commands/registrations.commands.js';
import { registerBackupCommands } from './commands/backup.commands.js';
import { registerWebhooksCommands } from './commands/webhooks.commands.js';
import { registerAssignmentsCommands } from './commands/assignments.commands.js';
import { registerPeopleCommands } from './commands/people.commands.js';
import { errorLine, oneLine } from './errors.js';
import { closePrompts } from './prompt.js';

export function createProgram(): Command {
  const program = new Command('cairn')
    .description('Cairn: capture, register, version and share records about people')
    .version('0.1.0', '-V, --version')
    // Root options only before the command: `datasets snapshot DS --version 2.0.0` is the command's
    // own --version, not the CLI's (it printed 0.1.0 and did nothing).
    .enablePositionalOptions()
    .showHelpAfterError(false)
    .configureOutput({ outputError: () => {} })
    .exitOverride();
  registerServerCommands(program);
  registerAuthCommands(program);
  registerEventsCommands(program);
  registerLedgerCommands(program);
  registerProjectionsCommands(program);
  registerDatasetsCommands(program);
  registerDatahubCommands(program);
  registerWorkspacesCommands(program);
  registerRegistrationsCommands(program);
  registerBackupCommands(program);
  registerWebhooksCommands(program);
  registerAssignmentsCommands(program);
  registerPeopleCommands(program);
  // Every subcommand reports usage errors through the same single line.
  const apply = (cmd: Command) => {
    cmd.configureOutput({ outputError: () => {} }).exitOverride();
    cmd.commands.forEach(apply);
  };
  program.commands.forEach(apply);
  return program;
}

/** Runs the CLI; answers the exit code instead of exiting, so it can be driven in-process too. */
export async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end up here too, with exit code 0.
      if (e.exitCode === 0) return 0;
      if (e.code === 'commander.help' || e.code === 'commander.helpDisplayed') return e.exitCode;
      const message = oneLine(e.message.replace(/^error:\s*/i, ''));
      process.stderr.write(`cairn: ${message} (usage_error)\n`);
      return 2;
    }
    const { line, exitCode } = errorLine(e);
    process.stderr.write(`${line}\n`);
    return exitCode;
  } finally {
    closePrompts();
  }
}
