/**
 * The view sandbox: runs admin-registered view code (JavaScript in QuickJS/WASM on worker
 * threads, Python in Pyodide in separate hardened processes) with memory, CPU-time, stack and
 * output limits. It knows nothing about the database or HTTP: the caller hands it the source
 * files, the configuration and input, and a `queryEvents` function already scoped to what the
 * app was granted. See docs/views.md for the threat model and the decisions behind it.
 */
import { availableParallelism } from 'node:os';
import { JavaScriptPool } from './javascript.pool.js';
import { PythonPool } from './python.pool.js';

import { DEFAULT_LIMITS, SandboxError, clampLimits, isSandboxError, type EventsPage, type EventsQuery, type RunRequest, type RunResult, type SandboxLimits, type ViewRuntime, type RunPayload, type HostQuery } from './sandbox.types.js';

export * from './sandbox.types.js';

export interface Sandbox {
  run(req: RunRequest): Promise<RunResult>;
  /** Structural checks plus a compile of every file, without running any of it. */
  check(runtime: ViewRuntime, files: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export interface SandboxOptions {
  /** Concurrent Python runs, each in its own pre-loaded process. 0 disables Python. Default 1. */
  pythonWorkers?: number;
  /** Worker threads running QuickJS. Default min(2, cores). */
  javascriptWorkers?: number;
  /** How long a run may wait for a free worker before failing with view_unavailable. */
  queueTimeoutMs?: number;
  /** Start the Python processes on the first Python check or run instead of now. */
  lazyPython?: boolean;
  /** Python runs at once, whatever the number of pre-started processes. Default 2. */
  pythonMaxRuns?: number;
  /**
   * Memory all Python runs together may reserve, in MiB (each reserves its template's memory
   * limit plus the runner's own share, see python.pool.ts). Default 1536.
   */
  pythonMemoryMb?: number;
  /** Runs of each runtime that may wait for their turn; more are refused with sandbox_busy. Default 16. */
  maxQueued?: number;
}

export function createSandbox(opts: SandboxOptions = {}): Sandbox {
  const queueTimeoutMs = opts.queueTimeoutMs ?? 30_000;
  const maxQueued = Math.max(0, opts.maxQueued ?? 16);
  const js = new JavaScriptPool({
    size: Math.max(1, opts.javascriptWorkers ?? Math.min(2, availableParallelism())),
    queueTimeoutMs,
    maxQueued,
  });
  const py = new PythonPool({
    size: Math.max(0, opts.pythonWorkers ?? 1),
    queueTimeoutMs,
    lazy: opts.lazyPython,
    maxRuns: Math.max(1, opts.pythonMaxRuns ?? 2),
    memoryBudgetMb: Math.max(1, opts.pythonMemoryMb ?? 1536),
    maxQueued,
  });
  let closed = false;
  return {
    async run(req) {
      if (closed) throw new SandboxError('view_unavailable', 'The sandbox is closed');
      validateViewFiles(req.runtime, req.files);
      const limits = clampLimits(req.limits);
      const started = performance.now();
      let eventsRead = 0;
      let hostFailure: unknown;
      const slots = new Semaphore(MAX_QUERIES_IN_FLIGHT);
      const query = async (raw: unknown): Promise<string> => {
        let page: EventsPage;
        try {
          const q = checkQuery(raw, limits);
          await slots.acquire();
          try {
            page = await req.queryEvents(q);
          } finally {
            slots.release();
          }
        } catch (e) {
          hostFailure ??= e;
          throw e;
        }
        const next = JSON.stringify(page?.next ?? null);
        if (page && 'eventsJson' in page && typeof page.eventsJson === 'string' && Number.isInteger(page.count)) {
          eventsRead += page.count;
          return `{"events":${page.eventsJson},"next":${next}}`;
        }
        if (!page || !('events' in page) || !Array.isArray(page.events)) {
          const e = new SandboxError('view_unavailable', 'The events reader answered a malformed page');
          hostFailure ??= e;
          throw e;
        }
        eventsRead += page.events.length;
        return JSON.stringify({ events: page.events, next: page.next ?? null });
      };
      const payload = {
        files: req.files,
        configurationJson: toJsonText(req.configuration, 'configuration'),
        inputJson: toJsonText(req.input, 'input'),
        limits,
      };
      let resultJson: string;
      try {
        resultJson =
          req.runtime === 'javascript' ? await js.run(payload, query) : await py.run(payload, query);
      } catch (e) {
        // A view that lets a failed query propagate fails with the host's own reason (an
        // invalid query, a revoked permission...), not with a generic runtime error.
        if (
          hostFailure instanceof Error &&
          isSandboxError(e) &&
          e.code === 'view_runtime_error' &&
          e.message.includes(hostFailure.message)
        ) {
          throw hostFailure;
        }
        throw e;
      }
      if (Buffer.byteLength(resultJson, 'utf8') > limits.maxResultBytes) {
        throw new SandboxError('view_output_too_large', `The result exceeds ${limits.maxResultBytes} bytes`);
      }
      let result: unknown;
      try {
        result = JSON.parse(resultJson);
      } catch {
        throw new SandboxError('view_invalid_result', 'The view did not produce valid JSON');
      }
      return { result, resultJson, stats: { durationMs: Math.round(performance.now() - started), eventsRead } };
    },
    async check(runtime, files) {
      validateViewFiles(runtime, files);
      if (runtime === 'javascript') await js.check(files);
      else await py.check(files);
    },
    async close() {
      closed = true;
      await Promise.all([js.close(), py.close()]);
    },
  };
}

/**
 * Queries one run may have in flight at once: a view firing a thousand `events.query` calls
 * in parallel waits for its turn instead of taking a thousand database connections.
 */
export const MAX_QUERIES_IN_FLIGHT = 4;

class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

function toJsonText(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value ?? null);
  } catch {
    text = undefined;
  }
  if (text === undefined) throw new SandboxError('view_invalid_result', `The ${what} is not JSON`);
  return text;
}

const QUERY_KEYS = new Set(['type', 'from', 'to', 'after', 'limit', 'filter']);
const MAX_FILTER_BYTES = 4096;
const MAX_QUERY_STRING = 256;

/** Validates what the view asked for; the host reader applies scoping on top of this. */
export function checkQuery(raw: unknown, limits: SandboxLimits): EventsQuery {
  const bad = (m: string) => new SandboxError('view_query_invalid', m);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('events.query expects an object');
  const q = raw as Record<string, unknown>;
  for (const k of Object.keys(q)) {
    if (!QUERY_KEYS.has(k)) throw bad(`events.query does not know "${k.slice(0, 40)}"`);
  }
  if (typeof q.type !== 'string' || q.type.length === 0 || q.type.length > MAX_QUERY_STRING) {
    throw bad('events.query needs a "type" string');
  }
  const out: EventsQuery = { type: q.type, limit: limits.maxQueryLimit };
  for (const k of ['from', 'to', 'after'] as const) {
    const v = q[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || v.length > MAX_QUERY_STRING) throw bad(`events.query "${k}" must be a string`);
    if (k !== 'after' && Number.isNaN(Date.parse(v))) throw bad(`events.query "${k}" must be an ISO 8601 date`);
    out[k] = v;
  }
  if (q.limit !== undefined && q.limit !== null) {
    if (typeof q.limit !== 'number' || !Number.isInteger(q.limit) || q.limit < 1 || q.limit > limits.maxQueryLimit) {
      throw bad(`events.query "limit" must be an integer from 1 to ${limits.maxQueryLimit}`);
    }
    out.limit = q.limit;
  }
  if (q.filter !== undefined && q.filter !== null) {
    if (typeof q.filter !== 'object' || Array.isArray(q.filter)) throw bad('events.query "filter" must be an object');
    let text: string | undefined;
    try {
      text = JSON.stringify(q.filter);
    } catch {
      text = undefined;
    }
    if (text === undefined || text.length > MAX_FILTER_BYTES) throw bad(`events.query "filter" must be JSON of at most ${MAX_FILTER_BYTES} characters`);
    out.filter = JSON.parse(text) as Record<string, unknown>;
  }
  return out;
}

export const MAX_FILES = 20;
export const MAX_FILE_BYTES = 256 * 1024;
export const MAX_TOTAL_BYTES = 1024 * 1024;
const JS_NAME = /^(?:[A-Za-z0-9_][A-Za-z0-9_.-]*\/)*[A-Za-z0-9_][A-Za-z0-9_.-]*\.js$/;
const PY_NAME = /^(?:[A-Za-z_][A-Za-z0-9_]*\/)*[A-Za-z_][A-Za-z0-9_]*\.py$/;

export const entryFile = (runtime: ViewRuntime): string => (runtime === 'javascript' ? 'main.js' : 'main.py');

/**
 * Structural checks of a template's sources (cheap, synchronous). Syntax errors are found by
 * `Sandbox.check`, which compiles the files in the sandbox itself.
 */
export function validateViewFiles(runtime: unknown, files: unknown): asserts files is Record<string, string> {
  const bad = (m: string) => new SandboxError('view_compile_error', m);
  if (runtime !== 'javascript' && runtime !== 'python') throw bad('The runtime must be "javascript" or "python"');
  if (files === null || typeof files !== 'object' || Array.isArray(files)) throw bad('files must be an object of name → source');
  const names = Object.keys(files);
  if (names.length === 0) throw bad('No source files');
  if (names.length > MAX_FILES) throw bad(`At most ${MAX_FILES} files (got ${names.length})`);
  const entry = entryFile(runtime);
  if (!Object.hasOwn(files, entry)) throw bad(`The entry file ${entry} is missing`);
  const pattern = runtime === 'javascript' ? JS_NAME : PY_NAME;
  let total = 0;
  for (const name of names) {
    const shown = JSON.stringify(name.slice(0, 80));
    if (name.length > 200 || !pattern.test(name) || name.split('/').some((s) => s === '.' || s === '..')) {
      throw bad(
        runtime === 'javascript'
          ? `Bad file name ${shown}: use relative paths of letters, digits, "_", "-", "." ending in .js`
          : `Bad file name ${shown}: use relative paths of Python identifiers ending in .py`,
      );
    }
    const source = (files as Record<string, unknown>)[name];
    if (typeof source !== 'string') throw bad(`The source of ${shown} must be a string`);
    if (source.includes('\0')) throw bad(`${shown} contains a NUL character`);
    const size = Buffer.byteLength(source, 'utf8');
    if (size > MAX_FILE_BYTES) throw bad(`${shown} is ${size} bytes; the maximum is ${MAX_FILE_BYTES}`);
    total += size;
  }
  if (total > MAX_TOTAL_BYTES) throw bad(`The sources total ${total} bytes; the maximum is ${MAX_TOTAL_BYTES}`);
}
