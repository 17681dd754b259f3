import { sql, type Kysely } from 'kysely';
import type { Database } from '../database/database.js';
import type { FileEntry } from './datasets.tree.js';

export interface DatasetsTable {
  id: string;
  accession: string;
  title: string;
  description: string;
  license: string;
  authors: unknown;
  modalities: string[];
  profile: 'generic' | 'bids';
  public: boolean;
  owner_id: string;
  quota_bytes: number | null;
  bids_ignore_empty_files: boolean;
  bids_ignore_nifti_headers: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface VersionsTable {
  id: string;
  dataset_id: string;
  kind: 'draft' | 'snapshot';
  tag: string | null;
  changelog: string | null;
  root_hash: string;
  file_count: number;
  size: number;
  revision: number;
  validated_revision: number | null;
  validation_status: 'pending' | 'passed' | 'warnings' | 'failed';
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  deprecated_at: Date | null;
  deprecated_reason: string | null;
}

export interface IssueRow {
  version_id: string;
  revision: number;
  seq: number;
  code: string;
  severity: 'error' | 'warning';
  file: string | null;
  message: string;
}

export interface ReviewerLinkRow {
  id: string;
  dataset_id: string;
  token_hash: Buffer;
  note: string;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

export interface UploadSessionRow {
  id: string;
  dataset_id: string;
  user_id: string;
  status: 'open' | 'committed' | 'aborted';
  created_at: Date;
  expires_at: Date;
}

export interface UploadRow {
  id: string;
  session_id: string;
  size: number;
  expected_sha256: string | null;
  sha256: string | null;
  created_at: Date;
  finished_at: Date | null;
}

declare module '../database/database.js' {
  interface Database {
    datasets: DatasetsTable;
    dataset_members: { dataset_id: string; user_id: string; role: string };
    dataset_versions: VersionsTable;
    dataset_files: { version_id: string; path: string; sha256: string; size: number };
    dataset_issues: IssueRow;
    dataset_reviewer_links: ReviewerLinkRow;
    dataset_upload_sessions: UploadSessionRow;
    dataset_uploads: UploadRow;
    blob_gc_candidates: { sha256: string; first_seen: Date };
  }
}

type Exec = Kysely<Database>;

export interface SearchQuery {
  text?: string;
  /** Part of an author's name, any case. */
  author?: string;
  modality?: string;
  license?: string;
  /** public: only public ones; mine: ones I own or am a member of; all: everything I can read. */
  scope: 'public' | 'mine' | 'all';
  userId: string | null;
  /** Sees every dataset (datasets:manage). */
  everything: boolean;
  limit: number;
  offset: number;
}

function visibility(q: SearchQuery) {
  const member = q.userId
    ? sql`(d.owner_id = ${q.userId} OR EXISTS (SELECT 1 FROM dataset_members m WHERE m.dataset_id = d.id AND m.user_id = ${q.userId}))`
    : sql`false`;
  if (q.scope === 'public') return sql`d.public`;
  if (q.scope === 'mine') return member;
  return q.everything ? sql`true` : sql`(d.public OR ${member})`;
}

/** A LIKE pattern's literal part: its wildcards escaped. */
const like = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

function filters(q: SearchQuery, facetToSkip?: 'modality' | 'license') {
  const parts = [visibility(q)];
  // plainto_tsquery never fails on user input, whatever punctuation it holds.
  if (q.text) parts.push(sql`(d.search @@ plainto_tsquery('simple', ${q.text}) OR d.accession = ${q.text.toLowerCase()} OR d.title ILIKE ${`%${like(q.text)}%`})`);
  if (q.author) parts.push(sql`EXISTS (SELECT 1 FROM jsonb_array_elements_text(d.authors) a WHERE a ILIKE ${`%${like(q.author)}%`})`);
  if (q.modality && facetToSkip !== 'modality') parts.push(sql`${q.modality} = ANY(d.modalities)`);
  if (q.license && facetToSkip !== 'license') parts.push(sql`d.license = ${q.license}`);
  return sql.join(parts, sql` AND `);
}

export const datasetsStore = {
  nextAccession: async (db: Exec) => {
    const { rows } = await sql<{ n: number }>`SELECT nextval('dataset_accession_seq')::int AS n`.execute(db);
    return `ds${String(rows[0]!.n).padStart(6, '0')}`;
  },

  insert: (db: Exec, d: Omit<DatasetsTable, 'created_at' | 'updated_at'>) =>
    db.insertInto('datasets').values({ ...d, authors: JSON.stringify(d.authors) } as never).returningAll().executeTakeFirstOrThrow(),

  byIdOrAccession: (db: Exec, key: string) =>
    /^[0-9a-f-]{36}$/i.test(key)
      ? db.selectFrom('datasets').selectAll().where('id', '=', key).executeTakeFirst()
      : db.selectFrom('datasets').selectAll().where('accession', '=', key.toLowerCase()).executeTakeFirst(),

  lock: (db: Exec, id: string) => db.selectFrom('datasets').selectAll().where('id', '=', id).forUpdate().executeTakeFirstOrThrow(),

  update: (db: Exec, id: string, patch: Partial<DatasetsTable>) =>
    db
      .updateTable('datasets')
      .set({ ...patch, ...(patch.authors !== undefined ? { authors: JSON.stringify(patch.authors) as never } : {}), updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow(),

  memberRole: async (db: Exec, datasetId: string, userId: string) =>
    (await db.selectFrom('dataset_members').select('role').where('dataset_id', '=', datasetId).where('user_id', '=', userId).executeTakeFirst())?.role,

  members: async (db: Exec, datasetId: string) =>
    (
      await sql<{ user_id: string; username: string; role: string }>`
        SELECT m.user_id, u.username, m.role FROM dataset_members m JOIN users u ON u.id = m.user_id
        WHERE m.dataset_id = ${datasetId} ORDER BY u.username`.execute(db)
    ).rows,

  setMember: (db: Exec, datasetId: string, userId: string, role: string) =>
    db
      .insertInto('dataset_members')
      .values({ dataset_id: datasetId, user_id: userId, role })
      .onConflict((oc) => oc.columns(['dataset_id', 'user_id']).doUpdateSet({ role }))
      .execute(),

  removeMember: async (db: Exec, datasetId: string, userId: string) =>
    (await db.deleteFrom('dataset_members').where('dataset_id', '=', datasetId).where('user_id', '=', userId).executeTakeFirst()).numDeletedRows > 0n,

  search: async (db: Exec, q: SearchQuery) => {
    const where = filters(q);
    const rank = q.text ? sql`ts_rank(d.search, plainto_tsquery('simple', ${q.text})) DESC,` : sql``;
    const rows = (
      await sql<DatasetsTable & { total: number }>`
        SELECT d.*, count(*) OVER ()::int AS total FROM datasets d WHERE ${where}
        ORDER BY ${rank} d.accession LIMIT ${q.limit} OFFSET ${q.offset}`.execute(db)
    ).rows;
    // Each facet counts with every other filter applied but its own, so the user sees what picking another value would give.
    const modality = (
      await sql<{ value: string; count: number }>`
        SELECT m AS value, count(*)::int AS count FROM datasets d, unnest(d.modalities) m WHERE ${filters(q, 'modality')}
        GROUP BY m ORDER BY count DESC, m LIMIT 50`.execute(db)
    ).rows;
    const license = (
      await sql<{ value: string; count: number }>`
        SELECT d.license AS value, count(*)::int AS count FROM datasets d WHERE ${filters(q, 'license')} AND d.license <> ''
        GROUP BY d.license ORDER BY count DESC, d.license LIMIT 50`.execute(db)
    ).rows;
    return { rows, total: rows[0]?.total ?? 0, facets: { modality, license } };
  },

  // --- versions ---------------------------------------------------------------------------
  draft: (db: Exec, datasetId: string) =>
    db.selectFrom('dataset_versions').selectAll().where('dataset_id', '=', datasetId).where('kind', '=', 'draft').executeTakeFirstOrThrow(),

  version: (db: Exec, datasetId: string, key: string) => {
    const q = db.selectFrom('dataset_versions').selectAll().where('dataset_id', '=', datasetId);
    if (key === 'draft') return q.where('kind', '=', 'draft').executeTakeFirst();
    if (/^[0-9a-f-]{36}$/i.test(key)) return q.where('id', '=', key).executeTakeFirst();
    return q.where('tag', '=', key.replace(/^v/, '')).executeTakeFirst();
  },

  versions: (db: Exec, datasetId: string) =>
    db.selectFrom('dataset_versions').selectAll().where('dataset_id', '=', datasetId).orderBy('created_at', 'desc').execute(),

  snapshotTags: async (db: Exec, datasetId: string) =>
    (await db.selectFrom('dataset_versions').select('tag').where('dataset_id', '=', datasetId).where('kind', '=', 'snapshot').execute()).map((r) => r.tag!),

  insertVersion: (db: Exec, v: Omit<VersionsTable, 'created_at' | 'updated_at' | 'deprecated_at' | 'deprecated_reason'>) =>
    db.insertInto('dataset_versions').values(v as never).returningAll().executeTakeFirstOrThrow(),

  /** The version's revision, its row locked for this transaction (a validation stores its result only for the revision it checked). */
  lockVersionRevision: async (db: Exec, id: string): Promise<number> =>
    (await db.selectFrom('dataset_versions').select(['revision']).where('id', '=', id).forUpdate().executeTakeFirstOrThrow()).revision,

  updateVersion: (db: Exec, id: string, patch: Partial<VersionsTable>) =>
    db.updateTable('dataset_versions').set({ ...patch, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirstOrThrow(),

  files: async (db: Exec, versionId: string): Promise<FileEntry[]> =>
    (
      await sql<FileEntry>`SELECT path, sha256, size FROM dataset_files WHERE version_id = ${versionId}`.execute(db)
    ).rows,

  /** Applies a row-level change set: one DELETE and one INSERT however many files. */
  writeFiles: async (db: Exec, versionId: string, removed: string[], added: FileEntry[]) => {
    if (removed.length) await sql`DELETE FROM dataset_files WHERE version_id = ${versionId} AND path = ANY(${removed}::text[])`.execute(db);
    if (added.length) {
      await sql`INSERT INTO dataset_files (version_id, path, sha256, size)
        SELECT ${versionId}, p, s, z FROM unnest(${added.map((a) => a.path)}::text[], ${added.map((a) => a.sha256)}::text[], ${added.map((a) => a.size)}::bigint[]) AS t(p, s, z)`.execute(db);
    }
  },

  copyFiles: (db: Exec, fromVersion: string, toVersion: string) =>
    sql`INSERT INTO dataset_files (version_id, path, sha256, size) SELECT ${toVersion}, path, sha256, size FROM dataset_files WHERE version_id = ${fromVersion}`.execute(db),

  // --- blobs the caller may reference ------------------------------------------------------
  /**
   * Of `hashes`, those the caller may reference in a commit without uploading, with their sizes:
   * content in a version of this dataset, of a dataset they can read, or that they uploaded in
   * this session. Never "anything stored": that would let anyone who knows a hash claim content.
   */
  knownBlobs: async (db: Exec, hashes: string[], p: { datasetId: string; userId: string | null; everything: boolean; sessionId?: string }) => {
    const known = new Map<string, number>();
    if (!hashes.length) return known;
    // The session's own uploads in one plain query: a correlated lookup per hash went quadratic
    // when 20,000 rows had just been inserted and the planner's statistics still said "empty".
    if (p.sessionId) {
      const wanted = new Set(hashes);
      const { rows } = await sql<{ sha256: string; size: string }>`
        SELECT sha256, size FROM dataset_uploads WHERE session_id = ${p.sessionId}::uuid AND sha256 IS NOT NULL`.execute(db);
      for (const r of rows) if (wanted.has(r.sha256)) known.set(r.sha256, Number(r.size));
    }
    const rest = known.size ? hashes.filter((h) => !known.has(h)) : hashes;
    if (!rest.length) return known;
    const readable = p.everything
      ? sql`true`
      : sql`(d.id = ${p.datasetId} OR d.public OR d.owner_id = ${p.userId} OR EXISTS (SELECT 1 FROM dataset_members m WHERE m.dataset_id = d.id AND m.user_id = ${p.userId}))`;
    const { rows } = await sql<{ sha256: string; size: number }>`
      SELECT h.sha256,
        (SELECT f.size FROM dataset_files f JOIN dataset_versions v ON v.id = f.version_id JOIN datasets d ON d.id = v.dataset_id
           WHERE f.sha256 = h.sha256 AND ${readable} LIMIT 1) AS size
      FROM unnest(${rest}::text[]) AS h(sha256)`.execute(db);
    for (const r of rows) if (r.size !== null) known.set(r.sha256, Number(r.size));
    return known;
  },

  // --- validation --------------------------------------------------------------------------
  replaceIssues: async (db: Exec, versionId: string, revision: number, issues: Omit<IssueRow, 'version_id' | 'revision' | 'seq'>[]) => {
    await db.deleteFrom('dataset_issues').where('version_id', '=', versionId).execute();
    if (issues.length) {
      await db
        .insertInto('dataset_issues')
        .values(issues.map((i, seq) => ({ ...i, version_id: versionId, revision, seq })))
        .execute();
    }
  },

  issues: (db: Exec, versionId: string) => db.selectFrom('dataset_issues').selectAll().where('version_id', '=', versionId).orderBy('seq').execute(),

  // --- reviewer links ----------------------------------------------------------------------
  insertLink: (db: Exec, l: Omit<ReviewerLinkRow, 'created_at' | 'revoked_at'>) => db.insertInto('dataset_reviewer_links').values(l as never).returningAll().executeTakeFirstOrThrow(),
  links: (db: Exec, datasetId: string) => db.selectFrom('dataset_reviewer_links').selectAll().where('dataset_id', '=', datasetId).orderBy('created_at', 'desc').execute(),
  linkByHash: (db: Exec, hash: Buffer) => db.selectFrom('dataset_reviewer_links').selectAll().where('token_hash', '=', hash).executeTakeFirst(),
  revokeLink: async (db: Exec, datasetId: string, id: string) =>
    (await db.updateTable('dataset_reviewer_links').set({ revoked_at: new Date() }).where('id', '=', id).where('dataset_id', '=', datasetId).where('revoked_at', 'is', null).executeTakeFirst()).numUpdatedRows > 0n,

  // --- upload sessions ---------------------------------------------------------------------
  insertSession: (db: Exec, s: UploadSessionRow) => db.insertInto('dataset_upload_sessions').values(s as never).returningAll().executeTakeFirstOrThrow(),
  session: (db: Exec, id: string) => db.selectFrom('dataset_upload_sessions').selectAll().where('id', '=', id).executeTakeFirst(),
  /** The session's status, its row locked for this transaction (one commit per session). */
  lockSessionStatus: async (db: Exec, id: string): Promise<UploadSessionRow['status']> =>
    (await db.selectFrom('dataset_upload_sessions').select('status').where('id', '=', id).forUpdate().executeTakeFirstOrThrow()).status,
  setSessionStatus: (db: Exec, id: string, status: UploadSessionRow['status']) => db.updateTable('dataset_upload_sessions').set({ status }).where('id', '=', id).execute(),
  insertUpload: (db: Exec, u: Omit<UploadRow, 'created_at' | 'finished_at' | 'sha256'>) => db.insertInto('dataset_uploads').values(u as never).execute(),
  /** Uploads that arrived whole and verified in one request (small-file batches): one INSERT for all. */
  insertFinishedUploads: async (db: Exec, sessionId: string, rows: { id: string; size: number; sha256: string }[]) => {
    if (!rows.length) return;
    await sql`INSERT INTO dataset_uploads (id, session_id, size, expected_sha256, sha256, finished_at)
      SELECT i, ${sessionId}::uuid, z, h, h, now() FROM unnest(${rows.map((r) => r.id)}::text[], ${rows.map((r) => r.size)}::bigint[], ${rows.map((r) => r.sha256)}::text[]) AS t(i, z, h)`.execute(db);
  },
  upload: (db: Exec, id: string) => db.selectFrom('dataset_uploads').selectAll().where('id', '=', id).executeTakeFirst(),
  deleteUpload: (db: Exec, id: string) => db.deleteFrom('dataset_uploads').where('id', '=', id).execute(),
  finishUpload: (db: Exec, id: string, sha256: string) => db.updateTable('dataset_uploads').set({ sha256, finished_at: new Date() }).where('id', '=', id).execute(),
  unfinishedUploads: (db: Exec, sessionId: string) => db.selectFrom('dataset_uploads').selectAll().where('session_id', '=', sessionId).where('sha256', 'is', null).execute(),
  /** Bytes announced by a user's uploads in open sessions (the per-user staging quota). */
  stagedBytes: async (db: Exec, userId: string) =>
    Number(
      (
        await sql<{ n: string | null }>`SELECT sum(u.size) AS n FROM dataset_uploads u JOIN dataset_upload_sessions s ON s.id = u.session_id
          WHERE s.user_id = ${userId} AND s.status = 'open'`.execute(db)
      ).rows[0]?.n ?? 0,
    ),
  expiredSessions: (db: Exec, now: Date) =>
    db.selectFrom('dataset_upload_sessions').selectAll().where((eb) => eb.or([eb('expires_at', '<', now), eb('status', '<>', 'open')])).limit(1000).execute(),
  uploadsOf: (db: Exec, sessionId: string) => db.selectFrom('dataset_uploads').selectAll().where('session_id', '=', sessionId).execute(),
  deleteSession: (db: Exec, id: string) => db.deleteFrom('dataset_upload_sessions').where('id', '=', id).execute(),
};
