import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import * as tus from 'tus-js-client';
import { BATCH_MAX_FILE_BYTES, isCairnError, uploadToDraft, type UploadToDraftResult, type CairnClient, type DatasetChange, type FileEntry, type LineDiff } from '@cairn/sdk';
import { authedClient } from '../context.js';
import { configDir } from '../config.store.js';
import { CliError } from '../errors.js';
import { table } from '../format.js';

const positiveInt = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 64) throw new CliError(`${name} must be an integer from 1 to 64, not ${JSON.stringify(v)}`, 'usage_error', 2);
  return Number(v);
};

export const bytes = (n: number) => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
};

export async function sha256File(file: string, onBytes?: (n: number) => void): Promise<string> {
  const h = createHash('sha256');
  for await (const c of fs.createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    h.update(c as Buffer);
    onBytes?.((c as Buffer).length);
  }
  return h.digest('hex');
}

/** Runs `fn` over `items` with at most `n` at a time; the first failure stops the rest. */
async function parallel<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (failed !== undefined) throw failed;
}

interface LocalFile {
  path: string;
  abs: string;
  size: number;
  mtimeMs: number;
  sha256?: string;
}

/**
 * Every file under `root`, sorted by path. Synchronous on purpose: for 20,000 small files one
 * thread-pool round trip per stat costs seconds, a direct stat milliseconds, and the CLI has
 * nothing else to do meanwhile.
 */
function walk(root: string): LocalFile[] {
  const out: LocalFile[] = [];
  const rec = (dir: string) => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, d.name);
      if (d.isDirectory()) rec(abs);
      else if (d.isFile()) {
        const st = fs.statSync(abs);
        out.push({ path: path.relative(root, abs).split(path.sep).join('/'), abs, size: st.size, mtimeMs: st.mtimeMs });
      }
    }
  };
  rec(root);
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** Small files are read whole and hashed in one call: a stream per file costs more than the hashing. */
async function hashLocal(f: LocalFile, onBytes?: (n: number) => void): Promise<string> {
  if (f.size > BATCH_MAX_FILE_BYTES) return sha256File(f.abs, onBytes);
  const data = fs.readFileSync(f.abs);
  onBytes?.(data.length);
  return createHash('sha256').update(data).digest('hex');
}

/** What survives an interrupted upload: the session, each content's tus URL, and hashes already computed. */
interface UploadState {
  sessionId?: string;
  urls: Record<string, string>;
  hashes: Record<string, { size: number; mtimeMs: number; sha256: string }>;
}

function statePath(ds: string, dir: string, env = process.env): string {
  const key = createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 16);
  return path.join(configDir(env), 'uploads', `${ds.replace(/[^A-Za-z0-9_-]/g, '_')}-${key}.json`);
}

async function readState(file: string): Promise<UploadState> {
  try {
    const s = JSON.parse(await fsp.readFile(file, 'utf8')) as UploadState;
    return { sessionId: s.sessionId, urls: s.urls ?? {}, hashes: s.hashes ?? {} };
  } catch {
    return { urls: {}, hashes: {} };
  }
}

const writers = new Map<string, { running: Promise<void>; pending?: UploadState; queued?: Promise<void> }>();
/**
 * Atomic (write then rename) and coalesced: parallel uploads report URLs thousands of times, so at
 * most one write runs and one waits per file, and the waiting one saves the latest state.
 */
function writeState(file: string, s: UploadState): Promise<void> {
  const save = async (state: UploadState) => {
    await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify(state), { mode: 0o600 });
    await fsp.rename(tmp, file);
  };
  const w = writers.get(file);
  if (!w) {
    const entry: { running: Promise<void>; pending?: UploadState; queued?: Promise<void> } = { running: save(s) };
    writers.set(file, entry);
    entry.running = entry.running.finally(() => {
      if (!entry.queued) writers.delete(file);
    });
    return entry.running;
  }
  w.pending = s;
  w.queued ??= w.running.catch(() => {}).then(async () => {
    const state = w.pending!;
    w.pending = undefined;
    w.queued = undefined;
    w.running = save(state);
    await w.running.finally(() => {
      if (!w.queued) writers.delete(file);
    });
  });
  return w.queued;
}

export interface UploadOptions {
  prefix?: string;
  parallel?: number;
  deleteMissing?: boolean;
  message?: string;
  progress?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Test hook: called as bytes are sent, with the running total. */
  onSent?: (total: number) => void;
}

export interface UploadReport {
  files: number;
  /** Distinct contents sent (through tus or in small-file batches). */
  sent: number;
  /** Of those, sent in small-file batches. */
  sentInBatches: number;
  bytesSent: number;
  skipped: number;
  changed: boolean;
  revision: number;
  rootHash: string;
  /** How long the final commit request took, in ms. */
  commitMs: number;
  /** Where the time went, in ms: listing the folder, hashing, the have-check, sending, committing. */
  timings: { walkMs: number; hashMs: number; checkMs: number; sendMs: number; commitMs: number };
}

/**
 * Uploads a folder into a dataset's draft: hash locally, ask which contents the server already
 * has, send the rest — small files many per request, large ones through tus in parallel
 * (resumable: an interrupted run picks up each file at the byte the server has) — then one
 * commit. Rerunning after any failure is always safe.
 */
export async function uploadDirectory(client: CairnClient, ds: string, dir: string, opts: UploadOptions = {}): Promise<UploadReport> {
  const st = await fsp.stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new CliError(`${dir} is not a folder`, 'usage_error', 2);
  let t = performance.now();
  const lap = () => {
    const now = performance.now();
    const ms = now - t;
    t = now;
    return ms;
  };
  const stateFile = statePath(ds, dir, opts.env);
  const state = await readState(stateFile);
  const files = walk(dir);
  const prefix = opts.prefix ? opts.prefix.replace(/^\/+|\/+$/g, '') + '/' : '';
  const bars = opts.progress ? new cliProgress.MultiBar({ stream: process.stderr, hideCursor: true, clearOnComplete: false, format: '{task} [{bar}] {percentage}% | {value_fmt}/{total_fmt} | {eta_formatted} left' }, cliProgress.Presets.shades_classic) : undefined;
  const fmt = (v: number) => bytes(v);
  const walkMs = lap();

  // 1. hashes (cached by size and mtime: rerunning after an interruption does not re-read everything)
  const toHash = files.filter((f) => {
    const c = state.hashes[f.abs];
    if (c && c.size === f.size && c.mtimeMs === f.mtimeMs) f.sha256 = c.sha256;
    return !f.sha256;
  });
  const hashTotal = toHash.reduce((s, f) => s + f.size, 0);
  const hbar = bars?.create(Math.max(hashTotal, 1), 0, { task: 'hashing  ', value_fmt: fmt(0), total_fmt: fmt(hashTotal) });
  let hashed = 0;
  await parallel(toHash, opts.parallel ?? 4, async (f) => {
    f.sha256 = await hashLocal(f, (n) => {
      hashed += n;
      hbar?.update(hashed, { value_fmt: fmt(hashed) });
    });
    state.hashes[f.abs] = { size: f.size, mtimeMs: f.mtimeMs, sha256: f.sha256 };
  });
  hbar?.update(Math.max(hashTotal, 1));
  if (toHash.length) await writeState(stateFile, state);
  const hashMs = lap();

  // 2-4. the SDK's upload protocol (session, have-check, batches, commit); tus from the file system
  const changesExtra: DatasetChange[] = [];
  if (opts.deleteMissing) {
    const local = new Set(files.map((f) => prefix + f.path));
    const remote = (await client.datasets.files(ds, 'draft', prefix.replace(/\/$/, ''))).files;
    for (const r of remote) if (!local.has(r.path)) changesExtra.push({ op: 'delete', path: r.path });
  }
  if (files.length + changesExtra.length === 0) throw new CliError(`${dir} holds no files`, 'usage_error', 2);
  const endpoint = new URL(`/api/v1/uploads/tus`, client.baseUrl).toString();
  const token = client.http.getToken();
  let ubar: cliProgress.SingleBar | undefined;
  let lastSent = 0;
  const items = files.map((f) => ({ path: prefix + f.path, size: f.size, sha256: f.sha256!, abs: f.abs, read: () => fs.readFileSync(f.abs) }));
  let up: UploadToDraftResult;
  try {
    up = await uploadToDraft(client.datasets, ds, items, {
      parallel: opts.parallel ?? 4,
      message: opts.message,
      extraChanges: changesExtra,
      session: {
        get: () => state.sessionId,
        set: async (id) => {
          state.sessionId = id;
          state.urls = {};
          await writeState(stateFile, state);
        },
      },
      onProgress: (p) => {
        ubar ??= bars?.create(Math.max(p.total, 1), 0, { task: 'uploading', value_fmt: fmt(0), total_fmt: fmt(p.total) });
        ubar?.update(Math.min(p.sent, p.total), { value_fmt: fmt(p.sent) });
        if (p.sent !== lastSent) opts.onSent?.(p.sent);
        lastSent = p.sent;
      },
      sendLarge: (f, sessionId, onBytes) =>
        new Promise<string>((resolve, reject) => {
          const upload = new tus.Upload(fs.createReadStream(f.abs) as never, {
            endpoint,
            uploadUrl: state.urls[f.sha256] ?? null,
            uploadSize: f.size,
            headers: token ? { Authorization: `Bearer ${token}` } : {},
            metadata: { sessionId, sha256: f.sha256, filename: f.path.slice(0, 200) },
            retryDelays: [0, 1000, 3000, 5000, 10_000, 10_000, 20_000],
            // Hashing, the size check and the move into the store happen on the last byte: give it time.
            onUploadUrlAvailable: () => {
              state.urls[f.sha256] = upload.url!;
              writeState(stateFile, state).catch(() => {});
            },
            onProgress: (sent) => onBytes(sent),
            onSuccess: () => resolve(f.sha256),
            onError: (e) => {
              const body = (e as { originalResponse?: { getBody(): string } }).originalResponse?.getBody();
              let msg = e.message;
              try {
                const parsed = body ? (JSON.parse(body) as { error?: { code: string; message: string } }) : undefined;
                if (parsed?.error) return reject(new CliError(`${f.path}: ${parsed.error.message}`, parsed.error.code));
              } catch {
                msg = e.message;
              }
              reject(new CliError(`${f.path}: ${msg.split('\n')[0]}`, 'upload_failed'));
            },
          });
          upload.start();
        }),
    });
  } catch (e) {
    if (isCairnError(e) && (e.code === 'blob_hash_mismatch' || e.code === 'blob_size_mismatch')) throw new CliError(`a file changed while it was being uploaded (${e.message}); run the command again`, e.code);
    throw e;
  } finally {
    bars?.stop();
  }
  await writeState(stateFile, { urls: {}, hashes: state.hashes });
  return {
    files: files.length,
    sent: up.sent,
    sentInBatches: up.sentInBatches,
    bytesSent: up.bytesSent,
    skipped: up.skipped,
    changed: up.result.changed,
    revision: up.result.draft.revision,
    rootHash: up.result.draft.rootHash,
    commitMs: up.timings.commitMs,
    timings: { walkMs, hashMs, ...up.timings },
  };
}

export interface DownloadReport {
  files: number;
  downloaded: number;
  resumed: number;
  skipped: number;
  bytes: number;
}

/**
 * Downloads a version into a folder. Each file goes to `<name>.part` and is resumed from its size
 * with an HTTP Range on the next run; it only takes its real name after its sha256 matched.
 */
export async function downloadVersion(client: CairnClient, ds: string, version: string, dir: string, opts: { parallel?: number; progress?: boolean; path?: string } = {}): Promise<DownloadReport> {
  const { files } = await client.datasets.files(ds, version, opts.path ?? '');
  const report: DownloadReport = { files: files.length, downloaded: 0, resumed: 0, skipped: 0, bytes: 0 };
  const total = files.reduce((s, f) => s + f.size, 0);
  const bar = opts.progress ? new cliProgress.SingleBar({ stream: process.stderr, hideCursor: true, format: 'downloading [{bar}] {percentage}% | {value_fmt}/{total_fmt} | {eta_formatted} left' }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(Math.max(total, 1), 0, { value_fmt: bytes(0), total_fmt: bytes(total) });
  let done = 0;
  const tick = (n: number) => {
    done += n;
    bar?.update(done, { value_fmt: bytes(done) });
  };
  const root = path.resolve(dir);
  await parallel(files, opts.parallel ?? 4, async (f: FileEntry) => {
    const target = path.resolve(root, ...f.path.split('/'));
    // The server enforces relative paths; this guards against a hostile or broken server anyway.
    if (!target.startsWith(root + path.sep)) throw new CliError(`refusing to write outside ${dir}: ${f.path}`, 'path_traversal');
    await fsp.mkdir(path.dirname(target), { recursive: true });
    const existing = await fsp.stat(target).catch(() => undefined);
    if (existing?.size === f.size && (await sha256File(target)) === f.sha256) {
      report.skipped++;
      tick(f.size);
      return;
    }
    const part = `${target}.part`;
    let offset = (await fsp.stat(part).catch(() => undefined))?.size ?? 0;
    if (offset > f.size) {
      await fsp.rm(part);
      offset = 0;
    }
    if (f.size === 0) await fsp.writeFile(part, '');
    else if (offset < f.size) {
      const res = await client.datasets.download(ds, version, f.path, offset > 0 ? { range: { start: offset } } : {});
      if (!res.ok) throw new CliError(`${f.path}: HTTP ${res.status}`, 'download_failed');
      if (offset > 0 && res.status !== 206) offset = 0; // the server ignored the range: start over
      if (offset > 0) report.resumed++;
      tick(offset);
      const body = Readable.fromWeb(res.body as never);
      body.on('data', (c: Buffer) => tick(c.length));
      await pipeline(body, fs.createWriteStream(part, { flags: offset > 0 ? 'a' : 'w' }));
    }
    const got = await sha256File(part);
    if (got !== f.sha256) {
      await fsp.rm(part, { force: true });
      throw new CliError(`${f.path}: checksum mismatch after download (expected ${f.sha256}, got ${got}); run the command again`, 'checksum_mismatch');
    }
    await fsp.rename(part, target);
    report.downloaded++;
    report.bytes += f.size;
  });
  bar?.stop();
  return report;
}

export function renderLineDiff(oldPath: string, newPath: string, d: LineDiff): string {
  if (d.kind !== 'text') return `--- ${oldPath}\n+++ ${newPath}\n(${d.kind.replace('_', ' ')})\n`;
  let out = `--- ${oldPath}\n+++ ${newPath}\n`;
  for (const h of d.hunks) out += `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@\n${h.lines.join('\n')}\n`;
  return out;
}

export function registerDatasetsCommands(program: Command): void {
  const datasets = program.command('datasets').description('versioned datasets: create, list, upload, download, diff, snapshot');

  datasets
    .command('create')
    .description('create a dataset (prints its accession id, e.g. ds000001)')
    .requiredOption('--title <title>', 'title')
    .option('--description <text>', 'description')
    .option('--license <license>', 'license, e.g. CC0')
    .option('--author <name...>', 'authors')
    .option('--modality <m...>', 'modalities, e.g. mri eeg')
    .option('--bids', 'a BIDS dataset (stricter required-file checks)')
    .option('--public', 'readable by anyone, without an account')
    .option('--readme <file>', 'a README to put in the draft')
    .option('--json', 'print the dataset as JSON')
    .action(async (o: { title: string; description?: string; license?: string; author?: string[]; modality?: string[]; bids?: boolean; public?: boolean; readme?: string; json?: boolean }) => {
      const readme = o.readme ? await fsp.readFile(o.readme, 'utf8').catch(() => { throw new CliError(`cannot read ${o.readme}`, 'usage_error', 2); }) : undefined;
      const client = await authedClient();
      const d = await client.datasets.create({ title: o.title, description: o.description, license: o.license, authors: o.author, modalities: o.modality, profile: o.bids ? 'bids' : 'generic', public: !!o.public, readme });
      process.stdout.write(o.json ? `${JSON.stringify(d)}\n` : `${d.accession}\n`);
    });

  datasets
    .command('ls')
    .description('search datasets by text and facets')
    .argument('[text]', 'words to look for in the title and description')
    .option('--modality <m>', 'only this modality')
    .option('--license <l>', 'only this license')
    .option('--mine', 'only datasets you own or are a member of')
    .option('--public', 'only public datasets')
    .option('--json', 'print JSON')
    .action(async (text: string | undefined, o: { modality?: string; license?: string; mine?: boolean; public?: boolean; json?: boolean }) => {
      const client = await authedClient();
      const r = await client.datasets.search({ q: text, modality: o.modality, license: o.license, scope: o.mine ? 'mine' : o.public ? 'public' : 'all', limit: 200 });
      if (o.json) return void process.stdout.write(`${JSON.stringify(r)}\n`);
      process.stdout.write(table(['ACCESSION', 'TITLE', 'ROLE', 'PUBLIC', 'MODALITIES', 'LICENSE'], r.datasets.map((d) => [d.accession, d.title, d.role ?? '-', d.public ? 'yes' : 'no', d.modalities.join(','), d.license])));
    });

  datasets
    .command('upload')
    .description('upload a folder into the draft (resumable: rerun after an interruption; unchanged files are not sent)')
    .argument('<dataset>', 'accession id')
    .argument('<folder>', 'local folder')
    .option('--prefix <path>', 'put the files under this folder of the dataset')
    .option('--delete-missing', 'also delete draft files that are not in the local folder')
    .option('--parallel <n>', 'files sent at once', positiveInt('--parallel'), 4)
    .option('-m, --message <text>', 'a note recorded with the commit')
    .option('--no-progress', 'no progress bars')
    .action(async (ds: string, folder: string, o: { prefix?: string; deleteMissing?: boolean; parallel: number; message?: string; progress: boolean }) => {
      const client = await authedClient();
      const r = await uploadDirectory(client, ds, folder, { ...o, progress: o.progress && !!process.stderr.isTTY });
      process.stdout.write(`${r.files} files, ${r.sent} sent (${bytes(r.bytesSent)}), ${r.skipped} already on the server; ${r.changed ? `draft now at revision ${r.revision}` : 'draft unchanged'}\n`);
    });

  datasets
    .command('download')
    .description('download a version into a folder (resumes partial files, checks every sha256)')
    .argument('<dataset>', 'accession id')
    .argument('[folder]', 'target folder (default: <dataset>)')
    .option('--version <v>', 'snapshot tag or "draft" (default: the latest snapshot, else the draft)')
    .option('--parallel <n>', 'files fetched at once', positiveInt('--parallel'), 4)
    .option('--no-progress', 'no progress bar')
    .action(async (ds: string, folder: string | undefined, o: { version?: string; parallel: number; progress: boolean }) => {
      const client = await authedClient();
      const version = o.version ?? (await client.datasets.get(ds)).latestSnapshot ?? 'draft';
      const r = await downloadVersion(client, ds, version, folder ?? ds, { parallel: o.parallel, progress: o.progress && !!process.stderr.isTTY });
      process.stdout.write(`${r.files} files of ${ds}@${version}: ${r.downloaded} downloaded (${r.resumed} resumed), ${r.skipped} already present; all checksums match\n`);
    });

  datasets
    .command('diff')
    .description('what changed between two versions ("draft" or tags)')
    .argument('<dataset>', 'accession id')
    .argument('<from>', 'older version')
    .argument('[to]', 'newer version', 'draft')
    .option('--lines', 'also print line diffs of small modified text files')
    .option('--json', 'print JSON')
    .action(async (ds: string, from: string, to: string, o: { lines?: boolean; json?: boolean }) => {
      const client = await authedClient();
      const d = await client.datasets.diff(ds, from, to);
      if (o.json) return void process.stdout.write(`${JSON.stringify(d)}\n`);
      const out: string[] = [];
      for (const f of d.added) out.push(`A  ${f.path}  (${bytes(f.size)})`);
      for (const f of d.removed) out.push(`D  ${f.path}  (${bytes(f.size)})`);
      for (const f of d.modified) out.push(`M  ${f.path}  (${bytes(f.before.size)} → ${bytes(f.after.size)})`);
      for (const f of d.renamed) out.push(`R  ${f.from} → ${f.to}  (${bytes(f.size)})`);
      const s = d.summary;
      out.push(`${s.added} added, ${s.removed} removed, ${s.modified} modified, ${s.renamed} renamed, ${s.unchanged} unchanged`);
      process.stdout.write(out.join('\n') + '\n');
      if (o.lines) {
        for (const f of d.modified) {
          const l = await client.datasets.lineDiff(ds, from, to, f.path);
          process.stdout.write(`\n${renderLineDiff(`${from}/${f.path}`, `${to}/${f.path}`, l.diff)}`);
        }
      }
    });

  datasets
    .command('snapshot')
    .description('snapshot the draft as an immutable version (refused while it has validation errors)')
    .argument('<dataset>', 'accession id')
    .option('--bump <part>', 'major, minor or patch')
    .option('--version <semver>', 'an explicit version such as 1.2.0')
    .requiredOption('--changelog <text>', 'what changed (required)')
    .action(async (ds: string, o: { bump?: string; version?: string; changelog: string }) => {
      if ((o.bump === undefined) === (o.version === undefined)) throw new CliError('give either --bump or --version', 'usage_error', 2);
      if (o.bump !== undefined && !['major', 'minor', 'patch'].includes(o.bump)) throw new CliError('--bump must be major, minor or patch', 'usage_error', 2);
      const client = await authedClient();
      try {
        const s = await client.datasets.snapshot(ds, { bump: o.bump as 'major' | undefined, version: o.version, changelog: o.changelog });
        process.stdout.write(`${ds}@${s.tag} (${s.fileCount} files, ${bytes(s.size)})\n`);
      } catch (e) {
        if (isCairnError(e) && e.code === 'draft_invalid') {
          const issues = ((e.details as { issues?: { file: string | null; message: string }[] } | undefined)?.issues ?? []).slice(0, 10);
          throw new CliError(`${e.message}: ${issues.map((i) => `${i.file ?? '(dataset)'}: ${i.message}`).join('; ')}`, 'draft_invalid');
        }
        throw e;
      }
    });
}
