/**
 * Host side of the Python runtime: a small pool of pre-loaded Pyodide processes
 * (pyodide.runner.mjs). Loading Pyodide takes seconds, so processes are started ahead of need;
 * each runs exactly one view and is then killed and replaced, so nothing a view leaves behind
 * in the interpreter can reach another run. The host kills a process at the deadline or when
 * its resident memory runs away, and answers its events queries over IPC.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SandboxError, type HostQuery, type RunPayload, type SandboxErrorCode } from './sandbox.types.js';
import { RunGate, SlotQueue } from './worker.queue.js';

const RUNNER = fileURLToPath(new URL('./pyodide.runner.mjs', import.meta.url));
const MiB = 1024 * 1024;
/** V8 heap of a runner: Pyodide's JS side plus the JSON text passing through it. */
const RUNNER_HEAP_MB = 256;
/** Resident memory a run may add on top of its limit (JS-side copies, page cache) before the watchdog kills it. */
const RSS_SLACK_MB = 192;
const RSS_SAMPLE_MS = 50;
/**
 * What a runner process holds before any view code runs (Pyodide loaded: about 150-200 MiB
 * resident). A run reserves this plus its memory limit plus RSS_SLACK_MB: the most the watchdog
 * lets it reach.
 */
const RUNNER_BASE_MB = 200;
/** Pyodide start plus our setup; past this a start is considered failed. */
const START_TIMEOUT_MS = 60_000;

interface RunnerMessage {
  type: 'ready' | 'query' | 'done' | 'checked' | 'snapshot';
  snapshot?: Uint8Array;
  qid?: number;
  query?: string;
  ok?: boolean;
  resultJson?: string;
  message?: string;
  error?: { code: SandboxErrorCode; message: string };
}

function pyodideEntry(): string {
  const require = createRequire(import.meta.url);
  return require.resolve('pyodide/pyodide.mjs');
}

/** Resident set size of a process, from /proc (Linux); null where that is not available. */
function residentBytes(pid: number): number | null {
  try {
    const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
    return Number(statm[1]) * 4096;
  } catch {
    return null;
  }
}

function spawnRunner(entry: string, mode: 'plain' | 'make-snapshot' | 'from-snapshot'): ChildProcess {
  return spawn(
    process.execPath,
    [
      '--experimental-permission',
      `--allow-fs-read=${dirname(entry)}/`,
      `--allow-fs-read=${RUNNER}`,
      '--disallow-code-generation-from-strings',
      `--max-old-space-size=${RUNNER_HEAP_MB}`,
      '--no-warnings',
      RUNNER,
      entry,
      mode,
    ],
    // 'advanced' so the start-up snapshot travels as bytes, not as a JSON array of numbers.
    { env: {}, cwd: '/', stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' },
  );
}

/**
 * Loads Pyodide once in a throwaway runner and returns its memory image, from which every
 * later runner starts in a fraction of the time. Null when that fails: runners then load plainly.
 */
function makeSnapshot(entry: string, children: Set<ChildProcess>): Promise<Uint8Array | null> {
  return new Promise((resolve) => {
    const child = spawnRunner(entry, 'make-snapshot');
    children.add(child);
    child.unref();
    child.channel?.unref();
    const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
    let snapshot: Uint8Array | null = null;
    child.on('message', (msg: RunnerMessage) => {
      if (msg.type === 'snapshot' && msg.snapshot instanceof Uint8Array) snapshot = msg.snapshot;
    });
    child.on('error', () => {});
    child.on('exit', () => {
      children.delete(child);
      clearTimeout(timer);
      resolve(snapshot);
    });
  });
}

class PyodideProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  private listener: ((msg: RunnerMessage) => void) | null = null;
  private exitListener: ((code: number | null, signal: NodeJS.Signals | null) => void) | null = null;
  baselineRss = 0;
  exited = false;
  stderrTail = '';

  constructor(entry: string, snapshot: Uint8Array | null) {
    this.child = spawnRunner(entry, snapshot ? 'from-snapshot' : 'plain');
    // Like the JavaScript workers, Python views yield the CPU to the API's own requests.
    try {
      if (this.child.pid) setPriority(this.child.pid, 10);
    } catch {
      /* not allowed here: normal priority */
    }
    if (snapshot) this.child.send({ type: 'snapshot', snapshot });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-2000);
    });
    // Idle runners must not keep the host alive; a run in progress holds its own timers.
    this.child.unref();
    this.child.channel?.unref();
    this.child.on('message', (msg: RunnerMessage) => this.listener?.(msg));
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      this.exitListener?.(code, signal);
    });
    this.child.on('error', () => {});
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill();
        reject(new SandboxError('view_unavailable', 'The Python sandbox took too long to start'));
      }, START_TIMEOUT_MS);
      this.listener = (msg) => {
        if (msg.type !== 'ready') return;
        clearTimeout(timer);
        this.listener = null;
        this.exitListener = null;
        this.baselineRss = residentBytes(this.child.pid ?? 0) ?? 0;
        resolve();
      };
      this.exitListener = () => {
        clearTimeout(timer);
        reject(new SandboxError('view_unavailable', `The Python sandbox failed to start: ${this.stderrTail.trim().slice(-500)}`));
      };
    });
    this.ready.catch(() => {});
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private send(msg: unknown): void {
    if (!this.exited && this.child.connected) this.child.send(msg as object);
  }

  run(payload: RunPayload, query: HostQuery): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        clearInterval(sampler);
        this.listener = null;
        this.exitListener = null;
        // One run per process, whatever happened in it.
        this.kill();
        fn();
      };
      const fail = (code: SandboxErrorCode, message: string) => finish(() => reject(new SandboxError(code, message)));
      const deadline = setTimeout(() => fail('view_timeout', 'The view ran out of time'), payload.limits.cpuMs);
      const rssLimit = this.baselineRss + (payload.limits.memoryMb + RSS_SLACK_MB) * MiB;
      const sampler = setInterval(() => {
        const rss = residentBytes(this.child.pid ?? 0);
        if (rss !== null && this.baselineRss > 0 && rss > rssLimit) fail('view_memory_exceeded', 'The view ran out of memory');
      }, RSS_SAMPLE_MS);
      this.exitListener = (code, signal) => {
        const oom = signal === 'SIGABRT' || code === 134 || /heap out of memory|Out of memory/i.test(this.stderrTail);
        fail(oom ? 'view_memory_exceeded' : 'view_runtime_error', oom ? 'The view ran out of memory' : 'The Python sandbox process stopped');
      };
      this.listener = (msg) => {
        if (msg.type === 'query') {
          const qid = msg.qid;
          let parsed: unknown;
          try {
            parsed = JSON.parse(String(msg.query));
          } catch {
            parsed = undefined;
          }
          query(parsed).then(
            (json) => !settled && this.send({ type: 'queryResult', qid, ok: true, json }),
            (err: unknown) =>
              !settled &&
              this.send({
                type: 'queryResult',
                qid,
                ok: false,
                error: { message: err instanceof Error ? err.message : 'The events query failed' },
              }),
          );
        } else if (msg.type === 'done') {
          if (msg.ok && typeof msg.resultJson === 'string') {
            const json = msg.resultJson;
            finish(() => resolve(json));
          } else {
            fail(msg.error?.code ?? 'view_runtime_error', String(msg.error?.message ?? 'The view failed'));
          }
        }
      };
      this.send({ type: 'run', payload });
    });
  }

  check(files: Record<string, string>): Promise<string | null> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill();
        reject(new SandboxError('view_unavailable', 'The Python sandbox did not answer'));
      }, 10_000);
      this.exitListener = () => {
        clearTimeout(timer);
        reject(new SandboxError('view_unavailable', 'The Python sandbox process stopped'));
      };
      this.listener = (msg) => {
        if (msg.type !== 'checked') return;
        clearTimeout(timer);
        this.listener = null;
        this.exitListener = null;
        resolve(msg.ok ? null : String(msg.message ?? 'The view does not compile'));
      };
      this.send({ type: 'check', files });
    });
  }
}

export class PythonPool {
  private readonly queue: SlotQueue<PyodideProcess>;
  private readonly processes = new Set<PyodideProcess>();
  private entry: string | null = null;
  private snapshot: Promise<Uint8Array | null> | null = null;
  private readonly snapshotMakers = new Set<ChildProcess>();
  private startFailures = 0;
  private lastStartError: SandboxError | null = null;
  private closed = false;

  private started = false;

  private readonly gate: RunGate;

  constructor(private readonly opts: { size: number; queueTimeoutMs: number; lazy?: boolean; maxRuns: number; memoryBudgetMb: number; maxQueued: number }) {
    this.queue = new SlotQueue(opts.queueTimeoutMs);
    this.gate = new RunGate({ maxRuns: opts.maxRuns, memoryBudgetMb: opts.memoryBudgetMb, maxQueued: opts.maxQueued, timeoutMs: opts.queueTimeoutMs });
    if (!opts.lazy) this.start();
  }

  /**
   * Loads the pool's processes (in the background). A lazy pool does this on its first use, so
   * a server that never runs Python never pays for Pyodide (seconds of CPU, ~180 MB a process).
   */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    for (let i = 0; i < this.opts.size; i++) this.replenish();
  }

  /** Starts one process and offers it to the pool once Pyodide is loaded. */
  private replenish(): void {
    if (this.closed) return;
    try {
      this.entry ??= pyodideEntry();
    } catch {
      this.lastStartError = new SandboxError('view_unavailable', 'Pyodide is not installed');
      this.startFailures = Infinity;
      return;
    }
    const entry = this.entry;
    this.snapshot ??= makeSnapshot(entry, this.snapshotMakers);
    void this.snapshot.then((snapshot) => this.startProcess(entry, snapshot));
  }

  private startProcess(entry: string, snapshot: Uint8Array | null): void {
    if (this.closed) return;
    const p = new PyodideProcess(entry, snapshot);
    this.processes.add(p);
    p.child.once('exit', () => this.processes.delete(p));
    p.ready.then(
      () => {
        this.startFailures = 0;
        this.lastStartError = null;
        if (this.closed) p.kill();
        else this.queue.release(p);
      },
      (err: SandboxError) => {
        this.startFailures++;
        this.lastStartError = err;
        // A snapshot that does not start is dropped: the next runners load Pyodide plainly.
        if (snapshot) this.snapshot = Promise.resolve(null);
        // Back off so a broken installation does not turn into a fork loop.
        if (this.startFailures < 5) setTimeout(() => this.replenish(), 500 * this.startFailures).unref();
      },
    );
  }

  private async acquire(): Promise<PyodideProcess> {
    if (this.opts.size === 0) throw new SandboxError('view_unavailable', 'Python views are disabled on this server');
    this.start();
    if (this.startFailures >= 5 && this.lastStartError) throw this.lastStartError;
    for (;;) {
      const p = await this.queue.acquire();
      if (!p.exited) return p;
      this.replenish();
    }
  }

  /** Runs in progress, the memory they reserve, and runs waiting (for tests and diagnostics). */
  get load() {
    return this.gate.stats;
  }

  /**
   * Each run takes a pre-started process and a fresh one is started behind it; the gate in front
   * bounds how many runs (so processes) exist at once and the memory they may reach together:
   * at most `maxRuns` running plus `size` idle or starting.
   */
  async run(payload: RunPayload, query: HostQuery): Promise<string> {
    if (this.opts.size === 0) throw new SandboxError('view_unavailable', 'Python views are disabled on this server');
    const release = await this.gate.enter(payload.limits.memoryMb + RSS_SLACK_MB + RUNNER_BASE_MB);
    try {
      const p = await this.acquire();
      this.replenish();
      return await p.run(payload, query);
    } finally {
      release();
    }
  }

  async check(files: Record<string, string>): Promise<void> {
    const p = await this.acquire();
    let problem: string | null;
    try {
      problem = await p.check(files);
    } finally {
      // Compiling executes none of the view's code, so the process stays clean and reusable.
      if (p.exited) this.replenish();
      else this.queue.release(p);
    }
    if (problem !== null) throw new SandboxError('view_compile_error', problem);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue.close();
    for (const child of this.snapshotMakers) child.kill('SIGKILL');
    const exits = [...this.processes].map(
      (p) => new Promise<void>((resolve) => (p.exited ? resolve() : (p.child.once('exit', () => resolve()), p.kill()))),
    );
    await Promise.all(exits);
    this.processes.clear();
  }
}
