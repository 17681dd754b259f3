import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import {
  assertSha256,
  BlobError,
  checkFinal,
  checkPutOptions,
  checkSizeSoFar,
  isSha256,
  type BlobInfo,
  type BlobStore,
  type ByteRange,
  type PutFileOptions,
  type PutOptions,
  type PutResult,
} from './blobs.store.js';

export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, e.g. `cairn/`; a trailing slash is added when missing. */
  prefix?: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Bodies up to this size go in one PUT; larger ones are sent in parts of this size (min 5 MiB). */
  partSize?: number;
  /** Parts in flight at once; memory use is about partSize × (queueSize + 1). */
  queueSize?: number;
  /** Largest object a single CopyObject may copy (S3: 5 GiB); beyond it the copy is done in parts. */
  maxCopyBytes?: number;
  /** Use an existing client (tests, custom middleware); the other connection options are then ignored. */
  client?: S3Client;
}

const MiB = 1024 * 1024;

/**
 * Blobs as objects `<prefix>blobs/ab/cd/<sha256>` in one bucket.
 *
 * S3 cannot be told "make this object visible only if its sha256 is X" portably (checksum headers
 * are not enforced by every S3-compatible store, and for multipart uploads S3 only offers a
 * checksum-of-part-checksums), so correctness never depends on the store checking anything:
 *  - bodies up to `partSize` are buffered and hashed here, then written to their address in one PUT;
 *  - larger bodies with a known expected hash are sent as a multipart upload to their address, and
 *    CompleteMultipartUpload — the moment the object becomes visible — is only sent after the
 *    streamed bytes hashed to that address; otherwise the upload is aborted;
 *  - larger bodies of unknown hash go to a multipart upload under `<prefix>staging/`, are hashed on
 *    the way, then server-side copied to their address and the staging object deleted.
 * `putFile` hashes the local file first, so it always takes one of the first two paths.
 * Leftovers from crashes (staging objects, incomplete multipart uploads) are removed by `sweep`;
 * a bucket lifecycle rule aborting incomplete multipart uploads is still recommended.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly maxCopyBytes: number;

  constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    const p = (options.prefix ?? '').replace(/^\/+/, '');
    this.prefix = p === '' || p.endsWith('/') ? p : `${p}/`;
    this.partSize = Math.max(options.partSize ?? 8 * MiB, 5 * MiB);
    this.queueSize = Math.max(1, options.queueSize ?? 3);
    this.maxCopyBytes = options.maxCopyBytes ?? 5 * 1024 * MiB;
    this.client =
      options.client ??
      new S3Client({
        region: options.region ?? 'us-east-1',
        endpoint: options.endpoint,
        forcePathStyle: options.forcePathStyle ?? false,
        credentials: options.credentials,
        // The SDK's default CRC32 trailers are not understood by every S3-compatible store
        // (s3rver, older MinIO, some gateways); we verify content ourselves with sha256.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
  }

  keyOf(sha256: string): string {
    assertSha256(sha256);
    return `${this.prefix}blobs/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
  }

  private stagingKey(): string {
    return `${this.prefix}staging/${Date.now()}-${randomBytes(8).toString('hex')}`;
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== undefined;
  }

  async stat(sha256: string): Promise<number | undefined> {
    const Key = this.keyOf(sha256);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return head.ContentLength ?? 0;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw unavailable(e, 'HeadObject');
    }
  }

  async put(body: Readable | AsyncIterable<Uint8Array>, options?: PutOptions): Promise<PutResult> {
    const o = checkPutOptions(options);
    const hash = createHash('sha256');
    let size = 0;
    const parts = chunk(body, this.partSize, (c) => {
      size += c.length;
      checkSizeSoFar(size, o);
      hash.update(c);
    });
    try {
      // Peek two parts to tell a single-PUT body from a multipart one. Held in one array that the
      // upload empties as it goes, so sent parts can be garbage-collected.
      const head: Buffer[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await parts.next();
        if (!r.done) head.push(r.value);
      }
      if (head.length < 2) {
        const buf = head.pop() ?? Buffer.alloc(0);
        const sha256 = hash.digest('hex');
        checkFinal(sha256, size, o);
        if (await this.has(sha256)) return { sha256, size, created: false };
        await guard('PutObject', this.client.send(new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.keyOf(sha256),
          Body: buf,
          ContentLength: buf.length,
          ContentType: 'application/octet-stream',
        })));
        return { sha256, size, created: true };
      }
      if (o.expectedSha256 !== undefined && (await this.has(o.expectedSha256))) {
        // Already stored: read the body only to prove it is what the caller claims, send nothing.
        for await (const _ of parts) void _;
        const sha256 = hash.digest('hex');
        checkFinal(sha256, size, o);
        return { sha256, size, created: false };
      }
      const key = o.expectedSha256 !== undefined ? this.keyOf(o.expectedSha256) : this.stagingKey();
      await this.multipart(key, head, parts, () => {
        const sha256 = hash.copy().digest('hex');
        checkFinal(sha256, size, o);
      });
      const sha256 = hash.digest('hex');
      if (o.expectedSha256 !== undefined) return { sha256, size, created: true };
      return await this.promoteStaged(key, sha256, size);
    } finally {
      // Stops reading the source when we bail out early (too large, mismatch, store failure).
      await parts.return(undefined);
    }
  }

  async putFile(path: string, options?: PutFileOptions): Promise<PutResult> {
    const o = checkPutOptions(options);
    let sha256: string;
    let size = 0;
    try {
      if (o.knownSha256 !== undefined) {
        // Hashed by the caller as it wrote the file: skip this pass; put() below still verifies.
        size = (await fs.stat(path)).size;
        checkSizeSoFar(size, o);
        return await this.putKnown(path, o.knownSha256, size, o);
      }
      const hash = createHash('sha256');
      for await (const c of createReadStream(path, { highWaterMark: MiB }) as AsyncIterable<Buffer>) {
        size += c.length;
        checkSizeSoFar(size, o);
        hash.update(c);
      }
      sha256 = hash.digest('hex');
    } catch (e) {
      if (e instanceof BlobError) throw e;
      if ((e as { code?: string }).code === 'ENOENT') throw new BlobError('blob_not_found', `No staged file at ${path}`, undefined, { cause: e });
      throw new BlobError('blob_store_unavailable', `Blob store: cannot read staged file ${path}`, undefined, { cause: e });
    }
    return this.putKnown(path, sha256, size, o);
  }

  private async putKnown(path: string, sha256: string, size: number, o: PutFileOptions): Promise<PutResult> {
    checkFinal(sha256, size, o);
    let result: PutResult;
    if (await this.has(sha256)) {
      result = { sha256, size, created: false };
    } else {
      // The file could change between hashing and sending; the known hash makes put() verify again.
      result = await this.put(createReadStream(path, { highWaterMark: MiB }), { ...o, expectedSha256: sha256, expectedSize: size });
    }
    if (!o.keepSource) await fs.rm(path, { force: true });
    return result;
  }

  async get(sha256: string, range?: ByteRange): Promise<Readable> {
    const Key = this.keyOf(sha256);
    let Range: string | undefined;
    if (range !== undefined) {
      const { start, end } = range;
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
        throw new BlobError('blob_range_invalid', `Range ${start}-${end} is not satisfiable`, { start, end });
      }
      Range = `bytes=${start}-${end}`;
    }
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range }));
      const body = res.Body;
      if (!(body instanceof Readable)) throw new Error('GetObject returned no Node.js stream');
      if (range === undefined) return body;
      return trimToRange(body, range, res.ContentRange, sha256);
    } catch (e) {
      if (isNotFound(e)) throw new BlobError('blob_not_found', `No blob ${sha256}`, { sha256 });
      if (statusOf(e) === 416 || nameOf(e) === 'InvalidRange') {
        throw new BlobError('blob_range_invalid', `Range ${range?.start}-${range?.end} is not satisfiable`, { ...range });
      }
      throw unavailable(e, 'GetObject');
    }
  }

  async delete(sha256: string): Promise<boolean> {
    // DeleteObject succeeds whether or not the key exists, so ask first to report what happened.
    if (!(await this.has(sha256))) return false;
    await guard('DeleteObject', this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(sha256) })));
    return true;
  }

  async *list(): AsyncIterable<BlobInfo> {
    for await (const obj of this.listKeys(`${this.prefix}blobs/`)) {
      const name = obj.key.slice(obj.key.lastIndexOf('/') + 1);
      if (isSha256(name) && obj.key === this.keyOf(name)) yield { sha256: name, size: obj.size };
    }
  }

  async sweep(olderThan: Date): Promise<number> {
    let removed = 0;
    for await (const obj of this.listKeys(`${this.prefix}staging/`)) {
      if (obj.lastModified < olderThan) {
        await guard('DeleteObject', this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: obj.key })));
        removed++;
      }
    }
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.prefix || undefined, KeyMarker, UploadIdMarker }),
        );
      } catch (e) {
        // Some S3-compatible stores (s3rver) cannot list uploads; bucket lifecycle rules cover them.
        if (nameOf(e) === 'NotImplemented' || statusOf(e) === 501) break;
        throw unavailable(e, 'ListMultipartUploads');
      }
      for (const u of page.Uploads ?? []) {
        if (u.Key && u.UploadId && u.Initiated && u.Initiated < olderThan) {
          await this.client
            .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }))
            .then(() => removed++, () => {});
        }
      }
      if (!page.IsTruncated) break;
      KeyMarker = page.NextKeyMarker;
      UploadIdMarker = page.NextUploadIdMarker;
    }
    return removed;
  }

  private async *listKeys(Prefix: string): AsyncGenerator<{ key: string; size: number; lastModified: Date }> {
    let ContinuationToken: string | undefined;
    do {
      const page = await guard('ListObjectsV2', this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ContinuationToken })));
      for (const c of page.Contents ?? []) {
        if (c.Key) yield { key: c.Key, size: c.Size ?? 0, lastModified: c.LastModified ?? new Date(0) };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  /**
   * Sends `head` and the rest of `parts` as one multipart upload to `Key`, with at most `queueSize`
   * parts in flight. `beforeComplete` runs after the last byte was read and may throw to abort, so
   * nothing becomes visible under `Key` unless it passes.
   */
  private async multipart(
    Key: string,
    head: Buffer[],
    parts: AsyncGenerator<Buffer>,
    beforeComplete: () => void,
  ): Promise<void> {
    const created = await guard('CreateMultipartUpload', this.client.send(new CreateMultipartUploadCommand({
      Bucket: this.bucket,
      Key,
      ContentType: 'application/octet-stream',
    })));
    const UploadId = created.UploadId;
    if (!UploadId) throw new BlobError('blob_store_unavailable', 'Blob store: CreateMultipartUpload returned no upload id');
    const done: CompletedPart[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    let PartNumber = 0;
    const sendPart = (buf: Buffer) => {
      const n = ++PartNumber;
      const p: Promise<void> = guard('UploadPart', this.client.send(new UploadPartCommand({
        Bucket: this.bucket,
        Key,
        UploadId,
        PartNumber: n,
        Body: buf,
        ContentLength: buf.length,
      })))
        .then((r) => {
          done.push({ PartNumber: n, ETag: r.ETag });
        })
        .catch((e: unknown) => {
          failure ??= e;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };
    try {
      const feed = async function* () {
        // shift() so buffers already sent are not kept alive by this array for the whole upload.
        while (head.length > 0) yield head.shift()!;
        yield* parts;
      };
      for await (const buf of feed()) {
        if (failure !== undefined) throw failure;
        sendPart(buf);
        while (inFlight.size >= this.queueSize) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure;
      beforeComplete();
      done.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      await guard('CompleteMultipartUpload', this.client.send(new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key,
        UploadId,
        MultipartUpload: { Parts: done },
      })));
    } catch (e) {
      await Promise.allSettled(inFlight);
      // Best effort: if the abort fails too, sweep() or a lifecycle rule reclaims the parts.
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => {});
      throw e instanceof BlobError ? e : unavailable(e, 'multipart upload');
    }
  }

  /** Moves a verified staging object to its content address. */
  private async promoteStaged(stagingKey: string, sha256: string, size: number): Promise<PutResult> {
    try {
      if (await this.has(sha256)) return { sha256, size, created: false };
      const finalKey = this.keyOf(sha256);
      const CopySource = `${this.bucket}/${stagingKey.split('/').map(encodeURIComponent).join('/')}`;
      if (size <= this.maxCopyBytes) {
        await guard('CopyObject', this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: finalKey, CopySource })));
      } else {
        await this.multipartCopy(CopySource, finalKey, size);
      }
      return { sha256, size, created: true };
    } finally {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: stagingKey })).catch(() => {});
    }
  }

  private async multipartCopy(CopySource: string, Key: string, size: number): Promise<void> {
    const created = await guard('CreateMultipartUpload', this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key })));
    const UploadId = created.UploadId;
    if (!UploadId) throw new BlobError('blob_store_unavailable', 'Blob store: CreateMultipartUpload returned no upload id');
    // S3 allows at most 10,000 parts of at most 5 GiB each.
    const step = Math.max(512 * MiB, Math.ceil(size / 10_000));
    const parts: CompletedPart[] = [];
    try {
      for (let start = 0, n = 1; start < size; start += step, n++) {
        const end = Math.min(start + step, size) - 1;
        const r = await guard('UploadPartCopy', this.client.send(new UploadPartCopyCommand({
          Bucket: this.bucket,
          Key,
          UploadId,
          PartNumber: n,
          CopySource,
          CopySourceRange: `bytes=${start}-${end}`,
        })));
        parts.push({ PartNumber: n, ETag: r.CopyPartResult?.ETag });
      }
      await guard('CompleteMultipartUpload', this.client.send(new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key,
        UploadId,
        MultipartUpload: { Parts: parts },
      })));
    } catch (e) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => {});
      throw e;
    }
  }
}

/**
 * Some S3-compatible servers answer a Range request with more than was asked (s3rver treats
 * `bytes=0-0` as `bytes=0-`) or with the whole object (200 without Content-Range). Callers rely on
 * exact ranges for HTTP 206 responses, so cut the body to what was requested.
 */
function trimToRange(body: Readable, range: ByteRange, contentRange: string | undefined, sha256: string): Readable {
  const m = contentRange ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange) : null;
  const gotStart = m ? Number(m[1]) : 0;
  const total = m && m[3] !== '*' ? Number(m[3]) : undefined;
  if (total === 0 || (total !== undefined && range.start >= total)) {
    body.destroy();
    throw new BlobError('blob_range_invalid', `Range ${range.start}-${range.end} is not satisfiable for a blob of ${total} bytes`, {
      ...range,
      size: total,
      sha256,
    });
  }
  const gotEnd = m ? Number(m[2]) : Number.MAX_SAFE_INTEGER;
  const wantEnd = total !== undefined ? Math.min(range.end, total - 1) : range.end;
  if (gotStart === range.start && gotEnd === wantEnd) return body;
  let skip = range.start - gotStart;
  let take = wantEnd - range.start + 1;
  if (skip < 0) {
    body.destroy();
    throw new BlobError('blob_store_unavailable', `Blob store answered range ${contentRange} for ${range.start}-${range.end}`);
  }
  async function* cut(): AsyncGenerator<Buffer> {
    for await (const c of body as AsyncIterable<Buffer>) {
      let piece = c;
      if (skip > 0) {
        const n = Math.min(skip, piece.length);
        piece = piece.subarray(n);
        skip -= n;
      }
      if (piece.length === 0) continue;
      if (piece.length >= take) {
        yield piece.subarray(0, take);
        take = 0;
        break;
      }
      take -= piece.length;
      yield piece;
    }
    body.destroy();
  }
  return Readable.from(cut(), { objectMode: false });
}

/** Re-chunks a byte stream into buffers of exactly `size` bytes (the last may be shorter). */
async function* chunk(
  body: Readable | AsyncIterable<Uint8Array>,
  size: number,
  onBytes: (c: Buffer) => void,
): AsyncGenerator<Buffer> {
  let bufs: Buffer[] = [];
  let n = 0;
  let emitted = false;
  for await (const raw of body) {
    let c = typeof raw === 'string' ? Buffer.from(raw) : Buffer.from((raw as Uint8Array).buffer, (raw as Uint8Array).byteOffset, (raw as Uint8Array).byteLength);
    onBytes(c);
    while (n + c.length >= size) {
      const take = size - n;
      bufs.push(c.subarray(0, take));
      c = c.subarray(take);
      const part = Buffer.concat(bufs, size);
      bufs = [];
      n = 0;
      emitted = true;
      yield part;
    }
    if (c.length > 0) {
      bufs.push(c);
      n += c.length;
    }
  }
  if (n > 0 || !emitted) yield Buffer.concat(bufs, n);
}

/** Maps any store failure to `blob_store_unavailable`, keeping the SDK error as the cause. */
async function guard<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw unavailable(e, what);
  }
}

function nameOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'name' in e && typeof e.name === 'string' ? e.name : undefined;
}

function statusOf(e: unknown): number | undefined {
  const m = (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return m?.httpStatusCode;
}

function isNotFound(e: unknown): boolean {
  const n = nameOf(e);
  // A missing bucket is a broken deployment, not a missing blob (HEAD cannot tell them apart).
  if (n === 'NoSuchBucket') return false;
  return n === 'NotFound' || n === 'NoSuchKey' || statusOf(e) === 404;
}

function unavailable(e: unknown, what: string): BlobError {
  if (e instanceof BlobError) return e;
  const detail = nameOf(e) ?? 'error';
  return new BlobError('blob_store_unavailable', `Blob store: ${what} failed (${detail})`, undefined, { cause: e });
}
