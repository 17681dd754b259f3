import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobStoreContract, sha } from './blobs.contract.js';
import { LocalBlobStore } from './blobs.local.js';

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

blobStoreContract('local filesystem', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'cairn-blobs-'));
  const store = new LocalBlobStore(path.join(root, 'blobs'));
  return {
    store,
    leftovers: async () => (await walk(path.join(store.root, '.staging'))).map((p) => path.relative(store.root, p)),
    plantLeftover: async () => {
      await fs.mkdir(path.join(store.root, '.staging'), { recursive: true });
      await fs.writeFile(path.join(store.root, '.staging', 'crashed.tmp'), 'half a file');
    },
    reset: async () => {
      await fs.rm(store.root, { recursive: true, force: true });
    },
    close: async () => {
      await fs.rm(root, { recursive: true, force: true });
    },
    bufferBudget: 2 * 1024 * 1024,
    largeBodyThreshold: 1024 * 1024,
  };
});

describe('LocalBlobStore specifics', () => {
  let root: string;
  let store: LocalBlobStore;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'cairn-blobs-local-'));
    store = new LocalBlobStore(path.join(root, 'blobs'));
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('shards blobs as ab/cd/<sha256>', async () => {
    const { sha256 } = await store.put(Readable.from([Buffer.from('sharded')]));
    expect(sha256).toBe(sha('sharded'));
    const expected = path.join(store.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
    expect(store.pathOf(sha256)).toBe(expected);
    expect(await fs.readFile(expected, 'utf8')).toBe('sharded');
  });

  it('reports created for exactly one of many concurrent identical puts', async () => {
    const data = Buffer.alloc(300_000, 7);
    const results = await Promise.all(Array.from({ length: 10 }, () => store.put(Readable.from([data]))));
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('never exposes a blob before its last byte is written', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const body = (async function* () {
      yield Buffer.from('first half, ');
      await gate;
      yield Buffer.from('second half');
    })();
    const pending = store.put(body);
    const target = sha('first half, second half');
    // Give the writer time to open and write its staging file.
    await new Promise((r) => setImmediate(r));
    expect(await store.has(target)).toBe(false);
    expect(await store.has(sha('first half, '))).toBe(false);
    release();
    expect((await pending).sha256).toBe(target);
    expect(await store.has(target)).toBe(true);
  });

  it('moves a staged file in instead of copying it when on the same filesystem', async () => {
    const staged = path.join(root, 'upload.bin');
    await fs.writeFile(staged, 'staged upload');
    const ino = (await fs.stat(staged)).ino;
    const { sha256 } = await store.putFile(staged);
    expect((await fs.stat(store.pathOf(sha256))).ino).toBe(ino);
  });

  it('surfaces an unusable root as blob_store_unavailable', async () => {
    const file = path.join(root, 'not-a-dir');
    await fs.writeFile(file, 'x');
    const broken = new LocalBlobStore(path.join(file, 'blobs'));
    await expect(broken.put(Readable.from([Buffer.from('x')]))).rejects.toMatchObject({ code: 'blob_store_unavailable' });
  });
});
