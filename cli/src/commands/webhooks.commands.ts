import type { Command } from 'commander';
import { WebhooksApi, type WebhookDeliveryStatus, type WebhookSubscription } from '@cairn/sdk';
import { authedClient } from '../context.js';
import { CliError } from '../errors.js';
import { shortTime, table, truncate } from '../format.js';

const STATUSES: WebhookDeliveryStatus[] = ['pending', 'delivered', 'failed'];
const collect = (v: string, prev: string[]) => [...prev, v];

async function api(): Promise<WebhooksApi> {
  return new WebhooksApi((await authedClient()).http);
}

/** A subscription by its name (or id): people name things, they do not copy UUIDs. */
async function find(w: WebhooksApi, ref: string): Promise<WebhookSubscription> {
  const all = await w.list();
  const hits = all.filter((s) => s.id === ref || s.name === ref);
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1) throw new CliError(`several subscriptions are named "${ref}"; give its id (cairn webhooks list)`, 'ambiguous', 2);
  throw new CliError(`no webhook subscription named "${ref}" (cairn webhooks list)`, 'not_found');
}

export function registerWebhooksCommands(program: Command): void {
  const wh = program.command('webhooks').description('outbound webhooks (admin): subscriptions, their delivery log, replays');

  wh.command('list')
    .description('subscriptions with what they send and their delivery counts')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const list = await (await api()).list();
      if (opts.json) return void process.stdout.write(`${JSON.stringify(list)}\n`);
      const rows = list.map((s) => [s.name, s.enabled ? 'active' : 'paused', s.url, [...s.eventTypes, ...s.registrationActions.map((a) => `registration.${a}`)].join(','), String(s.delivered), String(s.pending), String(s.failed)]);
      process.stdout.write(table(['NAME', 'STATE', 'URL', 'SENDS', 'DELIVERED', 'WAITING', 'FAILED'], rows));
    });

  wh.command('create')
    .description('subscribe a URL; prints the signing secret once')
    .requiredOption('--name <name>', 'a name people recognise')
    .requiredOption('--url <url>', 'http(s) URL receiving signed POSTs')
    .option('--event-type <type>', 'an event type to send (repeatable)', collect, [])
    .option('--action <action>', 'a registration action to send, e.g. declare (repeatable)', collect, [])
    .action(async (opts: { name: string; url: string; eventType: string[]; action: string[] }) => {
      if (!opts.eventType.length && !opts.action.length) throw new CliError('give at least one --event-type or --action', 'usage_error', 2);
      const r = await (await api()).create({ name: opts.name, url: opts.url, eventTypes: opts.eventType, registrationActions: opts.action });
      process.stdout.write(`Created ${r.subscription.name}\nSigning secret (shown once; give it to the receiver): ${r.secret}\n`);
    });

  for (const [cmd, enabled] of [['pause', false], ['resume', true]] as const) {
    wh.command(`${cmd} <subscription>`)
      .description(enabled ? 'send again, starting with what was written while paused' : 'stop sending (entries keep being read when resumed)')
      .action(async (ref: string) => {
        const w = await api();
        const s = await w.update((await find(w, ref)).id, { enabled });
        process.stdout.write(`${s.name}: ${s.enabled ? 'active' : 'paused'}\n`);
      });
  }

  wh.command('deliveries <subscription>')
    .description('the delivery log, newest first')
    .option('--status <status>', `only ${STATUSES.join(', ')}`)
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'print JSON')
    .action(async (ref: string, opts: { status?: string; limit: string; json?: boolean }) => {
      if (opts.status && !STATUSES.includes(opts.status as WebhookDeliveryStatus)) throw new CliError(`--status must be one of ${STATUSES.join(', ')}`, 'usage_error', 2);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new CliError('--limit must be 1 to 500', 'usage_error', 2);
      const w = await api();
      const r = await w.deliveries((await find(w, ref)).id, { status: opts.status as WebhookDeliveryStatus | undefined, limit });
      if (opts.json) return void process.stdout.write(`${JSON.stringify(r.deliveries)}\n`);
      const rows = r.deliveries.map((d) => [String(d.seq), shortTime(d.createdAt), d.eventType, d.stream ?? '-', d.status + (d.replayOf ? ' (replay)' : ''), String(d.attempts), truncate([d.lastStatus ? `HTTP ${d.lastStatus}` : '', d.lastError ?? ''].filter(Boolean).join(' '), 40)]);
      process.stdout.write(table(['#', 'CREATED (UTC)', 'TYPE', 'STREAM', 'STATUS', 'ATTEMPTS', 'LAST ANSWER'], rows));
    });

  wh.command('replay <subscription> <number>')
    .description('send delivery #number (from `cairn webhooks deliveries`) again, behind what is waiting')
    .action(async (ref: string, num: string) => {
      const seq = Number(num);
      if (!Number.isInteger(seq) || seq < 1) throw new CliError('the delivery number is a positive integer (the # column)', 'usage_error', 2);
      const w = await api();
      const sub = await find(w, ref);
      const [d] = (await w.deliveries(sub.id, { before: seq + 1, limit: 1 })).deliveries;
      if (!d || d.seq !== seq) throw new CliError(`${sub.name} has no delivery #${seq}`, 'not_found');
      const r = await w.replay(d.id);
      process.stdout.write(`Queued #${d.seq} again as #${r.seq}\n`);
    });
}
