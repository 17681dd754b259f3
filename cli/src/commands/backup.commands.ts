import path from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { CliError } from '../errors.js';
import { serverExport } from './server.commands.js';

// Shapes of what server/src/index.ts exports (loaded by name, as for `cairn migrate`).
interface Progress {
  phase: 'database' | 'blobs' | 'check' | 'transaction-ids' | 'verify';
  done: number;
  total: number;
}
type OnProgress = (p: Progress) => void;
interface Manifest {
  tables: Array<{ rows: number }>;
  blobs: Array<{ bytes: number }>;
  secret: 'file' | 'environment';
}
interface RestoreReport {
  manifest: Manifest;
  ledger: { ok: boolean; checked: number; problems: Array<{ message?: string }> };
  upgraded: string[];
}

const LABELS: Record<Progress['phase'], string> = {
  database: 'database tables',
  blobs: 'blobs (bytes)',
  check: 'checking hashes (bytes)',
  'transaction-ids': 'transaction ids',
  verify: 'verifying the ledger',
};

/** One bar per phase on a terminal (stderr), nothing when piped. */
function progressBars(): { onProgress: OnProgress; stop(): void } {
  if (!process.stderr.isTTY) return { onProgress: () => {}, stop: () => {} };
  let phase: string | undefined;
  let bar: cliProgress.SingleBar | undefined;
  return {
    onProgress: (p) => {
      if (p.phase !== phase) {
        bar?.stop();
        phase = p.phase;
        bar = new cliProgress.SingleBar({ format: `${LABELS[p.phase].padEnd(24)} [{bar}] {percentage}% {value}/{total}`, stream: process.stderr }, cliProgress.Presets.shades_classic);
        bar.start(Math.max(p.total, 1), p.done);
      } else bar?.update(p.done);
    },
    stop: () => bar?.stop(),
  };
}

/**
 * Runs the server's `backupTo` or `restoreFrom` on DIR with progress bars; a damaged backup lists
 * every problem, one per line, before the one-line error.
 */
async function run<T>(exportName: 'backupTo' | 'restoreFrom', dir: string): Promise<T> {
  const fn = await serverExport<(dir: string, env: NodeJS.ProcessEnv, onProgress: OnProgress) => Promise<T>>(exportName);
  const bars = progressBars();
  try {
    return await fn(path.resolve(dir), process.env, bars.onProgress);
  } catch (e) {
    bars.stop();
    const err = e as { name?: string; code?: string; problems?: string[]; message?: string };
    if (err?.constructor?.name === 'BackupError') {
      for (const p of err.problems ?? []) process.stderr.write(`  ${p}\n`);
      throw new CliError(String(err.message).split('\n')[0]!.replace(/:$/, ''), err.code ?? 'backup_failed');
    }
    throw e;
  } finally {
    bars.stop();
  }
}

export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .argument('<dir>', 'a new or empty directory to write the backup into')
    .description('back up the database and the blobs (local or S3), consistent with each other, with a manifest of hashes; works while the server runs. Settings from the environment (CAIRN_DATA_DIR, DATABASE_URL, CAIRN_BLOB_*)')
    .action(async (dir: string) => {
      const m = await run<Manifest>('backupTo', dir);
      const rows = m.tables.reduce((n, t) => n + t.rows, 0);
      const bytes = m.blobs.reduce((n, b) => n + b.bytes, 0);
      process.stdout.write(`Backed up ${m.tables.length} tables (${rows} rows) and ${m.blobs.length} blobs (${bytes} bytes) into ${dir}\n`);
      process.stdout.write(
        m.secret === 'file'
          ? 'The backup holds the instance secret and personal data: keep it as safe as the data directory.\n'
          : 'The instance secret came from CAIRN_SECRET and is not in the backup: keep it; a restore needs it.\n',
      );
    });

  program
    .command('restore')
    .argument('<dir>', 'a directory written by `cairn backup`')
    .description('restore a backup into an empty data directory (CAIRN_DATA_DIR) or an empty DATABASE_URL; every file is checked first and a damaged backup is refused')
    .action(async (dir: string) => {
      const r = await run<RestoreReport>('restoreFrom', dir);
      process.stdout.write(`Restored ${r.manifest.tables.length} tables and ${r.manifest.blobs.length} blobs${r.upgraded.length ? `; applied ${r.upgraded.length} newer migration(s)` : ''}\n`);
      if (!r.ledger.ok) {
        for (const p of r.ledger.problems.slice(0, 20)) process.stderr.write(`  ${p.message ?? JSON.stringify(p)}\n`);
        throw new CliError(`the restored ledger does not verify (${r.ledger.problems.length} problem(s))`, 'ledger_verify_failed');
      }
      process.stdout.write(`The ledger verifies (${r.ledger.checked} entries)\n`);
    });
}
