import { sql, type Kysely } from 'kysely';
import type { Database } from '../database/database.js';

type Exec = Kysely<Database>;

/** The jobs domain's SQL: graphile-worker owns its schema; Cairn only adds jobs through its function. */
export const jobsStore = {
  /** Adds a job through `db` (usually the caller's transaction); a job with the same key is replaced. */
  async addJob(db: Exec, job: { task: string; payloadJson: string; runAt: Date | null; maxAttempts: number | null; jobKey: string | null }): Promise<void> {
    await sql`SELECT graphile_worker.add_job(
      identifier := ${job.task}, payload := ${job.payloadJson}::json,
      run_at := ${job.runAt}::timestamptz, max_attempts := ${job.maxAttempts}::int,
      job_key := ${job.jobKey}::text, job_key_mode := 'replace')`.execute(db);
  },
};
