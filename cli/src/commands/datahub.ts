import fs from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { DatahubApi, isCairnError, localise, type ExportFormat, type ExportShape, type ImportResult } from '@cairn/sdk';
import { authedClient } from '../context.js';
import { CliError } from '../errors.js';
import { table } from '../format.js';
import { resolveSubject, resolveWorkspace } from '../resolve.js';

const FORMATS = ['csv', 'tsv', 'xlsx', 'json'];
const positiveInt = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new CliError(`${name} must be a positive integer, not ${JSON.stringify(v)}`, 'usage_error', 2);
  return Number(v);
};

const dateArg = (name: string) => (v: string) => {
  if (!/^\d{4}-\d\d-\d\d$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`)) || new Date(`${v}T00:00:00Z`).toISOString().slice(0, 10) !== v) {
    throw new CliError(`${name} must be a date YYYY-MM-DD, not ${JSON.stringify(v)}`, 'usage_error', 2);
  }
  return v;
};
const repeated = (v: string, previous: string[] = []) => [...previous, v];

async function hub(): Promise<DatahubApi> {
  return new DatahubApi((await authedClient()).http);
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as Error).message}`, 'file_error');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(`${file} is not valid JSON: ${(e as Error).message}`, 'usage_error', 2);
  }
}

function printImportReport(r: ImportResult): void {
  if (r.errors.length) {
    process.stderr.write(`${table(['line', 'column', 'code', 'problem'], r.errors.map((e) => [String(e.row), e.field || '-', e.code, e.message]))}\n`);
    if (r.errorCount > r.errors.length) process.stderr.write(`... and ${r.errorCount - r.errors.length} more errors\n`);
  }
}

/** `cairn datahub ...`: instruments, streamed exports with progress, checked imports. */
export function registerDatahubCommands(program: Command): void {
  const dh = program.command('datahub').description('instruments, exports and imports of the data hub');

  const instruments = dh.command('instruments').description('list and publish instruments');
  instruments
    .command('list')
    .description('published instruments (newest edition of each first)')
    .option('--retired', 'include retired editions')
    .option('--json', 'print JSON')
    .action(async (opts: { retired?: boolean; json?: boolean }) => {
      const list = await (await hub()).instruments.list({ includeRetired: opts.retired });
      if (opts.json) return void process.stdout.write(`${JSON.stringify(list)}\n`);
      process.stdout.write(`${table(['name', 'edition', 'kind', 'title', 'source', 'retired'], list.map((i) => [i.name, String(i.edition), i.kind, localise(i.title, 'en'), i.source, i.retiredAt ? 'yes' : '']))}\n`);
    });
  instruments
    .command('publish <file>')
    .description('publish a definition (JSON file, "-" for stdin): a new instrument, or a new edition of an existing one')
    .action(async (file: string) => {
      const def = readJson(file) as { name?: unknown };
      const api = await hub();
      const exists = typeof def?.name === 'string' && (await api.instruments.list({ includeRetired: true })).some((i) => i.name === def.name);
      try {
        const r = exists ? await api.instruments.publishEdition(def.name as string, def) : await api.instruments.upload(def);
        process.stdout.write(`Published ${r.name} edition ${r.edition}\n`);
      } catch (e) {
        if (isCairnError(e) && e.code === 'invalid_instrument_definition') {
          const errors = (e.details as { errors?: { pointer: string; message: string }[] } | undefined)?.errors ?? [];
          process.stderr.write(`${table(['pointer', 'problem'], errors.map((x) => [x.pointer || '/', x.message]))}\n`);
        }
        throw e;
      }
    });

  dh.command('export')
    .description('stream records to a file (or stdout) with a progress bar; memory stays flat on both sides')
    .requiredOption('--workspace <name>', 'the workspace: its name, path of names (A/B/C) or id')
    .option('--subject <identifier>', 'only this subject: its identifier or label in the workspace, or its id; repeat for several', repeated)
    .option('--instrument <name>', 'only this instrument (needed for wide CSV, TSV and Excel)')
    .option('--edition <n>', 'only this edition', positiveInt('--edition'))
    .option('--from <date>', 'only records captured on or after this date (YYYY-MM-DD, UTC)', dateArg('--from'))
    .option('--to <date>', 'only records captured on or before this date (YYYY-MM-DD, UTC), inclusive', dateArg('--to'))
    .option('--format <format>', `one of ${FORMATS.join(', ')}`, 'csv')
    .option('--shape <shape>', 'wide (a row per record) or long (a row per value)', 'wide')
    .option('--out <file>', 'where to write ("-" for stdout)', '-')
    .action(async (opts: { workspace: string; subject?: string[]; instrument?: string; edition?: number; from?: string; to?: string; format: string; shape: string; out: string }) => {
      if (!FORMATS.includes(opts.format)) throw new CliError(`--format must be one of ${FORMATS.join(', ')}`, 'usage_error', 2);
      if (opts.shape !== 'wide' && opts.shape !== 'long') throw new CliError('--shape must be wide or long', 'usage_error', 2);
      const client = await authedClient();
      const api = new DatahubApi(client.http);
      const workspaceId = await resolveWorkspace(client, opts.workspace);
      if (opts.from && opts.to && opts.from > opts.to) throw new CliError('--from is after --to', 'usage_error', 2);
      const subjectIds = [...new Set(await Promise.all((opts.subject ?? []).map((s) => resolveSubject(client, workspaceId, s))))];
      // One subject: that subject's export (as before); several: the workspace's, filtered to them.
      const scope = subjectIds.length === 1 ? { subjectId: subjectIds[0]! } : { workspaceId };
      const res = await api.export(scope, { format: opts.format as ExportFormat, shape: opts.shape as ExportShape, instrument: opts.instrument, edition: opts.edition, from: opts.from, to: opts.to, subjects: subjectIds.length > 1 ? subjectIds : undefined });
      const out: Writable = opts.out === '-' ? process.stdout : fs.createWriteStream(opts.out);
      const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'exporting {value} MiB received', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
      bar?.start(0, 0);
      let bytes = 0;
      const body = Readable.fromWeb(res.body! as import('node:stream/web').ReadableStream<Uint8Array>);
      body.on('data', (c: Buffer) => {
        bytes += c.length;
        bar?.update(Math.round((bytes / 1024 / 1024) * 10) / 10);
      });
      await pipeline(body, out);
      bar?.stop();
      if (opts.out !== '-') process.stderr.write(`Wrote ${bytes} bytes to ${opts.out}\n`);
    });

  dh.command('template')
    .description('print the CSV import template of an instrument edition')
    .requiredOption('--workspace <name>', 'the workspace: its name, path of names (A/B/C) or id')
    .requiredOption('--instrument <name>', 'the instrument')
    .requiredOption('--edition <n>', 'its edition', positiveInt('--edition'))
    .action(async (opts: { workspace: string; instrument: string; edition: number }) => {
      const client = await authedClient();
      const url = new DatahubApi(client.http).importTemplateUrl(await resolveWorkspace(client, opts.workspace), opts.instrument, opts.edition);
      const u = new URL(url);
      const res = await client.http.raw('GET', u.pathname, { query: Object.fromEntries(u.searchParams), headers: { Accept: 'text/csv' } });
      if (!res.ok) throw new CliError(`the server answered HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`, 'http_error');
      process.stdout.write(await res.text());
    });

  dh.command('import <file>')
    .description('import records from a CSV made from the template; nothing is written while any row fails unless --only-valid')
    .requiredOption('--workspace <name>', 'the workspace: its name, path of names (A/B/C) or id')
    .requiredOption('--instrument <name>', 'the instrument')
    .requiredOption('--edition <n>', 'its edition', positiveInt('--edition'))
    .option('--only-valid', 'import the valid rows even if others fail')
    .option('--dry-run', 'check every row, write nothing')
    .action(async (file: string, opts: { workspace: string; instrument: string; edition: number; onlyValid?: boolean; dryRun?: boolean }) => {
      let blob: Blob;
      try {
        blob = await fs.openAsBlob(file);
      } catch (e) {
        throw new CliError(`cannot read ${file}: ${(e as Error).message}`, 'file_error');
      }
      process.stderr.write(`Uploading ${(blob.size / 1024 / 1024).toFixed(1)} MiB and checking every row…\n`);
      try {
        const client = await authedClient();
        const r = await new DatahubApi(client.http).importCsv(await resolveWorkspace(client, opts.workspace), blob, { instrument: opts.instrument, edition: opts.edition, onlyValid: opts.onlyValid, dryRun: opts.dryRun });
        printImportReport(r);
        process.stdout.write(r.dryRun ? `${r.valid} of ${r.rows} rows are valid; nothing written (dry run)\n` : `Imported ${r.imported} records (${r.subjectsCreated} new subjects), skipped ${r.skipped} invalid rows\n`);
      } catch (e) {
        if (isCairnError(e) && e.code === 'invalid_import' && e.details) printImportReport(e.details as ImportResult);
        throw e;
      }
    });
}
