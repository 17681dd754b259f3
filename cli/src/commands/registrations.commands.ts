import fs from 'node:fs';
import type { Command } from 'commander';
import { isCairnError, localise, type ActionInput, type Registration, type RegistrationHistoryItem, type RegistrationListQuery, type RegistrationStatus, type Workqueue } from '@cairn/sdk';
import { authedClient } from '../context.js';
import { CliError } from '../errors.js';
import { table, truncate } from '../format.js';
import { registrationsImportCommand } from './registrations-import.js';

function parseObject(raw: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new CliError(`${what} is not valid JSON: ${(e as Error).message}`, 'usage_error', 2);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CliError(`${what} must be a JSON object, e.g. '{"child.lastName":"Diallo"}'`, 'usage_error', 2);
  return v as Record<string, unknown>;
}

/** --data '{...}', --data @file.json, and repeated --set field=value (values parsed as JSON when they are). */
function collectData(opts: { data?: string; set?: string[] }): Record<string, unknown> | undefined {
  let data: Record<string, unknown> | undefined;
  if (opts.data !== undefined) {
    const raw = opts.data.startsWith('@') ? readFile(opts.data.slice(1)) : opts.data;
    data = parseObject(raw, '--data');
  }
  for (const kv of opts.set ?? []) {
    const eq = kv.indexOf('=');
    if (eq < 1) throw new CliError(`--set takes field=value, not ${JSON.stringify(kv)}`, 'usage_error', 2);
    const value = kv.slice(eq + 1);
    let parsed: unknown = value;
    if (/^(\{|\[|true$|false$|null$)/.test(value)) {
      try {
        parsed = JSON.parse(value);
      } catch {
        /* plain text */
      }
    }
    (data ??= {})[kv.slice(0, eq)] = parsed;
  }
  return data;
}

function readFile(p: string): string {
  try {
    return p === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(p, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${p}: ${(e as Error).message}`, 'usage_error', 2);
  }
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Field errors spelled out (`child.dob: an answer is required; ...`) instead of "3 problems". */
function explained<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      const errors = isCairnError(e) ? (e.details as { errors?: Array<{ field?: string; pointer?: string; message: string }> } | undefined)?.errors : undefined;
      if (!isCairnError(e) || !Array.isArray(errors) || !errors.length) throw e;
      const list = errors.slice(0, 10).map((x) => `${x.field || x.pointer || '(document)'}: ${x.message}`).join('; ');
      throw new CliError(`${e.message}: ${list}${errors.length > 10 ? `; and ${errors.length - 10} more` : ''}`, e.code, 1);
    }
  };
}

function personOf(r: Registration): string {
  const d = r.data;
  const who = ['child', 'deceased', 'groom', 'bride'].find((p) => d[`${p}.lastName`] !== undefined);
  if (!who) return '';
  return [d[`${who}.firstName`], d[`${who}.lastName`]].filter((x) => typeof x === 'string').join(' ');
}

export function registrationSummary(r: Registration): string {
  const lines = [
    `${r.type} ${r.trackingId}  ${r.status}${r.flags.length ? `  [${r.flags.join(', ')}]` : ''}`,
    `  id            ${r.id}`,
    r.registrationNumber ? `  number        ${r.registrationNumber}` : '',
    `  event         ${r.eventDate ?? '-'}`,
    `  assigned to   ${r.assignedTo?.username || '-'}`,
    `  updated       ${r.updatedAt} (version ${r.version}, type version ${r.typeVersion})`,
    '  data:',
    ...Object.entries(r.data)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `    ${k.padEnd(28)} ${typeof v === 'string' ? v : JSON.stringify(v)}`),
  ];
  return `${lines.filter(Boolean).join('\n')}\n`;
}

function historyRows(items: RegistrationHistoryItem[]): string[][] {
  return items.map((h) => [
    h.at.replace('T', ' ').slice(0, 19),
    h.action,
    h.actor.username ?? h.actor.kind,
    h.actor.role ?? '',
    h.actor.officeName ?? '',
    h.statusAfter,
    truncate([h.reason, ...h.changes.map((c) => `${c.field}: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`)].filter(Boolean).join('; '), 60),
  ]);
}

export function registerRegistrationsCommands(program: Command): void {
  const regs = program.command('registrations').description('civil registrations: declare, act on, list and trace them');

  regs
    .command('declare')
    .description('create a registration by declaring it (or --notify for incomplete data)')
    .requiredOption('--type <type>', 'registration type, e.g. birth or death')
    .option('--data <json>', 'answers keyed by field id, as JSON or @file.json')
    .option('--set <field=value>', 'one answer (repeatable), e.g. --set child.lastName=Diallo', collect)
    .option('--notify', 'notify instead of declare: incomplete data is accepted and flagged')
    .option('--transaction-id <id>', 'idempotency key: retrying with the same id creates nothing new')
    .option('--json', 'print the registration as JSON')
    .action(explained(async (opts: { type: string; data?: string; set?: string[]; notify?: boolean; transactionId?: string; json?: boolean }) => {
      const data = collectData(opts) ?? {};
      const client = await authedClient();
      const r = await client.registrations.create({ type: opts.type, action: opts.notify ? 'notify' : 'declare', data, transactionId: opts.transactionId });
      if (opts.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else process.stdout.write(`${r.replayed ? 'Already created' : opts.notify ? 'Notified' : 'Declared'} ${r.type} ${r.trackingId} (${r.status}${r.flags.length ? `, ${r.flags.join(', ')}` : ''})\n  id ${r.id}\n`);
    }));

  regs
    .command('get')
    .argument('<id>', 'registration id or tracking id')
    .description('show a registration (opening it is recorded in its history)')
    .option('--json', 'print it as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const client = await authedClient();
      const r = await client.registrations.get(id);
      if (opts.json) return void process.stdout.write(`${JSON.stringify(r)}\n`);
      const now = r.actions.filter((a) => a.allowed).map((a) => a.action);
      process.stdout.write(`${registrationSummary(r)}  you may now: ${now.length ? now.join(', ') : '(nothing)'}\n`);
    });

  regs
    .command('list')
    .description('registrations within your jurisdiction, most recently changed first')
    .option('--status <status>', 'created, notified, declared, validated, registered or archived')
    .option('--flag <flag>', 'e.g. incomplete, rejected, potential-duplicate, late-registration')
    .option('--type <type>', 'registration type')
    .option('--location <id>', 'a location (workspace) id: its subtree')
    .option('--assigned-to <user>', 'a user id, or "me"')
    .option('--queue <queue>', 'a workqueue: in-progress, ready-for-review, requires-updates, ready-to-print, waiting-for-external-validation, potential-duplicates, assigned-to-me')
    .option('--limit <n>', 'at most this many (default 50)')
    .option('--counts', 'print the workqueue counts instead')
    .option('--json', 'print JSON')
    .action(async (opts: { status?: string; flag?: string; type?: string; location?: string; assignedTo?: string; queue?: string; limit?: string; counts?: boolean; json?: boolean }) => {
      const client = await authedClient();
      if (opts.counts) {
        const counts = await client.registrations.workqueues();
        if (opts.json) return void process.stdout.write(`${JSON.stringify(counts)}\n`);
        return void process.stdout.write(table(['WORKQUEUE', 'COUNT'], Object.entries(counts).map(([k, v]) => [k, String(v)])));
      }
      const want = opts.limit === undefined ? 50 : Number(opts.limit);
      if (!Number.isInteger(want) || want < 1) throw new CliError('--limit must be a positive integer', 'usage_error', 2);
      const q: RegistrationListQuery = { status: opts.status as RegistrationStatus | undefined, flag: opts.flag, type: opts.type, location: opts.location, assignedTo: opts.assignedTo, queue: opts.queue as Workqueue | undefined };
      const items: Registration[] = [];
      for await (const r of client.registrations.iterate({ ...q, limit: Math.min(want, 200) })) {
        items.push(r);
        if (items.length >= want) break;
      }
      if (opts.json) return void process.stdout.write(`${JSON.stringify(items)}\n`);
      if (!items.length) return void process.stdout.write('No registrations.\n');
      process.stdout.write(table(['TRACKING', 'TYPE', 'STATUS', 'FLAGS', 'PERSON', 'EVENT', 'ASSIGNED', 'UPDATED'], items.map((r) => [r.trackingId, r.type, r.status, r.flags.join(','), personOf(r), r.eventDate ?? '', r.assignedTo?.username ?? '', r.updatedAt.slice(0, 16).replace('T', ' ')])));
    });

  regs
    .command('action')
    .argument('<id>', 'registration id or tracking id')
    .argument('<action>', 'assign, declare, validate, register, reject, archive, print-certificate, request-correction, ... or a custom action')
    .description('take an action on a registration')
    .option('--data <json>', 'changed answers or the action’s form, as JSON or @file.json')
    .option('--set <field=value>', 'one answer (repeatable)', collect)
    .option('--reason <text>', 'why (reject, archive, corrections, de-duplication decisions)')
    .option('--force', 'assign: take over from whoever holds it (registrars)')
    .option('--transaction-id <id>', 'idempotency key')
    .option('--json', 'print the registration as JSON')
    .action(explained(async (id: string, action: string, opts: { data?: string; set?: string[]; reason?: string; force?: boolean; transactionId?: string; json?: boolean }) => {
      const input: ActionInput = {};
      const data = collectData(opts);
      if (data) input.data = data;
      if (opts.reason) input.reason = opts.reason;
      if (opts.force) input.force = true;
      if (opts.transactionId) input.transactionId = opts.transactionId;
      const client = await authedClient();
      const { registration: r, replayed } = await client.registrations.action(id, action, input);
      if (opts.json) return void process.stdout.write(`${JSON.stringify(r)}\n`);
      process.stdout.write(`${replayed ? 'Already done' : 'Done'}: ${action} on ${r.trackingId} → ${r.status}${r.flags.length ? ` [${r.flags.join(', ')}]` : ''}${r.registrationNumber ? `, number ${r.registrationNumber}` : ''}\n`);
    }));

  regs
    .command('stats')
    .description('registered records per month and place, and completeness (share registered within a year of the event), within your jurisdiction')
    .option('--type <type>', 'registration type')
    .option('--from <date>', 'YYYY-MM-DD (default: the first day of the month eleven months ago)')
    .option('--to <date>', 'YYYY-MM-DD, inclusive (default: today)')
    .option('--location <id>', 'a location (workspace) id: its records, by the places one level below it')
    .option('--by <what>', 'month (default) or place')
    .option('--csv', 'print the figures as CSV (month, location, registered, within a year, completeness)')
    .option('--json', 'print JSON')
    .action(async (opts: { type?: string; from?: string; to?: string; location?: string; by?: string; csv?: boolean; json?: boolean }) => {
      if (opts.by !== undefined && opts.by !== 'month' && opts.by !== 'place') throw new CliError('--by takes month or place', 'usage_error', 2);
      const client = await authedClient();
      const q = { type: opts.type, from: opts.from, to: opts.to, location: opts.location };
      if (opts.csv) return void process.stdout.write(await client.registrations.statsCsv(q));
      const s = await client.registrations.stats(q);
      if (opts.json) return void process.stdout.write(`${JSON.stringify(s)}\n`);
      const pct = (f: { registered: number; withinYear: number }) => (f.registered ? `${((100 * f.withinYear) / f.registered).toFixed(1)} %` : '-');
      const rows = opts.by === 'place' ? s.places.map((p) => [p.name, String(p.registered), String(p.withinYear), pct(p)]) : s.months.map((m) => [m.month, String(m.registered), String(m.withinYear), pct(m)]);
      process.stdout.write(`${s.from} to ${s.to}${s.type ? `, ${s.type}` : ''}, within ${s.root?.name ?? 'everything'}: ${s.total.registered} registered, completeness ${pct(s.total)}\n`);
      process.stdout.write(table([opts.by === 'place' ? 'PLACE' : 'MONTH', 'REGISTERED', 'WITHIN A YEAR', 'COMPLETENESS'], rows));
    });

  regs
    .command('history')
    .argument('<id>', 'registration id or tracking id')
    .description('every action on a registration: when, what, who, role, office, what changed and why')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const client = await authedClient();
      const items = await client.registrations.history(id);
      if (opts.json) return void process.stdout.write(`${JSON.stringify(items)}\n`);
      process.stdout.write(table(['WHEN (UTC)', 'ACTION', 'BY', 'ROLE', 'OFFICE', 'STATUS', 'DETAILS'], historyRows(items)));
    });

  registrationsImportCommand(regs);

  const types = program.command('registration-types').description('registration types: their forms, actions, flags and certificates');

  types
    .command('list')
    .description('registration types and their latest version')
    .action(async () => {
      const client = await authedClient();
      const list = await client.registrationTypes.list();
      process.stdout.write(table(['TYPE', 'VERSION', 'LABEL', 'LANGUAGES', 'SAVED'], list.map((t) => [t.id, String(t.version), localise(t.label, 'en'), t.languages.join(','), t.createdAt.slice(0, 10)])));
    });

  types
    .command('get')
    .argument('<type>', 'type id, e.g. birth')
    .option('--version <n>', 'a given version instead of the latest')
    .description('print a type document as JSON (edit it and `put` it back)')
    .action(async (id: string, opts: { version?: string }) => {
      const v = opts.version === undefined ? undefined : Number(opts.version);
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new CliError('--version must be a positive integer', 'usage_error', 2);
      const client = await authedClient();
      const t = await client.registrationTypes.get(id, v);
      process.stdout.write(`${JSON.stringify(t.document, null, 2)}\n`);
    });

  types
    .command('put')
    .argument('<type>', 'type id')
    .argument('<file>', 'the type document (JSON; "-" for stdin)')
    .description('save a new version of a type (checked against docs/registration-type.schema.json)')
    .action(explained(async (id: string, file: string) => {
      const doc = parseObject(readFile(file), file);
      const client = await authedClient();
      const t = await client.registrationTypes.put(id, doc);
      process.stdout.write(`Saved ${t.id} version ${t.version}\n`);
    }));
}
