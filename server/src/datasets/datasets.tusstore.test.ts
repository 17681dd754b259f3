import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Upload } from '@tus/server';
import { HashingFileStore } from './datasets.tusstore.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** Like a request body: many network-sized chunks. */
const body = (b: Buffer, chunk = 64 * 1024) => Readable.from(Array.from({ length: Math.ceil(b.length / chunk) }, (_, i) => b.subarray(i * chunk, (i + 1) * chunk)));

describe('HashingFileStore', () => {
  let dir: string;
  let store: HashingFileStore;
  const create = async (id: string, size: number) => store.create(new Upload({ id, size, offset: 0 }));
  const onDisk = (id: string) => fs.readFile(path.join(dir, id));

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cairn-tusstore-'));
    store = new HashingFileStore({ directory: dir });
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('hashes the bytes as they are written, across resumed writes, in large batches', async () => {
    const data = randomBytes(9 * 1024 * 1024 + 123);
    await create('a', data.length);
    const cut = 5 * 1024 * 1024 + 7;
    expect(await store.write(body(data.subarray(0, cut)), 'a', 0)).toBe(cut);
    expect(await store.write(body(data.subarray(cut)), 'a', cut)).toBe(data.length);
    expect((await onDisk('a')).equals(data)).toBe(true);
    expect(store.takeDigest('a', data.length)).toBe(sha(data));
    // Taken once: a second intake re-reads the file rather than trusting a stale state.
    expect(store.takeDigest('a', data.length)).toBeUndefined();
  });

  it('has no digest until every byte was hashed', async () => {
    const data = randomBytes(100_000);
    await create('b', data.length);
    await store.write(body(data.subarray(0, 60_000)), 'b', 0);
    expect(store.takeDigest('b', data.length)).toBeUndefined();
  });

  it('forgets the hash when a write fails half-way, and the file keeps only what was written', async () => {
    const data = randomBytes(6 * 1024 * 1024);
    await create('c', data.length);
    async function* broken() {
      yield data.subarray(0, 5 * 1024 * 1024);
      throw new Error('client went away');
    }
    await expect(store.write(Readable.from(broken()), 'c', 0)).rejects.toBeDefined();
    const kept = await onDisk('c');
    expect(kept.equals(data.subarray(0, kept.length))).toBe(true);
    // Resuming where the file ends works, but the digest is unknown: the intake must re-read.
    await store.write(body(data.subarray(kept.length)), 'c', kept.length);
    expect((await onDisk('c')).equals(data)).toBe(true);
    expect(store.takeDigest('c', data.length)).toBeUndefined();
  });

  it('forgets the hash on a write at another offset than the one it covers', async () => {
    const data = randomBytes(50_000);
    await create('d', data.length);
    await store.write(body(data.subarray(0, 20_000)), 'd', 0);
    await store.write(body(data.subarray(10_000)), 'd', 10_000);
    expect((await onDisk('d')).equals(data)).toBe(true);
    expect(store.takeDigest('d', data.length)).toBeUndefined();
  });

  it('has no digest after a restart (a new process resumes an upload it did not see begin)', async () => {
    const data = randomBytes(80_000);
    await create('e', data.length);
    await store.write(body(data.subarray(0, 30_000)), 'e', 0);
    const restarted = new HashingFileStore({ directory: dir });
    expect(await restarted.write(body(data.subarray(30_000)), 'e', 30_000)).toBe(data.length);
    expect((await onDisk('e')).equals(data)).toBe(true);
    expect(restarted.takeDigest('e', data.length)).toBeUndefined();
  });

  it('forgets the hash of a removed upload', async () => {
    const data = randomBytes(1000);
    await create('f', data.length);
    await store.write(body(data), 'f', 0);
    await store.remove('f');
    expect(store.takeDigest('f', data.length)).toBeUndefined();
  });
});
