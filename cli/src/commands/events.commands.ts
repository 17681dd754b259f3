import fs from 'node:fs';
import readline from 'node:readline';
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { isCairnError, type AppendEvent, type AppendResult, type CairnClient } from '@cairn/sdk';
import { authedClient } from '../context.js';
import { CliError } from '../errors.js';
import { ENTRY_HEADERS, entryLine, entryRows, table } from '../format.js';

export const BATCH_SIZE = 1000;

const positiveInt = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new CliError(`${name} must be a positive integer, not ${JSON.stringify(v)}`, 'usage_error', 2);
  return Number(v);
};

function parseData(raw: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new CliError(`--data is not valid JSON: ${(e as Error).message}`, 'usage_error', 2);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CliError('--data must be a JSON object, e.g. \'{"text":"hello"}\'', 'usage_error', 2);
  return v as Record<string, unknown>;
}

export function registerEventsCommands(program: Command): void {
  const events = program.command('events').description('append to, list and follow the ledger');

  events
    .command('append')
    .description('append one event (--type and --data) or a file of events, one JSON object per line (--file)')
    .option('--type <type>', 'event type, a dotted name such as note.created')
    .option('--data <json>', 'event data, a JSON object')
    .option('--stream <stream>', 'what the event is about (its hash chain)')
    .option('--transaction-id <id>', 'idempotency key: retrying with the same id appends nothing new')
    .option('--occurred-at <time>', 'when it happened (ISO 8601), if not now')
    .option('--file <path>', 'NDJSON file ("-" for stdin) of {"type","data","stream"?,"occurredAt"?,"transactionId"?}, sent in batches of 1000')
    .option('--json', 'print the results as JSON')
    .action(async (opts: { type?: string; data?: string; stream?: string; transactionId?: string; occurredAt?: string; file?: string; json?: boolean }) => {
      if (opts.file !== undefined) {
        if (opts.type || opts.data) throw new CliError('use either --file or --type/--data, not both', 'usage_error', 2);
        const client = await authedClient();
        await appendFile(client, opts.file, !!opts.json);
        return;
      }
      if (!opts.type) throw new CliError('--type is required (or --file)', 'usage_error', 2);
      if (opts.data === undefined) throw new CliError('--data is required (or --file)', 'usage_error', 2);
      const event: AppendEvent = { type: opts.type, data: parseData(opts.data) };
      if (opts.stream) event.stream = opts.stream;
      if (opts.transactionId) event.transactionId = opts.transactionId;
      if (opts.occurredAt) event.occurredAt = opts.occurredAt;
      const client = await authedClient();
      const result = await client.events.appendOne(event);
      if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else process.stdout.write(`${result.replayed ? 'Already appended' : 'Appended'} ${result.id} at position ${result.position}\n`);
    });

  events
    .command('list')
    .description('list ledger entries in ledger order, one page at a time')
    .option('--type <type>', 'only this event type')
    .option('--stream <stream>', 'only this stream')
    .option('--after <cursor>', 'start after this cursor (printed as "next" by a previous page)')
    .option('--from <time>', 'only entries that occurred at or after this time (ISO 8601)')
    .option('--to <time>', 'only entries that occurred before this time (ISO 8601)')
    .option('--limit <n>', 'entries per page', positiveInt('--limit'), 50)
    .option('--json', 'print the page as JSON ({ events, next })')
    .action(async (opts: { type?: string; stream?: string; after?: string; from?: string; to?: string; limit: number; json?: boolean }) => {
      const client = await authedClient();
      const page = await client.events.list({ type: opts.type, stream: opts.stream, after: opts.after, from: opts.from, to: opts.to, limit: opts.limit });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(page)}\n`);
        return;
      }
      if (page.events.length === 0) process.stdout.write('No entries\n');
      else process.stdout.write(`${table(ENTRY_HEADERS, entryRows(page.events))}\n`);
      if (page.next && page.events.length === opts.limit) process.stderr.write(`next page: cairn events list --after ${page.next}\n`);
    });

  events
    .command('tail')
    .description('follow new ledger entries live (Server-Sent Events), reconnecting when the connection drops; Ctrl-C stops')
    .option('--type <type>', 'only this event type')
    .option('--stream <stream>', 'only this stream')
    .option('--after <cursor>', 'start after this cursor instead of at the live end')
    .addOption(new Option('--backlog <n>', 'without --after: first print the last n entries (at most 1000)').argParser(positiveInt('--backlog')))
    .option('--json', 'print one JSON entry per line')
    .addOption(new Option('--max-retries <n>', 'give up after this many failed reconnects in a row').argParser(positiveInt('--max-retries')))
    .action(async (opts: { type?: string; stream?: string; after?: string; backlog?: number; json?: boolean; maxRetries?: number }) => {
      const client = await authedClient();
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      let wasOpen = false;
      const tail = client.events.tail({
        type: opts.type,
        stream: opts.stream,
        after: opts.after,
        backlog: opts.backlog,
        signal: controller.signal,
        ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
        onStatus: (status, err) => {
          if (status === 'open') {
            if (wasOpen) process.stderr.write('cairn: reconnected\n');
            wasOpen = true;
          } else if (status === 'reconnecting' && err) {
            process.stderr.write(`cairn: connection lost (${err.message}); reconnecting\n`);
          }
        },
      });
      try {
        for await (const entry of tail) {
          process.stdout.write(opts.json ? `${JSON.stringify(entry)}\n` : `${entryLine(entry)}\n`);
        }
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}

/**
 * Streams an NDJSON file in batches so a file of millions of lines never sits in memory. The
 * progress bar counts bytes read, which needs no first pass over the file.
 */
async function appendFile(client: CairnClient, file: string, json: boolean): Promise<void> {
  const fromStdin = file === '-';
  let total = 0;
  if (!fromStdin) {
    try {
      total = fs.statSync(file).size;
    } catch (e) {
      throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, 'file_unreadable');
    }
  }
  const input = fromStdin ? process.stdin : fs.createReadStream(file);
  input.on('error', () => {});
  const name = fromStdin ? 'stdin' : file;
  const bar =
    process.stderr.isTTY && total > 0
      ? new cliProgress.SingleBar(
          { stream: process.stderr, format: 'Appending [{bar}] {percentage}% | {events} events | {eta_formatted} left', hideCursor: true, clearOnComplete: false },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  bar?.start(total, 0, { events: 0 });

  let appended = 0;
  let replayed = 0;
  let bytes = 0;
  let lineNo = 0;
  let batch: AppendEvent[] = [];
  let batchFirstLine = 1;
  const results: AppendResult[] = [];

  const flush = async () => {
    if (batch.length === 0) return;
    let res: AppendResult[];
    try {
      res = await client.events.append(batch);
    } catch (e) {
      bar?.stop();
      const where = `lines ${batchFirstLine}-${lineNo}`;
      const done = appended ? `; the ${appended} events before them were appended` : '';
      if (isCairnError(e)) throw new CliError(`${name} ${where} were rejected: ${e.message}${done}`, e.code);
      throw e;
    }
    for (const r of res) {
      if (r.replayed) replayed++;
      else appended++;
      if (json) results.push(r);
    }
    batch = [];
    bar?.update(bytes, { events: appended + replayed });
  };

  const rl = readline.createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of rl) {
      lineNo++;
      bytes += Buffer.byteLength(line) + 1;
      if (!line.trim()) continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch (e) {
        throw new CliError(`${name}:${lineNo} is not valid JSON (${(e as Error).message})${appended ? `; the ${appended} events before it were appended` : ''}`, 'invalid_json');
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v) || typeof (v as { type?: unknown }).type !== 'string') {
        throw new CliError(`${name}:${lineNo} is not an event object with a "type"${appended ? `; the ${appended} events before it were appended` : ''}`, 'invalid_event');
      }
      if (batch.length === 0) batchFirstLine = lineNo;
      batch.push(v as AppendEvent);
      if (batch.length >= BATCH_SIZE) await flush();
    }
    await flush();
  } catch (e) {
    bar?.stop();
    if ((e as NodeJS.ErrnoException).code === 'EISDIR') throw new CliError(`cannot read ${file}: it is a directory`, 'file_unreadable');
    throw e;
  } finally {
    rl.close();
  }
  bar?.update(total, { events: appended + replayed });
  bar?.stop();
  if (json) process.stdout.write(`${JSON.stringify({ appended, replayed, events: results })}\n`);
  else process.stdout.write(`Appended ${appended} events${replayed ? ` (${replayed} already present, skipped)` : ''} from ${name}\n`);
}
