import fs from 'node:fs';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { RegistrationImportReport } from '@cairn/sdk';
import { authedClient } from '../context.js';
import { CliError, readableFileSize } from '../errors.js';
import { table } from '../format.js';

/**
 * `cairn registrations import FILE --type birth --action declare`: a legacy register's CSV, streamed
 * to POST /registrations/import. The server reads the file as it arrives and holds the upload while
 * it writes each batch, so the bar (bytes sent) follows the rows imported.
 */
export function registrationsImportCommand(regs: Command): void {
  regs
    .command('import')
    .argument('<file>', "CSV whose header names the type's field ids, and optionally legacyId")
    .description('import a legacy register: one registration per row, de-duplicated against the register and the rows before it')
    .requiredOption('--type <type>', 'registration type, e.g. birth')
    .option('--action <action>', 'declare (default) or notify', 'declare')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, opts: { type: string; action: string; progress: boolean; json?: boolean }) => {
      if (opts.action !== 'declare' && opts.action !== 'notify') throw new CliError('--action takes declare or notify', 'usage_error', 2);
      const size = readableFileSize(file);
      const client = await authedClient();
      const bar = opts.progress && process.stderr.isTTY ? new cliProgress.SingleBar({ stream: process.stderr, hideCursor: true, format: 'importing [{bar}] {percentage}% | {eta_formatted} left' }, cliProgress.Presets.shades_classic) : undefined;
      bar?.start(size, 0);
      const source = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
      let sent = 0;
      source.on('data', (chunk) => bar?.update((sent += chunk.length)));
      const started = Date.now();
      let report: RegistrationImportReport;
      try {
        report = await client.registrations.importCsv(Readable.toWeb(source) as unknown as ReadableStream<Uint8Array>, { type: opts.type, action: opts.action });
      } finally {
        bar?.stop();
      }
      if (opts.json) return void process.stdout.write(`${JSON.stringify(report)}\n`);
      process.stdout.write(table(['ROWS', 'CREATED', 'REFUSED', 'DUPLICATES', 'ALREADY IMPORTED'], [[report.rows, report.created, report.refusedCount, report.duplicatesCount, report.alreadyImported].map(String)]));
      for (const r of report.refused.slice(0, 50)) process.stderr.write(`line ${r.line}${r.legacyId ? ` (${r.legacyId})` : ''}: ${r.errors.map((e) => `${e.pointer} ${e.message}`).join('; ')}\n`);
      if (report.refused.length > 50) process.stderr.write(`... and ${report.refusedCount - 50} more refused rows (--json lists them)\n`);
      for (const d of report.duplicates.slice(0, 50)) process.stdout.write(`possible duplicate: row ${d.row} ${d.trackingId}${d.legacyId ? ` (${d.legacyId})` : ''} of ${d.matches.map((m) => m.legacyId ?? m.trackingId).join(', ')}\n`);
      process.stdout.write(`Imported ${report.created} of ${report.rows} rows in ${((Date.now() - started) / 1000).toFixed(1)} s; review duplicates with \`cairn registrations list --queue potential-duplicates\`\n`);
      if (report.refusedCount) process.exitCode = 1;
    });
}
