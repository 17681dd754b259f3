import { createHash, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { addUser, useAdminApp } from '../../test/accounts.js';
import { BATCH_MAX_FILE_BYTES } from './datasets.uploads.js';

const t = useAdminApp();
let alice: { id: string; authorization: string };
let bob: { id: string; authorization: string };

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const file = (b: Buffer) => ({ sha256: sha(b), size: b.length, data: b.toString('base64') });

const req = (method: string, url: string, authorization?: string, payload?: unknown) =>
  t.app.inject({ method: method as 'GET', url, headers: authorization ? { authorization } : {}, ...(payload !== undefined ? { payload: payload as object } : {}) });

async function dataset(title: string) {
  const r = await req('POST', '/api/v1/datasets', alice.authorization, { title });
  expect(r.statusCode).toBe(201);
  return r.json().dataset.accession as string;
}
async function session(ds: string, authorization = alice.authorization) {
  const r = await req('POST', `/api/v1/datasets/${ds}/uploads`, authorization);
  expect(r.statusCode).toBe(201);
  return r.json().session.id as string;
}
const sessionRows = (sid: string) => t.services.db.selectFrom('dataset_uploads').selectAll().where('session_id', '=', sid).execute();

beforeAll(async () => {
  alice = await addUser(t.app, t.admin, 'alice');
  bob = await addUser(t.app, t.admin, 'bob');
});

describe('small-file batches', () => {
  it('stages many files in one request; the session then knows them and one commit applies them', async () => {
    const ds = await dataset('Batch');
    const sid = await session(ds);
    const bodies = Array.from({ length: 300 }, (_, i) => Buffer.from(`row ${i}\n`.repeat(i % 7)));
    // One content twice (and the empty file) in the same batch is stored and recorded once.
    const files = [...bodies.map(file), file(bodies[5]!)];
    const r = await req('POST', `/api/v1/datasets/${ds}/uploads/${sid}/batch`, alice.authorization, { files });
    expect(r.statusCode).toBe(200);
    const distinct = new Set(bodies.map(sha));
    expect(r.json().stored).toBe(distinct.size);
    expect(r.json().bytes).toBe([...new Map(bodies.map((b) => [sha(b), b.length])).values()].reduce((a, b) => a + b, 0));
    expect((await sessionRows(sid)).length).toBe(distinct.size);
    for (const b of bodies.slice(0, 3)) expect(await t.services.blobs.has(sha(b))).toBe(true);
    // Nothing is in the draft before the commit.
    expect((await req('GET', `/api/v1/datasets/${ds}`, alice.authorization)).json().dataset.draft.fileCount).toBe(0);

    const check = await req('POST', `/api/v1/datasets/${ds}/uploads/${sid}/check`, alice.authorization, { sha256: [...distinct] });
    expect(new Set(check.json().have)).toEqual(distinct);
    const changes = bodies.map((b, i) => ({ op: 'put', path: `f/${i}.txt`, sha256: sha(b), size: b.length }));
    const c = await req('POST', `/api/v1/datasets/${ds}/uploads/${sid}/commit`, alice.authorization, { changes });
    expect(c.statusCode).toBe(200);
    expect(c.json().draft.fileCount).toBe(300);
    const got = await req('GET', `/api/v1/datasets/${ds}/versions/draft/file?path=f/12.txt`, alice.authorization);
    expect(got.rawPayload.equals(bodies[12]!)).toBe(true);
  });

  it('refuses the whole batch when one body does not match its hash or size, and records nothing', async () => {
    const ds = await dataset('Batch refusals');
    const sid = await session(ds);
    const good = randomBytes(1000);
    const bad = randomBytes(1000);
    const lying = { ...file(bad), sha256: sha(randomBytes(10)) };
    const r = await req('POST', `/api/v1/datasets/${ds}/uploads/${sid}/batch`, alice.authorization, { files: [file(good), lying] });
    expect(r.statusCode).toBe(422);
    expect(r.json().error.code).toBe('blob_hash_mismatch');
    expect(r.json().error.details[0].pointer).toBe('/files/1/data');
    const short = await req('POST', `/api/v1/datasets/${ds}/uploads/${sid}/batch`, alice.authorization, { files: [{ ...file(good), size: 1001 }] });
    expect(short.statusCode).toBe(422);
    expect(short.json().error.code).toBe('blob_size_mismatch');
    expect(await sessionRows(sid)).toEqual([]);
    expect(await t.services.blobs.has(sha(good))).toBe(false);
    // The commit cannot use content a refused batch carried.
    const c = await req('POST', `/api/v1/datasets/${ds}/uploads/${sid}/commit`, alice.authorization, { changes: [{ op: 'put', path: 'a.bin', sha256: sha(good), size: 1000 }] });
    expect(c.json().error.code).toBe('upload_missing');
  });

  it('sends large files to tus, refuses malformed batches without a 500', async () => {
    const ds = await dataset('Batch limits');
    const sid = await session(ds);
    const url = `/api/v1/datasets/${ds}/uploads/${sid}/batch`;
    const big = randomBytes(BATCH_MAX_FILE_BYTES + 1);
    const tooBig = await req('POST', url, alice.authorization, { files: [file(big)] });
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json().error.code).toBe('payload_too_large');
    const announcedBig = await req('POST', url, alice.authorization, { files: [{ ...file(Buffer.from('x')), size: BATCH_MAX_FILE_BYTES + 1 }] });
    expect(announcedBig.statusCode).toBe(413);
    expect(announcedBig.json().error.code).toBe('payload_too_large');
    for (const body of [{}, { files: [] }, { files: [{ sha256: 'nope', size: 1, data: 'eA==' }] }, { files: [{ ...file(Buffer.from('x')), extra: 1 }] }, { files: [{ ...file(Buffer.from('x')), size: -1 }] }, 'not json']) {
      const r = await req('POST', url, alice.authorization, body);
      expect(r.statusCode, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(r.statusCode, JSON.stringify(body)).toBeLessThan(500);
    }
    // base64 that decodes to other bytes is caught by the size or hash check, never stored.
    const garbled = await req('POST', url, alice.authorization, { files: [{ ...file(Buffer.from('hello')), data: '!!!!' }] });
    expect(garbled.statusCode).toBe(422);
    expect(await sessionRows(sid)).toEqual([]);
  });

  it('belongs to the session owner and needs edit rights; a closed session refuses batches', async () => {
    const ds = await dataset('Batch access');
    const sid = await session(ds);
    const files = [file(Buffer.from('secret'))];
    const other = await req('POST', `/api/v1/datasets/${ds}/uploads/${sid}/batch`, bob.authorization, { files });
    expect(other.statusCode).toBe(404);
    expect((await req('POST', `/api/v1/datasets/${ds}/uploads/${sid}/batch`, undefined, { files })).statusCode).toBe(401);
    expect((await req('DELETE', `/api/v1/datasets/${ds}/uploads/${sid}`, alice.authorization)).statusCode).toBe(204);
    const closed = await req('POST', `/api/v1/datasets/${ds}/uploads/${sid}/batch`, alice.authorization, { files });
    expect(closed.statusCode).toBe(409);
    expect(closed.json().error.code).toBe('session_closed');
  });

  it("counts against the user's upload quota", async () => {
    const ds = await dataset('Batch quota');
    const sid = await session(ds);
    const quota = (t.services.uploads as unknown as { config: { userUploadQuotaBytes: number } }).config;
    const before = quota.userUploadQuotaBytes;
    quota.userUploadQuotaBytes = 1500;
    try {
      const r = await req('POST', `/api/v1/datasets/${ds}/uploads/${sid}/batch`, alice.authorization, { files: [file(randomBytes(1000)), file(randomBytes(1000))] });
      expect(r.statusCode).toBe(413);
      expect(r.json().error.code).toBe('quota_exceeded');
      expect((await req('POST', `/api/v1/datasets/${ds}/uploads/${sid}/batch`, alice.authorization, { files: [file(randomBytes(1000))] })).statusCode).toBe(200);
      // What the session staged counts: the next kilobyte no longer fits.
      expect((await req('POST', `/api/v1/datasets/${ds}/uploads/${sid}/batch`, alice.authorization, { files: [file(randomBytes(1000))] })).json().error.code).toBe('quota_exceeded');
    } finally {
      quota.userUploadQuotaBytes = before;
    }
  });
});
