import type { Command } from 'commander';
import { AssignmentsApi, ASSIGNMENT_STATUSES, DatahubApi, type AssignmentStatus } from '@cairn/sdk';
import { authedClient } from '../context.js';
import { CliError } from '../errors.js';
import { table } from '../format.js';

const isUuid = (v: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v);

/** NAME@EDITION, e.g. phq-9@1 (the edition defaults to 1). */
function instrumentRef(v: string) {
  const m = /^([a-z0-9]+(?:-[a-z0-9]+)*)(?:@(\d+))?$/.exec(v);
  if (!m) throw new CliError(`--instrument must be NAME or NAME@EDITION (e.g. phq-9@1), not ${JSON.stringify(v)}`, 'usage_error', 2);
  return { name: m[1]!, edition: m[2] ? Number(m[2]) : 1 };
}
function days(v: string) {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 365) throw new CliError(`--days must be 1 to 365, not ${JSON.stringify(v)}`, 'usage_error', 2);
  return Number(v);
}

/** A subject by its identifier in a workspace (or by id): people name subjects, not UUIDs. */
async function subjectId(hub: DatahubApi, workspace: string, subject: string): Promise<string> {
  if (isUuid(subject)) return subject;
  const r = await hub.subjects(workspace, { q: subject, limit: 50 });
  const hit = r.subjects.find((s) => s.identifier === subject);
  if (!hit) throw new CliError(`no subject ${JSON.stringify(subject)} in this workspace`, 'not_found');
  return hit.id;
}

/** `cairn gateway` (the remote-capture gateway process) and `cairn assignments ...`. */
export function registerAssignmentsCommands(program: Command): void {
  program
    .command('gateway')
    .description('start the remote-capture gateway (its own process and database; settings from GATEWAY_* in the environment, see docs/remote-capture.md)')
    .action(async () => {
      // Loaded by name: the CLI's type-check need not compile the gateway.
      const spec = '@cairn/gateway/src/main.ts';
      const { startGateway } = (await import(spec)) as { startGateway: () => Promise<{ stop(): Promise<void> }> };
      const g = await startGateway();
      await new Promise<void>((resolve) => {
        const stop = () => void g.stop().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  const a = program.command('assignments').description('remote capture: send instruments to subjects to fill at home through the gateway');
  a.command('send <subject>')
    .description('send an instrument or a series to a subject (by identifier, with --workspace); prints the link')
    .requiredOption('--instrument <name@edition>', 'the instrument or series, e.g. phq-9@1', instrumentRef)
    .option('--workspace <id>', 'the workspace of the subject (when the subject is given by identifier)')
    .option('--language <code>', "the participant's language (default: the instrument's first)")
    .option('--days <n>', 'how long the link works', days, 14)
    .option('--email <address>', 'email the link (needs SMTP configured on the server)')
    .action(async (subject: string, o: { instrument: { name: string; edition: number }; workspace?: string; language?: string; days: number; email?: string }) => {
      const client = await authedClient();
      if (!isUuid(subject) && !o.workspace) throw new CliError('give --workspace to name the subject by its identifier', 'usage_error', 2);
      const id = await subjectId(new DatahubApi(client.http), o.workspace ?? '', subject);
      const r = await new AssignmentsApi(client.http).create(id, { instrument: o.instrument, language: o.language, expiresInDays: o.days, email: o.email });
      process.stdout.write(`${r.assignment.link}\n`);
      if (r.mail) process.stderr.write(r.mail.sent ? 'Emailed.\n' : `Not emailed: ${r.mail.error}\n`);
    });

  a.command('list')
    .description("a workspace's assignments with their status")
    .requiredOption('--workspace <id>', 'the workspace')
    .option('--status <status>', `only one of ${ASSIGNMENT_STATUSES.join(', ')}`)
    .option('--json', 'print JSON')
    .action(async (o: { workspace: string; status?: string; json?: boolean }) => {
      if (o.status && !ASSIGNMENT_STATUSES.includes(o.status as AssignmentStatus)) throw new CliError(`--status must be one of ${ASSIGNMENT_STATUSES.join(', ')}`, 'usage_error', 2);
      const r = await new AssignmentsApi((await authedClient()).http).forWorkspace(o.workspace, { status: o.status as AssignmentStatus | undefined });
      if (o.json) return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      process.stdout.write(`${table(['ID', 'SUBJECT', 'INSTRUMENT', 'STATUS', 'PARTS', 'EXPIRES'], r.assignments.map((x) => [x.id, x.subject.identifier ?? '', `${x.instrument.name}@${x.instrument.edition}`, x.status, `${x.partsReceived}/${x.parts}${x.invalidParts ? ` (${x.invalidParts} kept aside)` : ''}`, x.expiresAt.slice(0, 16).replace('T', ' ')]))}\n`);
    });

  a.command('cancel <id>')
    .description('cancel an assignment: its link stops working at once')
    .action(async (id: string) => {
      const x = await new AssignmentsApi((await authedClient()).http).cancel(id);
      process.stdout.write(`Cancelled (${x.subject.identifier ?? x.subject.id}, ${x.instrument.name})\n`);
    });

  a.command('pull')
    .description('pull sealed answers from the gateway now (the server also does it every few seconds; admins)')
    .action(async () => {
      const r = await new AssignmentsApi((await authedClient()).http).pull();
      process.stdout.write(r.skipped ? 'Another server is pulling right now\n' : `Recorded ${r.recorded}, kept aside ${r.invalid}\n`);
    });
}
