import { seg, type HttpClient, type Query } from './http.js';

export type DatasetRole = 'read' | 'edit' | 'admin';

export interface DatasetVersion {
  id: string;
  kind: 'draft' | 'snapshot';
  tag: string | null;
  changelog: string | null;
  rootHash: string;
  fileCount: number;
  size: number;
  revision: number;
  validation: { status: 'pending' | 'passed' | 'warnings' | 'failed'; revision: number | null };
  createdAt: string;
  updatedAt: string;
  deprecated: { at: string; reason: string } | null;
}

export interface Dataset {
  id: string;
  accession: string;
  title: string;
  description: string;
  license: string;
  authors: string[];
  modalities: string[];
  profile: 'generic' | 'bids';
  public: boolean;
  ownerId: string;
  quotaBytes: number | null;
  /** Options of the BIDS validator plugin for this dataset (docs/datasets.md, "BIDS plugin"). */
  bidsOptions: BidsOptions;
  role: DatasetRole | null;
  createdAt: string;
  updatedAt: string;
}

export interface DatasetDetail extends Dataset {
  /** Only for editors and admins. */
  draft: DatasetVersion | null;
  snapshots: DatasetVersion[];
  latestSnapshot: string | null;
}

export interface BidsOptions {
  /** Skip the empty-file check: example datasets ship empty placeholder data files. */
  ignoreEmptyFiles: boolean;
  /** Skip reading NIfTI headers (placeholder or truncated images). */
  ignoreNiftiHeaders: boolean;
}

export interface CreateDatasetRequest {
  title: string;
  description?: string;
  license?: string;
  authors?: string[];
  modalities?: string[];
  profile?: 'generic' | 'bids';
  public?: boolean;
  readme?: string;
  bidsOptions?: Partial<BidsOptions>;
}

export interface FileEntry {
  path: string;
  sha256: string;
  size: number;
}

export interface TreeChild {
  name: string;
  path: string;
  kind: 'file' | 'folder';
  /** Content hash for a file, tree hash for a folder. */
  hash: string;
  /** Bytes: the file's size, or the total of every file under the folder. */
  size: number;
  /** 1 for a file, or the number of files anywhere under the folder. */
  fileCount: number;
}

export type DatasetChange =
  /** Adds a file or replaces the file at `path`. */
  | { op: 'put'; path: string; sha256: string; size: number }
  /** Deletes a file or a whole folder. */
  | { op: 'delete'; path: string }
  /** Moves a file or folder to a path that does not exist yet (a rename is a move in the same folder). */
  | { op: 'move'; from: string; to: string }
  /** Renames a file or folder in place: `name` is a single segment. */
  | { op: 'rename'; path: string; name: string };

export interface DiffSummary {
  added: number;
  removed: number;
  modified: number;
  renamed: number;
  unchanged: number;
  /** Bytes of new content (added files and the new side of modified ones). */
  bytesAdded: number;
  /** Bytes of content gone (removed files and the old side of modified ones). */
  bytesRemoved: number;
}

export interface DatasetDiff {
  from: DatasetVersion;
  to: DatasetVersion;
  added: FileEntry[];
  removed: FileEntry[];
  modified: { path: string; before: { sha256: string; size: number }; after: { sha256: string; size: number } }[];
  renamed: { from: string; to: string; sha256: string; size: number }[];
  summary: DiffSummary;
}

export type LineDiff =
  | { kind: 'text'; hunks: { oldStart: number; oldLines: number; newStart: number; newLines: number; lines: string[] }[]; linesAdded: number; linesRemoved: number }
  | { kind: 'binary' }
  | { kind: 'too_large'; maxBytes?: number }
  | { kind: 'too_different' };

export type Preview =
  | { kind: 'text'; path: string; size: number; sha256: string; text: string }
  | { kind: 'json'; path: string; size: number; sha256: string; text: string; json: unknown }
  | { kind: 'tsv'; path: string; size: number; sha256: string; text: string; rows: string[][] }
  | { kind: 'binary' | 'too_large'; path: string; size: number; sha256: string };

export interface ValidationIssue {
  code: string;
  severity: 'error' | 'warning';
  file: string | null;
  message: string;
}

export interface UploadSession {
  id: string;
  datasetId: string;
  status: string;
  expiresAt: string;
  /** Path of the tus endpoint on the same server. */
  tusEndpoint: string;
}

/** One file for a small-file batch: its hash, size, and a way to read its bytes when its batch is sent. */
export interface SmallFile {
  sha256: string;
  size: number;
  read(): Promise<Uint8Array> | Uint8Array;
}

export interface BatchResult {
  /** Distinct contents recorded in the session. */
  stored: number;
  /** Of those, how many were new to the blob store. */
  created: number;
  bytes: number;
}

/** Server limits of `POST …/uploads/:sid/batch` (larger files go through tus). */
export const BATCH_MAX_FILE_BYTES = 1024 * 1024;
export const BATCH_MAX_FILES = 2000;
/** What the client packs into one batch: about 8 MiB of base64 per request, well under the server's 24 MiB body limit. */
const BATCH_TARGET_BYTES = 6 * 1024 * 1024;
const BATCH_TARGET_FILES = 1000;

function toBase64(bytes: Uint8Array): string {
  const B = (globalThis as { Buffer?: { from(b: Uint8Array): { toString(enc: string): string } } }).Buffer;
  if (B) return B.from(bytes).toString('base64');
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** Packs files into batches under the request limits, in order. */
export function planBatches<T extends { size: number }>(files: T[], target = { bytes: BATCH_TARGET_BYTES, files: BATCH_TARGET_FILES }): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const f of files) {
    if (f.size > BATCH_MAX_FILE_BYTES) throw new RangeError(`a file of ${f.size} bytes is too large for a batch (at most ${BATCH_MAX_FILE_BYTES})`);
    if (cur.length && (cur.length >= Math.min(target.files, BATCH_MAX_FILES) || bytes + f.size > target.bytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(f);
    bytes += f.size;
  }
  if (cur.length) out.push(cur);
  return out;
}

export interface CommitResult {
  draft: DatasetVersion;
  changed: boolean;
  summary: DiffSummary;
}

export interface ReviewerLink {
  id: string;
  note: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  active: boolean;
  /** Only in the answer to create. */
  token?: string;
}

export interface SearchDatasetsQuery {
  q?: string;
  /** Part of an author's name, any case. */
  author?: string;
  modality?: string;
  license?: string;
  scope?: 'all' | 'public' | 'mine';
  limit?: number;
  offset?: number;
}

export interface Facet {
  value: string;
  count: number;
}

/**
 * Datasets: versioned file trees (see docs/datasets.md). Large files go through tus
 * (`session.tusEndpoint`, metadata `sessionId` and optional `sha256`), small ones many per request
 * (`sendSmallFiles`); a reviewer token, when given, is sent as X-Cairn-Review on every call.
 */
export class DatasetsApi {
  constructor(
    private readonly http: HttpClient,
    private readonly review?: string,
  ) {}

  /** The same API reading through an anonymous reviewer link. */
  withReviewToken(token: string): DatasetsApi {
    return new DatasetsApi(this.http, token);
  }

  private get h(): { headers?: Record<string, string> } {
    return this.review ? { headers: { 'X-Cairn-Review': this.review } } : {};
  }
  private p(ds: string, rest = '') {
    return `/api/v1/datasets/${seg(ds)}${rest}`;
  }

  search(q: SearchDatasetsQuery = {}) {
    return this.http.get<{ datasets: Dataset[]; total: number; facets: { modality: Facet[]; license: Facet[] } }>('/api/v1/datasets', q as Query, this.h);
  }
  async create(req: CreateDatasetRequest): Promise<DatasetDetail> {
    return (await this.http.post<{ dataset: DatasetDetail }>('/api/v1/datasets', req)).dataset;
  }
  async get(ds: string): Promise<DatasetDetail> {
    return (await this.http.get<{ dataset: DatasetDetail }>(this.p(ds), undefined, this.h)).dataset;
  }
  async update(ds: string, patch: Partial<Omit<CreateDatasetRequest, 'readme' | 'profile'>> & { quotaBytes?: number | null }): Promise<DatasetDetail> {
    return (await this.http.patch<{ dataset: DatasetDetail }>(this.p(ds), patch)).dataset;
  }
  tree(ds: string, version: string, path = '') {
    return this.http.get<{ version: DatasetVersion; path: string; children: TreeChild[] }>(this.p(ds, `/versions/${seg(version)}/tree`), { path }, this.h);
  }
  files(ds: string, version: string, path = '') {
    return this.http.get<{ version: DatasetVersion; files: FileEntry[] }>(this.p(ds, `/versions/${seg(version)}/files`), { path }, this.h);
  }
  preview(ds: string, version: string, path: string) {
    return this.http.get<Preview>(this.p(ds, `/versions/${seg(version)}/preview`), { path }, this.h);
  }
  /** URL of one file (supports Range); add `review` for reviewer-link downloads in a browser. */
  fileUrl(ds: string, version: string, path: string): string {
    return this.http.url(this.p(ds, `/versions/${seg(version)}/file`), { path, review: this.review });
  }
  archiveUrl(ds: string, version: string, format: 'zip' | 'tar.gz' = 'zip'): string {
    return this.http.url(this.p(ds, `/versions/${seg(version)}/archive`), { format, review: this.review });
  }
  /** Streams one file; `range` is inclusive like HTTP Range. */
  download(ds: string, version: string, path: string, opts: { range?: { start: number; end?: number }; signal?: AbortSignal } = {}) {
    const headers: Record<string, string> = { ...this.h.headers };
    if (opts.range) headers.Range = `bytes=${opts.range.start}-${opts.range.end ?? ''}`;
    return this.http.raw('GET', this.p(ds, `/versions/${seg(version)}/file`), { query: { path }, headers, signal: opts.signal });
  }
  diff(ds: string, from: string, to: string) {
    return this.http.get<DatasetDiff>(this.p(ds, '/diff'), { from, to }, this.h);
  }
  lineDiff(ds: string, from: string, to: string, path: string, oldPath?: string) {
    return this.http.get<{ path: string; oldPath: string; diff: LineDiff }>(this.p(ds, '/diff/lines'), { from, to, path, oldPath }, this.h);
  }
  validation(ds: string, version = 'draft') {
    return this.http.get<{ version: DatasetVersion; status: string; issues: ValidationIssue[] }>(this.p(ds, `/versions/${seg(version)}/validation`), undefined, this.h);
  }
  revalidate(ds: string) {
    return this.http.post<{ queued: boolean }>(this.p(ds, '/validation'));
  }
  history(ds: string, after?: string) {
    return this.http.get<{ events: { id: string; type: string; data: Record<string, unknown>; actor: { kind: string; id: string | null }; recordedAt: string }[]; next: string | null }>(this.p(ds, '/history'), { after }, this.h);
  }

  // --- changes and uploads ---
  change(ds: string, changes: DatasetChange[], opts: { baseRevision?: number; message?: string } = {}) {
    return this.http.post<CommitResult>(this.p(ds, '/draft/changes'), { changes, ...opts });
  }
  async openUpload(ds: string): Promise<UploadSession> {
    return (await this.http.post<{ session: UploadSession }>(this.p(ds, '/uploads'))).session;
  }
  /** Which of these hashes the server already has for you: those files need not be sent. */
  async have(ds: string, sessionId: string, sha256: string[]): Promise<Set<string>> {
    return new Set((await this.http.post<{ have: string[] }>(this.p(ds, `/uploads/${seg(sessionId)}/check`), { sha256 })).have);
  }
  /** One small-file batch (see `sendSmallFiles`, which splits any number of files into batches). */
  uploadBatch(ds: string, sessionId: string, files: { sha256: string; size: number; data: Uint8Array }[]) {
    return this.http.post<BatchResult>(this.p(ds, `/uploads/${seg(sessionId)}/batch`), { files: files.map((f) => ({ sha256: f.sha256, size: f.size, data: toBase64(f.data) })) });
  }
  /**
   * Stages small files (each at most BATCH_MAX_FILE_BYTES) in the session, many per request and
   * `parallel` requests at once; each file's bytes are read only when its batch is sent. Files
   * whose content is already staged or stored for you should be left out (see `have`).
   */
  async sendSmallFiles(ds: string, sessionId: string, files: SmallFile[], opts: { parallel?: number; onBatch?: (files: number, bytes: number) => void } = {}): Promise<BatchResult> {
    const batches = planBatches(files);
    const total: BatchResult = { stored: 0, created: 0, bytes: 0 };
    let next = 0;
    let failed: unknown;
    const worker = async () => {
      while (failed === undefined && next < batches.length) {
        const batch = batches[next++]!;
        try {
          // A few reads at a time: a thousand open files at once would run into descriptor limits.
          const data: Uint8Array[] = new Array(batch.length);
          let r0 = 0;
          await Promise.all(Array.from({ length: Math.min(8, batch.length) }, async () => {
            while (r0 < batch.length) {
              const k = r0++;
              data[k] = await batch[k]!.read();
            }
          }));
          const r = await this.uploadBatch(ds, sessionId, batch.map((f, k) => ({ sha256: f.sha256, size: f.size, data: data[k]! })));
          total.stored += r.stored;
          total.created += r.created;
          total.bytes += r.bytes;
          opts.onBatch?.(batch.length, batch.reduce((s, f) => s + f.size, 0));
        } catch (e) {
          failed ??= e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.parallel ?? 4, batches.length) }, worker));
    if (failed !== undefined) throw failed;
    return total;
  }
  commitUpload(ds: string, sessionId: string, changes: DatasetChange[], opts: { baseRevision?: number; message?: string } = {}) {
    return this.http.post<CommitResult>(this.p(ds, `/uploads/${seg(sessionId)}/commit`), { changes, ...opts });
  }
  abortUpload(ds: string, sessionId: string) {
    return this.http.delete(this.p(ds, `/uploads/${seg(sessionId)}`));
  }

  // --- snapshots ---
  async snapshot(ds: string, req: { bump?: 'major' | 'minor' | 'patch'; version?: string; changelog: string }): Promise<DatasetVersion> {
    return (await this.http.post<{ snapshot: DatasetVersion }>(this.p(ds, '/snapshots'), req)).snapshot;
  }
  async deprecate(ds: string, tag: string, reason: string): Promise<DatasetVersion> {
    return (await this.http.post<{ snapshot: DatasetVersion }>(this.p(ds, `/snapshots/${seg(tag)}/deprecate`), { reason })).snapshot;
  }

  // --- permissions ---
  members(ds: string) {
    return this.http.get<{ owner: { userId: string; username: string }; members: { userId: string; username: string; role: DatasetRole }[] }>(this.p(ds, '/members'));
  }
  setMember(ds: string, userId: string, role: DatasetRole) {
    return this.http.put(this.p(ds, `/members/${seg(userId)}`), { role });
  }
  removeMember(ds: string, userId: string) {
    return this.http.delete(this.p(ds, `/members/${seg(userId)}`));
  }
  async reviewerLinks(ds: string): Promise<ReviewerLink[]> {
    return (await this.http.get<{ links: ReviewerLink[] }>(this.p(ds, '/reviewer-links'))).links;
  }
  async createReviewerLink(ds: string, req: { expiresInDays?: number; note?: string } = {}): Promise<ReviewerLink & { token: string }> {
    return (await this.http.post<{ link: ReviewerLink & { token: string } }>(this.p(ds, '/reviewer-links'), req)).link;
  }
  revokeReviewerLink(ds: string, id: string) {
    return this.http.delete(this.p(ds, `/reviewer-links/${seg(id)}`));
  }
}
