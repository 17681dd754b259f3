import { Worker } from 'node:worker_threads';
import type { Kysely } from 'kysely';
import type { JsonValue, RegistrationTypeDocument } from '@cairn/sdk';
import type { Database } from '../database/database.js';
import type { Logger } from '../kernel/logger.js';
import type { CandidateSource, Found } from './search.matching.js';
import { storeSource } from './search.store.js';

/** Replaced by `true` when scripts/build-server.mjs bundles the server. */
declare const CAIRN_BUNDLED: boolean | undefined;
const bundled = typeof CAIRN_BUNDLED !== 'undefined' && CAIRN_BUNDLED;
// The build emits the worker as an entry of its own in server/dist. From source (tests, tsx) a
// small .mjs registers tsx in the worker first: a worker thread does not inherit its parent's loader.
const WORKER_URL = bundled ? new URL('../../dist/search.dedup.worker.js', import.meta.url) : new URL('./search.dedup.worker.boot.mjs', import.meta.url);

/** host → worker */
export type DedupRequest =
  | { kind: 'check'; id: number; importId: string; unwritten: number; type: string; version: number; doc: RegistrationTypeDocument; regs: Array<{ id: string; data: Record<string, JsonValue> }>; when: 'declare' | 'register' }
  | { kind: 'release'; importId: string }
  | { kind: 'answer'; qid: number; ok: boolean; value?: unknown; error?: string };

/** worker → host */
export type DedupReply =
  | { kind: 'done'; id: number; ok: boolean; found?: Found[]; error?: string }
  | { kind: 'query'; qid: number; method: keyof CandidateSource; args: unknown[] };

/**
 * An import's de-duplication runs in a worker thread (search.dedup.worker.ts): keys, candidates'
 * preparation and scoring are most of an import's JavaScript, and on the API's thread they took
 * turns with writing the batches. The worker reaches the register through this host, which runs
 * its queries on the API's pool (the worker holds no connection and no secret). One worker, started
 * on the first import, serves every import, each with its own memory of the rows it has seen.
 */
export class DedupWorker {
  private worker: Worker | null = null;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (f: Found[]) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
  ) {}

  /**
   * Checks a batch of an import. `unwritten`: how many batches before it the import may still be
   * writing (the worker holds that many in memory, since the index does not hold them yet).
   */
  check(importId: string, unwritten: number, type: string, version: number, doc: RegistrationTypeDocument, regs: Array<{ id: string; data: Record<string, JsonValue> }>, when: 'declare' | 'register'): Promise<Found[]> {
    const w = this.start();
    const id = this.next++;
    return new Promise<Found[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ kind: 'check', id, importId, unwritten, type, version, doc, regs, when } satisfies DedupRequest);
    });
  }

  /** Forgets an import's memory (its last batch and the records it kept prepared). */
  release(importId: string): void {
    this.worker?.postMessage({ kind: 'release', importId } satisfies DedupRequest);
  }

  /** Stops the worker; checks in progress fail. */
  async close(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.stopped(w);
    await w.terminate();
  }

  /** Forgets a worker that stopped or is stopping, and fails the checks it had. */
  private stopped(w: Worker, err?: unknown): void {
    if (this.worker !== w) return;
    this.worker = null;
    if (err) this.log.error({ err }, 'de-duplication worker failed');
    // The imports it was checking fail; the next check starts a new worker.
    for (const p of this.pending.values()) p.reject(new Error('the de-duplication worker stopped'));
    this.pending.clear();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    // No environment: the worker needs none, and the API's secrets stay in the API's thread. A
    // heap of its own, bounded: imports at once that outgrow it (each keeps up to ~150 MB) stop
    // the worker and fail, instead of taking the server down with them.
    const w = new Worker(WORKER_URL, { env: {}, resourceLimits: { maxOldGenerationSizeMb: 2048 } });
    // An idle worker must not keep a stopping process alive.
    w.unref();
    const source = storeSource(this.db);
    w.on('message', (m: DedupReply) => {
      if (m.kind === 'query') {
        const run = Object.hasOwn(source, m.method) ? (source[m.method] as (...args: unknown[]) => Promise<unknown>) : () => Promise.reject(new Error(`no query ${String(m.method)}`));
        run(...m.args).then(
          (value) => w.postMessage({ kind: 'answer', qid: m.qid, ok: true, value } satisfies DedupRequest),
          (e: unknown) => w.postMessage({ kind: 'answer', qid: m.qid, ok: false, error: e instanceof Error ? e.message : String(e) } satisfies DedupRequest),
        );
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.found!);
      else p.reject(new Error(`de-duplication failed: ${m.error}`));
    });
    w.on('error', (err) => this.stopped(w, err));
    w.on('exit', () => this.stopped(w));
    this.worker = w;
    return w;
  }
}
