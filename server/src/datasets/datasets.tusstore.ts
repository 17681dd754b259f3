import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { FileStore } from '@tus/file-store';
import { ERRORS } from '@tus/server';
import type { Upload } from '@tus/utils';
import { crashPoint } from '../kernel/crashpoints.js';

/** Running hashes kept at most; an abandoned upload's state is dropped first (it is re-read at the end instead). */
const MAX_STATES = 4096;
/** Bytes gathered before one write: a write per network packet would pause the socket thousands of times. */
const WRITE_BATCH = 4 * 1024 * 1024;
/** Written bytes after which the kernel is asked to flush them, while more keep arriving. */
const FLUSH_EVERY = 64 * 1024 * 1024;

interface HashState {
  offset: number;
  hash: Hash;
}

/**
 * tus's file store, writing in large batches and hashing the bytes as they are written. The
 * running sha256 of each upload is kept in memory with the offset it covers, so the last byte can
 * hand the blob store a hash of exactly what is on disk and the file is not read a second time.
 *
 * The state is only trusted while it provably covers the file's bytes: it starts at offset 0, is
 * advanced only by a write that completed without error (every hashed byte was written, in order),
 * and is dropped on any error, on a write at another offset, or when the process restarts (it lives
 * in memory). Without a state, `takeDigest` answers undefined and the caller re-reads the file.
 *
 * Writes: one batch is written while the next one gathers (so the socket keeps flowing while the
 * disk works), and large uploads ask the kernel to flush every FLUSH_EVERY bytes, so the fsync at
 * the end does not have the whole file to write at once.
 */
export class HashingFileStore extends FileStore {
  private readonly states = new Map<string, HashState>();
  /**
   * Answers for an upload the file store no longer holds (taken into the blob store, perhaps by a
   * process killed before it could tidy up): a finished upload answers as complete, not 404/410.
   */
  resolveMissing: ((id: string) => Promise<Upload | undefined>) | undefined;

  override async getUpload(id: string): Promise<Upload> {
    try {
      return await super.getUpload(id);
    } catch (e) {
      const found = await this.resolveMissing?.(id);
      if (found) return found;
      throw e;
    }
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    let state = this.states.get(id);
    this.states.delete(id);
    if (state && state.offset !== offset) state = undefined;
    if (!state && offset === 0) state = { offset: 0, hash: createHash('sha256') };
    const hash = state?.hash;

    let fh: fs.FileHandle;
    try {
      fh = await fs.open(path.join(this.directory, id), 'r+');
    } catch {
      throw ERRORS.FILE_WRITE_ERROR;
    }
    let pos = offset;
    let writing: Promise<void> | undefined;
    let flushing: Promise<void> | undefined;
    let unflushed = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const writeOut = async (bufs: Buffer[], len: number, at: number) => {
      const b = bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs, len);
      for (let done = 0; done < b.length; ) done += (await fh.write(b, done, b.length - done, at + done)).bytesWritten;
      crashPoint('upload.partial');
      unflushed += len;
      if (unflushed >= FLUSH_EVERY && !flushing) {
        unflushed = 0;
        // Best effort: the blob store's fsync at the end is what makes the file durable.
        flushing = fh.datasync().catch(() => {}).finally(() => (flushing = undefined));
      }
    };
    const startWrite = async () => {
      // At most one write in flight: keeps the writes in order and memory at two batches.
      await writing;
      const bufs = pending;
      const len = pendingBytes;
      const at = pos;
      pending = [];
      pendingBytes = 0;
      pos += len;
      writing = writeOut(bufs, len, at);
      writing.catch(() => {});
    };
    try {
      for await (const chunk of readable as AsyncIterable<Buffer>) {
        hash?.update(chunk);
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= WRITE_BATCH) await startWrite();
      }
      if (pendingBytes > 0) await startWrite();
      await writing;
    } catch {
      // Some hashed bytes may not be on disk: the state cannot be trusted any more.
      await writing?.catch(() => {});
      await flushing;
      await fh.close().catch(() => {});
      throw ERRORS.FILE_WRITE_ERROR;
    }
    await flushing;
    await fh.close();
    if (state) this.remember(id, { offset: pos, hash: state.hash });
    return pos;
  }

  /** Staged bytes are private to the server's user whatever the process umask (docs/security.md). */
  override async create(upload: Upload): Promise<Upload> {
    const created = await super.create(upload);
    const file = path.join(this.directory, upload.id);
    await Promise.all([fs.chmod(this.directory, 0o700), fs.chmod(file, 0o600), fs.chmod(`${file}.json`, 0o600).catch(() => {})]);
    return created;
  }

  override async remove(id: string): Promise<void> {
    this.states.delete(id);
    return super.remove(id);
  }

  /** The sha256 of an upload's bytes when this process hashed all `size` of them, else undefined. */
  takeDigest(id: string, size: number): string | undefined {
    const state = this.states.get(id);
    this.states.delete(id);
    return state && state.offset === size ? state.hash.digest('hex') : undefined;
  }

  private remember(id: string, state: HashState) {
    this.states.set(id, state);
    while (this.states.size > MAX_STATES) this.states.delete(this.states.keys().next().value!);
  }
}
