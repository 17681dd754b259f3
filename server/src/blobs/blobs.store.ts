import type { Readable } from 'node:stream';

/**
 * Content-addressed blob storage. A blob's address is the lowercase hex sha256 of its bytes, so a
 * blob can never change once written, identical content is stored once, and a reader can always
 * re-check what it got. Implementations: blobs.local.ts (filesystem) and blobs.s3.ts.
 *
 * Invariant every implementation keeps: a blob is visible under an address only once all its bytes
 * are durably stored and their sha256 equals that address. Partial or mis-addressed data is never
 * visible, even if the process dies mid-write (leftovers live in a staging area that `sweep` clears).
 */
export interface BlobStore {
  readonly kind: 'local' | 's3';
  has(sha256: string): Promise<boolean>;
  /** Size in bytes, or undefined when the blob does not exist. */
  stat(sha256: string): Promise<number | undefined>;
  /**
   * Streams `body` in, hashing while writing. Rejects with `blob_hash_mismatch` /
   * `blob_size_mismatch` when the expectations fail and `blob_too_large` once more than `maxBytes`
   * arrive (without reading the rest). `created` is false when the content was already stored.
   */
  put(body: Readable | AsyncIterable<Uint8Array>, options?: PutOptions): Promise<PutResult>;
  /**
   * Takes in a complete file already staged on local disk (e.g. a finished resumable upload). On
   * success the source file is consumed (moved or deleted); on failure it is left where it was.
   */
  putFile(path: string, options?: PutFileOptions): Promise<PutResult>;
  /**
   * Opens a blob for reading. `range` is inclusive on both ends like an HTTP Range header;
   * an `end` past the last byte is clamped, a `start` past it is `blob_range_invalid`.
   * Rejects with `blob_not_found` before any byte is streamed.
   */
  get(sha256: string, range?: ByteRange, options?: ReadOptions): Promise<Readable>;
  /** Returns false when there was nothing to delete. */
  delete(sha256: string): Promise<boolean>;
  /** Every stored blob, in no particular order; for garbage collection and audits. */
  list(): AsyncIterable<BlobInfo>;
  /** Removes staging leftovers (crashed or aborted writes) older than `olderThan`. Returns how many. */
  sweep(olderThan: Date): Promise<number>;
}

export interface PutOptions {
  expectedSha256?: string;
  expectedSize?: number;
  maxBytes?: number;
}

export interface PutFileOptions extends PutOptions {
  /**
   * The sha256 of the file's bytes, computed by the caller from the very bytes it wrote into the
   * file (e.g. a resumable upload hashed as it arrived). The local store then publishes without
   * reading the file again; the S3 store skips its first hashing pass and still verifies while
   * sending. Never pass a hash the caller did not compute itself from those bytes.
   */
  knownSha256?: string;
  /**
   * Leave the source file where it is (the local store links it instead of moving it). A caller
   * that must survive being killed between storing the blob and recording that it did keeps its
   * file until the record is written, then deletes it itself (see datasets.uploads.ts `ingest`).
   */
  keepSource?: boolean;
}

export interface PutResult {
  sha256: string;
  size: number;
  created: boolean;
}

export interface ReadOptions {
  /**
   * Bytes per chunk the local store reads (default 64 KiB): larger chunks stream a big file
   * faster (fewer reads, the disk's read-ahead used), smaller ones hold less memory per reader.
   * The S3 store streams what the network delivers and ignores it.
   */
  highWaterMark?: number;
}

export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobInfo {
  sha256: string;
  size: number;
}

export type BlobErrorCode =
  | 'blob_not_found'
  | 'blob_hash_mismatch'
  | 'blob_size_mismatch'
  | 'blob_too_large'
  | 'blob_range_invalid'
  | 'blob_invalid_hash'
  | 'blob_store_unavailable';

/**
 * Storage-level error with a stable code. Not an AppError: the blob layer knows nothing about HTTP;
 * the dataset service maps these codes onto the error catalog (see docs/datasets.md).
 */
export class BlobError extends Error {
  constructor(
    readonly code: BlobErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BlobError';
  }
}

export const isBlobError = (e: unknown, code?: BlobErrorCode): e is BlobError =>
  e instanceof BlobError && (code === undefined || e.code === code);

const HASH_RE = /^[0-9a-f]{64}$/;

export function isSha256(value: unknown): value is string {
  return typeof value === 'string' && HASH_RE.test(value);
}

/** Every public entry point checks the address first so a bad hash can never become a path or key. */
export function assertSha256(value: unknown): asserts value is string {
  if (!isSha256(value)) {
    throw new BlobError('blob_invalid_hash', 'A blob address must be 64 lowercase hexadecimal characters (sha256)', {
      value: typeof value === 'string' ? value.slice(0, 80) : typeof value,
    });
  }
}

export function checkPutOptions<T extends PutFileOptions>(options: T | undefined): T {
  const o = options ?? ({} as T);
  if (o.expectedSha256 !== undefined) assertSha256(o.expectedSha256);
  if (o.knownSha256 !== undefined) assertSha256(o.knownSha256);
  for (const key of ['expectedSize', 'maxBytes'] as const) {
    const v = o[key];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) {
      throw new TypeError(`${key} must be a non-negative integer`);
    }
  }
  return o;
}

/** Shared byte accounting so both stores fail the same way at the same byte. */
export function checkSizeSoFar(size: number, o: PutOptions): void {
  if (o.maxBytes !== undefined && size > o.maxBytes) {
    throw new BlobError('blob_too_large', `Blob is larger than the limit of ${o.maxBytes} bytes`, { maxBytes: o.maxBytes });
  }
  if (o.expectedSize !== undefined && size > o.expectedSize) {
    throw new BlobError('blob_size_mismatch', `Blob is larger than the announced ${o.expectedSize} bytes`, {
      expectedSize: o.expectedSize,
    });
  }
}

export function checkFinal(sha256: string, size: number, o: PutOptions): void {
  checkSizeSoFar(size, o);
  if (o.expectedSize !== undefined && size !== o.expectedSize) {
    throw new BlobError('blob_size_mismatch', `Blob has ${size} bytes, ${o.expectedSize} were announced`, {
      expectedSize: o.expectedSize,
      actualSize: size,
    });
  }
  if (o.expectedSha256 !== undefined && sha256 !== o.expectedSha256) {
    throw new BlobError('blob_hash_mismatch', 'Blob content does not match the announced sha256', {
      expectedSha256: o.expectedSha256,
      actualSha256: sha256,
    });
  }
}

/** Resolves an inclusive range against a known size; undefined range means the whole blob. */
export function resolveRange(range: ByteRange | undefined, size: number): ByteRange | undefined {
  if (range === undefined) return undefined;
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || start >= size) {
    throw new BlobError('blob_range_invalid', `Range ${start}-${end} is not satisfiable for a blob of ${size} bytes`, {
      start,
      end,
      size,
    });
  }
  return { start, end: Math.min(end, size - 1) };
}
