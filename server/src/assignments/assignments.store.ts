import { sql, type Kysely } from 'kysely';
import type { Database } from '../database/database.js';

type Exec = Kysely<Database>;

export interface AssignmentRow {
  id: string;
  workspace_id: string;
  subject_id: string;
  batch_id: string | null;
  link_id: string;
  instrument_name: string;
  instrument_edition: number;
  instrument_kind: 'form' | 'series';
  parts: { name: string; edition: number }[];
  language: string;
  expires_at: Date;
  public_key: string;
  private_key_sealed: string;
  emailed_at: Date | null;
  opened_at: Date | null;
  gateway_parts: number;
  parts_pulled: number;
  session_id: string | null;
  completed_at: Date | null;
  cancelled_at: Date | null;
  cancel_pending: boolean;
  created_by_kind: string;
  created_by_id: string | null;
  created_at: Date;
}
export type ListedAssignment = AssignmentRow & { subject_identifier: string; subject_label?: string | null; invalid_parts: number };

export interface SubmissionRow {
  id: string;
  assignment_id: string;
  part: number;
  received_at: Date;
  pulled_at: Date;
  status: 'recorded' | 'invalid';
  record_id: string | null;
  problem: string | null;
  errors: unknown;
  data: unknown;
}

export const ASSIGNMENT_STATUSES = ['sent', 'opened', 'partly_done', 'completed', 'expired', 'cancelled'] as const;
export type AssignmentStatus = (typeof ASSIGNMENT_STATUSES)[number];

/** The status as one SQL expression, so lists can filter on it (same rules as statusOf). */
const statusSql = (now: Date) => sql<AssignmentStatus>`CASE
  WHEN a.cancelled_at IS NOT NULL THEN 'cancelled'
  WHEN a.completed_at IS NOT NULL THEN 'completed'
  WHEN a.expires_at <= ${now} THEN 'expired'
  WHEN a.parts_pulled > 0 OR a.gateway_parts > 0 THEN 'partly_done'
  WHEN a.opened_at IS NOT NULL THEN 'opened'
  ELSE 'sent' END`;

export function statusOf(a: AssignmentRow, now: Date): AssignmentStatus {
  if (a.cancelled_at) return 'cancelled';
  if (a.completed_at) return 'completed';
  if (a.expires_at.getTime() <= now.getTime()) return 'expired';
  if (a.parts_pulled > 0 || a.gateway_parts > 0) return 'partly_done';
  if (a.opened_at) return 'opened';
  return 'sent';
}

const LISTED = sql`a.*, s.identifier AS subject_identifier, s.label AS subject_label,
  (SELECT count(*)::int FROM remote_submissions x WHERE x.assignment_id = a.id AND x.status = 'invalid') AS invalid_parts`;

/** All of remote capture's SQL in the core. */
export const assignmentsStore = {
  /** The pull's lock (this transaction): one puller at a time across every node. False when another holds it. */
  async tryPullLock(db: Exec, key: number): Promise<boolean> {
    return (await sql<{ ok: boolean }>`SELECT pg_try_advisory_xact_lock(${key}) AS ok`.execute(db)).rows[0]!.ok;
  },

  async insert(db: Exec, a: AssignmentRow): Promise<void> {
    await sql`INSERT INTO remote_assignments (id, workspace_id, subject_id, batch_id, link_id, instrument_name, instrument_edition, instrument_kind, parts, language, expires_at, public_key, private_key_sealed, created_by_kind, created_by_id, created_at)
      VALUES (${a.id}, ${a.workspace_id}, ${a.subject_id}, ${a.batch_id}, ${a.link_id}, ${a.instrument_name}, ${a.instrument_edition}, ${a.instrument_kind}, ${JSON.stringify(a.parts)}::jsonb, ${a.language}, ${a.expires_at}, ${a.public_key}, ${a.private_key_sealed}, ${a.created_by_kind}, ${a.created_by_id}, ${a.created_at})`.execute(db);
  },

  async get(db: Exec, id: string): Promise<ListedAssignment | undefined> {
    return (await sql<ListedAssignment>`SELECT ${LISTED} FROM remote_assignments a JOIN subjects s ON s.id = a.subject_id WHERE a.id = ${id}`.execute(db)).rows[0];
  },

  async byLinkForUpdate(db: Exec, linkId: string): Promise<AssignmentRow | undefined> {
    return (await sql<AssignmentRow>`SELECT * FROM remote_assignments WHERE link_id = ${linkId} FOR UPDATE`.execute(db)).rows[0];
  },

  async forSubject(db: Exec, subjectId: string): Promise<ListedAssignment[]> {
    return (await sql<ListedAssignment>`SELECT ${LISTED} FROM remote_assignments a JOIN subjects s ON s.id = a.subject_id WHERE a.subject_id = ${subjectId} ORDER BY a.created_at DESC, a.id LIMIT 500`.execute(db)).rows;
  },

  async forWorkspace(db: Exec, workspaceId: string, f: { status?: AssignmentStatus; limit: number; now: Date }): Promise<ListedAssignment[]> {
    return (
      await sql<ListedAssignment>`SELECT ${LISTED} FROM remote_assignments a JOIN subjects s ON s.id = a.subject_id
        WHERE a.workspace_id = ${workspaceId} ${f.status ? sql`AND ${statusSql(f.now)} = ${f.status}` : sql``}
        ORDER BY a.created_at DESC, a.id LIMIT ${f.limit}`.execute(db)
    ).rows;
  },

  async counts(db: Exec, workspaceId: string, now: Date): Promise<Record<string, number>> {
    const rows = (await sql<{ status: string; n: number }>`SELECT ${statusSql(now)} AS status, count(*)::int AS n FROM remote_assignments a WHERE a.workspace_id = ${workspaceId} GROUP BY 1`.execute(db)).rows;
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  },

  async cancel(db: Exec, id: string, at: Date): Promise<AssignmentRow | undefined> {
    return (await sql<AssignmentRow>`UPDATE remote_assignments SET cancelled_at = ${at}, cancel_pending = true WHERE id = ${id} AND cancelled_at IS NULL AND completed_at IS NULL RETURNING *`.execute(db)).rows[0];
  },

  async markEmailed(db: Exec, id: string, at: Date): Promise<void> {
    await sql`UPDATE remote_assignments SET emailed_at = ${at} WHERE id = ${id}`.execute(db);
  },

  async pendingCancels(db: Exec): Promise<{ id: string; link_id: string }[]> {
    return (await sql<{ id: string; link_id: string }>`SELECT id, link_id FROM remote_assignments WHERE cancel_pending LIMIT 500`.execute(db)).rows;
  },

  async cancelSynced(db: Exec, id: string): Promise<void> {
    await sql`UPDATE remote_assignments SET cancel_pending = false WHERE id = ${id}`.execute(db);
  },

  /** Open assignments the gateway may have news about (expired ones for a day, for late opens). */
  async openLinks(db: Exec, now: Date): Promise<string[]> {
    return (await sql<{ link_id: string }>`SELECT link_id FROM remote_assignments WHERE completed_at IS NULL AND cancelled_at IS NULL AND expires_at > ${now}::timestamptz - interval '1 day' LIMIT 5000`.execute(db)).rows.map((r) => r.link_id);
  },

  async setGatewayProgress(db: Exec, linkId: string, p: { openedAt: Date | null; parts: number }): Promise<void> {
    await sql`UPDATE remote_assignments SET opened_at = coalesce(opened_at, ${p.openedAt}), gateway_parts = greatest(gateway_parts, ${p.parts}) WHERE link_id = ${linkId}`.execute(db);
  },

  async hasSubmission(db: Exec, id: string): Promise<boolean> {
    return (await sql`SELECT 1 FROM remote_submissions WHERE id = ${id}`.execute(db)).rows.length > 0;
  },

  async insertSubmission(db: Exec, s: SubmissionRow): Promise<void> {
    await sql`INSERT INTO remote_submissions (id, assignment_id, part, received_at, pulled_at, status, record_id, problem, errors, data)
      VALUES (${s.id}, ${s.assignment_id}, ${s.part}, ${s.received_at}, ${s.pulled_at}, ${s.status}, ${s.record_id}, ${s.problem}, ${s.errors === null ? null : JSON.stringify(s.errors)}::jsonb, ${s.data === null ? null : JSON.stringify(s.data)}::jsonb)`.execute(db);
  },

  /** One more part pulled; completes the assignment (and forgets its private key) with the last. */
  async partPulled(db: Exec, id: string, sessionId: string, at: Date): Promise<void> {
    await sql`UPDATE remote_assignments SET parts_pulled = parts_pulled + 1, session_id = ${sessionId}, gateway_parts = greatest(gateway_parts, parts_pulled + 1),
        completed_at = CASE WHEN parts_pulled + 1 >= jsonb_array_length(parts) THEN ${at}::timestamptz ELSE completed_at END,
        private_key_sealed = CASE WHEN parts_pulled + 1 >= jsonb_array_length(parts) THEN '' ELSE private_key_sealed END
      WHERE id = ${id}`.execute(db);
  },

  async submissions(db: Exec, assignmentId: string): Promise<SubmissionRow[]> {
    return (await sql<SubmissionRow>`SELECT * FROM remote_submissions WHERE assignment_id = ${assignmentId} ORDER BY part`.execute(db)).rows;
  },
};
