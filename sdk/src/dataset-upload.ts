import { isCairnError } from './errors.js';
import { BATCH_MAX_FILE_BYTES, type CommitResult, type DatasetChange, type DatasetsApi } from './datasets.js';

/**
 * The dataset upload protocol, once for every client (issue 11: "the upload protocol lives once in
 * the SDK"): reuse or open a session, ask which contents the server already has, send the rest —
 * small files many per request, large ones through the caller's resumable transport — then one
 * atomic commit. The web app and the CLI differ only in how they read, hash and stream bytes
 * (File vs. file system) and where they keep the session id, so those are parameters; tus itself
 * stays with each caller because its browser and Node builds take different sources and auth.
 */
export interface UploadItem {
  /** Path in the dataset (prefix included). */
  path: string;
  size: number;
  /** Known before sending (enables the have-check and batching); without it the item goes to `sendLarge`. */
  sha256?: string;
  /** The bytes, read only when the item's batch is sent (small items only). */
  read(): Promise<Uint8Array> | Uint8Array;
}

export interface UploadProgressReport {
  /** Bytes sent so far, of `total` (contents the server already had are not counted). */
  sent: number;
  total: number;
  /** Distinct contents to send, and how many are done. */
  files: number;
  done: number;
}

export interface UploadToDraftOptions<T extends UploadItem> {
  /** Where the session id survives an interruption (localStorage, a state file). */
  session: { get(): string | undefined; set(id: string): void | Promise<void> };
  /**
   * Sends one large (or unhashed) item resumably and answers its sha256 (the server's
   * `Upload-Sha256` when the caller could not hash). `onBytes` is told the item's bytes sent so far.
   */
  sendLarge(item: T, sessionId: string, onBytes: (sentOfThisItem: number) => void): Promise<string>;
  parallel?: number;
  onProgress?(p: UploadProgressReport): void;
  /** Changes committed with the puts (e.g. deletes of files gone from a synced folder). */
  extraChanges?: DatasetChange[];
  message?: string;
}

export interface UploadToDraftResult {
  result: CommitResult;
  sessionId: string;
  /** Distinct contents sent, of which in small-file batches, and their bytes. */
  sent: number;
  sentInBatches: number;
  bytesSent: number;
  /** Items not sent because the server (or another item) already had their content. */
  skipped: number;
  timings: { checkMs: number; sendMs: number; commitMs: number };
}

const now = () => (globalThis.performance ?? Date).now();

export async function uploadToDraft<T extends UploadItem>(datasets: DatasetsApi, ds: string, items: T[], opts: UploadToDraftOptions<T>): Promise<UploadToDraftResult> {
  let t = now();
  const lap = () => {
    const ms = now() - t;
    t = now();
    return ms;
  };
  // 1. session (reused after an interruption) and the have-check
  const hashes = [...new Set(items.flatMap((i) => (i.sha256 ? [i.sha256] : [])))];
  let sessionId = opts.session.get();
  let have: Set<string> | undefined;
  if (sessionId) {
    try {
      have = await datasets.have(ds, sessionId, hashes);
    } catch (e) {
      // A session that expired, was committed or belongs to an older server: open a new one.
      if (!isCairnError(e) || !['not_found', 'session_closed'].includes(e.code)) throw e;
    }
  }
  if (!have) {
    sessionId = (await datasets.openUpload(ds)).id;
    await opts.session.set(sessionId);
    have = await datasets.have(ds, sessionId, hashes);
  }
  const sid = sessionId!;
  const checkMs = lap();

  // 2. one upload per distinct content the server lacks; items the browser could not hash go alone
  const byHash = new Map<string, T>();
  const unhashed: T[] = [];
  for (const i of items) {
    if (!i.sha256) unhashed.push(i);
    else if (!have.has(i.sha256) && !byHash.has(i.sha256)) byHash.set(i.sha256, i);
  }
  const send = [...byHash.values(), ...unhashed].sort((a, b) => b.size - a.size);
  const small = send.filter((i) => i.sha256 && i.size <= BATCH_MAX_FILE_BYTES);
  const large = send.filter((i) => !(i.sha256 && i.size <= BATCH_MAX_FILE_BYTES));
  const total = send.reduce((s, i) => s + i.size, 0);
  let smallSent = 0;
  let done = 0;
  const largeSent = new Map<T, number>();
  const report = () => {
    let sent = smallSent;
    for (const v of largeSent.values()) sent += v;
    opts.onProgress?.({ sent, total, files: send.length, done });
  };
  report();
  const parallel = opts.parallel ?? 4;
  const batches = datasets.sendSmallFiles(ds, sid, small.map((i) => ({ sha256: i.sha256!, size: i.size, read: () => i.read() })), {
    parallel,
    onBatch: (files, bytes) => {
      smallSent += bytes;
      done += files;
      report();
    },
  });
  const hashOf = new Map<T, string>();
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < large.length) {
      const item = large[next++]!;
      try {
        hashOf.set(item, await opts.sendLarge(item, sid, (b) => (largeSent.set(item, b), report())));
        done++;
        report();
      } catch (e) {
        failed ??= e;
      }
    }
  };
  const largeDone = Promise.all(Array.from({ length: Math.min(parallel, large.length) }, worker)).then(() => {
    if (failed !== undefined) throw failed;
  });
  // Both run together; the first failure is reported once the other side has settled.
  const [b, l] = await Promise.allSettled([batches, largeDone]);
  if (b.status === 'rejected') throw b.reason;
  if (l.status === 'rejected') throw l.reason;
  const sendMs = lap();

  // 3. one atomic commit
  const changes: DatasetChange[] = items.map((i) => ({ op: 'put', path: i.path, sha256: i.sha256 ?? hashOf.get(i)!, size: i.size }));
  changes.push(...(opts.extraChanges ?? []));
  const result = await datasets.commitUpload(ds, sid, changes, { message: opts.message });
  const commitMs = lap();
  return { result, sessionId: sid, sent: send.length, sentInBatches: small.length, bytesSent: total, skipped: items.length - send.length, timings: { checkMs, sendMs, commitMs } };
}
