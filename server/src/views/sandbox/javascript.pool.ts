/**
 * Host side of the JavaScript runtime: a few worker threads, each with its own QuickJS WASM
 * module compiled once and reused, running one view at a time. Worker threads keep a
 * CPU-bound view off the API's event loop, and a worker that misbehaves (a trap in the WASM
 * module, a run the interrupt handler could not stop) is simply terminated and replaced.
 */
import { Worker } from 'node:worker_threads';
import { DEFAULT_LIMITS, SandboxError, type HostQuery, type RunPayload, type SandboxErrorCode } from './sandbox.types.js';
import { SlotQueue } from './worker.queue.js';

const WORKER_URL = new URL('./quickjs.worker.mjs', import.meta.url);
/** Extra time a worker gets past the deadline before the host stops waiting and kills it. */
const WATCHDOG_GRACE_MS = 1_000;

interface WorkerReply {
  type: 'ready' | 'query' | 'done';
  id?: number;
  qid?: number;
  query?: string;
  ok?: boolean;
  fatal?: boolean;
  resultJson?: string;
  error?: { code: SandboxErrorCode; message: string };
}

interface Job {
  id: number;
  onQuery?: (msg: WorkerReply) => void;
  onDone: (msg: WorkerReply) => void;
  onCrash: (err: SandboxError) => void;
}

class QuickJsWorker {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  job: Job | null = null;
  dead = false;

  constructor(onExit: (w: QuickJsWorker) => void) {
    this.worker = new Worker(WORKER_URL, {
      env: {},
      // The V8 heap of the worker only carries JSON text between host and VM; the VM's own
      // memory is WASM memory, limited per run by QuickJS.
      resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32 },
      workerData: { defaultMemoryMb: DEFAULT_LIMITS.memoryMb },
    });
    this.worker.unref();
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (msg: WorkerReply) => {
        if (msg.type === 'ready') {
          this.worker.off('message', onMessage);
          resolve();
        }
      };
      this.worker.on('message', onMessage);
      this.worker.once('exit', () => reject(new SandboxError('view_unavailable', 'The JavaScript sandbox failed to start')));
    });
    this.ready.catch(() => {});
    this.worker.on('message', (msg: WorkerReply) => {
      const job = this.job;
      if (!job || msg.id !== job.id) return;
      if (msg.type === 'query') job.onQuery?.(msg);
      else if (msg.type === 'done') job.onDone(msg);
    });
    this.worker.on('exit', () => {
      this.dead = true;
      const job = this.job;
      this.job = null;
      job?.onCrash(new SandboxError('view_runtime_error', 'The sandbox worker stopped'));
      onExit(this);
    });
    this.worker.on('error', (err: Error & { code?: string }) => {
      const job = this.job;
      this.job = null;
      job?.onCrash(
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new SandboxError('view_memory_exceeded', 'The view exhausted the sandbox worker')
          : new SandboxError('view_runtime_error', 'The sandbox worker failed'),
      );
    });
  }

  kill(): void {
    this.dead = true;
    void this.worker.terminate();
  }
}

export class JavaScriptPool {
  private readonly queue: SlotQueue<QuickJsWorker>;
  private readonly workers = new Set<QuickJsWorker>();
  private nextId = 0;
  private closed = false;

  constructor(private readonly opts: { size: number; queueTimeoutMs: number; maxQueued?: number }) {
    // The workers are the concurrency cap: at most `size` runs (each within its memory limit) at once.
    this.queue = new SlotQueue(opts.queueTimeoutMs, opts.maxQueued);
  }

  private spawn(): QuickJsWorker {
    const w = new QuickJsWorker((dead) => {
      this.workers.delete(dead);
      if (!this.closed) this.queue.release(this.spawn());
    });
    this.workers.add(w);
    return w;
  }

  private started = false;
  private start(): void {
    if (this.started) return;
    this.started = true;
    for (let i = 0; i < this.opts.size; i++) this.queue.release(this.spawn());
  }

  /** Runs `task` on a free worker; the worker goes back to the pool unless it was retired. */
  private async withWorker<T>(task: (w: QuickJsWorker) => Promise<T>): Promise<T> {
    this.start();
    let w = await this.queue.acquire();
    // A worker that died while idle has already been replaced by its exit handler.
    for (let tries = 0; w.dead && tries < 3; tries++) w = await this.queue.acquire();
    await w.ready;
    try {
      return await task(w);
    } finally {
      if (!w.dead) this.queue.release(w);
    }
  }

  run(payload: RunPayload, query: HostQuery): Promise<string> {
    return this.withWorker(
      (w) =>
        new Promise<string>((resolve, reject) => {
          const id = ++this.nextId;
          const watchdog = setTimeout(() => {
            w.job = null;
            w.kill();
            reject(new SandboxError('view_timeout', 'The view ran out of time'));
          }, payload.limits.cpuMs + WATCHDOG_GRACE_MS);
          const finish = () => {
            clearTimeout(watchdog);
            w.job = null;
          };
          w.job = {
            id,
            onQuery: (msg) => {
              const qid = msg.qid;
              let parsed: unknown;
              try {
                parsed = JSON.parse(msg.query ?? 'null');
              } catch {
                parsed = undefined;
              }
              query(parsed).then(
                (json) => {
                  if (w.job?.id === id) w.worker.postMessage({ type: 'queryResult', id, qid, ok: true, json });
                },
                (err: unknown) => {
                  if (w.job?.id !== id) return;
                  const message = err instanceof Error ? err.message : 'The events query failed';
                  w.worker.postMessage({ type: 'queryResult', id, qid, ok: false, error: { message } });
                },
              );
            },
            onDone: (msg) => {
              finish();
              if (msg.fatal) w.kill();
              if (msg.ok && typeof msg.resultJson === 'string') resolve(msg.resultJson);
              else reject(new SandboxError(msg.error?.code ?? 'view_runtime_error', msg.error?.message ?? 'The view failed'));
            },
            onCrash: (err) => {
              finish();
              reject(err);
            },
          };
          w.worker.postMessage({ type: 'run', id, payload });
        }),
    );
  }

  check(files: Record<string, string>): Promise<void> {
    return this.withWorker(
      (w) =>
        new Promise<void>((resolve, reject) => {
          const id = ++this.nextId;
          w.job = {
            id,
            onDone: (msg) => {
              w.job = null;
              if (msg.ok) resolve();
              else reject(new SandboxError(msg.error?.code ?? 'view_compile_error', msg.error?.message ?? 'The view does not compile'));
            },
            onCrash: (err) => reject(err),
          };
          w.worker.postMessage({ type: 'check', id, files });
        }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue.close();
    await Promise.all([...this.workers].map((w) => w.worker.terminate()));
    this.workers.clear();
  }
}
