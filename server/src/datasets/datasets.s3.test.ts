import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tus from 'tus-js-client';
import { CairnClient } from '@cairn/sdk';
import { startTestServer, type TestServer } from '../../test/harness.js';
import { BUCKET, startS3rver } from '../blobs/blobs.s3rver.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let s3: Awaited<ReturnType<typeof startS3rver>>;
let server: TestServer;
let client: CairnClient;

beforeAll(async () => {
  s3 = await startS3rver();
  server = await startTestServer({
    CAIRN_BLOB_STORE: 's3',
    CAIRN_S3_BUCKET: BUCKET,
    CAIRN_S3_PREFIX: 'datasets-test',
    CAIRN_S3_ENDPOINT: s3.endpoint,
    CAIRN_S3_ACCESS_KEY_ID: 'S3RVER',
    CAIRN_S3_SECRET_ACCESS_KEY: 'S3RVER',
  });
  client = new CairnClient({ baseUrl: server.url });
  client.setToken((await client.setup.create({ username: 'admin', password: 'correct horse battery staple' })).accessToken);
});
afterAll(async () => {
  await server?.stop();
  await s3?.close();
});

function send(data: Buffer, sessionId: string): Promise<void> {
  return new Promise((resolve, reject) =>
    new tus.Upload(data, { endpoint: `${server.url}/api/v1/uploads/tus`, headers: { authorization: `Bearer ${client.http.getToken()}` }, metadata: { sessionId, sha256: sha(data) }, onSuccess: () => resolve(), onError: reject }).start(),
  );
}

describe('datasets on the S3 blob store (s3rver on 127.0.0.1)', () => {
  it('uploads small and multipart-sized files, commits, serves ranges, archives and snapshots', async () => {
    expect(server.services.blobs.kind).toBe('s3');
    const ds = (await client.datasets.create({ title: 'On S3', readme: '# S3\n' })).accession;
    const small = Buffer.from('id\tvalue\n1\t2\n');
    const large = randomBytes(12 * 1024 * 1024); // over the 8 MiB part size: verified multipart path
    const session = await client.datasets.openUpload(ds);
    expect(await client.datasets.have(ds, session.id, [sha(small), sha(large)])).toEqual(new Set());
    await Promise.all([send(small, session.id), send(large, session.id)]);
    const r = await client.datasets.commitUpload(ds, session.id, [
      { op: 'put', path: 'table.tsv', sha256: sha(small), size: small.length },
      { op: 'put', path: 'raw/large.bin', sha256: sha(large), size: large.length },
    ]);
    expect(r.draft.fileCount).toBe(3);
    expect(await server.services.blobs.stat(sha(large))).toBe(large.length);

    const part = await client.datasets.download(ds, 'draft', 'raw/large.bin', { range: { start: 9 * 1024 * 1024, end: 9 * 1024 * 1024 + 99 } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(large.subarray(9 * 1024 * 1024, 9 * 1024 * 1024 + 100));

    const snap = await client.datasets.snapshot(ds, { bump: 'major', changelog: 'S3 release' });
    expect(snap.tag).toBe('1.0.0');
    const zip = await fetch(client.datasets.archiveUrl(ds, '1.0.0'), { headers: { authorization: `Bearer ${client.http.getToken()}` } });
    const bytes = Buffer.from(await zip.arrayBuffer());
    expect(bytes.subarray(0, 2).toString()).toBe('PK');
    expect(bytes.includes(large.subarray(0, 64))).toBe(true);

    // A re-upload of the same content sends nothing.
    const again = await client.datasets.openUpload(ds);
    expect(await client.datasets.have(ds, again.id, [sha(small), sha(large)])).toEqual(new Set([sha(small), sha(large)]));
  }, 120_000);
});
