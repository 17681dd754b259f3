import { randomBytes } from 'node:crypto';
import type { Db } from '../database/database.js';
import { AppError, fail } from '../kernel/errors.js';
import { requireScope, systemContext, type AuthContext } from '../kernel/access.js';
import type { Clock } from '../kernel/clock.js';
import { SecretBox } from '../kernel/crypto.js';
import { newId, isUuid } from '../kernel/ids.js';
import type { Logger } from '../kernel/logger.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import type { InstrumentsService } from '../instruments/instruments.service.js';
import { localise, type FormInstrument, type InstrumentDefinition } from '@cairn/sdk/instruments';
import { datahubStore, type SessionsTable } from '../datahub/datahub.store.js';
import { createdData, newRecordRow, type RecordsService } from '../datahub/records.service.js';
import { byActor, hasNul, type SubjectsService } from '../datahub/subjects.service.js';
import type { RemoteCaptureConfig } from './assignments.config.js';
import { generateAssignmentKeys, openPart } from './assignments.crypto.js';
import { GatewayClient, type SealedSubmission } from './assignments.gateway.js';
import { Mailer } from './assignments.mail.js';
import { assignmentsStore, statusOf, type AssignmentRow, type AssignmentStatus, type ListedAssignment, type SubmissionRow } from './assignments.store.js';

export interface AssignInput {
  instrument: { name: string; edition: number };
  language?: string;
  expiresInDays?: number;
  expiresAt?: string;
}

const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$/;
const MAX_BULK = 500;
const PULL_LOCK = 7_151_001;

/**
 * Remote capture (docs/remote-capture.md). The core makes an HPKE key pair per assignment, keeps
 * the private key sealed under the instance secret, and pushes the assignment (forms, language,
 * expiry, public key; nothing about the subject) to the gateway. A puller brings sealed parts
 * back every few seconds, opens them, and writes them as a remote session's records: valid ones
 * as records, invalid ones kept aside on the assignment; then the gateway deletes them.
 */
export class AssignmentsService {
  private readonly box: SecretBox;
  private readonly gateway: GatewayClient | undefined;
  private readonly mailer: Mailer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pulling: Promise<unknown> | undefined;
  lastPull: { at: string; ok: boolean; error: string | null } | null = null;

  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly subjects: SubjectsService,
    private readonly instruments: InstrumentsService,
    private readonly records: RecordsService,
    private readonly clock: Clock,
    private readonly config: RemoteCaptureConfig,
    instanceSecret: string,
    private readonly log: Logger,
  ) {
    this.box = new SecretBox(instanceSecret, 'assignments:hpke-private-key');
    this.gateway = config.gatewayUrl && config.gatewayKey ? new GatewayClient(config) : undefined;
    this.mailer = config.smtpUrl ? new Mailer(config.smtpUrl, config.mailFrom) : undefined;
  }

  private requireGateway(): GatewayClient {
    if (!this.gateway) throw fail('remote_capture_unavailable', 'Remote capture is off on this instance: set CAIRN_GATEWAY_URL and CAIRN_GATEWAY_KEY (docs/remote-capture.md)');
    return this.gateway;
  }

  linkFor(linkId: string): string {
    return `${this.config.gatewayPublicUrl}/a/${linkId}`;
  }

  present(a: ListedAssignment | (AssignmentRow & { subject_identifier?: string; subject_label?: string | null; invalid_parts?: number })) {
    return {
      id: a.id,
      workspaceId: a.workspace_id,
      subject: { id: a.subject_id, identifier: a.subject_identifier ?? null, label: a.subject_label ?? null },
      batchId: a.batch_id,
      instrument: { name: a.instrument_name, edition: a.instrument_edition, kind: a.instrument_kind },
      parts: a.parts.length,
      partsReceived: a.parts_pulled,
      invalidParts: a.invalid_parts ?? 0,
      language: a.language,
      status: statusOf(a, this.clock.now()),
      link: this.linkFor(a.link_id),
      expiresAt: a.expires_at.toISOString(),
      createdAt: a.created_at.toISOString(),
      openedAt: a.opened_at?.toISOString() ?? null,
      completedAt: a.completed_at?.toISOString() ?? null,
      cancelledAt: a.cancelled_at?.toISOString() ?? null,
      emailedAt: a.emailed_at?.toISOString() ?? null,
      sessionId: a.session_id,
    };
  }

  status(ctx: AuthContext) {
    requireScope(ctx, 'records:read');
    return { enabled: !!this.gateway, gatewayUrl: this.config.gatewayPublicUrl ?? null, mail: !!this.mailer, pullIntervalMs: this.config.pullIntervalMs, lastPull: this.lastPull };
  }

  /** The forms an assignment of this edition asks for, checked for capture (exists, not retired). */
  private async resolve(input: AssignInput) {
    const ref = input.instrument;
    const def = (await this.instruments.definition(ref.name, ref.edition)) as InstrumentDefinition | undefined;
    if (!def) throw fail('not_found', `No instrument ${ref.name} edition ${ref.edition}`, [{ pointer: '/instrument', message: 'no such instrument edition' }]);
    const refs = def.kind === 'series' ? def.content.map((c) => ({ name: c.name, edition: c.edition })) : [{ name: def.name, edition: def.edition }];
    const forms: FormInstrument[] = [];
    for (const r of refs) forms.push(await this.instruments.formForCapture(r.name, r.edition));
    const language = input.language ?? def.languages[0]!;
    if (!def.languages.includes(language)) throw fail('validation_failed', `language must be one of ${def.languages.join(', ')}`, [{ pointer: '/language', message: 'not a language of this instrument' }]);
    const now = this.clock.now();
    let expiresAt: Date;
    if (input.expiresAt !== undefined) {
      expiresAt = new Date(input.expiresAt);
      if (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= now.getTime() || expiresAt.getTime() > now.getTime() + 366 * 86400_000) throw fail('validation_failed', 'expiresAt must be a date-time in the next year', [{ pointer: '/expiresAt', message: 'invalid expiry' }]);
    } else {
      expiresAt = new Date(now.getTime() + (input.expiresInDays ?? 14) * 86400_000);
    }
    return { def, forms, language, expiresAt, title: localise(def.details.title, language, def.languages) };
  }

  private async createOne(ctx: AuthContext, subject: { id: string; workspace_id: string }, r: Awaited<ReturnType<AssignmentsService['resolve']>>, batchId: string | null): Promise<AssignmentRow> {
    const gateway = this.requireGateway();
    const keys = await generateAssignmentKeys();
    const row: AssignmentRow = {
      id: newId(),
      workspace_id: subject.workspace_id,
      subject_id: subject.id,
      batch_id: batchId,
      link_id: randomBytes(32).toString('base64url'),
      instrument_name: r.def.name,
      instrument_edition: r.def.edition,
      instrument_kind: r.def.kind,
      parts: r.forms.map((f) => ({ name: f.name, edition: f.edition })),
      language: r.language,
      expires_at: r.expiresAt,
      public_key: keys.publicKey,
      private_key_sealed: this.box.seal(keys.privateKey),
      emailed_at: null,
      opened_at: null,
      gateway_parts: 0,
      parts_pulled: 0,
      session_id: null,
      completed_at: null,
      cancelled_at: null,
      cancel_pending: false,
      created_at: this.clock.now(),
      ...byActor(ctx),
    };
    // The gateway first: an assignment the core lists always has a link that works. A push whose
    // core write then fails leaves a page nobody has the link to.
    await gateway.put(row.link_id, { language: row.language, title: r.def.details.title, parts: r.forms.map((f) => ({ name: f.name, edition: f.edition, definition: f })), publicKey: row.public_key, expiresAt: row.expires_at.toISOString() });
    const entries = this.ledger.prepare(ctx, [{ type: 'assignment.created', stream: `assignment:${row.id}`, data: { assignmentId: row.id, workspaceId: row.workspace_id, subjectId: row.subject_id, instrument: { name: row.instrument_name, edition: row.instrument_edition }, language: row.language, expiresAt: row.expires_at.toISOString(), publicKey: row.public_key, batchId } }], { allowSystemTypes: true });
    await this.db.transaction().execute(async (trx) => {
      await assignmentsStore.insert(trx, row);
      await this.ledger.append(ctx, entries, { db: trx });
    });
    this.ledger.notifyAppended();
    return row;
  }

  async create(ctx: AuthContext, subjectId: string, input: AssignInput & { email?: string }) {
    const subject = await this.subjects.subjectFor(ctx, subjectId, 'member');
    const email = input.email?.trim() || undefined;
    if (email !== undefined && (!EMAIL_RE.test(email) || hasNul(email))) throw fail('validation_failed', 'email is not an email address', [{ pointer: '/email', message: 'invalid email address' }]);
    if (email !== undefined && !this.mailer) throw fail('mail_unavailable', 'Mail is off on this instance: set CAIRN_SMTP_URL to email links', [{ pointer: '/email', message: 'mail is not configured' }]);
    this.requireGateway();
    const r = await this.resolve(input);
    const row = await this.createOne(ctx, subject, r, null);
    let mail: { sent: boolean; error: string | null } | null = null;
    if (email) {
      // The address is used once and not stored: it is personal data the core does not need later.
      try {
        await this.mailer!.sendInvitation(email, row.language, r.title, this.linkFor(row.link_id), row.expires_at);
        row.emailed_at = this.clock.now();
        await assignmentsStore.markEmailed(this.db, row.id, row.emailed_at);
        mail = { sent: true, error: null };
      } catch (e) {
        this.log.warn({ err: { message: (e as Error).message }, assignmentId: row.id }, 'sending an assignment link failed');
        mail = { sent: false, error: 'The mail server refused or could not be reached; share the link another way' };
      }
    }
    return { assignment: this.present({ ...row, subject_identifier: subject.identifier, subject_label: subject.label ?? null }), mail };
  }

  /** Many subjects at once: each gets its own key pair and link; one failure does not stop the rest. */
  async bulk(ctx: AuthContext, workspaceId: string, input: AssignInput & { subjectIds: string[] }) {
    await this.subjects.roleFor(ctx, workspaceId, 'member', 'workspace');
    this.requireGateway();
    const ids = [...new Set(input.subjectIds)];
    if (!ids.length || ids.length > MAX_BULK) throw fail('validation_failed', `Send 1 to ${MAX_BULK} subjects`, [{ pointer: '/subjectIds', message: 'wrong number of subjects' }]);
    const r = await this.resolve(input);
    const batchId = newId();
    const created: ReturnType<AssignmentsService['present']>[] = [];
    const failed: { subjectId: string; code: string; message: string }[] = [];
    for (const subjectId of ids) {
      const subject = isUuid(subjectId) ? await datahubStore.subject(this.db, subjectId) : undefined;
      if (!subject || subject.workspace_id !== workspaceId) {
        failed.push({ subjectId, code: 'not_found', message: 'No such subject in this workspace' });
        continue;
      }
      try {
        const row = await this.createOne(ctx, subject, r, batchId);
        created.push(this.present({ ...row, subject_identifier: subject.identifier, subject_label: subject.label ?? null }));
      } catch (e) {
        if (!(e instanceof AppError)) throw e;
        if (e.code === 'gateway_unavailable') throw e;
        failed.push({ subjectId, code: e.code, message: e.message });
      }
    }
    return { batchId, created, failed };
  }

  async forSubject(ctx: AuthContext, subjectId: string) {
    const s = await this.subjects.subjectFor(ctx, subjectId, 'viewer');
    return (await assignmentsStore.forSubject(this.db, s.id)).map((a) => this.present(a));
  }

  async forWorkspace(ctx: AuthContext, workspaceId: string, q: { status?: AssignmentStatus; limit?: number }) {
    await this.subjects.roleFor(ctx, workspaceId, 'viewer', 'workspace');
    const now = this.clock.now();
    const rows = await assignmentsStore.forWorkspace(this.db, workspaceId, { status: q.status, limit: Math.min(Math.max(q.limit ?? 200, 1), 1000), now });
    return { assignments: rows.map((a) => this.present(a)), counts: await assignmentsStore.counts(this.db, workspaceId, now) };
  }

  private async assignmentFor(ctx: AuthContext, id: string, min: 'viewer' | 'member') {
    return this.subjects.visible(ctx, isUuid(id) ? await assignmentsStore.get(this.db, id) : undefined, min, 'assignment');
  }

  /** The assignment with each part pulled: recorded (with its record) or kept aside (with why). */
  async get(ctx: AuthContext, id: string) {
    const a = await this.assignmentFor(ctx, id, 'viewer');
    const subs = await assignmentsStore.submissions(this.db, a.id);
    return {
      assignment: this.present(a),
      parts: a.parts.map((p, i) => {
        const s = subs.find((x) => x.part === i);
        return { part: i, instrument: p, status: s ? s.status : 'waiting', recordId: s?.record_id ?? null, receivedAt: s?.received_at.toISOString() ?? null, problem: s?.problem ?? null, errors: s?.errors ?? null, data: s?.status === 'invalid' ? s.data : null };
      }),
    };
  }

  /** Cancels at once in the core; the gateway is told now, or by the puller when it is back. */
  async cancel(ctx: AuthContext, id: string) {
    const a = await this.assignmentFor(ctx, id, 'member');
    const entries = this.ledger.prepare(ctx, [{ type: 'assignment.cancelled', stream: `assignment:${a.id}`, data: { assignmentId: a.id } }], { allowSystemTypes: true });
    const row = await this.db.transaction().execute(async (trx) => {
      const r = await assignmentsStore.cancel(trx, a.id, this.clock.now());
      if (!r) throw fail('assignment_closed', `This assignment is already ${statusOf(a, this.clock.now())}`);
      await this.ledger.append(ctx, entries, { db: trx });
      return r;
    });
    this.ledger.notifyAppended();
    if (this.gateway) {
      await this.gateway
        .cancel(row.link_id)
        .then(() => assignmentsStore.cancelSynced(this.db, row.id))
        .catch((e: unknown) => this.log.warn({ err: { message: (e as Error).message } }, 'gateway unreachable: the cancellation will be pushed by the puller'));
    }
    return this.present({ ...row, subject_identifier: a.subject_identifier, subject_label: a.subject_label ?? null, invalid_parts: a.invalid_parts });
  }

  // --- the puller -----------------------------------------------------------------------------
  start(): void {
    if (!this.gateway || this.timer) return;
    this.timer = setInterval(() => void this.pullNow().catch(() => {}), this.config.pullIntervalMs);
    this.timer.unref();
    // At once too: a core that was down catches up on start, not an interval later.
    void this.pullNow().catch(() => {});
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.pulling?.catch(() => {});
  }

  /** One pull, unless one is running in this process already (then its result). */
  pullNow(): Promise<{ recorded: number; invalid: number; skipped: boolean }> {
    this.pulling ??= this.pull()
      .then(
        (r) => {
          this.lastPull = { at: this.clock.now().toISOString(), ok: true, error: null };
          return r;
        },
        (e: unknown) => {
          this.lastPull = { at: this.clock.now().toISOString(), ok: false, error: (e as Error).message };
          this.log.warn({ err: { message: (e as Error).message } }, 'remote capture pull failed');
          throw e;
        },
      )
      .finally(() => (this.pulling = undefined));
    return this.pulling as Promise<{ recorded: number; invalid: number; skipped: boolean }>;
  }

  async pullAs(ctx: AuthContext) {
    requireScope(ctx, 'settings:manage');
    this.requireGateway();
    return this.pullNow();
  }

  private async pull(): Promise<{ recorded: number; invalid: number; skipped: boolean }> {
    const gateway = this.requireGateway();
    for (const c of await assignmentsStore.pendingCancels(this.db)) {
      await gateway.cancel(c.link_id);
      await assignmentsStore.cancelSynced(this.db, c.id);
    }
    let recorded = 0;
    let invalid = 0;
    for (let round = 0; round < 20; round++) {
      const { submissions } = await gateway.pending(100);
      if (!submissions.length) break;
      const outcome = await this.db.transaction().execute(async (trx) => {
        // One puller at a time across every node; another node's pull simply skips this round.
        const got = await assignmentsStore.tryPullLock(trx, PULL_LOCK);
        if (!got) return null;
        let rec = 0;
        let bad = 0;
        for (const s of submissions) {
          if (await assignmentsStore.hasSubmission(trx, s.id)) continue; // pulled before; the delete was lost
          const r = await this.take(trx, s);
          if (r === 'recorded') rec++;
          else if (r === 'invalid') bad++;
        }
        return { rec, bad };
      });
      if (!outcome) return { recorded, invalid, skipped: true };
      this.ledger.notifyAppended();
      recorded += outcome.rec;
      invalid += outcome.bad;
      // Deleted only once the records are committed: a crash in between pulls them again, and the
      // submission ids make that a no-op.
      await gateway.delete(submissions.map((s) => s.id));
    }
    const links = await assignmentsStore.openLinks(this.db, this.clock.now());
    for (let i = 0; i < links.length; i += 1000) {
      const { assignments } = await gateway.statuses(links.slice(i, i + 1000));
      for (const g of assignments) await assignmentsStore.setGatewayProgress(this.db, g.linkId, { openedAt: g.openedAt ? new Date(g.openedAt) : null, parts: g.partsDone.length });
    }
    return { recorded, invalid, skipped: false };
  }

  /** Opens, validates and writes one sealed part inside the pull's transaction. */
  private async take(trx: Db, s: SealedSubmission): Promise<'recorded' | 'invalid' | 'ignored'> {
    const a = await assignmentsStore.byLinkForUpdate(trx, s.linkId);
    if (!a) {
      this.log.warn({ part: s.part }, 'a sealed part for an assignment this core does not know was dropped');
      return 'ignored';
    }
    const now = this.clock.now();
    const base: SubmissionRow = { id: s.id, assignment_id: a.id, part: s.part, received_at: new Date(s.receivedAt), pulled_at: now, status: 'invalid', record_id: null, problem: null, errors: null, data: null };
    const ref = a.parts[s.part];
    if (!ref || !a.private_key_sealed || (await assignmentsStore.submissions(trx, a.id)).some((x) => x.part === s.part)) {
      await assignmentsStore.insertSubmission(trx, { ...base, part: ref ? s.part : -1 - s.part, problem: 'unexpected_part' }).catch(() => {});
      return 'invalid';
    }
    let data: unknown;
    try {
      const text = await openPart(this.box.open(a.private_key_sealed), a.link_id, s.part, s.enc, s.ct);
      data = (JSON.parse(text) as { answers?: unknown }).answers;
    } catch {
      // Not sealed to this assignment's key for this part: forged, or corrupted on the way.
      await assignmentsStore.insertSubmission(trx, { ...base, problem: 'undecryptable' });
      await this.progress(trx, a, now);
      return 'invalid';
    }
    const form = await this.instruments.formForCapture(ref.name, ref.edition).catch(() => undefined);
    const result = form ? this.records.validate(form, data) : undefined;
    if (!form || !result || !result.ok) {
      await assignmentsStore.insertSubmission(trx, { ...base, problem: form ? 'invalid_submission' : 'instrument_unavailable', errors: result && !result.ok ? result.errors : null, data: data ?? null });
      await this.progress(trx, a, now);
      return 'invalid';
    }
    const sessionId = await this.progress(trx, a, now);
    const row = newRecordRow({ id: sessionId, workspace_id: a.workspace_id, subject_id: a.subject_id }, form, result, base.received_at, now, { created_by_kind: 'system', created_by_id: null });
    await this.ledger.append(systemContext, this.ledger.prepare(systemContext, [{ type: 'record.created', stream: `record:${row.id}`, data: { ...createdData(row), assignmentId: a.id, part: s.part } }], { allowSystemTypes: true }), { db: trx });
    await assignmentsStore.insertSubmission(trx, { ...base, status: 'recorded', record_id: row.id });
    return 'recorded';
  }

  /** Counts a pulled part; the first one opens the assignment's remote session (already ended: it never holds the subject's one active session). */
  private async progress(trx: Db, a: AssignmentRow, now: Date): Promise<string> {
    let sessionId = a.session_id;
    if (!sessionId) {
      const session: SessionsTable = { id: newId(), workspace_id: a.workspace_id, subject_id: a.subject_id, kind: 'remote', date: now, started_at: now, ended_at: now, created_by_kind: 'system', created_by_id: null };
      await datahubStore.insertSession(trx, session);
      await this.ledger.append(
        systemContext,
        this.ledger.prepare(systemContext, [
          { type: 'session.started', stream: `subject:${a.subject_id}`, data: { sessionId: session.id, subjectId: a.subject_id, workspaceId: a.workspace_id, kind: 'remote', date: now.toISOString(), assignmentId: a.id } },
          { type: 'session.ended', stream: `subject:${a.subject_id}`, data: { sessionId: session.id, subjectId: a.subject_id } },
        ], { allowSystemTypes: true }),
        { db: trx },
      );
      sessionId = session.id;
      a.session_id = sessionId;
    }
    await assignmentsStore.partPulled(trx, a.id, sessionId, now);
    a.parts_pulled++;
    if (a.parts_pulled >= a.parts.length) {
      a.private_key_sealed = '';
      await this.ledger.append(systemContext, this.ledger.prepare(systemContext, [{ type: 'assignment.completed', stream: `assignment:${a.id}`, data: { assignmentId: a.id, sessionId } }], { allowSystemTypes: true }), { db: trx });
    }
    return sessionId;
  }
}
