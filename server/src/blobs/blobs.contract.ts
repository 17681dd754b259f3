import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import vm from 'node:vm';
import v8 from 'node:v8';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isBlobError, type BlobErrorCode, type BlobStore } from './blobs.store.js';

/**
 * One behavioural contract for every BlobStore implementation. Each test file hands in a harness
 * that knows how to peek behind the store (staging leftovers) and plant a crashed write.
 */
export interface BlobStoreHarness {
  store: BlobStore;
  /** Anything in the staging area or otherwise not a published blob. */
  leftovers(): Promise<string[]>;
  /** Simulates a write that crashed half-way (a stale staging entry). */
  plantLeftover(): Promise<void>;
  /** Empties the store between tests. */
  reset(): Promise<void>;
  close(): Promise<void>;
  /** Bytes the store may hold in memory while streaming (S3 buffers whole parts). */
  bufferBudget: number;
  /** Size at which the store switches to its large-body path (S3 multipart); local has none. */
  largeBodyThreshold: number;
}

export const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function expectCode(p: Promise<unknown>, code: BlobErrorCode): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeDefined();
  expect(isBlobError(err) ? err.code : err).toBe(code);
}

/** Deterministic pseudo-random bytes produced on demand, counting how much the consumer pulled. */
function generated(total: number, chunk = 64 * 1024, seed = 1, onPull?: (pulled: number) => void) {
  const state = { pulled: 0 };
  const hash = createHash('sha256');
  let x = seed >>> 0 || 1;
  async function* gen() {
    while (state.pulled < total) {
      const n = Math.min(chunk, total - state.pulled);
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i + 4 <= n; i += 4) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        b.writeUInt32LE(x >>> 0, i);
      }
      for (let i = n - (n % 4); i < n; i++) b[i] = i & 0xff;
      hash.update(b);
      state.pulled += n;
      onPull?.(state.pulled);
      yield b;
    }
  }
  return { stream: Readable.from(gen(), { objectMode: false, highWaterMark: chunk }), state, digest: () => hash.digest('hex') };
}

export function blobStoreContract(name: string, makeHarness: () => Promise<BlobStoreHarness>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let h: BlobStoreHarness;
    let store: BlobStore;
    let tmp: string;

    beforeAll(async () => {
      h = await makeHarness();
      store = h.store;
      tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cairn-blob-src-'));
    });
    afterAll(async () => {
      await h?.close();
      if (tmp) await fs.rm(tmp, { recursive: true, force: true });
    });
    beforeEach(async () => {
      await h.reset();
    });

    async function listed() {
      const out: { sha256: string; size: number }[] = [];
      for await (const b of store.list()) out.push(b);
      return out.sort((a, b) => a.sha256.localeCompare(b.sha256));
    }

    async function expectEmpty() {
      expect(await listed()).toEqual([]);
      expect(await h.leftovers()).toEqual([]);
    }

    it('round-trips bytes under their sha256', async () => {
      const data = randomBytes(100_000);
      const r = await store.put(Readable.from([data.subarray(0, 1), data.subarray(1, 70_000), data.subarray(70_000)]));
      expect(r).toEqual({ sha256: sha(data), size: data.length, created: true });
      expect(await store.has(r.sha256)).toBe(true);
      expect(await store.stat(r.sha256)).toBe(data.length);
      expect((await readAll(await store.get(r.sha256))).equals(data)).toBe(true);
      expect(await listed()).toEqual([{ sha256: sha(data), size: data.length }]);
      expect(await h.leftovers()).toEqual([]);
    });

    it('stores the empty blob, and refuses any range of it', async () => {
      const r = await store.put(Readable.from([]));
      expect(r).toEqual({ sha256: sha(''), size: 0, created: true });
      expect(await store.stat(r.sha256)).toBe(0);
      expect((await readAll(await store.get(r.sha256))).length).toBe(0);
      await expectCode(store.get(r.sha256, { start: 0, end: 0 }), 'blob_range_invalid');
    });

    it('accepts plain async iterables of Uint8Array', async () => {
      async function* body() {
        yield new TextEncoder().encode('hello ');
        yield new Uint8Array(Buffer.from('world'));
      }
      const r = await store.put(body(), { expectedSha256: sha('hello world'), expectedSize: 11 });
      expect(r.sha256).toBe(sha('hello world'));
      expect((await readAll(await store.get(r.sha256))).toString()).toBe('hello world');
    });

    it('stores identical content once', async () => {
      const data = randomBytes(5000);
      const a = await store.put(Readable.from([data]));
      const b = await store.put(Readable.from([Buffer.from(data)]), { expectedSha256: sha(data) });
      expect(a.created).toBe(true);
      expect(b).toEqual({ sha256: a.sha256, size: 5000, created: false });
      expect(await listed()).toEqual([{ sha256: a.sha256, size: 5000 }]);
    });

    it('refuses content that does not hash to the expected sha256 and leaves nothing behind', async () => {
      const data = randomBytes(3000);
      const claimed = sha('something else');
      await expectCode(store.put(Readable.from([data]), { expectedSha256: claimed }), 'blob_hash_mismatch');
      expect(await store.has(claimed)).toBe(false);
      expect(await store.has(sha(data))).toBe(false);
      await expectEmpty();
    });

    it('refuses a mismatching large body (multipart path) and leaves nothing behind', async () => {
      const size = h.largeBodyThreshold * 2 + 12345;
      const g = generated(size, 256 * 1024, 7);
      const claimed = sha('not this');
      await expectCode(store.put(g.stream, { expectedSha256: claimed }), 'blob_hash_mismatch');
      expect(await store.has(claimed)).toBe(false);
      expect(await store.has(g.digest())).toBe(false);
      await expectEmpty();
    });

    it('stores a large body with a known hash, and verifies without storing it twice', async () => {
      const size = h.largeBodyThreshold * 2 + 777;
      const probe = generated(size, 100_000, 9);
      for await (const _ of probe.stream) void _;
      const digest = probe.digest();
      const first = generated(size, 100_000, 9);
      expect(await store.put(first.stream, { expectedSha256: digest, expectedSize: size })).toEqual({ sha256: digest, size, created: true });
      const second = generated(size, 100_000, 9);
      expect(await store.put(second.stream, { expectedSha256: digest })).toEqual({ sha256: digest, size, created: false });
      // A body claiming to be that blob but differing is still refused, even though the blob exists.
      const liar = generated(size, 100_000, 10);
      await expectCode(store.put(liar.stream, { expectedSha256: digest }), 'blob_hash_mismatch');
      expect(await listed()).toEqual([{ sha256: digest, size }]);
      expect(await h.leftovers()).toEqual([]);
      const mid = await readAll(await store.get(digest, { start: h.largeBodyThreshold - 5, end: h.largeBodyThreshold + 4 }));
      const all = await readAll(generated(size, 100_000, 9).stream);
      expect(mid.equals(all.subarray(h.largeBodyThreshold - 5, h.largeBodyThreshold + 5))).toBe(true);
    });

    it('refuses a body whose size differs from the announced one, shorter or longer', async () => {
      const data = randomBytes(1000);
      await expectCode(store.put(Readable.from([data]), { expectedSize: 1001 }), 'blob_size_mismatch');
      await expectCode(store.put(Readable.from([data]), { expectedSize: 999 }), 'blob_size_mismatch');
      await expectCode(store.put(Readable.from([data]), { expectedSize: 1001, expectedSha256: sha(data) }), 'blob_size_mismatch');
      await expectEmpty();
    });

    it('enforces maxBytes exactly and stops reading the source when it is exceeded', async () => {
      const data = randomBytes(4096);
      expect((await store.put(Readable.from([data]), { maxBytes: 4096 })).size).toBe(4096);
      await h.reset();
      await expectCode(store.put(Readable.from([data]), { maxBytes: 4095 }), 'blob_too_large');
      await expectEmpty();

      const g = generated(64 * 1024 * 1024, 64 * 1024, 3);
      await expectCode(store.put(g.stream, { maxBytes: 1024 * 1024 }), 'blob_too_large');
      // It may read ahead by a stream buffer or two, never the whole 64 MiB.
      expect(g.state.pulled).toBeLessThan(4 * 1024 * 1024);
      await expectEmpty();
    });

    it('serves byte ranges: first byte, last byte, middle, whole, clamped end', async () => {
      const data = randomBytes(10_000);
      const { sha256 } = await store.put(Readable.from([data]));
      const range = async (start: number, end: number) => readAll(await store.get(sha256, { start, end }));
      expect((await range(0, 0)).equals(data.subarray(0, 1))).toBe(true);
      expect((await range(9999, 9999)).equals(data.subarray(9999))).toBe(true);
      expect((await range(1234, 5677)).equals(data.subarray(1234, 5678))).toBe(true);
      expect((await range(0, 9999)).equals(data)).toBe(true);
      expect((await range(9000, 1_000_000)).equals(data.subarray(9000))).toBe(true);
    });

    it('refuses unsatisfiable or malformed ranges', async () => {
      const data = randomBytes(100);
      const { sha256 } = await store.put(Readable.from([data]));
      await expectCode(store.get(sha256, { start: 100, end: 200 }), 'blob_range_invalid');
      await expectCode(store.get(sha256, { start: 10, end: 9 }), 'blob_range_invalid');
      await expectCode(store.get(sha256, { start: -1, end: 5 }), 'blob_range_invalid');
      await expectCode(store.get(sha256, { start: 1.5, end: 5 }), 'blob_range_invalid');
    });

    it('handles concurrent puts of the same content: one blob, all callers agree', async () => {
      const data = randomBytes(200_000);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.put(Readable.from([data.subarray(0, 1000 * (i + 1)), data.subarray(1000 * (i + 1))])),
        ),
      );
      for (const r of results) expect(r).toMatchObject({ sha256: sha(data), size: data.length });
      expect(results.filter((r) => r.created).length).toBeGreaterThanOrEqual(1);
      expect(await listed()).toEqual([{ sha256: sha(data), size: data.length }]);
      expect((await readAll(await store.get(sha(data)))).equals(data)).toBe(true);
      expect(await h.leftovers()).toEqual([]);
    });

    it('reports a missing blob consistently', async () => {
      const missing = sha('never stored');
      expect(await store.has(missing)).toBe(false);
      expect(await store.stat(missing)).toBeUndefined();
      await expectCode(store.get(missing), 'blob_not_found');
      await expectCode(store.get(missing, { start: 0, end: 1 }), 'blob_not_found');
      expect(await store.delete(missing)).toBe(false);
    });

    it('rejects addresses that are not lowercase sha256 before touching storage', async () => {
      for (const bad of ['../../etc/passwd', sha('x').toUpperCase(), sha('x').slice(1), `${sha('x').slice(0, 63)}/`, '']) {
        await expectCode(store.get(bad), 'blob_invalid_hash');
        await expectCode(store.has(bad), 'blob_invalid_hash');
        await expectCode(store.delete(bad), 'blob_invalid_hash');
      }
      await expectCode(store.put(Readable.from([Buffer.from('x')]), { expectedSha256: 'abc' }), 'blob_invalid_hash');
    });

    it('deletes', async () => {
      const { sha256 } = await store.put(Readable.from([Buffer.from('to delete')]));
      expect(await store.delete(sha256)).toBe(true);
      expect(await store.has(sha256)).toBe(false);
      await expectCode(store.get(sha256), 'blob_not_found');
      expect(await store.delete(sha256)).toBe(false);
      await expectEmpty();
    });

    it('lists every blob with its size', async () => {
      const blobs = [Buffer.from('a'), Buffer.from('bb'), randomBytes(777)];
      for (const b of blobs) await store.put(Readable.from([b]));
      const expected = blobs.map((b) => ({ sha256: sha(b), size: b.length })).sort((a, b) => a.sha256.localeCompare(b.sha256));
      expect(await listed()).toEqual(expected);
    });

    it('takes in a staged file and consumes it; a failed check leaves the file in place', async () => {
      const data = randomBytes(50_000);
      const file = path.join(tmp, 'staged-1');
      await fs.writeFile(file, data);
      await expectCode(store.putFile(file, { expectedSha256: sha('nope') }), 'blob_hash_mismatch');
      expect((await fs.readFile(file)).equals(data)).toBe(true);
      await expectCode(store.putFile(file, { maxBytes: 10 }), 'blob_too_large');
      expect((await fs.readFile(file)).equals(data)).toBe(true);
      await expectEmpty();

      const r = await store.putFile(file, { expectedSha256: sha(data), expectedSize: data.length });
      expect(r).toEqual({ sha256: sha(data), size: data.length, created: true });
      await expect(fs.access(file)).rejects.toThrow();
      expect((await readAll(await store.get(r.sha256))).equals(data)).toBe(true);

      const again = path.join(tmp, 'staged-2');
      await fs.writeFile(again, data);
      expect(await store.putFile(again)).toEqual({ sha256: sha(data), size: data.length, created: false });
      await expect(fs.access(again)).rejects.toThrow();
      await expectCode(store.putFile(path.join(tmp, 'does-not-exist')), 'blob_not_found');
      expect(await h.leftovers()).toEqual([]);
    });

    it('takes in a staged file and leaves it in place when asked to keep it', async () => {
      const data = randomBytes(h.largeBodyThreshold + 3000);
      const file = path.join(tmp, 'staged-kept');
      await fs.writeFile(file, data);
      await expectCode(store.putFile(file, { keepSource: true, expectedSha256: sha('nope') }), 'blob_hash_mismatch');
      await expectEmpty();
      const r = await store.putFile(file, { keepSource: true, expectedSha256: sha(data), expectedSize: data.length });
      expect(r).toEqual({ sha256: sha(data), size: data.length, created: true });
      expect((await fs.readFile(file)).equals(data)).toBe(true);
      // Taking the same file in again (a retry after a crash) is harmless.
      expect(await store.putFile(file, { keepSource: true, knownSha256: sha(data) })).toEqual({ sha256: sha(data), size: data.length, created: false });
      expect((await readAll(await store.get(r.sha256))).equals(data)).toBe(true);
      expect(await h.leftovers()).toEqual([]);
    });

    it('takes in a staged file whose hash the caller computed while writing it, still checking size and expectations', async () => {
      const data = randomBytes(h.largeBodyThreshold + 5000);
      const file = path.join(tmp, 'staged-known');
      await fs.writeFile(file, data);
      // The announced size and hash are still enforced against the caller's hash and the file's length.
      await expectCode(store.putFile(file, { knownSha256: sha(data), expectedSize: data.length - 1 }), 'blob_size_mismatch');
      await expectCode(store.putFile(file, { knownSha256: sha(data), expectedSha256: sha('other') }), 'blob_hash_mismatch');
      await expectCode(store.putFile(file, { knownSha256: sha(data), maxBytes: 100 }), 'blob_too_large');
      await expectCode(store.putFile(file, { knownSha256: 'not-a-hash' }), 'blob_invalid_hash');
      expect((await fs.readFile(file)).equals(data)).toBe(true);
      await expectEmpty();

      const r = await store.putFile(file, { knownSha256: sha(data), expectedSha256: sha(data), expectedSize: data.length });
      expect(r).toEqual({ sha256: sha(data), size: data.length, created: true });
      await expect(fs.access(file)).rejects.toThrow();
      expect((await readAll(await store.get(r.sha256))).equals(data)).toBe(true);
      expect(await h.leftovers()).toEqual([]);
    });

    it('fails cleanly when the source stream errors half-way', async () => {
      async function* broken() {
        yield randomBytes(h.largeBodyThreshold + 1000);
        yield randomBytes(1000);
        throw new Error('client went away');
      }
      await expect(store.put(Readable.from(broken()))).rejects.toThrow('client went away');
      await expectEmpty();
    });

    it('sweeps stale staging leftovers, and only stale ones', async () => {
      await h.plantLeftover();
      expect((await h.leftovers()).length).toBe(1);
      expect(await store.sweep(new Date(Date.now() - 3_600_000))).toBe(0);
      expect((await h.leftovers()).length).toBe(1);
      expect(await store.sweep(new Date(Date.now() + 60_000))).toBeGreaterThanOrEqual(1);
      expect(await h.leftovers()).toEqual([]);
    });

    it('streams a 64 MiB blob in and out without holding it in memory', async () => {
      v8.setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc') as () => void;
      const size = 64 * 1024 * 1024;
      let peak = 0;
      let lastSample = 0;
      let base = 0;
      // Sampled by bytes pulled, not by time, so the measurement does not depend on machine speed.
      const g = generated(size, 256 * 1024, 42, (pulled) => {
        if (pulled - lastSample >= 4 * 1024 * 1024) {
          lastSample = pulled;
          gc();
          peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
        }
      });
      gc();
      base = process.memoryUsage().arrayBuffers;
      const r = await store.put(g.stream);
      expect(r).toEqual({ sha256: g.digest(), size, created: true });
      // Budget plus headroom for transport buffers; buffering the blob would need at least 64 MiB.
      const bound = h.bufferBudget + 24 * 1024 * 1024;
      expect(bound).toBeLessThan(size);
      expect(peak).toBeLessThan(bound);

      const hash = createHash('sha256');
      let read = 0;
      let readPeak = 0;
      gc();
      const readBase = process.memoryUsage().arrayBuffers;
      for await (const c of await store.get(r.sha256)) {
        hash.update(c as Buffer);
        read += (c as Buffer).length;
        if (read % (8 * 1024 * 1024) < (c as Buffer).length) {
          gc();
          readPeak = Math.max(readPeak, process.memoryUsage().arrayBuffers - readBase);
        }
      }
      expect(read).toBe(size);
      expect(hash.digest('hex')).toBe(r.sha256);
      // Socket buffers on loopback can hold several MiB in bursts; still far below the 64 MiB blob.
      expect(readPeak).toBeLessThan(bound);
      const tail = await readAll(await store.get(r.sha256, { start: size - 10, end: size - 1 }));
      expect(tail.length).toBe(10);
    });
  });
}
