import type { Db } from '../database/database.js';
import { AppError, fail } from '../kernel/errors.js';
import { actorRef, requireAuthenticated, type AuthContext, type WorkspaceRole } from '../kernel/access.js';
import type { Clock } from '../kernel/clock.js';
import { deriveKey } from '../kernel/crypto.js';
import { newId, isUuid } from '../kernel/ids.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import type { WorkspacesService } from '../workspaces/workspaces.service.js';
import { compilePattern, matchesPattern, PatternError, isValidDate } from '@cairn/sdk/instruments';
import { datahubStore, type SessionsTable, type SubjectsTable } from './datahub.store.js';
import { nameResemblance } from '../search/linkage/strings.js';

/** Derived identifiers are hex HMAC-SHA256 digests computed in the browser (docs/instruments.md). */
export const DERIVED_ID_RE = /^[0-9a-f]{64}$/;
/** Custom identifiers: printable, no spaces at the ends, whatever the workspace pattern adds. */
export const CUSTOM_ID_RE = /^[\p{L}\p{N}][\p{L}\p{N}._\-/ ]{0,62}[\p{L}\p{N}._\-/]$|^[\p{L}\p{N}]$/u;
export const SEXES = ['female', 'male', 'other'] as const;
/** PostgreSQL text cannot hold NUL: such input is refused before it reaches SQL. */
export const hasNul = (s: string | null | undefined) => typeof s === 'string' && (s.includes('\u0000') || !s.isWellFormed());
export const SESSION_KINDS = ['in_person', 'retrospective', 'remote'] as const;
/** Subject labels: 1-60 characters, no control characters, no spaces at the ends (docs/instruments.md, "Subject labels"). */
export const LABEL_MAX = 60;
const LABEL_RE = /^[^\p{Cc}\p{Cf}\s](?:[^\p{Cc}\p{Cf}]*[^\p{Cc}\p{Cf}\s])?$/u;
const LABEL_INDEX = 'subjects_workspace_label_key';

/** Checks a label; answers the normalised label (null: none) or throws validation_failed at `pointer`. */
export function checkLabel(label: string | null | undefined, pointer = '/label'): string | null {
  if (label === null || label === undefined) return null;
  const l = label.normalize('NFC').trim();
  if (l === '') return null;
  if (hasNul(l) || !LABEL_RE.test(l) || Array.from(l).length > LABEL_MAX) {
    throw fail('validation_failed', `label is 1-${LABEL_MAX} characters without control characters`, [{ pointer, message: `1-${LABEL_MAX} printable characters` }]);
  }
  return l;
}

const labelTaken = (existing: { id: string } | undefined) =>
  fail('subject_label_taken', 'Another subject of this workspace has this label', { subjectId: existing?.id, errors: [{ pointer: '/label', message: 'already used in this workspace' }] });
const isLabelConflict = (e: unknown) => (e as { code?: string }).code === '23505' && (e as { constraint?: string }).constraint === LABEL_INDEX;

export const presentSubject = (s: SubjectsTable & { record_count?: number; last_record_at?: Date | null }) => ({
  id: s.id,
  workspaceId: s.workspace_id,
  identifier: s.identifier,
  identifierKind: s.identifier_kind,
  dateOfBirth: s.date_of_birth,
  sex: s.sex,
  label: s.label ?? null,
  createdAt: s.created_at.toISOString(),
  ...(s.record_count !== undefined ? { recordCount: s.record_count, lastRecordAt: s.last_record_at?.toISOString() ?? null } : {}),
});

export const presentSession = (s: SessionsTable) => ({
  id: s.id,
  workspaceId: s.workspace_id,
  subjectId: s.subject_id,
  kind: s.kind,
  date: s.date.toISOString(),
  startedAt: s.started_at.toISOString(),
  endedAt: s.ended_at?.toISOString() ?? null,
  active: s.ended_at === null,
});

/**
 * Subjects (who the data is about) and sessions (when it was captured). Every check goes through
 * the workspace the subject belongs to; callers without a role there are told the subject does
 * not exist, never that it is forbidden, so ids leak nothing across workspaces.
 */
export class SubjectsService {
  readonly identityKey: string;

  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly workspaces: WorkspacesService,
    private readonly clock: Clock,
    instanceSecret: string,
  ) {
    this.identityKey = Buffer.from(deriveKey(instanceSecret, 'datahub:subject-identifier')).toString('base64url');
  }

  /** The HMAC key browsers use to derive identifiers from personal information. */
  identityKeyFor(ctx: AuthContext) {
    requireAuthenticated(ctx);
    return { algorithm: 'HMAC-SHA256', version: 1, key: this.identityKey };
  }

  /** requireRole, with "no such workspace" turned into "no such <thing>" for resources found by id. */
  async roleFor(ctx: AuthContext, workspaceId: string, min: WorkspaceRole, what: string): Promise<WorkspaceRole> {
    try {
      return await this.workspaces.requireRole(ctx, workspaceId, min);
    } catch (e) {
      if (e instanceof AppError && e.code === 'not_found') throw fail('not_found', `No such ${what}`);
      throw e;
    }
  }

  /** A row found by id, if the caller holds `min` on its workspace; "no such <thing>" otherwise (missing or invisible alike). */
  async visible<T extends { workspace_id: string }>(ctx: AuthContext, row: T | undefined, min: WorkspaceRole, what: string): Promise<T> {
    requireAuthenticated(ctx);
    if (!row) throw fail('not_found', `No such ${what}`);
    await this.roleFor(ctx, row.workspace_id, min, what);
    return row;
  }

  async settings(ctx: AuthContext, workspaceId: string) {
    await this.workspaces.requireRole(ctx, workspaceId, 'viewer');
    const s = await datahubStore.settings(this.db, workspaceId);
    return { subjectIdPattern: s?.subject_id_pattern ?? null };
  }

  async setSettings(ctx: AuthContext, workspaceId: string, input: { subjectIdPattern: string | null }) {
    await this.workspaces.requireRole(ctx, workspaceId, 'manager');
    const pattern = input.subjectIdPattern === '' ? null : input.subjectIdPattern;
    if (hasNul(pattern)) throw fail('validation_failed', 'subjectIdPattern contains a NUL character', [{ pointer: '/subjectIdPattern', message: 'invalid character' }]);
    if (pattern !== null) {
      try {
        compilePattern(pattern);
      } catch (e) {
        if (e instanceof PatternError) throw fail('validation_failed', `subjectIdPattern: ${e.message}`, [{ pointer: '/subjectIdPattern', message: e.message }]);
        throw e;
      }
    }
    await this.db.transaction().execute(async (trx) => {
      await datahubStore.setSettings(trx, { workspace_id: workspaceId, subject_id_pattern: pattern });
      await this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type: 'datahub.settings_changed', stream: `workspace:${workspaceId}`, data: { workspaceId, subjectIdPattern: pattern } }], { allowSystemTypes: true }), { db: trx });
    });
    this.ledger.notifyAppended();
    return { subjectIdPattern: pattern };
  }

  /** Checks an identifier for a workspace; answers the reason it is refused, or null. */
  identifierProblem(kind: string, identifier: string, pattern: string | null): string | null {
    if (kind === 'derived') return DERIVED_ID_RE.test(identifier) ? null : 'a derived identifier is 64 lower-case hex digits (computed by the app)';
    if (kind !== 'custom') return 'identifierKind must be custom or derived';
    if (DERIVED_ID_RE.test(identifier)) return 'a custom identifier cannot look like a derived one (64 hex digits)';
    if (!CUSTOM_ID_RE.test(identifier)) return 'a custom identifier is 1-64 letters, digits, spaces and ._-/ (not starting or ending with a space)';
    if (pattern !== null && !matchesPattern(pattern, identifier)) return `does not match this workspace's pattern ${pattern}`;
    return null;
  }

  async create(ctx: AuthContext, workspaceId: string, input: { identifier: string; identifierKind: 'custom' | 'derived'; dateOfBirth?: string | null; sex?: string | null; label?: string | null }) {
    await this.workspaces.requireRole(ctx, workspaceId, 'member');
    const pattern = (await datahubStore.settings(this.db, workspaceId))?.subject_id_pattern ?? null;
    const problem = this.identifierProblem(input.identifierKind, input.identifier, pattern);
    if (problem) throw fail('invalid_identifier', `identifier ${problem}`, [{ pointer: '/identifier', message: problem }]);
    const dob = input.dateOfBirth ?? null;
    if (dob !== null && (!isValidDate(dob) || dob > this.clock.now().toISOString().slice(0, 10) || dob < '1850-01-01')) {
      throw fail('validation_failed', 'dateOfBirth must be a real date YYYY-MM-DD, not in the future', [{ pointer: '/dateOfBirth', message: 'invalid date' }]);
    }
    const sex = input.sex ?? null;
    if (sex !== null && !(SEXES as readonly string[]).includes(sex)) throw fail('validation_failed', `sex must be one of ${SEXES.join(', ')}`, [{ pointer: '/sex', message: 'invalid value' }]);
    const label = checkLabel(input.label);
    const subject: SubjectsTable = { id: newId(), workspace_id: workspaceId, identifier: input.identifier, identifier_kind: input.identifierKind, date_of_birth: dob, sex: sex as SubjectsTable['sex'], created_at: this.clock.now(), label };
    const entries = this.ledger.prepare(ctx, [{ type: 'subject.created', stream: `subject:${subject.id}`, data: { subjectId: subject.id, workspaceId, identifier: subject.identifier, identifierKind: subject.identifier_kind, dateOfBirth: dob, sex, ...(label !== null ? { label } : {}) } }], { allowSystemTypes: true });
    try {
      await this.db.transaction().execute(async (trx) => {
        if (!(await datahubStore.insertSubject(trx, subject))) {
          const existing = await datahubStore.subjectByIdentifier(trx, workspaceId, subject.identifier);
          throw fail('conflict', 'A subject with this identifier exists in the workspace', { subjectId: existing?.id });
        }
        await this.ledger.append(ctx, entries, { db: trx });
      });
    } catch (e) {
      if (isLabelConflict(e)) throw labelTaken(await datahubStore.subjectByLabel(this.db, workspaceId, label!));
      throw e;
    }
    this.ledger.notifyAppended();
    return presentSubject(subject);
  }

  /**
   * Subjects that look like the one about to be created (docs/search.md, "The data hub"): a custom
   * identifier that resembles theirs as a name (word order, case, accents, hyphens and spelling
   * variants aside), a date of birth and sex that do not disagree. The page warns before creating a
   * second "Curie Dupont". Derived identifiers are digests: they cannot resemble anything.
   */
  async similar(ctx: AuthContext, workspaceId: string, q: { identifier: string; dateOfBirth?: string | null; sex?: string | null }) {
    await this.roleFor(ctx, workspaceId, 'viewer', 'see subjects of');
    const identifier = q.identifier.trim();
    if (!identifier || hasNul(identifier) || DERIVED_ID_RE.test(identifier)) return { subjects: [] };
    const dob = q.dateOfBirth && isValidDate(q.dateOfBirth) ? q.dateOfBirth : null;
    const rows = await datahubStore.similarSubjects(this.db, workspaceId, { identifier, dateOfBirth: dob, limit: 500 });
    const out = rows
      .map((r) => ({ r, score: nameResemblance(identifier, r.identifier) }))
      .filter(({ r, score }) => {
        const rdob = r.date_of_birth;
        return score >= 0.9 && (!dob || !rdob || rdob === dob) && (!q.sex || !r.sex || r.sex === q.sex);
      })
      .sort((a, b) => b.score - a.score)
      .slice(0, 10);
    return { subjects: out.map(({ r, score }) => ({ ...presentSubject(r), score: Math.round(score * 1000) / 1000 })) };
  }

  async list(ctx: AuthContext, workspaceId: string, q: { q?: string; after?: string; limit?: number }) {
    await this.workspaces.requireRole(ctx, workspaceId, 'viewer');
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    if (hasNul(q.q) || hasNul(q.after)) return { subjects: [], next: null };
    const rows = await datahubStore.searchSubjects(this.db, workspaceId, { prefix: q.q?.trim() || undefined, after: q.after, limit });
    return { subjects: rows.map(presentSubject), next: rows.length === limit ? rows[rows.length - 1]!.identifier : null };
  }

  /** The subject, after checking the caller's role on its workspace. */
  async subjectFor(ctx: AuthContext, subjectId: string, min: WorkspaceRole): Promise<SubjectsTable> {
    requireAuthenticated(ctx);
    const s = isUuid(subjectId) ? await datahubStore.subject(this.db, subjectId) : undefined;
    if (!s) throw fail('not_found', 'No such subject');
    await this.roleFor(ctx, s.workspace_id, min, 'subject');
    return s;
  }

  async get(ctx: AuthContext, subjectId: string) {
    const s = await this.subjectFor(ctx, subjectId, 'viewer');
    const active = await datahubStore.activeSession(this.db, s.id);
    return { ...presentSubject(s), activeSession: active ? presentSession(active) : null };
  }

  /**
   * Sets (or, with null, clears) a subject's label. Written as subjects are: the row and a
   * `subject.labelled` entry on the subject's stream in one transaction, needing what every other
   * subject write needs (records:write on the route, `member` on the subject's workspace).
   */
  async setLabel(ctx: AuthContext, subjectId: string, input: { label: string | null }) {
    const s = await this.subjectFor(ctx, subjectId, 'member');
    const label = checkLabel(input.label);
    if ((s.label ?? null) === label) return presentSubject(s);
    const entries = this.ledger.prepare(ctx, [{ type: 'subject.labelled', stream: `subject:${s.id}`, data: { subjectId: s.id, workspaceId: s.workspace_id, label, previous: s.label ?? null } }], { allowSystemTypes: true });
    let updated: SubjectsTable;
    try {
      updated = await this.db.transaction().execute(async (trx) => {
        const row = await datahubStore.setSubjectLabel(trx, s.id, label);
        if (!row) throw fail('not_found', 'No such subject');
        await this.ledger.append(ctx, entries, { db: trx });
        return row;
      });
    } catch (e) {
      if (isLabelConflict(e)) throw labelTaken(await datahubStore.subjectByLabel(this.db, s.workspace_id, label!));
      throw e;
    }
    this.ledger.notifyAppended();
    return presentSubject(updated);
  }

  async sessions(ctx: AuthContext, subjectId: string) {
    const s = await this.subjectFor(ctx, subjectId, 'viewer');
    return (await datahubStore.sessions(this.db, s.id)).map(presentSession);
  }

  async startSession(ctx: AuthContext, subjectId: string, input: { kind: string; date?: string }) {
    const subject = await this.subjectFor(ctx, subjectId, 'member');
    if (!(SESSION_KINDS as readonly string[]).includes(input.kind)) throw fail('validation_failed', `kind must be one of ${SESSION_KINDS.join(', ')}`, [{ pointer: '/kind', message: 'invalid kind' }]);
    const now = this.clock.now();
    let date = now;
    if (input.kind === 'retrospective') {
      const d = typeof input.date === 'string' && /^\d{4}-\d\d-\d\d(T|$)/.test(input.date) ? new Date(input.date) : new Date(NaN);
      if (Number.isNaN(d.getTime()) || d.getTime() > now.getTime() + 60_000 || d.getUTCFullYear() < 1900) {
        throw fail('validation_failed', 'A retrospective session needs the date the data refers to (YYYY-MM-DD or a date-time), not in the future', [{ pointer: '/date', message: 'invalid date' }]);
      }
      date = d;
    } else if (input.date !== undefined) {
      throw fail('validation_failed', 'Only retrospective sessions take a date; the others happen now', [{ pointer: '/date', message: 'not allowed for this kind' }]);
    }
    const session: SessionsTable = { id: newId(), workspace_id: subject.workspace_id, subject_id: subject.id, kind: input.kind as SessionsTable['kind'], date, started_at: now, ended_at: null, ...byActor(ctx) };
    const entries = this.ledger.prepare(ctx, [{ type: 'session.started', stream: `subject:${subject.id}`, data: { sessionId: session.id, subjectId: subject.id, workspaceId: subject.workspace_id, kind: session.kind, date: date.toISOString() } }], { allowSystemTypes: true });
    try {
      await this.db.transaction().execute(async (trx) => {
        await datahubStore.insertSession(trx, session);
        await this.ledger.append(ctx, entries, { db: trx });
      });
    } catch (e) {
      if ((e as { code?: string; constraint?: string }).code === '23505' && (e as { constraint?: string }).constraint === 'datahub_sessions_one_active') {
        const active = await datahubStore.activeSession(this.db, subject.id);
        throw fail('session_active', 'This subject already has an active session: continue it or end it first', { sessionId: active?.id });
      }
      throw e;
    }
    this.ledger.notifyAppended();
    return presentSession(session);
  }

  async sessionFor(ctx: AuthContext, sessionId: string, min: WorkspaceRole): Promise<SessionsTable> {
    requireAuthenticated(ctx);
    const s = isUuid(sessionId) ? await datahubStore.session(this.db, sessionId) : undefined;
    if (!s) throw fail('not_found', 'No such session');
    await this.roleFor(ctx, s.workspace_id, min, 'session');
    return s;
  }

  async getSession(ctx: AuthContext, sessionId: string) {
    return presentSession(await this.sessionFor(ctx, sessionId, 'viewer'));
  }

  async endSession(ctx: AuthContext, sessionId: string) {
    const s = await this.sessionFor(ctx, sessionId, 'member');
    const entries = this.ledger.prepare(ctx, [{ type: 'session.ended', stream: `subject:${s.subject_id}`, data: { sessionId: s.id, subjectId: s.subject_id } }], { allowSystemTypes: true });
    const ended = await this.db.transaction().execute(async (trx) => {
      const row = await datahubStore.endSession(trx, s.id, this.clock.now());
      if (!row) throw fail('session_ended', 'This session has already ended');
      await this.ledger.append(ctx, entries, { db: trx });
      return row;
    });
    this.ledger.notifyAppended();
    return presentSession(ended);
  }
}

export function byActor(ctx: AuthContext) {
  const a = actorRef(ctx);
  return { created_by_kind: a.kind, created_by_id: a.id };
}
