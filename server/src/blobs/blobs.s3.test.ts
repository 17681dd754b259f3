import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobStoreContract, sha } from './blobs.contract.js';
import { S3BlobStore } from './blobs.s3.js';
import { BUCKET, startS3rver } from './blobs.s3rver.js';

const MiB = 1024 * 1024;

function storeAt(endpoint: string, prefix: string) {
  return new S3BlobStore({
    bucket: BUCKET,
    prefix,
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    partSize: 5 * MiB,
    queueSize: 2,
  });
}

async function keysUnder(store: S3BlobStore, Prefix: string): Promise<string[]> {
  const out: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await store.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix, ContinuationToken }));
    for (const c of page.Contents ?? []) if (c.Key) out.push(c.Key);
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return out;
}

async function emptyPrefix(store: S3BlobStore, prefix: string) {
  const keys = await keysUnder(store, prefix);
  for (let i = 0; i < keys.length; i += 500) {
    await store.client.send(
      new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys.slice(i, i + 500).map((Key) => ({ Key })) } }),
    );
  }
}

blobStoreContract('S3 (s3rver on loopback)', async () => {
  const s3 = await startS3rver();
  const prefix = 'tenant-a/';
  const store = storeAt(s3.endpoint, prefix);
  return {
    store,
    // Anything under the prefix that is not a published blob address is a leftover.
    leftovers: async () => (await keysUnder(store, prefix)).filter((k) => !/^tenant-a\/blobs\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(k)),
    plantLeftover: async () => {
      await store.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}staging/crashed`, Body: 'half an upload' }));
    },
    reset: () => emptyPrefix(store, prefix),
    close: async () => {
      store.client.destroy();
      await s3.close();
    },
    // queueSize parts in flight, the part being filled and its concatenated copy.
    bufferBudget: 4 * 5 * MiB,
    largeBodyThreshold: 5 * MiB,
  };
});

describe('S3BlobStore specifics', () => {
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    await s3?.close();
  });

  it('keeps stores with different prefixes apart in one bucket', async () => {
    const a = storeAt(s3.endpoint, 'a');
    const b = storeAt(s3.endpoint, 'b/');
    const { sha256 } = await a.put(Readable.from([Buffer.from('only in a')]));
    expect(a.keyOf(sha256)).toBe(`a/blobs/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`);
    expect(await a.has(sha256)).toBe(true);
    expect(await b.has(sha256)).toBe(false);
    const inB: string[] = [];
    for await (const x of b.list()) inB.push(x.sha256);
    expect(inB).toEqual([]);
  });

  it('ignores foreign objects under the blob prefix when listing', async () => {
    const store = storeAt(s3.endpoint, 'mixed/');
    await store.put(Readable.from([Buffer.from('real')]));
    await store.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'mixed/blobs/zz/notes.txt', Body: 'x' }));
    const h = sha('real');
    await store.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `mixed/blobs/00/00/${h}`, Body: 'wrong shard' }));
    const seen: string[] = [];
    for await (const x of store.list()) seen.push(x.sha256);
    expect(seen).toEqual([h]);
  });

  it('reports an unreachable endpoint as blob_store_unavailable', async () => {
    const dead = new S3BlobStore({
      bucket: BUCKET,
      endpoint: 'http://127.0.0.1:9',
      forcePathStyle: true,
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    await expect(dead.has(sha('x'))).rejects.toMatchObject({ code: 'blob_store_unavailable' });
    await expect(dead.put(Readable.from([Buffer.from('x')]))).rejects.toMatchObject({ code: 'blob_store_unavailable' });
    dead.client.destroy();
  });

  it('reports a missing bucket as blob_store_unavailable, not as a missing blob', async () => {
    const store = new S3BlobStore({
      bucket: 'no-such-bucket',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await expect(store.put(Readable.from([Buffer.from('x')]))).rejects.toMatchObject({ code: 'blob_store_unavailable' });
    await expect(store.get(sha('x'))).rejects.toMatchObject({ code: 'blob_store_unavailable' });
    store.client.destroy();
  });
});
