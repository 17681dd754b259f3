import { certificateFee } from '@cairn/sdk';
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type {
  ActionInput,
  AvailableAction,
  CertificateVerification,
  CreateRegistrationInput,
  FieldChange,
  JsonValue,
  Registration,
  RegistrationDetail,
  RegistrationHistoryItem,
  RegistrationListQuery,
  RegistrationList,
  RegistrationProfile,
  RegistrationTypeDocument,
  RegistrationTypeSummary,
  RegistrationTypeVersion,
  WorkqueueCounts,
} from '@cairn/sdk';
import { CORE_ACTIONS, UNASSIGNED_ACTIONS, WORKQUEUES } from '@cairn/sdk';
import { evaluate, ExpressionError, localise, nestAnswers, truthy, validateRegistrationData, type RegistrationDataResult } from '@cairn/sdk/instruments';
import type { Database } from '../database/database.js';
import type { Db } from '../database/database.js';
import { authorize, decide, type RegistrationResource } from '../policies/policies.js';
import { REGISTRATION_ROLE_RIGHTS, actorRef, isRegistrationRole, requireScope, requireUser, systemContext, type AuthContext, type RegistrationRole } from '../kernel/access.js';
import type { Clock } from '../kernel/clock.js';
import { SecretBox, deriveKey } from '../kernel/crypto.js';
import { AppError, fail } from '../kernel/errors.js';
import { isUuid, newId } from '../kernel/ids.js';
import { clientOccurredAt } from '../kernel/occurred-at.js';
import type { Logger } from '../kernel/logger.js';
import type { BlobStore } from '../blobs/blobs.store.js';
import { renderCertificatePdf } from '../certificates/index.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import { ledgerStore } from '../ledger/ledger.store.js';
import { ENTRY_PREFIX, READ_ACTION, allFlags, apply, entryType, fold, refusal, type EntryData, type RegState } from './registrations.fold.js';
import { rowToState, toFoldEntry, type LedgerEntryLike } from './registrations.projection.js';
import { callHook, newHookSecret, verifyCallback, type HookOutcome } from './registrations.hooks.js';
import { SHIPPED_TYPES } from './registrations.shipped.js';
import { formatNumber, validateTypeDocument } from './registration-types.validator.js';
import { registrationsStore as store, type RegistrationRow } from './registrations.store.js';

/** 7 characters from an alphabet without look-alikes (no 0/O, 1/I/L, 5/S, 8/B, 2/Z). */
const TRACKING_ALPHABET = 'ACDEFGHJKMNPQRTUVWXY34679';
export const TRACKING_ID_RE = new RegExp(`^[${TRACKING_ALPHABET}]{7}$`);
export const newTrackingId = () => Array.from({ length: 7 }, () => TRACKING_ALPHABET[randomInt(TRACKING_ALPHABET.length)]).join('');
const DOCUMENT_TYPES = ['image/png', 'image/jpeg', 'application/pdf'];
export const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;
const HOOKED = ['notify', 'declare', 'register', 'reject', 'archive', 'print-certificate'] as const;

/** Who is calling, as far as registration is concerned. `reach` is a path prefix; null = country. */
export interface Caller {
  ctx: AuthContext;
  userId: string;
  role: RegistrationRole;
  officeId: string;
  officePath: string;
  reach: string | null;
}

/**
 * The de-duplication seam (issue 13 implements it): called on declare and before register with
 * the registration as it would be; answers the ids it matches (empty: none). Matches become a
 * `duplicate-detected` action, which flags `potential-duplicate` and blocks validate/register.
 */
export type DuplicateChecker = (
  db: Kysely<Database>,
  reg: { id: string; type: string; typeVersion: number; data: Record<string, JsonValue>; officePath: string },
  when: 'declare' | 'register',
) => Promise<{ matches: string[]; details?: Record<string, JsonValue> }>;

class Replayed extends Error {
  constructor(readonly entryId: string) {
    super('replayed');
  }
}

/**
 * A module's own checks of the part of a type document it interprets (search: `deduplication`),
 * run when a version is saved: problems with their pointers, never an error thrown later on a
 * declare.
 */
export type TypeDocumentCheck = (doc: RegistrationTypeDocument) => Array<{ pointer: string; message: string }>;

export class RegistrationsService {
  readonly duplicateCheckers: DuplicateChecker[] = [];
  readonly typeDocumentChecks: TypeDocumentCheck[] = [];
  private readonly box: SecretBox;
  private readonly verifyKey: Uint8Array;
  private readonly typeCache = new Map<string, RegistrationTypeDocument>();

  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly blobs: BlobStore,
    private readonly clock: Clock,
    secret: string,
    private readonly log: Logger,
  ) {
    this.box = new SecretBox(secret, 'registration-hooks');
    this.verifyKey = deriveKey(secret, 'registration-certificates');
  }

  // --- types -------------------------------------------------------------------------------

  private async ensureShipped(id: string): Promise<void> {
    const doc = SHIPPED_TYPES[id];
    if (doc) await store.insertType(this.db, id, doc, null, true);
  }

  private async ensureAllShipped(): Promise<void> {
    for (const id of Object.keys(SHIPPED_TYPES)) await this.ensureShipped(id);
  }

  /** A version's document (immutable once saved, so cached for the process's life). */
  async typeDocument(id: string, version?: number): Promise<{ version: number; document: RegistrationTypeDocument; createdAt: Date }> {
    if (version !== undefined) {
      const key = `${id}@${version}`;
      const cached = this.typeCache.get(key);
      if (cached) return { version, document: cached, createdAt: new Date(0) };
    }
    let row = version === undefined ? await store.latestType(this.db, id) : await store.typeVersion(this.db, id, version);
    if (!row && SHIPPED_TYPES[id]) {
      await this.ensureShipped(id);
      row = version === undefined ? await store.latestType(this.db, id) : await store.typeVersion(this.db, id, version);
    }
    if (!row) throw fail('not_found', version === undefined ? `No registration type "${id}"` : `No version ${version} of registration type "${id}"`);
    const document = row.document as RegistrationTypeDocument;
    this.typeCache.set(`${id}@${row.version}`, document);
    return { version: row.version, document, createdAt: row.created_at };
  }

  async listTypes(ctx: AuthContext): Promise<RegistrationTypeSummary[]> {
    requireUser(ctx);
    await this.ensureAllShipped();
    return (await store.latestTypes(this.db)).map((r) => summary(r.id, r.version, r.document as RegistrationTypeDocument, r.created_at));
  }

  async getType(ctx: AuthContext, id: string, version?: number): Promise<RegistrationTypeVersion> {
    requireUser(ctx);
    const t = await this.typeDocument(id, version);
    const row = await store.typeVersion(this.db, id, t.version);
    return { ...summary(id, t.version, t.document, row!.created_at), document: t.document };
  }

  async typeVersions(ctx: AuthContext, id: string): Promise<RegistrationTypeSummary[]> {
    requireUser(ctx);
    await this.ensureShipped(id);
    const rows = await store.typeVersions(this.db, id);
    if (!rows.length) throw fail('not_found', `No registration type "${id}"`);
    return rows.map((r) => summary(r.id, r.version, r.document as RegistrationTypeDocument, r.created_at));
  }

  /** Saves a new version; an identical document answers the current version unchanged. */
  async putType(ctx: AuthContext, id: string, body: unknown): Promise<RegistrationTypeVersion> {
    requireScope(ctx, 'registrations:manage');
    const doc = validateTypeDocument(body, id, this.typeDocumentChecks);
    await this.ensureShipped(id);
    const latest = await store.latestType(this.db, id);
    if (latest && canonical(latest.document) === canonical(doc)) return { ...summary(id, latest.version, doc, latest.created_at), document: doc };
    const row = await this.db.transaction().execute(async (trx) => {
      // One writer at a time per type: the next version number is computed from the latest.
      await store.lockType(trx, id);
      const r = await store.insertType(trx, id, doc, actorRef(ctx).id);
      await this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type: 'registration-type.saved', stream: `registration-type:${id}`, data: { typeId: id, version: r!.version } }], { allowSystemTypes: true }), { db: trx });
      return r!;
    });
    this.ledger.notifyAppended();
    return { ...summary(id, row.version, doc, row.created_at), document: doc };
  }

  async rotateHookSecret(ctx: AuthContext, id: string): Promise<{ secret: string }> {
    requireScope(ctx, 'registrations:manage');
    await this.typeDocument(id);
    const secret = newHookSecret();
    await this.db.transaction().execute(async (trx) => {
      await store.setHookSecret(trx, id, this.box.seal(secret));
      await this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type: 'registration-type.hook-secret-rotated', stream: `registration-type:${id}`, data: { typeId: id } }], { allowSystemTypes: true }), { db: trx });
    });
    this.ledger.notifyAppended();
    return { secret };
  }

  private async hookSecret(typeId: string): Promise<string | undefined> {
    const enc = await store.hookSecret(this.db, typeId);
    return enc ? this.box.open(enc) : undefined;
  }

  // --- users: office and registration role -------------------------------------------------

  async profile(ctx: AuthContext, userId: string): Promise<RegistrationProfile> {
    const me = requireUser(ctx);
    if (userId === 'me') userId = me.userId;
    if (userId !== me.userId) requireScope(ctx, 'registrations:manage');
    if (!isUuid(userId) || !(await store.userExists(this.db, userId))) throw fail('not_found', 'No such user');
    return this.presentProfile(userId);
  }

  private async presentProfile(userId: string): Promise<RegistrationProfile> {
    const p = await store.profile(this.db, userId);
    const role = p && isRegistrationRole(p.role) ? p.role : null;
    const office = p?.office_id ? await store.workspace(this.db, p.office_id) : undefined;
    const area = office?.parent_id && role && REGISTRATION_ROLE_RIGHTS[role].reach === 'jurisdiction' ? await store.workspace(this.db, office.parent_id) : undefined;
    return {
      userId,
      role,
      office: office ? { id: office.id, name: office.name, externalId: office.external_id } : null,
      jurisdiction: area ? { id: area.id, name: area.name } : null,
      reach: role ? REGISTRATION_ROLE_RIGHTS[role].reach : null,
    };
  }

  async setProfile(ctx: AuthContext, userId: string, p: { officeId: string | null; role: string | null }): Promise<RegistrationProfile> {
    requireScope(ctx, 'registrations:manage');
    if (!isUuid(userId) || !(await store.userExists(this.db, userId))) throw fail('not_found', 'No such user');
    if (p.role !== null && !isRegistrationRole(p.role)) throw fail('validation_failed', 'Unknown registration role', [{ pointer: '/role', message: `must be one of ${Object.keys(REGISTRATION_ROLE_RIGHTS).join(', ')}` }]);
    if (p.officeId !== null) {
      const office = isUuid(p.officeId) ? await store.workspace(this.db, p.officeId) : undefined;
      if (!office || office.kind !== 'office') throw fail('validation_failed', 'The office must be a workspace of kind office', [{ pointer: '/officeId', message: 'not an office' }]);
      if (!office.parent_id) throw fail('validation_failed', 'An office must sit under an area (its jurisdiction)', [{ pointer: '/officeId', message: 'office without a parent area' }]);
    }
    await this.db.transaction().execute(async (trx) => {
      await store.setProfile(trx, userId, p.officeId, p.role);
      await this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type: 'user.registration-profile-set', stream: `user:${userId}`, data: { userId, officeId: p.officeId, role: p.role } }], { allowSystemTypes: true }), { db: trx });
    });
    this.ledger.notifyAppended();
    return this.presentProfile(userId);
  }

  /** The caller's registration role, office and reach; 403 without a role and an office. */
  async caller(ctx: AuthContext): Promise<Caller> {
    const user = requireUser(ctx);
    const p = await store.profile(this.db, user.userId);
    if (!p || !isRegistrationRole(p.role) || !p.office_id) throw fail('registration_role_required', 'You have no registration role and office; an administrator sets them');
    const office = await store.workspace(this.db, p.office_id);
    if (!office) throw fail('registration_role_required', 'Your office no longer exists');
    const reach = REGISTRATION_ROLE_RIGHTS[p.role].reach === 'country' ? null : office.path.replace(/[^/]+\/$/, '');
    return { ctx, userId: user.userId, role: p.role, officeId: office.id, officePath: office.path, reach };
  }

  private inReach(c: Caller, row: { office_path: string }): boolean {
    return decide(c.ctx, 'read', this.resource(c, row.office_path)).allow;
  }

  /** The facts policies/ judges a registration action on. */
  private resource(c: Caller, officePath: string, more: { typeRoles?: readonly string[]; custom?: boolean } = {}): RegistrationResource {
    return { kind: 'registration', caller: { role: c.role, reach: c.reach }, officePath, ...more };
  }

  /** A registration the caller may see, or 404 as if it did not exist. */
  private async visible(c: Caller, id: string): Promise<RegistrationRow> {
    const row = isUuid(id) ? await store.get(this.db, id) : TRACKING_ID_RE.test(id) ? await store.byTrackingId(this.db, id) : undefined;
    if (!row || !this.inReach(c, row)) throw fail('not_found', 'No such registration');
    return row;
  }

  // --- data ----------------------------------------------------------------------------------

  /**
   * Validates answers against the type version; checks locations and documents exist. `places`:
   * the locations already looked up (a legacy import loads the tree once, not once per row).
   */
  async checkData(doc: RegistrationTypeDocument, data: unknown, mode: 'notify' | 'complete', places?: ReadonlyMap<string, { kind: string; path: string }>): Promise<RegistrationDataResult & { eventLocationPath: string | null }> {
    const today = this.clock.now().toISOString().slice(0, 10);
    // A legacy register's own number (issue 13) is kept on the record beside the answers, searchable; it is no form's field.
    const { legacyId, ...answers } = (data && typeof data === 'object' && !Array.isArray(data) ? data : {}) as Record<string, unknown>;
    const r = validateRegistrationData(doc.form, legacyId === undefined ? data : answers, { today });
    const errors = [...r.errors];
    if (legacyId !== undefined) {
      if (typeof legacyId === 'string' && legacyId.trim() && legacyId.length <= 100) r.data.legacyId = legacyId.trim();
      else errors.push({ field: 'legacyId', pointer: '/legacyId', code: 'too_long', message: 'legacyId is text of 1 to 100 characters' });
    }
    if (mode === 'complete') {
      const missing = new Set(r.missing);
      for (const id of doc.requiredToDeclare ?? []) if (!(id in r.data)) missing.add(id);
      for (const e of errors) missing.delete(e.field);
      for (const id of missing) errors.push({ field: id, pointer: `/${id.replace(/~/g, '~0').replace(/\//g, '~1')}`, code: 'required', message: 'an answer is required to declare' });
    }
    const byId = places ?? new Map((await store.workspaces(this.db, [...new Set(r.locations.map((l) => l.id))])).map((w) => [w.id, w]));
    for (const l of r.locations) {
      const w = byId.get(l.id);
      if (!w || (w.kind !== 'area' && w.kind !== 'office') || (l.kind !== 'any' && w.kind !== l.kind)) errors.push({ field: l.field, pointer: `/${l.field}`, code: 'not_an_option', message: l.kind === 'any' ? 'is not a location' : `is not a location of kind ${l.kind}` });
    }
    const docs = new Set((await store.documents(this.db, [...new Set(r.documents.map((d) => d.documentId))])).map((d) => d.sha256));
    for (const d of r.documents) if (!docs.has(d.documentId)) errors.push({ field: d.field, pointer: `/${d.field}`, code: 'not_an_option', message: 'no uploaded document has this id' });
    if (errors.length) throw fail('invalid_registration_data', `The data has ${errors.length} problem${errors.length > 1 ? 's' : ''}`, { errors: errors.slice(0, 100) });
    const locField = doc.eventLocationField;
    const loc = typeof r.data[locField] === 'string' ? byId.get(r.data[locField] as string) : undefined;
    return { ...r, errors, eventLocationPath: loc?.path ?? null };
  }

  /** What the entry records about the data: the answers, derived values, event date and place, rule flags. */
  dataFields(doc: RegistrationTypeDocument, r: RegistrationDataResult & { eventLocationPath: string | null }, declaredAt: Date): Partial<EntryData> {
    const ev = r.data[doc.eventDateField];
    const eventDate = typeof ev === 'string' ? ev : null;
    const loc = r.data[doc.eventLocationField];
    return {
      data: r.data,
      derived: r.derived,
      eventDate,
      eventLocationId: typeof loc === 'string' ? loc : null,
      eventLocationPath: r.eventLocationPath,
      ruleFlags: this.ruleFlags(doc, r.data, eventDate, declaredAt),
    };
  }

  private ruleFlags(doc: RegistrationTypeDocument, data: Record<string, JsonValue>, eventDate: string | null, at: Date): string[] {
    const days = eventDate ? Math.floor((at.getTime() - Date.parse(`${eventDate}T00:00:00Z`)) / 86_400_000) : null;
    const scope = { data: nestAnswers(data), declaredAt: at.toISOString().slice(0, 10), eventDate, daysSinceEvent: days };
    const out: string[] = [];
    for (const f of doc.flags ?? []) {
      try {
        if (truthy(evaluate(f.when, scope))) out.push(f.id);
      } catch (e) {
        if (!(e instanceof ExpressionError)) throw e;
      }
    }
    return out.sort();
  }

  // --- writing -------------------------------------------------------------------------------

  /**
   * The registration a transactionId already wrote, for a retry to answer it; only into the same
   * target (docs/security.md): a create retries a create, an action retries on the same
   * registration. Anything else is 409 idempotency_conflict, naming nothing of the original.
   */
  private async replayed(ctx: AuthContext, transactionId: string | undefined, target: { create: true } | { registrationId: string }): Promise<string | undefined> {
    if (!transactionId) return undefined;
    const a = actorRef(ctx);
    const [prior] = await ledgerStore.findByTransactionIds(this.db, a.kind, a.id, [transactionId]);
    if (!prior) return undefined;
    const entry = await ledgerStore.getById(this.db, prior.id);
    const d = entry?.data as (EntryData & { create?: unknown }) | undefined;
    const same = !!entry?.type.startsWith(ENTRY_PREFIX) && !!d?.registrationId && ('create' in target ? d.create !== undefined : d.registrationId === target.registrationId);
    if (!same) throw fail('idempotency_conflict', 'This transactionId was already used for something else; use a new one', [{ pointer: '/transactionId', message: 'already used for another target' }]);
    return d!.registrationId;
  }

  /**
   * Appends the entries and writes the state they fold to, in one transaction. `expectVersion`
   * guards against a change between the caller's read and this write (hooks run in between).
   */
  private async commit(ctx: AuthContext, id: string, entries: Array<{ action: string; data: EntryData }>, transactionId: string | undefined, expectVersion: number | null, at = this.clock.now()): Promise<RegState> {
    const prepared = this.ledger.prepare(
      ctx,
      entries.map((e, i) => ({ type: entryType(e.action), stream: `registration:${id}`, data: e.data as unknown as Record<string, unknown>, occurredAt: at, transactionId: i === 0 ? transactionId : undefined })),
      { allowSystemTypes: true },
    );
    // A create's stream is minted per attempt: a concurrent retry is matched on the type.
    if (expectVersion === null && prepared[0]) prepared[0].replayTarget = 'type';
    const state = await this.db.transaction().execute(async (trx) => {
      if (expectVersion !== null) {
        const row = await store.get(trx, id, { forUpdate: true });
        if (!row || row.version !== expectVersion) throw fail('version_conflict', 'The registration changed meanwhile; reload it and try again');
      }
      // The registrations projection (registrations.projection.ts) is inline: the ledger applies
      // it to these entries inside this transaction, so the state commits with them.
      const results = await this.ledger.append(ctx, prepared, { db: trx });
      if (results[0]?.replayed) throw new Replayed(results[0].id);
      const row = await store.get(trx, id);
      if (!row) throw new Error(`registration ${id} has no state after its entries were appended`);
      return rowToState(row);
    });
    this.ledger.notifyAppended();
    return state;
  }

  /** `as`: the caller worked out elsewhere (an app notifying into its office, notifiers/); default: the signed-in user. */
  async create(ctx: AuthContext, input: CreateRegistrationInput, as?: Caller): Promise<{ registration: Registration; replayed: boolean }> {
    const c = as ?? (await this.caller(ctx));
    const prior = await this.replayed(ctx, input.transactionId, { create: true });
    if (prior) return { registration: await this.present(await this.visible(c, prior)), replayed: true };
    authorize(c.ctx, input.action, this.resource(c, c.officePath));
    const type = await this.typeDocument(input.type).catch((e: unknown) => {
      if (e instanceof AppError && e.code === 'not_found') throw fail('validation_failed', `No registration type "${input.type}"`, [{ pointer: '/type', message: 'unknown type' }]);
      throw e;
    });
    this.checkTypeRoles(type.document, input.action, c);
    // Work captured offline is dated when the person confirmed it, not when it synced.
    const now = clientOccurredAt(input.occurredAt, this.clock.now());
    const checked = await this.checkData(type.document, input.data, input.action === 'declare' ? 'complete' : 'notify');
    const id = newId();
    const base: EntryData = {
      registrationId: id,
      ...this.dataFields(type.document, checked, now),
      ...(input.action === 'notify' && checked.missing.length ? { missing: checked.missing } : {}),
      actorRole: c.role,
      actorOfficeId: c.officeId,
    };
    const hook = await this.runHook(type.document, input.type, input.action, () => ({ id, status: 'created', data: checked.data }));
    if (hook?.kind === 'rejected') throw fail('hook_rejected', `The external system refused: ${hook.reason}`, { reason: hook.reason });
    const duplicates = input.action === 'declare' ? await this.findDuplicates({ id, type: input.type, typeVersion: type.version, data: checked.data, officePath: c.officePath }, 'declare') : null;
    for (let attempt = 0; ; attempt++) {
      const trackingId = newTrackingId();
      const entries: Array<{ action: string; data: EntryData }> = [
        { action: input.action, data: { ...base, create: { trackingId, type: input.type, typeVersion: type.version, officeId: c.officeId, officePath: c.officePath } } },
      ];
      if (duplicates?.matches.length) entries.push({ action: 'duplicate-detected', data: { registrationId: id, matches: duplicates.matches, details: duplicates.details ?? {}, actorRole: c.role, actorOfficeId: c.officeId } });
      try {
        const s = await this.commit(ctx, id, entries, input.transactionId, null, now);
        return { registration: this.presentState(s), replayed: false };
      } catch (e) {
        if (e instanceof Replayed) {
          const again = await this.replayed(ctx, input.transactionId, { create: true });
          return { registration: await this.present(await this.visible(c, again!)), replayed: true };
        }
        // 25^7 ids make a collision rare; the unique index decides, and we draw again.
        if (attempt < 5 && (e as { code?: string; constraint?: string }).constraint === 'registrations_tracking_id_key') continue;
        throw e;
      }
    }
  }

  private checkTypeRoles(doc: RegistrationTypeDocument, action: string, c: Caller): void {
    const cfg = (doc.actions as Record<string, { roles?: string[] } | undefined> | undefined)?.[action] ?? doc.customActions?.[action];
    if (cfg?.roles && !cfg.roles.includes(c.role)) throw fail('forbidden', `This type lets only ${cfg.roles.join(', ')} ${action}`);
  }

  private typeAllows(doc: RegistrationTypeDocument, action: string, s: RegState): boolean {
    const cfg = (doc.actions as Record<string, { allowedWhen?: unknown } | undefined> | undefined)?.[action] ?? doc.customActions?.[action];
    if (cfg?.allowedWhen === undefined) return true;
    try {
      return truthy(evaluate(cfg.allowedWhen as JsonValue, { data: nestAnswers(s.data), status: s.status, flags: allFlags(s) }));
    } catch (e) {
      if (!(e instanceof ExpressionError)) throw e;
      return false;
    }
  }

  /** Why the caller may not take `action` now, or null. Same order as act() checks. */
  private why(c: Caller, doc: RegistrationTypeDocument, s: RegState, action: string, force = false): { code: string; message: string; status: number } | null {
    const custom = !(CORE_ACTIONS as readonly string[]).includes(action);
    if (custom && !doc.customActions?.[action]) return { code: 'unknown_action', message: `"${action}" is not an action of this registration type`, status: 422 };
    if (action === 'notify') return { code: 'action_not_allowed', message: 'notify only creates a registration', status: 409 };
    const cfg = (doc.actions as Record<string, { roles?: string[] } | undefined> | undefined)?.[action] ?? doc.customActions?.[action];
    const d = decide(c.ctx, action, this.resource(c, s.officePath, { typeRoles: cfg?.roles, custom }));
    if (!d.allow) return { code: d.code, message: d.message, status: d.code === 'not_found' ? 404 : d.code === 'unauthenticated' ? 401 : 403 };
    const supervisor = REGISTRATION_ROLE_RIGHTS[c.role].supervisor;
    if (action === 'assign' && s.assignedTo && s.assignedTo !== c.userId && !(force && supervisor)) {
      return { code: 'registration_assigned_elsewhere', message: supervisor ? 'Assigned to someone else; send force: true to take it over' : 'Assigned to someone else; a registrar can take it over', status: 409 };
    }
    if (action === 'unassign') {
      if (!s.assignedTo) return { code: 'action_not_allowed', message: 'Nobody is assigned', status: 409 };
      if (s.assignedTo !== c.userId && !supervisor) return { code: 'registration_assigned_elsewhere', message: 'Only a registrar can release someone else’s assignment', status: 409 };
    }
    if (!UNASSIGNED_ACTIONS.includes(action) && s.assignedTo !== c.userId) return { code: 'registration_not_assigned', message: 'Assign the registration to yourself first', status: 409 };
    const r = refusal(s, action, { custom: custom ? { statuses: doc.customActions?.[action]?.statuses } : undefined });
    if (r) return { ...r, status: 409 };
    if (!this.typeAllows(doc, action, s)) return { code: 'action_not_allowed', message: 'The registration type does not allow this action for this record', status: 409 };
    return null;
  }

  async act(ctx: AuthContext, id: string, action: string, input: ActionInput): Promise<{ registration: Registration; replayed: boolean }> {
    const c = await this.caller(ctx);
    const row = await this.visible(c, id);
    const prior = await this.replayed(ctx, input.transactionId, { registrationId: row.id });
    if (prior) return { registration: await this.present(await this.visible(c, prior)), replayed: true };
    if (action === READ_ACTION) throw fail('unknown_action', `"${action}" is not an action`);
    const s = rowToState(row);
    const { document: doc } = await this.typeDocument(s.type, s.typeVersion);
    const now = clientOccurredAt(input.occurredAt, this.clock.now());
    const no = this.why(c, doc, s, action, input.force === true);
    if (no) throw new AppError(no.code as never, no.message);
    const base = { registrationId: s.id, actorRole: c.role, actorOfficeId: c.officeId } satisfies EntryData;
    const reason = input.reason?.trim() || undefined;
    const needReason = () => {
      if (!reason) throw fail('validation_failed', `${action} needs a reason`, [{ pointer: '/reason', message: 'required' }]);
    };
    const merged = () => mergeData(s.data, input.data);
    let entry: EntryData = { ...base, ...(reason ? { reason } : {}) };
    const extra: Array<{ action: string; data: EntryData }> = [];
    switch (action) {
      case 'declare':
      case 'validate':
      case 'register': {
        if (input.data !== undefined || action === 'declare') {
          const checked = await this.checkData(doc, merged(), 'complete');
          entry = { ...entry, ...this.dataFields(doc, checked, action === 'declare' ? now : new Date(s.createdAt)) };
        }
        if (action === 'declare' || action === 'register') {
          const dup = await this.findDuplicates({ id: s.id, type: s.type, typeVersion: s.typeVersion, data: entry.data ?? s.data, officePath: s.officePath }, action);
          if (dup.matches.length) {
            const detected = { ...base, matches: dup.matches, details: dup.details ?? {} };
            if (action === 'register') {
              // Recorded, then refused: the flag now blocks registering until someone decides.
              await this.commit(ctx, s.id, [{ action: 'duplicate-detected', data: detected }], undefined, s.version);
              throw fail('potential_duplicate_unresolved', 'This registration may duplicate another; resolve that first', { matches: dup.matches });
            }
            extra.push({ action: 'duplicate-detected', data: detected });
          }
        }
        break;
      }
      case 'reject':
        needReason();
        break;
      case 'print-certificate': {
        entry = { ...entry, ...this.checkPrint(doc, input.data) };
        break;
      }
      case 'request-correction': {
        needReason();
        if (!input.data || !Object.keys(input.data).length) throw fail('validation_failed', 'A correction needs the corrected answers', [{ pointer: '/data', message: 'required' }]);
        const checked = await this.checkData(doc, merged(), 'complete');
        entry.correction = { data: checked.data, derived: checked.derived };
        break;
      }
      case 'reject-correction':
      case 'mark-not-duplicate':
        needReason();
        break;
      case 'mark-as-duplicate': {
        needReason();
        const of = input.data?.duplicateOf;
        if (typeof of !== 'string' || !isUuid(of) || !s.duplicateOf.includes(of)) throw fail('validation_failed', 'duplicateOf must be one of the registrations it was matched with', [{ pointer: '/data/duplicateOf', message: 'not a match of this registration' }]);
        entry.details = { duplicateOf: of };
        break;
      }
      case 'duplicate-detected': {
        const m = input.data?.matches;
        if (!Array.isArray(m) || !m.length || m.length > 50 || !m.every((x) => typeof x === 'string' && isUuid(x) && x !== s.id)) throw fail('validation_failed', 'matches must list the ids of the registrations it may duplicate', [{ pointer: '/data/matches', message: 'a list of registration ids' }]);
        entry.matches = m as string[];
        break;
      }
      case 'assign':
        entry.assignee = c.userId;
        if (s.assignedTo && s.assignedTo !== c.userId) entry.details = { tookOverFrom: s.assignedTo };
        break;
      case 'unassign':
      case 'archive':
      case 'approve-correction':
        break;
      default: {
        const cfg = doc.customActions![action]!;
        if (cfg.fields?.length) {
          const r = validateRegistrationData({ pages: [{ id: 'form', title: 'form', fields: cfg.fields }] }, input.data ?? {}, { today: now.toISOString().slice(0, 10) });
          const errors = [...r.errors, ...r.missing.map((f) => ({ field: f, pointer: `/${f}`, code: 'required' as const, message: 'an answer is required' }))];
          if (errors.length) throw fail('invalid_registration_data', 'The action form has problems', { errors });
          entry.details = r.data;
        } else if (input.data && Object.keys(input.data).length) throw fail('validation_failed', 'This action takes no data', [{ pointer: '/data', message: 'not expected' }]);
        if (cfg.addsFlags?.length) entry.addsFlags = cfg.addsFlags;
        if (cfg.removesFlags?.length) entry.removesFlags = cfg.removesFlags;
      }
    }
    if ((HOOKED as readonly string[]).includes(action)) {
      const preview = apply(s, { action, at: now, actorId: c.userId, data: entry });
      const hook = await this.runHook(doc, s.type, action, () => ({ ...this.presentState(preview), status: s.status }));
      if (hook) {
        if (action === 'register') {
          if (hook.kind === 'accepted') {
            const n = hook.body.registrationNumber;
            if (typeof n !== 'string' || !/^[A-Za-z0-9/_.-]{1,100}$/.test(n)) throw fail('registration_hook_failed', 'The external system answered 200 without a usable registrationNumber');
            entry.registrationNumber = n;
            entry.details = { hook: 'accepted' };
          } else if (hook.kind === 'pending') {
            entry.pending = true;
          } else if (hook.kind === 'rejected') {
            const rejected = await this.commit(ctx, s.id, [{ action: 'reject', data: { ...base, reason: hook.reason, details: { hook: 'rejected', status: hook.status } } }], input.transactionId, s.version, now);
            return { registration: this.presentState(rejected), replayed: false };
          }
        } else if (hook.kind === 'rejected') throw fail('hook_rejected', `The external system refused: ${hook.reason}`, { reason: hook.reason });
      }
    }
    if (action === 'register' && !entry.pending && !entry.registrationNumber) entry.registrationNumber = await this.nextNumber(doc, s);
    const next = await this.commit(ctx, s.id, [{ action, data: entry }, ...extra], input.transactionId, s.version, now).catch(async (e: unknown) => {
      if (e instanceof Replayed) return rowToState((await store.get(this.db, s.id))!);
      throw e;
    });
    return { registration: this.presentState(next), replayed: false };
  }

  private checkPrint(doc: RegistrationTypeDocument, data: Record<string, unknown> | undefined): Partial<EntryData> {
    const d = (data ?? {}) as Record<string, JsonValue>;
    const bad = (pointer: string, message: string) => fail('validation_failed', `print-certificate: ${message}`, [{ pointer, message }]);
    for (const k of Object.keys(d)) if (!['collector', 'copies', 'template', 'fee'].includes(k)) throw bad(`/data/${k}`, 'unknown property');
    const col = d.collector;
    if (!col || typeof col !== 'object' || Array.isArray(col)) throw bad('/data/collector', 'who collects the certificate is required');
    const c = col as Record<string, JsonValue>;
    for (const k of Object.keys(c)) if (!['relation', 'name', 'idType', 'idNumber'].includes(k)) throw bad(`/data/collector/${k}`, 'unknown property');
    if (typeof c.relation !== 'string' || !/^[a-z-]{1,32}$/.test(c.relation)) throw bad('/data/collector/relation', 'must be informant, mother, father, other...');
    if (typeof c.name !== 'string' || !c.name.trim() || c.name.length > 200) throw bad('/data/collector/name', "the collector's name is required");
    for (const k of ['idType', 'idNumber']) if (c[k] !== undefined && (typeof c[k] !== 'string' || (c[k] as string).length > 100)) throw bad(`/data/collector/${k}`, 'must be text');
    const copies = d.copies ?? 1;
    if (typeof copies !== 'number' || !Number.isInteger(copies) || copies < 1 || copies > 100) throw bad('/data/copies', 'must be a whole number from 1 to 100');
    if (d.template !== undefined && !(doc.certificates ?? []).some((t) => t.id === d.template)) throw bad('/data/template', 'not a certificate template of this type');
    // The printed template's own fee, else the type's (the certificate renders the first template by default).
    const due = certificateFee(doc, d.template as string | undefined, copies);
    const fee = d.fee;
    let recorded: { amount: number; currency: string; paid: true } | undefined;
    if (due) {
      if (!fee || typeof fee !== 'object' || Array.isArray(fee)) throw bad('/data/fee', `this certificate costs ${due.amount / copies} ${due.currency} per copy; record the fee`);
      const f = fee as Record<string, JsonValue>;
      for (const k of Object.keys(f)) if (!['amount', 'currency', 'paid'].includes(k)) throw bad(`/data/fee/${k}`, 'unknown property');
      if (f.amount !== due.amount || f.currency !== due.currency || f.paid !== true) throw bad('/data/fee', `must be { amount: ${due.amount}, currency: "${due.currency}", paid: true }`);
      recorded = { amount: f.amount, currency: f.currency, paid: true };
    } else if (fee !== undefined) throw bad('/data/fee', 'this type charges no fee');
    return { copies, details: { collector: { relation: c.relation, name: c.name.trim(), ...(c.idType ? { idType: c.idType } : {}), ...(c.idNumber ? { idNumber: c.idNumber } : {}) }, copies, ...(d.template ? { template: d.template } : {}), ...(recorded ? { fee: recorded } : {}) } };
  }

  private async nextNumber(doc: RegistrationTypeDocument, s: RegState): Promise<string> {
    const pattern = doc.registrationNumber?.pattern ?? '{TYPE}-{year}-{seq:6}';
    const year = this.clock.now().getUTCFullYear();
    const office = (await store.workspace(this.db, s.officeId))?.external_id ?? s.officeId.slice(0, 8);
    const key = `${s.type}:${year}${pattern.includes('{office}') ? `:${office}` : ''}`;
    for (let i = 0; i < 5; i++) {
      // A counter outside the writer's transaction: a number may be skipped if the write fails, never reused.
      const seq = await store.nextCounter(this.db, key);
      const n = formatNumber(pattern, { type: s.type, year, office, seq });
      if (!(await store.numberTaken(this.db, n))) return n;
    }
    throw fail('conflict', 'Could not find a free registration number; check the type’s pattern');
  }

  private async runHook(doc: RegistrationTypeDocument, typeId: string, action: string, body: () => unknown): Promise<HookOutcome | null> {
    const cfg = doc.hooks?.[action as (typeof HOOKED)[number]];
    if (!cfg) return null;
    const secret = await this.hookSecret(typeId);
    if (!secret) throw fail('registration_hook_failed', 'The type has a hook but no signing secret; an administrator must create one');
    const outcome = await callHook(cfg.url, secret, { type: typeId, action, registration: body() }, cfg.timeoutMs ?? 5000);
    if (outcome.kind === 'failed') {
      this.log.warn({ typeId, action, reason: outcome.message }, 'registration hook failed');
      throw fail('registration_hook_failed', `The external system ${outcome.message}; nothing was recorded, try again`);
    }
    return outcome;
  }

  private async findDuplicates(reg: Parameters<DuplicateChecker>[1], when: 'declare' | 'register'): Promise<{ matches: string[]; details?: Record<string, JsonValue> }> {
    const matches = new Set<string>();
    let details: Record<string, JsonValue> | undefined;
    for (const check of this.duplicateCheckers) {
      const r = await check(this.db, reg, when);
      for (const m of r.matches) if (m !== reg.id) matches.add(m);
      if (r.details) details = { ...details, ...r.details };
    }
    return { matches: [...matches].sort(), details };
  }

  /** The external system's answer to a 202: signed with the type's secret (Standard Webhooks). */
  async externalValidation(id: string, rawBody: string, headers: Record<string, string | string[] | undefined>): Promise<Registration> {
    const row = isUuid(id) ? await store.get(this.db, id) : undefined;
    if (!row) throw fail('not_found', 'No such registration');
    const secret = await this.hookSecret(row.type);
    let body: unknown;
    try {
      if (!secret) throw new Error('no secret');
      body = verifyCallback(secret, rawBody, headers);
    } catch {
      throw fail('unauthenticated', 'The callback must be signed with the type’s hook secret (Standard Webhooks headers)');
    }
    const s = rowToState(row);
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const ctx = systemContext;
    const base = { registrationId: s.id, actorRole: null, actorOfficeId: null } satisfies EntryData;
    const txId = typeof headers['webhook-id'] === 'string' ? `hook:${headers['webhook-id']}` : undefined;
    if (await this.replayed(ctx, txId, { registrationId: s.id })) return this.present((await store.get(this.db, s.id))!);
    if (!s.coreFlags.includes('waiting-for-external-validation')) throw fail('action_not_allowed', 'The registration is not waiting for external validation');
    let next: RegState;
    if (typeof b.registrationNumber === 'string' && /^[A-Za-z0-9/_.-]{1,100}$/.test(b.registrationNumber)) {
      next = await this.commit(ctx, s.id, [{ action: 'register', data: { ...base, registrationNumber: b.registrationNumber, details: { hook: 'callback' } } }], txId, s.version);
    } else if (b.rejected === true) {
      const reason = typeof b.reason === 'string' && b.reason.trim() ? b.reason.slice(0, 1000) : 'Refused by the external system';
      next = await this.commit(ctx, s.id, [{ action: 'reject', data: { ...base, reason, details: { hook: 'callback' } } }], txId, s.version);
    } else throw fail('validation_failed', 'Send { "registrationNumber" } or { "rejected": true, "reason" }', [{ pointer: '/registrationNumber', message: 'required' }]);
    return this.presentState(next);
  }

  // --- reading -------------------------------------------------------------------------------

  async get(ctx: AuthContext, id: string): Promise<RegistrationDetail> {
    const c = await this.caller(ctx);
    const row = await this.visible(c, id);
    // Opening a record is audited, as OpenCRVS does: one entry per opening, in its stream. The
    // page is answered only once the entry is written, but it is put together meanwhile.
    // Its commit does not wait for the disk flush (relaxedCommit: only a crash of PostgreSQL
    // within a fraction of a second of the read can lose it; docs/security.md, "Audit of reads").
    const audited = this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type: entryType(READ_ACTION), stream: `registration:${row.id}`, data: { registrationId: row.id, actorRole: c.role, actorOfficeId: c.officeId } }], { allowSystemTypes: true }), { relaxedCommit: true });
    const page = (async () => {
      const s = rowToState(row);
      const { document: doc } = await this.typeDocument(s.type, s.typeVersion);
      const actions: AvailableAction[] = [];
      for (const a of [...CORE_ACTIONS.filter((x) => x !== 'notify'), ...Object.keys(doc.customActions ?? {})]) {
        const no = this.why(c, doc, s, a);
        actions.push(no ? { action: a, allowed: false, reason: no.code } : { action: a, allowed: true });
      }
      return { ...(await this.present(row)), actions };
    })();
    const [, detail] = await Promise.all([audited, page]);
    return detail;
  }

  async history(ctx: AuthContext, id: string): Promise<RegistrationHistoryItem[]> {
    const c = await this.caller(ctx);
    const row = await this.visible(c, id);
    const entries = await this.streamEntries(row.id);
    const users = await store.usernames(this.db, [...new Set(entries.flatMap((e) => (e.actor.id ? [e.actor.id] : [])))]);
    const offices = new Map((await store.workspaces(this.db, [...new Set(entries.flatMap((e) => ((e.data as EntryData).actorOfficeId ? [(e.data as EntryData).actorOfficeId!] : [])))])).map((w) => [w.id, w.name]));
    const out: RegistrationHistoryItem[] = [];
    let s: RegState | null = null;
    for (const e of entries) {
      const f = toFoldEntry(e);
      const before: RegState | null = s;
      s = apply(s, f);
      const d = f.data;
      const details: Record<string, JsonValue> = { ...(d.details ?? {}) };
      if (d.registrationNumber) details.registrationNumber = d.registrationNumber;
      if (d.pending) details.pending = true;
      if (d.matches) details.matches = d.matches;
      if (d.missing) details.missing = d.missing;
      if (d.correction) details.correction = diff(s.data, d.correction.data) as unknown as JsonValue;
      out.push({
        entryId: e.id,
        action: f.action,
        at: f.at.toISOString(),
        actor: {
          kind: e.actor.kind as RegistrationHistoryItem['actor']['kind'],
          id: e.actor.id,
          username: e.actor.id ? (users.get(e.actor.id) ?? null) : null,
          role: (d.actorRole ?? null) as RegistrationHistoryItem['actor']['role'],
          officeId: d.actorOfficeId ?? null,
          officeName: d.actorOfficeId ? (offices.get(d.actorOfficeId) ?? null) : null,
        },
        reason: d.reason ?? null,
        changes: f.action === READ_ACTION ? [] : diff(before?.data ?? {}, s.data),
        details,
        statusAfter: s.status,
        flagsAfter: allFlags(s),
      });
    }
    return out;
  }

  private async streamEntries(id: string): Promise<Array<LedgerEntryLike & { id: string }>> {
    const rows = await ledgerStore.list(this.db, { kind: 'all' }, { stream: `registration:${id}`, limit: 100_000 });
    return rows
      .map((r) => ({ id: r.id, type: r.type, stream: r.stream, streamSeq: r.stream_seq, data: r.data, actor: { kind: r.actor_kind, id: r.actor_id }, occurredAt: r.occurred_at }))
      .sort((a, b) => (a.streamSeq ?? 0) - (b.streamSeq ?? 0));
  }

  async list(ctx: AuthContext, q: RegistrationListQuery): Promise<RegistrationList> {
    const c = await this.caller(ctx);
    const limit = q.limit ?? 50;
    let after: { at: Date; id: string } | undefined;
    if (q.after) {
      const m = /^(\d{13,16})_([0-9a-f-]{36})$/.exec(q.after);
      if (!m || !isUuid(m[2]!)) throw fail('invalid_cursor', 'Not a cursor this list gave');
      after = { at: new Date(Number(m[1]) / 1000), id: m[2]! };
    }
    let locationPath: string | undefined;
    if (q.location) {
      const w = isUuid(q.location) ? await store.workspace(this.db, q.location) : undefined;
      if (!w) throw fail('validation_failed', 'No such location', [{ pointer: '/location', message: 'unknown location' }]);
      locationPath = w.path;
    }
    const assignedTo = q.assignedTo === 'me' ? c.userId : q.assignedTo;
    if (assignedTo !== undefined && !isUuid(assignedTo)) throw fail('validation_failed', 'assignedTo must be a user id or "me"', [{ pointer: '/assignedTo', message: 'invalid' }]);
    const rows = await store.list(this.db, { reach: c.reach, status: q.status, flag: q.flag, type: q.type, locationPath, assignedTo: q.queue === 'assigned-to-me' ? c.userId : assignedTo, queue: q.queue, after, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const items = await this.presentMany(page);
    // Microseconds: timestamptz keeps them, and a cursor must not skip rows sharing a millisecond.
    return { items, next: rows.length > limit && last ? `${Math.round(last.updated_at.getTime() * 1000)}_${last.id}` : null };
  }

  async workqueues(ctx: AuthContext): Promise<WorkqueueCounts> {
    const c = await this.caller(ctx);
    const counts = await store.counts(this.db, c.reach, c.userId);
    return Object.fromEntries(WORKQUEUES.map((q) => [q, counts[q] ?? 0])) as WorkqueueCounts;
  }

  private async present(row: RegistrationRow): Promise<Registration> {
    return (await this.presentMany([row]))[0]!;
  }

  private async presentMany(rows: RegistrationRow[]): Promise<Registration[]> {
    const ids = [...new Set(rows.flatMap((r) => [r.assigned_to, r.created_by].filter((x): x is string => !!x)))];
    const names = await store.usernames(this.db, ids);
    return rows.map((r) => this.presentState(rowToState(r), names));
  }

  private presentState(s: RegState, names?: Map<string, string>): Registration {
    const ref = (id: string | null) => (id ? { id, username: names?.get(id) ?? '' } : null);
    return {
      id: s.id,
      trackingId: s.trackingId,
      type: s.type,
      typeVersion: s.typeVersion,
      status: s.status,
      flags: allFlags(s),
      data: s.data,
      derived: s.derived,
      registrationNumber: s.registrationNumber,
      officeId: s.officeId,
      eventDate: s.eventDate,
      eventLocationId: s.eventLocationId,
      assignedTo: ref(s.assignedTo),
      duplicateOf: s.duplicateOf,
      printedCopies: s.printedCopies,
      createdBy: ref(s.createdBy),
      createdAt: s.createdAt.toISOString(),
      updatedAt: s.updatedAt.toISOString(),
      version: s.version,
      ...(s.correction ? { correction: { data: s.correction.data } } : {}),
    };
  }

  // --- documents -----------------------------------------------------------------------------

  async uploadDocument(ctx: AuthContext, body: Buffer, mediaType: string): Promise<{ documentId: string; mediaType: string; size: number }> {
    const c = await this.caller(ctx);
    const type = mediaType.split(';')[0]!.trim().toLowerCase();
    if (!DOCUMENT_TYPES.includes(type)) throw fail('unsupported_media_type', `Documents must be ${DOCUMENT_TYPES.join(', ')}`);
    if (body.length === 0) throw fail('validation_failed', 'The document is empty');
    if (body.length > MAX_DOCUMENT_BYTES) throw fail('payload_too_large', `Documents are at most ${MAX_DOCUMENT_BYTES} bytes`);
    if (!magicMatches(type, body)) throw fail('unsupported_media_type', `The content is not a ${type} file`);
    const put = await this.blobs.put(Readable.from([body]), { maxBytes: MAX_DOCUMENT_BYTES });
    await store.recordDocument(this.db, { sha256: put.sha256, mediaType: type, size: body.length, by: c.userId });
    return { documentId: put.sha256, mediaType: type, size: body.length };
  }

  /** A document attached to a registration the caller may see. */
  async document(ctx: AuthContext, id: string, documentId: string): Promise<{ stream: Readable; mediaType: string; size: number }> {
    const c = await this.caller(ctx);
    const row = await this.visible(c, id);
    const referenced = JSON.stringify([row.data, row.correction]).includes(`"${documentId}"`);
    if (!/^[0-9a-f]{64}$/.test(documentId) || !referenced) throw fail('not_found', 'No such document on this registration');
    const [meta] = await store.documents(this.db, [documentId]);
    if (!meta) throw fail('not_found', 'No such document');
    return { stream: await this.blobs.get(documentId), mediaType: meta.media_type, size: Number(meta.size) };
  }

  // --- certificates ----------------------------------------------------------------------------

  /** The code the certificate's QR carries: the registration id and an HMAC, so ids cannot be guessed into valid codes. */
  verificationCode(id: string): string {
    const mac = createHmac('sha256', this.verifyKey).update(id).digest('base64url').slice(0, 22);
    return `${id}.${mac}`;
  }

  async verify(code: string): Promise<CertificateVerification> {
    const invalid = { valid: false, registrationNumber: null, date: null };
    const m = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{22})$/.exec(code);
    if (!m || !isUuid(m[1]!)) return invalid;
    const expected = Buffer.from(this.verificationCode(m[1]!));
    if (expected.length !== code.length || !timingSafeEqual(expected, Buffer.from(code))) return invalid;
    const row = await store.get(this.db, m[1]!);
    if (!row || row.status !== 'registered' || !row.registration_number) return invalid;
    return { valid: true, registrationNumber: row.registration_number, date: row.registered_at ? row.registered_at.toISOString().slice(0, 10) : null };
  }

  async certificate(ctx: AuthContext, id: string, template: string | undefined, baseUrl: string): Promise<Buffer> {
    const c = await this.caller(ctx);
    const row = await this.visible(c, id);
    if (row.status !== 'registered') throw fail('not_registered', 'Only a registered record has a certificate');
    authorize(c.ctx, 'print-certificate', this.resource(c, row.office_path));
    const s = rowToState(row);
    const { document: doc } = await this.typeDocument(s.type, s.typeVersion);
    const t = template ? doc.certificates?.find((x) => x.id === template) : doc.certificates?.[0];
    if (!t) throw fail('not_found', template ? `No certificate template "${template}" in this type` : 'This type has no certificate template');
    const place = s.eventLocationId ? (await store.workspace(this.db, s.eventLocationId))?.name ?? '' : '';
    return renderCertificatePdf({
      svgTemplate: t.svg,
      data: { data: s.data, derived: s.derived, registrationNumber: s.registrationNumber, trackingId: s.trackingId, registeredOn: s.registeredAt?.toISOString().slice(0, 10) ?? '', eventLocation: place, type: s.type },
      qrUrl: `${baseUrl.replace(/\/$/, '')}/verify/${this.verificationCode(s.id)}`,
      title: `${localise(t.label, 'en')} ${s.registrationNumber}`,
    });
  }
}

function summary(id: string, version: number, doc: RegistrationTypeDocument, createdAt: Date): RegistrationTypeSummary {
  return { id, version, label: doc.label, languages: doc.languages, createdAt: createdAt.toISOString() };
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** Answers after a change: given keys replace, null removes. */
function mergeData(current: Record<string, JsonValue>, patch: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...current };
  for (const [k, v] of Object.entries(patch ?? {})) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

function diff(before: Record<string, JsonValue>, after: Record<string, JsonValue>): FieldChange[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const out: FieldChange[] = [];
  for (const k of keys) {
    const a = before[k] ?? null;
    const b = after[k] ?? null;
    if (canonical(a) !== canonical(b)) out.push({ field: k, from: a, to: b });
  }
  return out;
}

function magicMatches(type: string, b: Buffer): boolean {
  if (type === 'image/png') return b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  if (type === 'image/jpeg') return b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
  return b.subarray(0, 5).toString('latin1') === '%PDF-';
}

