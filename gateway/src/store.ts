import type pg from 'pg';

export type GatewayStatus = 'sent' | 'opened' | 'partly_done' | 'completed' | 'cancelled';
export interface PartDefinition {
  name: string;
  edition: number;
  definition: unknown;
}
export interface AssignmentRow {
  link_id: string;
  language: string;
  title: unknown;
  parts: PartDefinition[];
  public_key: string;
  expires_at: Date;
  status: GatewayStatus;
  parts_done: number[];
  opened_at: Date | null;
}
export interface SubmissionRow {
  id: string;
  link_id: string;
  part: number;
  enc: string;
  ct: string;
  received_at: Date;
}

type Q = Pick<pg.Pool, 'query'> | pg.PoolClient;

/** All of the gateway's SQL. */
export const gatewayStore = {
  async secret(db: Q, fresh: string): Promise<string> {
    await db.query('INSERT INTO gateway_settings (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING', [fresh]);
    return (await db.query<{ secret: string }>('SELECT secret FROM gateway_settings WHERE id = 1')).rows[0]!.secret;
  },

  /** Insert or, for a retried push, leave as is: answers whether the row is new. */
  async putAssignment(db: Q, a: { linkId: string; language: string; title: unknown; parts: PartDefinition[]; publicKey: string; expiresAt: string }): Promise<boolean> {
    const r = await db.query(
      `INSERT INTO gateway_assignments (link_id, language, title, parts, public_key, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (link_id) DO NOTHING`,
      [a.linkId, a.language, JSON.stringify(a.title), JSON.stringify(a.parts), a.publicKey, a.expiresAt],
    );
    return r.rowCount === 1;
  },

  async assignment(db: Q, linkId: string): Promise<AssignmentRow | undefined> {
    return (await db.query<AssignmentRow>('SELECT link_id, language, title, parts, public_key, expires_at, status, parts_done, opened_at FROM gateway_assignments WHERE link_id = $1', [linkId])).rows[0];
  },

  async cancel(db: Q, linkId: string): Promise<boolean> {
    const r = await db.query("UPDATE gateway_assignments SET status = 'cancelled', updated_at = now() WHERE link_id = $1 AND status <> 'completed'", [linkId]);
    // A completed assignment stays completed: its answers are already on their way.
    return r.rowCount === 1;
  },

  async markOpened(db: Q, linkId: string): Promise<void> {
    await db.query("UPDATE gateway_assignments SET status = CASE WHEN status = 'sent' THEN 'opened' ELSE status END, opened_at = coalesce(opened_at, now()), updated_at = now() WHERE link_id = $1", [linkId]);
  },

  /** Uses a solved challenge once; answers false when it was used before. */
  async usePow(db: Q, signature: string, expiresAt: Date): Promise<boolean> {
    await db.query('DELETE FROM gateway_pow_used WHERE expires_at < now()');
    const r = await db.query('INSERT INTO gateway_pow_used (signature, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [signature, expiresAt]);
    return r.rowCount === 1;
  },

  /**
   * Stores one sealed part, once: the part is recorded in `parts_done` under a row lock, so a
   * replay is refused even after the core pulled (and deleted) the first copy.
   */
  async submit(client: pg.PoolClient, s: { id: string; linkId: string; part: number; enc: string; ct: string }): Promise<{ outcome: 'stored'; status: GatewayStatus } | { outcome: 'duplicate' | 'closed' | 'missing' }> {
    const row = (await client.query<AssignmentRow>('SELECT link_id, status, parts, parts_done, expires_at FROM gateway_assignments WHERE link_id = $1 FOR UPDATE', [s.linkId])).rows[0];
    if (!row) return { outcome: 'missing' };
    if (row.status === 'cancelled' || row.status === 'completed' || row.expires_at.getTime() <= Date.now()) return { outcome: 'closed' };
    if (row.parts_done.includes(s.part)) return { outcome: 'duplicate' };
    const done = [...row.parts_done, s.part];
    const status: GatewayStatus = done.length >= row.parts.length ? 'completed' : 'partly_done';
    await client.query('INSERT INTO gateway_submissions (id, link_id, part, enc, ct) VALUES ($1, $2, $3, $4, $5)', [s.id, s.linkId, s.part, s.enc, s.ct]);
    await client.query('UPDATE gateway_assignments SET parts_done = $2, status = $3, opened_at = coalesce(opened_at, now()), updated_at = now() WHERE link_id = $1', [s.linkId, done, status]);
    return { outcome: 'stored', status };
  },

  async pending(db: Q, limit: number): Promise<SubmissionRow[]> {
    return (await db.query<SubmissionRow>('SELECT id, link_id, part, enc, ct, received_at FROM gateway_submissions ORDER BY received_at, id LIMIT $1', [limit])).rows;
  },

  async deleteSubmissions(db: Q, ids: string[]): Promise<number> {
    return (await db.query('DELETE FROM gateway_submissions WHERE id = ANY($1::uuid[])', [ids])).rowCount ?? 0;
  },

  async statuses(db: Q, linkIds: string[]) {
    return (await db.query<{ link_id: string; status: GatewayStatus; parts_done: number[]; opened_at: Date | null }>('SELECT link_id, status, parts_done, opened_at FROM gateway_assignments WHERE link_id = ANY($1::text[])', [linkIds])).rows;
  },

  /** Forgets assignments a long time after they closed (their page then answers 404). */
  async purge(db: Q, olderThanDays: number): Promise<number> {
    const r = await db.query(
      `DELETE FROM gateway_assignments a WHERE (a.status IN ('completed', 'cancelled') OR a.expires_at < now())
         AND a.updated_at < now() - make_interval(days => $1) AND NOT EXISTS (SELECT 1 FROM gateway_submissions s WHERE s.link_id = a.link_id)`,
      [olderThanDays],
    );
    return r.rowCount ?? 0;
  },
};
