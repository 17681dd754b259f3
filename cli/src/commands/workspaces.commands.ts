import fs from 'node:fs';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { isCairnError, locationLabel, type LocationImportError, type LocationKind } from '@cairn/sdk';
import { authedClient } from '../context.js';
import { CliError, readableFileSize } from '../errors.js';
import { table } from '../format.js';

/** Prints refused rows as a table on stderr (the first 1,000 come back from the server). */
function printRowErrors(details: unknown): void {
  const d = details as { errors?: LocationImportError[]; errorCount?: number; rows?: number; invalid?: number } | undefined;
  if (!d?.errors?.length) return;
  process.stderr.write(`${table(['line', 'column', 'code', 'problem'], d.errors.map((e) => [e.line ? String(e.line) : '-', e.field || '-', e.code, e.message]))}\n`);
  if ((d.errorCount ?? 0) > d.errors.length) process.stderr.write(`... and ${d.errorCount! - d.errors.length} more errors\n`);
}

/** `cairn workspaces ...`: the administrative hierarchy (import from CSV, search). */
export function registerWorkspacesCommands(program: Command): void {
  const ws = program.command('workspaces').description('workspaces and the administrative hierarchy of locations');

  ws.command('import <file>')
    .description('create or update the tree of locations from CSV (columns id,name,parentId,type; type is area or office). Idempotent; nothing is written while any row fails')
    .option('--dry-run', 'check every row against the file and the stored tree, write nothing')
    .option('--no-progress', 'no progress bar')
    .action(async (file: string, opts: { dryRun?: boolean; progress: boolean }) => {
      const size = readableFileSize(file);
      const client = await authedClient();
      const bar = opts.progress && process.stderr.isTTY !== false
        ? new cliProgress.SingleBar({ stream: process.stderr, hideCursor: true, format: '{phase} [{bar}] {percentage}% | {value_fmt}/{total_fmt}', formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? `${(v / 1024 / 1024).toFixed(1)} MiB` : String(v)) }, cliProgress.Presets.shades_classic)
        : undefined;
      let sent = 0;
      bar?.start(size, 0, { phase: 'uploading' });
      // Counted as the request pulls it, so the bar follows what actually went out.
      const source = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
      source.on('data', (c) => {
        sent += c.length;
        bar?.update(sent);
        if (sent >= size) bar?.update(size, { phase: 'checking and writing' });
      });
      const body = Readable.toWeb(source) as unknown as ReadableStream<Uint8Array>;
      const started = Date.now();
      try {
        const r = await client.locations.importCsv(body, { dryRun: opts.dryRun });
        bar?.stop();
        const s = ((Date.now() - started) / 1000).toFixed(1);
        process.stdout.write(`${table(['rows', 'created', 'updated', 'moved', 'unchanged'], [[r.rows, r.created, r.updated, r.moved, r.unchanged].map(String)])}\n`);
        if (r.ignoredColumns.length) process.stderr.write(`Ignored columns: ${r.ignoredColumns.join(', ')}\n`);
        process.stdout.write(r.dryRun ? `Dry run: every row is valid; nothing was written (${s} s)\n` : `Imported ${r.rows} locations in ${s} s (import ${r.importId})\n`);
      } catch (e) {
        bar?.stop();
        if (isCairnError(e) && e.code === 'invalid_import') printRowErrors(e.details);
        throw e;
      }
    });

  ws.command('locations [query]')
    .description('search locations by name (accents and case ignored); without a query, the top level')
    .option('--kind <kind>', 'area or office', (v: string) => {
      if (v !== 'area' && v !== 'office') throw new CliError(`--kind must be area or office, not ${JSON.stringify(v)}`, 'usage_error', 2);
      return v as LocationKind;
    })
    .option('--within <id>', 'only below this location (its id)')
    .option('--limit <n>', 'at most this many (1-50)', (v: string) => Number(v))
    .option('--json', 'print JSON')
    .action(async (query: string | undefined, opts: { kind?: LocationKind; within?: string; limit?: number; json?: boolean }) => {
      const list = await (await authedClient()).locations.search({ q: query, kind: opts.kind, within: opts.within, limit: opts.limit });
      if (opts.json) return void process.stdout.write(`${JSON.stringify(list)}\n`);
      process.stdout.write(`${table(['name', 'kind', 'external id', 'id'], list.map((l) => [locationLabel(l, 3), l.kind, l.externalId ?? '', l.id]))}\n`);
    });
}
