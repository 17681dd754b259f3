import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { CairnClient, ProjectionInfo } from '@cairn/sdk';
import { authedClient } from '../context.js';
import { CliError } from '../errors.js';
import { table } from '../format.js';

const state = (p: ProjectionInfo) =>
  p.rebuild?.failing ? `rebuild stopped at ${p.rebuild.failing.entryId}` : p.rebuild ? `rebuilding ${p.rebuild.applied}/${p.rebuild.total}` : p.failing ? `FAILING at ${p.failing.entryId}` : 'ok';

/** Follows a rebuild until it is swapped in, with a progress bar on a terminal. */
async function follow(client: CairnClient, name: string, opts: { progress: boolean; intervalMs?: number }): Promise<ProjectionInfo> {
  const bar = opts.progress ? new cliProgress.SingleBar({ stream: process.stderr, hideCursor: true, format: `rebuilding ${name} [{bar}] {percentage}% | {value}/{total} entries | {eta_formatted} left` }, cliProgress.Presets.shades_classic) : undefined;
  let started = false;
  try {
    for (;;) {
      const p = await client.projections.get(name);
      if (!p.rebuild) return p;
      if (p.rebuild.failing) throw new CliError(`the rebuild of ${name} stopped at entry ${p.rebuild.failing.entryId}: ${p.rebuild.failing.error}`, 'projection_failing');
      if (bar) {
        if (!started) bar.start(Math.max(p.rebuild.total, 1), 0);
        started = true;
        bar.setTotal(Math.max(p.rebuild.total, p.rebuild.applied, 1));
        bar.update(p.rebuild.applied);
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
    }
  } finally {
    bar?.stop();
  }
}

export function registerProjectionsCommands(program: Command): void {
  const projections = program.command('projections').description('state folded from the ledger: list, rebuild (admin)');

  projections
    .command('list')
    .description('every projection with its mode, version, lag and state')
    .option('--json', 'print the list as JSON')
    .action(async (opts: { json?: boolean }) => {
      const client = await authedClient();
      const list = await client.projections.list();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(list)}\n`);
        return;
      }
      const rows = list.map((p) => [p.name, p.mode, String(p.version), String(p.behind), `${p.secondsBehind}s`, String(p.applied), p.rebuiltAt ?? '-', state(p)]);
      process.stdout.write(table(['NAME', 'MODE', 'VERSION', 'BEHIND', 'LAG', 'APPLIED', 'REBUILT', 'STATE'], rows));
      for (const p of list) if (p.failing) process.stdout.write(`${p.name}: stopped at entry ${p.failing.entryId} since ${p.failing.since}: ${p.failing.error}\n`);
      if (list.some((p) => p.failing)) process.exitCode = 1;
    });

  projections
    .command('rebuild <name>')
    .description('rebuild a projection from the ledger beside the live state; swapped in once caught up (readers never see it half-built)')
    .option('--no-wait', 'start it and return at once (follow with `cairn projections list`)')
    .option('--json', 'print the projection as JSON when done')
    .action(async (name: string, opts: { wait: boolean; json?: boolean }) => {
      const client = await authedClient();
      let p = await client.projections.rebuild(name);
      if (opts.wait) p = await follow(client, name, { progress: !opts.json && process.stderr.isTTY === true });
      if (opts.json) process.stdout.write(`${JSON.stringify(p)}\n`);
      else if (!opts.wait) process.stdout.write(`Rebuild of ${name} started (${p.rebuild ? `${p.rebuild.total} entries` : 'done'})\n`);
      else process.stdout.write(`Rebuilt ${name}: version ${p.version}, swapped in at ${p.rebuiltAt}\n`);
    });
}
