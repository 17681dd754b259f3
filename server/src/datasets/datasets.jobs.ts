import type pg from 'pg';
import type { JobRunner } from '../jobs/jobs.runner.js';
import type { Logger } from '../kernel/logger.js';
import type { BlobStore } from '../blobs/blobs.store.js';
import { VALIDATE_TASK, type DatasetVersionsService } from './dataset-versions.service.js';
import { BLOB_GC_LOCK, type UploadsService } from './datasets.uploads.js';

/**
 * Background work of datasets: validation on every draft change, and housekeeping of the blob
 * store (staging leftovers, abandoned upload sessions, unreferenced blobs).
 */
export function registerDatasetJobs(jobs: JobRunner, deps: { versions: DatasetVersionsService; uploads: UploadsService; blobs: BlobStore; pool: pg.Pool; log: Logger; gcGraceSeconds: number }) {
  jobs.register(VALIDATE_TASK, async (payload) => {
    const { datasetId } = payload as { datasetId: string };
    await deps.versions.validate(datasetId);
  });
  jobs.register('blobs:sweep', async () => {
    const swept = await deps.blobs.sweep(new Date(Date.now() - 3_600_000));
    const sessions = await deps.uploads.cleanup();
    if (swept || sessions) deps.log.info({ swept, sessions }, 'blob staging swept');
  });
  jobs.register('blobs:gc', async () => {
    const deleted = await collectGarbage(deps.pool, deps.blobs, deps.gcGraceSeconds);
    if (deleted) deps.log.info({ deleted }, 'unreferenced blobs deleted');
  });
  jobs.schedule('*/15 * * * *', 'blobs:sweep');
  jobs.schedule('17 3 * * *', 'blobs:gc');
}

/**
 * Two-phase garbage collection: a blob no version, no open upload and no registration document
 * references is first marked,
 * and deleted by a later run once it has stayed unreferenced for the grace period. The final check
 * and delete run under an exclusive advisory lock that uploads take shared while they record a
 * blob, so content being uploaded right now is never deleted under it.
 */
export async function collectGarbage(pool: pg.Pool, blobs: BlobStore, graceSeconds: number): Promise<number> {
  const referenced = async (client: pg.PoolClient, hashes: string[]) =>
    new Set(
      (
        await client.query<{ sha256: string }>(
          `SELECT h AS sha256 FROM unnest($1::text[]) h
           WHERE EXISTS (SELECT 1 FROM dataset_files f WHERE f.sha256 = h)
              OR EXISTS (SELECT 1 FROM dataset_uploads u JOIN dataset_upload_sessions s ON s.id = u.session_id WHERE u.sha256 = h AND s.status = 'open')
              -- Registrations' supporting documents and signatures share the blob store.
              OR EXISTS (SELECT 1 FROM registration_documents d WHERE d.sha256 = h)`,
          [hashes],
        )
      ).rows.map((r) => r.sha256),
    );
  const client = await pool.connect();
  let deleted = 0;
  try {
    // Phase 1: mark what is unreferenced now (in batches), forget marks on what is referenced again.
    let batch: string[] = [];
    const flush = async () => {
      const refs = await referenced(client, batch);
      const unref = batch.filter((h) => !refs.has(h));
      if (unref.length) await client.query('INSERT INTO blob_gc_candidates (sha256) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [unref]);
      if (refs.size) await client.query('DELETE FROM blob_gc_candidates WHERE sha256 = ANY($1::text[])', [[...refs]]);
      batch = [];
    };
    for await (const b of blobs.list()) {
      batch.push(b.sha256);
      if (batch.length >= 5000) await flush();
    }
    if (batch.length) await flush();
    // Phase 2: delete marks older than the grace period that are still unreferenced.
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [BLOB_GC_LOCK]);
    if (!rows[0]!.locked) return 0;
    try {
      const due = (await client.query<{ sha256: string }>(`SELECT sha256 FROM blob_gc_candidates WHERE first_seen < now() - make_interval(secs => $1)`, [graceSeconds])).rows.map((r) => r.sha256);
      const refs = due.length ? await referenced(client, due) : new Set<string>();
      for (const h of due) {
        if (!refs.has(h)) {
          if (await blobs.delete(h)) deleted++;
        }
        await client.query('DELETE FROM blob_gc_candidates WHERE sha256 = $1', [h]);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [BLOB_GC_LOCK]);
    }
  } finally {
    client.release();
  }
  return deleted;
}
