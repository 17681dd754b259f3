import { createHash, randomBytes } from 'node:crypto';
import { constants as fsc, createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  assertSha256,
  BlobError,
  checkFinal,
  checkPutOptions,
  checkSizeSoFar,
  isSha256,
  resolveRange,
  type BlobInfo,
  type BlobStore,
  type ByteRange,
  type PutFileOptions,
  type PutOptions,
  type PutResult,
  type ReadOptions,
} from './blobs.store.js';

/**
 * Blobs as files under `root`, sharded `ab/cd/<sha256>` so no directory grows past 65,536 entries
 * per level. Writes go to `root/.staging` (same filesystem, so the final step is a link/rename, never
 * a copy), are fsynced, then published with `link()`, which fails with EEXIST instead of replacing:
 * of two concurrent writers of the same content exactly one reports `created`, and readers never see
 * a half-written file.
 */
export class LocalBlobStore implements BlobStore {
  readonly kind = 'local' as const;
  private readonly staging: string;
  private ready: Promise<void> | undefined;

  constructor(readonly root: string) {
    this.root = path.resolve(root);
    this.staging = path.join(this.root, '.staging');
  }

  private init(): Promise<void> {
    this.ready ??= fs.mkdir(this.staging, { recursive: true, mode: 0o700 }).then(
      () => undefined,
      (e: unknown) => {
        this.ready = undefined;
        throw unavailable(e, `cannot create blob directory ${this.root}`);
      },
    );
    return this.ready;
  }

  pathOf(sha256: string): string {
    assertSha256(sha256);
    return path.join(this.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== undefined;
  }

  async stat(sha256: string): Promise<number | undefined> {
    try {
      const st = await fs.stat(this.pathOf(sha256));
      return st.size;
    } catch (e) {
      if (errno(e) === 'ENOENT') return undefined;
      throw unavailable(e, 'cannot stat blob');
    }
  }

  async put(body: Readable | AsyncIterable<Uint8Array>, options?: PutOptions): Promise<PutResult> {
    const o = checkPutOptions(options);
    await this.init();
    const tmp = this.tempPath();
    let handle: fs.FileHandle | undefined;
    try {
      handle = await this.openTemp(tmp);
      const hash = createHash('sha256');
      let size = 0;
      // Coalesce small chunks: one write syscall per ~1 MiB rather than per network packet.
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      for await (const raw of body) {
        const chunk = typeof raw === 'string' ? Buffer.from(raw) : (raw as Uint8Array);
        size += chunk.byteLength;
        checkSizeSoFar(size, o);
        hash.update(chunk);
        pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        pendingBytes += chunk.byteLength;
        if (pendingBytes >= WRITE_BATCH) {
          await writeAll(handle, pending, pendingBytes);
          pending = [];
          pendingBytes = 0;
        }
      }
      if (pendingBytes > 0) await writeAll(handle, pending, pendingBytes);
      const sha256 = hash.digest('hex');
      checkFinal(sha256, size, o);
      await handle.sync();
      await handle.close();
      handle = undefined;
      const created = await this.publish(tmp, sha256);
      return { sha256, size, created };
    } catch (e) {
      await handle?.close().catch(() => {});
      await fs.rm(tmp, { force: true }).catch(() => {});
      if (e instanceof BlobError) throw e;
      if (isFsError(e)) throw unavailable(e, 'cannot write blob');
      throw e;
    }
  }

  async putFile(source: string, options?: PutFileOptions): Promise<PutResult> {
    const o = checkPutOptions(options);
    await this.init();
    // Take the file away from its owner first so nothing can modify it between hashing and publishing.
    // With keepSource, a hard link takes the same bytes without taking them from the caller.
    const tmp = this.tempPath();
    const take = o.keepSource ? fs.link : fs.rename;
    try {
      await take(source, tmp).catch(async (e: unknown) => {
        if (errno(e) !== 'ENOENT' || !(await exists(source))) throw e;
        this.ready = undefined;
        await this.init();
        await take(source, tmp);
      });
    } catch (e) {
      const code = errno(e);
      if (code === 'EXDEV' || (o.keepSource && (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EMLINK'))) {
        const result = await this.put(createReadStream(source), o);
        if (!o.keepSource) await fs.rm(source, { force: true });
        return result;
      }
      if (errno(e) === 'ENOENT') throw new BlobError('blob_not_found', `No staged file at ${source}`, undefined, { cause: e });
      throw unavailable(e, 'cannot move staged file into the blob store');
    }
    try {
      const fh = await fs.open(tmp, 'r+');
      let sha256: string;
      let size: number;
      try {
        // A staged file keeps the mode it was created with; a blob is private to the server's user.
        await fh.chmod(0o600);
        if (o.knownSha256 !== undefined) {
          // Hashed by the caller as it wrote these bytes: only the length needs checking.
          sha256 = o.knownSha256;
          size = (await fh.stat()).size;
        } else {
          ({ sha256, size } = await hashFile(fh, o));
        }
        checkFinal(sha256, size, o);
        await fh.sync();
      } finally {
        await fh.close();
      }
      const created = await this.publish(tmp, sha256);
      return { sha256, size, created };
    } catch (e) {
      // Give the file back so the caller can retry or inspect it (a kept source never left).
      if (o.keepSource) await fs.rm(tmp, { force: true }).catch(() => {});
      else await fs.rename(tmp, source).catch(() => fs.rm(tmp, { force: true }).catch(() => {}));
      if (e instanceof BlobError) throw e;
      throw unavailable(e, 'cannot store staged file');
    }
  }

  async get(sha256: string, range?: ByteRange, options?: ReadOptions): Promise<Readable> {
    const file = this.pathOf(sha256);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (e) {
      if (errno(e) === 'ENOENT') throw notFound(sha256);
      throw unavailable(e, 'cannot open blob');
    }
    try {
      const { size } = await handle.stat();
      // An empty blob has no satisfiable range; only the whole (empty) body can be read.
      const r = resolveRange(range, size);
      const highWaterMark = options?.highWaterMark;
      return handle.createReadStream({ ...(r ? { start: r.start, end: r.end } : {}), ...(highWaterMark ? { highWaterMark } : {}), autoClose: true });
    } catch (e) {
      await handle.close().catch(() => {});
      throw e;
    }
  }

  async delete(sha256: string): Promise<boolean> {
    try {
      await fs.unlink(this.pathOf(sha256));
      return true;
    } catch (e) {
      if (errno(e) === 'ENOENT') return false;
      throw unavailable(e, 'cannot delete blob');
    }
  }

  async *list(): AsyncIterable<BlobInfo> {
    for (const a of await readDirOrEmpty(this.root)) {
      if (!/^[0-9a-f]{2}$/.test(a)) continue;
      for (const b of await readDirOrEmpty(path.join(this.root, a))) {
        if (!/^[0-9a-f]{2}$/.test(b)) continue;
        const dir = path.join(this.root, a, b);
        for (const name of await readDirOrEmpty(dir)) {
          if (!isSha256(name) || !name.startsWith(a + b)) continue;
          try {
            const st = await fs.stat(path.join(dir, name));
            yield { sha256: name, size: st.size };
          } catch (e) {
            if (errno(e) !== 'ENOENT') throw unavailable(e, 'cannot list blobs');
          }
        }
      }
    }
  }

  async sweep(olderThan: Date): Promise<number> {
    let removed = 0;
    for (const name of await readDirOrEmpty(this.staging)) {
      const p = path.join(this.staging, name);
      try {
        const st = await fs.stat(p);
        if (st.mtimeMs < olderThan.getTime()) {
          await fs.rm(p, { force: true });
          removed++;
        }
      } catch (e) {
        if (errno(e) !== 'ENOENT') throw unavailable(e, 'cannot sweep staging area');
      }
    }
    return removed;
  }

  private async openTemp(tmp: string): Promise<fs.FileHandle> {
    const open = () => fs.open(tmp, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, 0o600);
    try {
      return await open();
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw e;
      // The staging directory vanished under us (an operator cleaned up); recreate it once.
      this.ready = undefined;
      await this.init();
      return await open();
    }
  }

  private tempPath(): string {
    return path.join(this.staging, `${Date.now()}-${randomBytes(8).toString('hex')}.tmp`);
  }

  /** Returns true when this call made the blob visible, false when it already existed. */
  private async publish(tmp: string, sha256: string): Promise<boolean> {
    const final = this.pathOf(sha256);
    const dir = path.dirname(final);
    try {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      try {
        await fs.link(tmp, final);
      } catch (e) {
        const code = errno(e);
        if (code === 'EEXIST') return false;
        // Filesystems without hard links (some network and FUSE mounts): rename replaces atomically,
        // and replacing identical content with identical content is harmless.
        if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EMLINK') {
          const existed = await fs.access(final).then(() => true, () => false);
          await fs.rename(tmp, final);
          await syncDir(dir);
          return !existed;
        }
        throw e;
      }
      // The rename/link is only durable once the directory entry is on disk.
      await syncDir(dir);
      return true;
    } finally {
      await fs.rm(tmp, { force: true }).catch(() => {});
    }
  }
}

const WRITE_BATCH = 1024 * 1024;

async function writeAll(handle: fs.FileHandle, chunks: Buffer[], total: number): Promise<void> {
  const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await handle.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

async function hashFile(fh: fs.FileHandle, o: PutOptions): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  let size = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, size);
    if (bytesRead === 0) break;
    size += bytesRead;
    checkSizeSoFar(size, o);
    hash.update(buf.subarray(0, bytesRead));
  }
  return { sha256: hash.digest('hex'), size };
}

async function syncDir(dir: string): Promise<void> {
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(dir, 'r');
    await fh.sync();
  } catch (e) {
    // Some platforms cannot fsync a directory (EISDIR/EINVAL); the data itself is already synced.
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes(errno(e) ?? '')) throw e;
  } finally {
    await fh?.close().catch(() => {});
  }
}

const exists = (p: string) => fs.access(p).then(() => true, () => false);

async function readDirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (e) {
    if (errno(e) === 'ENOENT') return [];
    throw unavailable(e, `cannot read ${dir}`);
  }
}

function errno(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

function isFsError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && 'syscall' in e;
}

function notFound(sha256: string): BlobError {
  return new BlobError('blob_not_found', `No blob ${sha256}`, { sha256 });
}

function unavailable(e: unknown, what: string): BlobError {
  if (e instanceof BlobError) return e;
  const code = errno(e);
  return new BlobError('blob_store_unavailable', `Blob store: ${what}${code ? ` (${code})` : ''}`, undefined, { cause: e });
}
