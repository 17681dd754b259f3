import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestApp } from '../../test/harness.js';
import { collectGarbage } from './datasets.jobs.js';

let t: Awaited<ReturnType<typeof createTestApp>>;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.stop();
});

describe('blob garbage collection', () => {
  it('deletes unreferenced blobs after the grace period, never a registration document', async () => {
    const put = (text: string) => t.services.blobs.put(Readable.from([Buffer.from(text)]));
    const loose = await put('nobody refers to me');
    const doc = await put('a scanned birth notification');
    await sql`INSERT INTO registration_documents (sha256, media_type, size) VALUES (${doc.sha256}, 'image/png', ${doc.size})`.execute(t.services.db);
    // First run marks, a later run (grace 0) deletes what is still unreferenced.
    await collectGarbage(t.pool, t.services.blobs, 0);
    await collectGarbage(t.pool, t.services.blobs, 0);
    expect(await t.services.blobs.has(loose.sha256)).toBe(false);
    expect(await t.services.blobs.has(doc.sha256)).toBe(true);
  });
});
