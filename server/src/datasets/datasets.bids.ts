import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Issue } from './datasets.checks.js';

/**
 * Optional BIDS validation on `bids-validator` 1.x (docs/datasets.md, "BIDS plugin"). The package
 * is ~700 MB, so it is not a dependency: an operator installs it (beside the server, or anywhere
 * with CAIRN_BIDS_VALIDATOR_PATH) and sets CAIRN_BIDS_VALIDATOR=true. It validates a directory,
 * so the validation job materialises the version into a temporary one.
 *
 * It runs in a child process (bids.runner.mjs) with a time limit: the validator throws from its
 * own callbacks (its ESM build took a browser path under Node and killed the server, issue 17), so
 * nothing it does may run in the server's process. A failure is an issue on the version, never a
 * crash.
 */
interface BidsIssue {
  key?: string;
  code?: number;
  reason?: string;
  files?: Array<{ file?: { relativePath?: string; path?: string } | null; reason?: string; evidence?: string } | null>;
}
type BidsAnswer = { errors?: BidsIssue[]; warnings?: BidsIssue[] } | string;

export interface BidsOptions {
  /** Skip the EMPTY_FILE check (code 99): example datasets ship empty placeholder data files. A dataset setting. */
  ignoreEmptyFiles?: boolean;
  /** Do not read NIfTI headers (placeholder or truncated images). A dataset setting. */
  ignoreNiftiHeaders?: boolean;
  /** The validator module (package folder or file); default `bids-validator` resolved from the server. */
  modulePath?: string;
  /** The run is stopped after this long (default 10 minutes). */
  timeoutMs?: number;
}

const RUNNER = fileURLToPath(new URL('./bids.runner.mjs', import.meta.url));
const STDERR_KEEP = 4096;

type RunResult = { kind: 'answer'; answer: BidsAnswer } | { kind: 'unavailable' } | { kind: 'failed'; message: string };

function runIsolated(dir: string, options: BidsOptions): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 600_000;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUNNER, dir, JSON.stringify({ ignoreEmptyFiles: !!options.ignoreEmptyFiles, ignoreNiftiHeaders: !!options.ignoreNiftiHeaders, modulePath: options.modulePath })], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a timeout also ends anything the validator started.
      detached: true,
    });
    let out = '';
    let err = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err = (err + c).slice(-STDERR_KEEP)));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ kind: 'failed', message: `the validator could not be started: ${e.message}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return resolve({ kind: 'failed', message: `the validator did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped` });
      const line = out.trim().split('\n').pop();
      if (code === 0 && line) {
        try {
          const msg = JSON.parse(line) as { issues?: BidsAnswer; unavailable?: boolean };
          if (msg.unavailable) return resolve({ kind: 'unavailable' });
          if (msg.issues !== undefined) return resolve({ kind: 'answer', answer: msg.issues });
        } catch {
          // falls through: an answer that is not ours
        }
      }
      const first = err.split('\n').map((l) => l.trim()).find(Boolean) ?? (signal ? `ended by ${signal}` : `exit code ${code}`);
      resolve({ kind: 'failed', message: `the validator failed: ${first.slice(0, 500)}` });
    });
  });
}

/** Whether the validator module loads (for tests and diagnostics); runs it on nothing. */
export async function bidsValidatorAvailable(modulePath?: string): Promise<boolean> {
  const r = await runIsolated('/nonexistent-cairn-probe', { modulePath, timeoutMs: 60_000 });
  return r.kind !== 'unavailable' && !(r.kind === 'failed' && /Cannot find module|no BIDS\(/.test(r.message));
}

export async function runBidsValidator(dir: string, options: BidsOptions = {}): Promise<Issue[]> {
  const r = await runIsolated(dir, options);
  if (r.kind === 'unavailable') return [{ code: 'bids_validator_unavailable', severity: 'warning', file: null, message: 'BIDS validation is enabled but the bids-validator package is not installed' }];
  // A warning, not an error: the plugin's own failure must not block snapshots of every dataset.
  if (r.kind === 'failed') return [{ code: 'bids_validator_failed', severity: 'warning', file: null, message: `BIDS validation did not complete: ${r.message}` }];
  const raw = r.answer;
  if (typeof raw === 'string') return [{ code: 'bids_not_a_dataset', severity: 'error', file: null, message: raw }];
  const out: Issue[] = [];
  const add = (list: BidsIssue[] | undefined, severity: 'error' | 'warning') => {
    for (const i of list ?? []) {
      const code = `bids.${i.key ?? i.code ?? 'issue'}`;
      const files = (i.files ?? []).filter((f) => f?.file);
      if (!files.length) out.push({ code, severity, file: null, message: i.reason ?? code });
      for (const f of files.slice(0, 100)) {
        const rel = (f!.file!.relativePath ?? f!.file!.path ?? '').replace(/^\/+/, '');
        out.push({ code, severity, file: rel || null, message: f!.reason ?? i.reason ?? code });
      }
    }
  };
  add(raw.errors, 'error');
  add(raw.warnings, 'warning');
  return out;
}
