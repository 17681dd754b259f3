import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { Server as TusServer } from '@tus/server';
import { Upload } from '@tus/utils';
import type pg from 'pg';
import type { Db } from '../database/database.js';
import { fail, isAppError, AppError } from '../kernel/errors.js';
import { isUuid, newId } from '../kernel/ids.js';
import { requireUser, type AuthContext } from '../kernel/access.js';
import type { Logger } from '../kernel/logger.js';
import { crashPoint } from '../kernel/crashpoints.js';
import { isDatabaseUnavailable } from '../kernel/database-unavailable.js';
import { codeForStatus, isCatalogCode } from '../kernel/raw-responses.js';
import { BlobError, isSha256, type BlobStore } from '../blobs/blobs.store.js';
import type { TreeChange } from './datasets.tree.js';
import { datasetsStore, type UploadRow, type UploadSessionRow } from './datasets.store.js';
import { requireDatasetRole, type DatasetCaller } from './datasets.access.js';
import { mapErrors, toAppError } from './datasets.errors.js';
import { HashingFileStore } from './datasets.tusstore.js';
import { PgUploadLocker } from './datasets.tuslock.js';
import type { DatasetVersionsService } from './dataset-versions.service.js';

export const TUS_PATH = '/api/v1/uploads/tus';
export const SESSION_TTL_MS = 7 * 86_400_000;
/** Small-file batches: the largest file one may carry, and how many files (see docs/datasets.md). */
export const BATCH_MAX_FILE_BYTES = 1024 * 1024;
export const BATCH_MAX_FILES = 2000;
/** Request body limit of a batch (JSON with base64 bodies: 4/3 of the bytes, plus the manifest). */
export const BATCH_BODY_LIMIT = 24 * 1024 * 1024;
/** Blobs written at once while a batch is stored (each costs a few fsyncs on the local store). */
const BATCH_WRITE_PARALLEL = 8;
/** Held shared while a blob is taken in and recorded, exclusive while GC decides what to delete. */
export const BLOB_GC_LOCK = 0x63626c62; // 'cblb'
/** Held by the one intake of an upload, across nodes ('tusi'; second key: hashtext(upload id)). */
const INTAKE_LOCK = 0x74757369;
const AUTH = Symbol.for('cairn.auth');

export interface UploadsConfig {
  datasetQuotaBytes: number;
  userUploadQuotaBytes: number;
  uploadDir: string;
}

/** tus hooks see srvx requests; the node request (with our auth context) hangs off them. */
function authOf(req: unknown): AuthContext | undefined {
  const r = req as { runtime?: { node?: { req?: IncomingMessage } }; node?: { req?: IncomingMessage } };
  const node = r.runtime?.node?.req ?? r.node?.req;
  return (node as unknown as Record<symbol, AuthContext> | undefined)?.[AUTH];
}

export function attachAuth(raw: IncomingMessage, auth: AuthContext): void {
  (raw as unknown as Record<symbol, AuthContext>)[AUTH] = auth;
}

/** tus turns a thrown { status_code, body } into the response; our bodies are the usual JSON errors. */
function tusError(e: unknown): { status_code: number; body: string } {
  const err = toAppError(e);
  if (isAppError(err)) return { status_code: err.status, body: JSON.stringify({ error: { code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) } }) };
  throw e;
}

/**
 * Upload sessions and resumable uploads. A client opens a session on a dataset, asks which of its
 * files' hashes the server already has, sends the others through tus (in parallel, resumable at
 * the byte), then commits one change set that references them; nothing reaches the draft before
 * that commit. A finished upload is moved into the blob store (no copy on the same filesystem)
 * after its bytes hash to what the client announced.
 */
export class UploadsService {
  readonly tus: TusServer;
  private readonly store: HashingFileStore;
  private readonly locker: PgUploadLocker;

  constructor(
    private readonly db: Db,
    private readonly pool: pg.Pool,
    private readonly blobs: BlobStore,
    private readonly versions: DatasetVersionsService,
    private readonly config: UploadsConfig,
    private readonly log: Logger,
  ) {
    this.store = new HashingFileStore({ directory: config.uploadDir });
    this.store.resolveMissing = (id) => this.finishedUpload(id);
    // Any node sharing the staging directory may serve any request of an upload: the lock is in PostgreSQL.
    this.locker = new PgUploadLocker(pool.options);
    this.tus = new TusServer({
      path: TUS_PATH,
      datastore: this.store,
      locker: this.locker,
      relativeLocation: true,
      respectForwardedHeaders: false,
      // Each session's bytes are bounded by the quotas; tus asks before accepting an Upload-Length.
      maxSize: async (req) => this.maxSizeFor(authOf(req)),
      onUploadCreate: async (req, upload) => {
        try {
          await this.onCreate(authOf(req), upload);
          return {};
        } catch (e) {
          throw tusError(e);
        }
      },
      onIncomingRequest: async (req, id) => {
        // Creation is checked by onUploadCreate (the upload does not exist yet).
        if (req.method === 'POST') return;
        try {
          const row = await this.ownedUpload(authOf(req), id);
          // A client asking where to resume finds a fully received upload taken in, even when the
          // process that received its last byte was killed before answering.
          if (req.method === 'HEAD') await this.recover(row);
        } catch (e) {
          throw tusError(e);
        }
      },
      onUploadFinish: async (req, upload) => {
        try {
          const row = await this.ownedUpload(authOf(req), upload.id);
          crashPoint('upload.received');
          const r = await this.ingest(row);
          return { status_code: 204, headers: { 'Upload-Sha256': r.sha256 } };
        } catch (e) {
          throw tusError(e);
        }
      },
      onResponseError: (_req, err) => {
        if ('status_code' in err) return undefined;
        if (isDatabaseUnavailable(err)) {
          // Nothing was lost: the client resumes at the offset the next HEAD reports.
          return { status_code: 503, body: JSON.stringify({ error: { code: 'database_unavailable', message: 'The database cannot be reached right now; retry in a moment' } }) };
        }
        this.log.error({ err }, 'upload failed');
        return { status_code: 500, body: JSON.stringify({ error: { code: 'internal_error', message: 'The upload failed on our side' } }) };
      },
    });
    // tus writes its own refusals as text/plain ("Not found\n"), and ours as JSON but typed
    // text/plain: every error leaves in the catalog's shape, typed JSON, with the request id.
    // (tus keeps its request handler private; `handle` calls it through `this`, so it is wrapped here.)
    const tus = this.tus as unknown as { handler: (req: Request) => Promise<Response> };
    const inner = tus.handler.bind(this.tus);
    tus.handler = async (req) => catalogResponse(await inner(req), authOf(req)?.requestId);
  }

  async maxSizeFor(auth: AuthContext | undefined): Promise<number> {
    if (!auth || auth.actor.kind !== 'user') return 0;
    const staged = await datasetsStore.stagedBytes(this.db, auth.actor.userId);
    return Math.max(0, this.config.userUploadQuotaBytes - staged);
  }

  async createSession(caller: DatasetCaller, key: string) {
    const { ds } = await requireDatasetRole(this.db, caller, key, 'edit');
    const user = requireUser(caller.auth);
    const s = await datasetsStore.insertSession(this.db, { id: newId(), dataset_id: ds.id, user_id: user.userId, status: 'open', created_at: new Date(), expires_at: new Date(Date.now() + SESSION_TTL_MS) });
    return presentSession(s);
  }

  /** The caller's open session on this dataset, or a clear refusal. */
  async openSession(caller: DatasetCaller, key: string, sessionId: string): Promise<UploadSessionRow> {
    const { ds } = await requireDatasetRole(this.db, caller, key, 'edit');
    const user = requireUser(caller.auth);
    const s = isUuid(sessionId) ? await datasetsStore.session(this.db, sessionId) : undefined;
    if (!s || s.dataset_id !== ds.id || s.user_id !== user.userId) throw fail('not_found', 'No such upload session');
    if (s.status !== 'open' || s.expires_at <= new Date()) throw fail('session_closed', `This upload session is ${s.status === 'open' ? 'expired' : s.status}; start a new one`);
    return s;
  }

  /** Which of these hashes the caller need not send (see knownBlobs for why not "anything stored"). */
  async check(caller: DatasetCaller, key: string, sessionId: string, hashes: string[]) {
    const s = await this.openSession(caller, key, sessionId);
    const bad = hashes.findIndex((h) => !isSha256(h));
    if (bad >= 0) throw fail('blob_invalid_hash', `sha256/${bad} is not 64 lowercase hexadecimal characters`, [{ pointer: `/sha256/${bad}`, message: 'invalid hash' }]);
    await this.ingestPending(s.id);
    const inDraft = await this.versions.draftContent(s.dataset_id);
    const rest = [...new Set(hashes)].filter((h) => !inDraft.has(h));
    const known = await datasetsStore.knownBlobs(this.db, rest, { datasetId: s.dataset_id, userId: s.user_id, everything: false, sessionId: s.id });
    const have = [...new Set(hashes)].filter((h) => inDraft.has(h) || known.has(h) || h === EMPTY_SHA256);
    return { have };
  }

  async commit(caller: DatasetCaller, key: string, sessionId: string, input: { changes: TreeChange[]; baseRevision?: number; message?: string }) {
    const s = await this.openSession(caller, key, sessionId);
    await this.ingestPending(s.id);
    const trusted = new Map<string, number>([[EMPTY_SHA256, 0]]);
    if (input.changes.some((c) => c.op === 'put' && c.sha256 === EMPTY_SHA256)) await this.blobs.put(Readable.from([]));
    return this.versions.applyChanges(caller, key, input.changes, {
      baseRevision: input.baseRevision,
      message: input.message,
      sessionId: s.id,
      trustedHashes: trusted,
      onCommitted: async (trx) => {
        if ((await datasetsStore.lockSessionStatus(trx, s.id)) !== 'open') throw fail('session_closed', 'This upload session was already committed');
        await datasetsStore.setSessionStatus(trx, s.id, 'committed');
      },
    });
  }

  /**
   * Small files in one request: each body is checked against its announced size and sha256 before
   * anything is stored, then stored and recorded as a finished upload of the session, exactly like
   * a completed tus upload. All or nothing: one wrong file refuses the whole batch (a retry sends
   * it again; batches are small). Large files keep tus, which resumes at the byte.
   */
  async batch(caller: DatasetCaller, key: string, sessionId: string, files: { sha256: string; size: number; data: string }[]) {
    const s = await this.openSession(caller, key, sessionId);
    if (files.length > BATCH_MAX_FILES) throw fail('payload_too_large', `A batch holds at most ${BATCH_MAX_FILES} files`);
    const bodies = new Map<string, Buffer>();
    files.forEach((f, i) => {
      if (!isSha256(f.sha256)) throw fail('blob_invalid_hash', `files/${i}/sha256 is not 64 lowercase hexadecimal characters`, [{ pointer: `/files/${i}/sha256`, message: 'invalid hash' }]);
      if (!Number.isSafeInteger(f.size) || f.size < 0 || f.size > BATCH_MAX_FILE_BYTES) {
        throw fail('payload_too_large', `files/${i}: a batch carries files of at most ${BATCH_MAX_FILE_BYTES} bytes; send larger ones through tus`, [{ pointer: `/files/${i}/size`, message: 'too large for a batch' }]);
      }
      const body = Buffer.from(f.data, 'base64');
      if (body.length !== f.size) throw fail('blob_size_mismatch', `files/${i} has ${body.length} bytes, ${f.size} were announced`, [{ pointer: `/files/${i}/data`, message: 'size mismatch', expectedSize: f.size, actualSize: body.length }]);
      const actual = createHash('sha256').update(body).digest('hex');
      if (actual !== f.sha256) throw fail('blob_hash_mismatch', `files/${i} does not hash to its announced sha256`, [{ pointer: `/files/${i}/data`, message: 'hash mismatch', expectedSha256: f.sha256, actualSha256: actual }]);
      bodies.set(f.sha256, body);
    });
    let bytes = 0;
    let largest = 0;
    for (const b of bodies.values()) {
      bytes += b.length;
      largest = Math.max(largest, b.length);
    }
    const room = await this.maxSizeFor(caller.auth);
    if (bytes > room) throw fail('quota_exceeded', `This batch of ${bytes} bytes exceeds your remaining upload quota of ${room} bytes`, { quota: room });
    const ds = (await datasetsStore.byIdOrAccession(this.db, s.dataset_id))!;
    const quota = ds.quota_bytes ?? this.config.datasetQuotaBytes;
    if (largest > quota) throw fail('quota_exceeded', `A file of ${largest} bytes does not fit in this dataset's quota of ${quota} bytes`, { quota });

    const client = await this.pool.connect();
    try {
      // Stored and recorded under the shared GC lock, like a tus intake: GC never deletes content between the two.
      await client.query('SELECT pg_advisory_lock_shared($1)', [BLOB_GC_LOCK]);
      try {
        const todo = [...bodies];
        let next = 0;
        let created = 0;
        const worker = async () => {
          while (next < todo.length) {
            const [sha256, body] = todo[next++]!;
            // Content stored before (perhaps by someone else, privately) is not written again.
            if (await this.blobs.has(sha256)) continue;
            const r = await this.blobs.put(Readable.from([body]), { expectedSha256: sha256, expectedSize: body.length });
            if (r.created) created++;
          }
        };
        await mapErrors(() => Promise.all(Array.from({ length: Math.min(BATCH_WRITE_PARALLEL, todo.length) }, worker)));
        await datasetsStore.insertFinishedUploads(this.db, s.id, todo.map(([sha256, body]) => ({ id: newId(), size: body.length, sha256 })));
        return { stored: todo.length, created, bytes };
      } finally {
        await client.query('SELECT pg_advisory_unlock_shared($1)', [BLOB_GC_LOCK]).catch(() => {});
      }
    } finally {
      client.release();
    }
  }

  async abort(caller: DatasetCaller, key: string, sessionId: string) {
    const s = await this.openSession(caller, key, sessionId);
    await datasetsStore.setSessionStatus(this.db, s.id, 'aborted');
    await this.removeStaged(s.id);
  }

  private async onCreate(auth: AuthContext | undefined, upload: Upload) {
    if (!auth) throw fail('unauthenticated', 'Sign in to upload');
    const sessionId = upload.metadata?.sessionId ?? '';
    const s = isUuid(sessionId) ? await datasetsStore.session(this.db, sessionId) : undefined;
    if (!s || auth.actor.kind !== 'user' || s.user_id !== auth.actor.userId) throw fail('not_found', 'No such upload session (metadata sessionId)');
    if (s.status !== 'open' || s.expires_at <= new Date()) throw fail('session_closed', 'This upload session is closed; start a new one');
    // The session opener's edit right is re-checked: it may have been revoked since.
    await requireDatasetRole(this.db, { auth }, s.dataset_id, 'edit');
    if (upload.size === undefined) throw fail('validation_failed', 'Send Upload-Length: deferred lengths are not supported');
    const expected = upload.metadata?.sha256 || null;
    if (expected !== null && !isSha256(expected)) throw fail('blob_invalid_hash', 'metadata sha256 must be 64 lowercase hexadecimal characters');
    const ds = (await datasetsStore.byIdOrAccession(this.db, s.dataset_id))!;
    const quota = ds.quota_bytes ?? this.config.datasetQuotaBytes;
    // The commit checks the draft's resulting total; a single file over the whole quota can be refused now.
    if (upload.size > quota) throw fail('quota_exceeded', `A file of ${upload.size} bytes does not fit in this dataset's quota of ${quota} bytes`, { quota });
    await datasetsStore.insertUpload(this.db, { id: upload.id, session_id: s.id, size: upload.size, expected_sha256: expected });
  }

  private async ownedUpload(auth: AuthContext | undefined, id: string): Promise<UploadRow> {
    const row = typeof id === 'string' && id.length <= 200 ? await datasetsStore.upload(this.db, id) : undefined;
    const s = row ? await datasetsStore.session(this.db, row.session_id) : undefined;
    if (!row || !s || !auth || auth.actor.kind !== 'user' || s.user_id !== auth.actor.userId) throw fail('not_found', 'No such upload');
    if (s.status !== 'open') throw fail('session_closed', 'This upload session is closed');
    return row;
  }

  /**
   * Takes a complete staged upload into the blob store. Crash-safe at every step, because each step
   * leaves something the next attempt (`recover`, on HEAD, check or commit) can finish from:
   * 1. the staged file is renamed to `<id>.intake`, so tus can never write to it again;
   * 2. the blob store links it in (keepSource) after checking size and sha256: the intake file
   *    stays until step 3, so a process killed after publishing but before recording loses nothing;
   * 3. the upload is recorded as finished in PostgreSQL (the point of no return);
   * 4. the intake file and tus's `.json` are removed (leftovers are removed by the next attempt).
   * Repeating a step is harmless: renaming finds the intake already there, publishing content
   * already stored reports `created: false`, recording writes the same hash again.
   */
  ingest(row: UploadRow): Promise<{ sha256: string; size: number }> {
    if (row.sha256) return Promise.resolve({ sha256: row.sha256, size: row.size });
    // One intake per upload at a time in this process (HEAD, check and commit may all ask at once).
    let running = this.intakes.get(row.id);
    if (!running) {
      running = this.ingestOnce(row).finally(() => this.intakes.delete(row.id));
      this.intakes.set(row.id, running);
    }
    return running;
  }

  private readonly intakes = new Map<string, Promise<{ sha256: string; size: number }>>();

  private stagedPaths(id: string) {
    const staged = path.join(this.config.uploadDir, id);
    return { staged, intake: `${staged}.intake`, info: `${staged}.json` };
  }

  private async ingestOnce(row: UploadRow): Promise<{ sha256: string; size: number }> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock_shared($1)', [BLOB_GC_LOCK]);
      try {
        // One intake per upload across nodes: a HEAD on one node and a commit on another may both ask.
        await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [INTAKE_LOCK, row.id]);
        const now = await datasetsStore.upload(this.db, row.id);
        if (!now) throw fail('upload_missing', 'This upload no longer exists');
        if (now.sha256) {
          await this.tidy(row.id);
          return { sha256: now.sha256, size: now.size };
        }
        const { staged, intake } = this.stagedPaths(row.id);
        try {
          await fs.rename(staged, intake);
        } catch (e) {
          // Already renamed by an attempt that was interrupted (or another server): carry on from there.
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !(await exists(intake))) throw new BlobError('blob_not_found', 'The staged upload is missing', undefined, { cause: e });
        }
        crashPoint('upload.intake');
        let r;
        try {
          // Hashed as the bytes arrived when this process saw all of them; otherwise (a restart in
          // between, another instance) the store reads the file again to hash it.
          const knownSha256 = this.store.takeDigest(row.id, row.size);
          r = await this.blobs.putFile(intake, { keepSource: true, ...(row.expected_sha256 ? { expectedSha256: row.expected_sha256 } : {}), ...(knownSha256 ? { knownSha256 } : {}), expectedSize: row.size, maxBytes: row.size });
        } catch (e) {
          if (e instanceof BlobError && (e.code === 'blob_hash_mismatch' || e.code === 'blob_size_mismatch' || e.code === 'blob_too_large')) {
            // Wrong bytes can never become right: drop the upload so a retry starts from zero.
            await this.tidy(row.id, true);
            await datasetsStore.deleteUpload(this.db, row.id);
          }
          throw e;
        }
        crashPoint('upload.stored');
        await datasetsStore.finishUpload(this.db, row.id, r.sha256);
        crashPoint('upload.recorded');
        await this.tidy(row.id);
        return { sha256: r.sha256, size: r.size };
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [INTAKE_LOCK, row.id]).catch(() => {});
        await client.query('SELECT pg_advisory_unlock_shared($1)', [BLOB_GC_LOCK]).catch(() => {});
      }
    } finally {
      client.release();
    }
  }

  /** Removes what an upload left in the staging directory (after it was recorded, or when dropped). */
  private async tidy(id: string, staged = false): Promise<void> {
    const p = this.stagedPaths(id);
    if (staged) await this.tus.datastore.remove(id).catch(() => {});
    await Promise.all([fs.rm(p.intake, { force: true }), fs.rm(p.info, { force: true }), ...(staged ? [fs.rm(p.staged, { force: true })] : [])]);
  }

  /**
   * Finishes an upload whose bytes all arrived but whose intake did not complete (the server was
   * killed at the last byte or during the intake). A partial upload is left as it is: tus resumes
   * it at the byte it reached. Errors are logged, not thrown: the caller then answers as if nothing
   * had been received, and the commit names the missing upload.
   */
  async recover(row: UploadRow): Promise<void> {
    if (row.sha256) {
      // Recorded, but its leftovers may still be there if the process died right after recording.
      await this.tidy(row.id).catch(() => {});
      return;
    }
    const { staged, intake } = this.stagedPaths(row.id);
    const complete = (await exists(intake)) || (await fs.stat(staged).then((st) => st.size === row.size, () => false));
    if (!complete) return;
    try {
      await this.ingest(row);
    } catch (e) {
      if (!(e instanceof BlobError) && !(e instanceof AppError)) throw e;
      this.log.warn({ err: e, uploadId: row.id }, 'could not take in a finished upload');
    }
  }

  /** Finishes every upload of the session whose bytes all arrived (see `recover`). */
  async ingestPending(sessionId: string): Promise<void> {
    for (const row of await datasetsStore.unfinishedUploads(this.db, sessionId)) await this.recover(row);
  }

  /** What tus answers for an upload its file store no longer holds: complete, once recorded. */
  private async finishedUpload(id: string): Promise<Upload | undefined> {
    const row = typeof id === 'string' && id.length <= 200 ? await datasetsStore.upload(this.db, id) : undefined;
    if (!row?.sha256) return undefined;
    return new Upload({ id, size: row.size, offset: row.size });
  }

  private async removeStaged(sessionId: string) {
    for (const u of await datasetsStore.uploadsOf(this.db, sessionId)) await this.tidy(u.id, true).catch(() => {});
  }

  /** Periodic: forgets expired and closed sessions (a day after closing) and their staged bytes. */
  async cleanup(now = new Date()): Promise<number> {
    const rows = await datasetsStore.expiredSessions(this.db, now);
    let n = 0;
    for (const s of rows) {
      if (s.status !== 'open' && s.expires_at > now && now.getTime() - s.created_at.getTime() < 86_400_000) continue;
      await this.removeStaged(s.id);
      await datasetsStore.deleteSession(this.db, s.id);
      n++;
    }
    return n;
  }
}

/** A tus answer of 400 or more rewritten as a catalog error (status kept, body and type replaced). */
async function catalogResponse(res: Response, requestId: string | undefined): Promise<Response> {
  if (res.status < 400) return res;
  const text = await res.text();
  let code: string = codeForStatus(res.status);
  let message = text.trim() || (STATUS_CODES[res.status] ?? 'Error');
  let details: unknown;
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (isCatalogCode(parsed.error?.code)) {
      code = parsed.error.code;
      if (typeof parsed.error.message === 'string') message = parsed.error.message;
      details = parsed.error.details;
    }
  } catch {
    // tus's own plain-text refusal: its text is the message.
  }
  const body = JSON.stringify({ error: { code, message, ...(details !== undefined ? { details } : {}), ...(requestId ? { requestId } : {}) } });
  const headers = new Headers(res.headers);
  headers.set('content-type', 'application/json; charset=utf-8');
  headers.set('content-length', String(Buffer.byteLength(body)));
  return new Response(body, { status: res.status, headers });
}

const exists = (p: string) => fs.access(p).then(() => true, () => false);

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const presentSession = (s: UploadSessionRow) => ({ id: s.id, datasetId: s.dataset_id, status: s.status, expiresAt: s.expires_at.toISOString(), tusEndpoint: TUS_PATH });
