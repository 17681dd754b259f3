import { sql } from 'kysely';
import type { Db } from '../database/database.js';

/**
 * The metrics and System page's own SQL: heartbeats, queue, storage, migrations. What they show of
 * the ledger (checkpoint lag, the last verification) comes from the ledger's store.
 */
export const metricsStore = {
  async heartbeat(db: Db, n: { nodeId: string; hostname: string; pid: number; version: string; startedAt: Date }) {
    await sql`INSERT INTO node_heartbeats (node_id, hostname, pid, version, started_at, seen_at)
      VALUES (${n.nodeId}, ${n.hostname}, ${n.pid}, ${n.version}, ${n.startedAt}, now())
      ON CONFLICT (node_id) DO UPDATE SET seen_at = now()`.execute(db);
    // Nodes gone for a day are forgotten, so the table stays the size of the cluster.
    await sql`DELETE FROM node_heartbeats WHERE seen_at < now() - interval '1 day'`.execute(db);
  },

  async forgetNode(db: Db, nodeId: string) {
    await sql`DELETE FROM node_heartbeats WHERE node_id = ${nodeId}`.execute(db);
  },

  async nodes(db: Db, withinSeconds: number) {
    const r = await sql<{ node_id: string; hostname: string; pid: number; version: string; started_at: Date; seen_at: Date }>`
      SELECT node_id, hostname, pid, version, started_at, seen_at FROM node_heartbeats
      WHERE seen_at > now() - make_interval(secs => ${withinSeconds}) ORDER BY hostname, pid`.execute(db);
    return r.rows;
  },

  /**
   * graphile-worker's jobs by state. Its schema is installed on the first enqueue or worker start,
   * so before that there is no queue at all (zero everywhere).
   */
  async jobQueue(db: Db): Promise<{ waiting: number; running: number; failed: number }> {
    const exists = await sql<{ t: string | null }>`SELECT to_regclass('graphile_worker._private_jobs')::text AS t`.execute(db);
    if (!exists.rows[0]?.t) return { waiting: 0, running: 0, failed: 0 };
    const r = await sql<{ waiting: string; running: string; failed: string }>`
      SELECT count(*) FILTER (WHERE locked_at IS NULL AND attempts < max_attempts)::text AS waiting,
             count(*) FILTER (WHERE locked_at IS NOT NULL)::text AS running,
             count(*) FILTER (WHERE locked_at IS NULL AND attempts >= max_attempts)::text AS failed
      FROM graphile_worker._private_jobs`.execute(db);
    const row = r.rows[0]!;
    return { waiting: Number(row.waiting), running: Number(row.running), failed: Number(row.failed) };
  },

  /** Distinct blobs referenced by any dataset version, and their bytes (each stored once). */
  async storage(db: Db): Promise<{ blobs: number; bytes: number }> {
    const r = await sql<{ blobs: string; bytes: string }>`
      SELECT count(*)::text AS blobs, coalesce(sum(size), 0)::text AS bytes
      FROM (SELECT DISTINCT ON (sha256) sha256, size FROM dataset_files) b`.execute(db);
    return { blobs: Number(r.rows[0]!.blobs), bytes: Number(r.rows[0]!.bytes) };
  },

  /** Applied migration names, for readiness. */
  async appliedMigrations(db: Db): Promise<Set<string>> {
    const r = await sql<{ name: string }>`SELECT name FROM cairn_migrations`.execute(db);
    return new Set(r.rows.map((x) => x.name));
  },
};
