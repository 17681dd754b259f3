import type { Command } from 'commander';
import { authedClient } from '../context.js';

export function registerLedgerCommands(program: Command): void {
  const ledger = program.command('ledger').description('tamper evidence of the ledger');
  ledger
    .command('verify')
    .description('recompute every hash chain and checkpoint (admin); exits 1 when any problem is found')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const client = await authedClient();
      const report = await client.ledger.verify();
      if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      if (report.ok && report.problems.length === 0) {
        // Entries newer than the last seal are covered by the next one (docs/security.md): say so.
        const recent = report.unsealed ? ` (${report.unsealed} just committed, sealed at the next checkpoint)` : '';
        if (!opts.json) process.stdout.write(`Ledger OK: ${report.checked} entries and ${report.checkpoints} checkpoints verified${recent}\n`);
        return;
      }
      if (!opts.json) {
        process.stdout.write(`Ledger verification FAILED: ${report.problems.length} problem(s) in ${report.checked} entries checked\n`);
        for (const p of report.problems) {
          const where = [p.position !== undefined ? `position ${p.position}` : '', p.entryId ? `entry ${p.entryId}` : '', p.stream ? `stream ${p.stream}` : ''].filter(Boolean).join(', ');
          process.stdout.write(`  ${p.kind}${where ? ` (${where})` : ''}: ${p.message}\n`);
        }
      }
      process.stderr.write(`cairn: the ledger failed verification with ${report.problems.length} problem(s) (ledger_tampered)\n`);
      process.exitCode = 1;
    });
}
