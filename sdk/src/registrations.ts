import { errorFromResponse } from './errors.js';
import { seg, type HttpClient } from './http.js';
import type { Expression, JsonValue, Localised, RegistrationField, RegistrationFormPage, DerivedValue } from './instruments/instrument.types.js';

/**
 * Civil registration (docs/registrations.md): registration types as data, the declare → validate
 * → register workflow, workqueues, certificates. Every action is a ledger entry in the
 * registration's stream; status and flags are a fold over them.
 *
 * This module is a stable contract for the web app: changes are additive only.
 */

// --- vocabulary ----------------------------------------------------------------------------

export const REGISTRATION_STATUSES = ['created', 'notified', 'declared', 'validated', 'registered', 'archived'] as const;
export type RegistrationStatus = (typeof REGISTRATION_STATUSES)[number];

/** Flags the workflow itself sets; a type's rules add their own (e.g. `late-registration`). */
export const CORE_FLAGS = ['incomplete', 'rejected', 'correction-requested', 'potential-duplicate', 'printed', 'waiting-for-external-validation'] as const;
export type CoreFlag = (typeof CORE_FLAGS)[number];
export type RegistrationFlag = CoreFlag | (string & {});

/** Actions every type has. `notify` and `declare` also create a registration (POST /registrations). */
export const CORE_ACTIONS = [
  'notify',
  'declare',
  'validate',
  'register',
  'reject',
  'archive',
  'print-certificate',
  'request-correction',
  'approve-correction',
  'reject-correction',
  'assign',
  'unassign',
  // de-duplication (issue 13 runs the matching; the fold and the review decisions live here)
  'duplicate-detected',
  'mark-not-duplicate',
  'mark-as-duplicate',
] as const;
export type CoreAction = (typeof CORE_ACTIONS)[number];
/** A core action or a custom one the type defines (e.g. `escalate`). */
export type RegistrationActionName = CoreAction | (string & {});

/** Actions that need no assignment (they take or release it, or are recorded by the system). */
export const UNASSIGNED_ACTIONS: readonly string[] = ['assign', 'unassign', 'duplicate-detected'];

/**
 * Registration roles (a user-level setting beside the Cairn role, set by an admin together with
 * the user's office). `reach`: `jurisdiction` = the area directly above the user's office and
 * everything under it; `country` = everything.
 */
export const REGISTRATION_ROLES = ['field-agent', 'registration-agent', 'local-registrar', 'national-registrar'] as const;
export type RegistrationRole = (typeof REGISTRATION_ROLES)[number];
export type Reach = 'jurisdiction' | 'country';

export const WORKQUEUES = ['in-progress', 'ready-for-review', 'requires-updates', 'ready-to-print', 'waiting-for-external-validation', 'potential-duplicates', 'assigned-to-me'] as const;
export type Workqueue = (typeof WORKQUEUES)[number];
export type WorkqueueCounts = Record<Workqueue, number>;

// --- registration types --------------------------------------------------------------------

/** Who may take an action, and when (on top of the workflow's own status rules). */
export interface ActionConfig {
  /** Roles allowed to take it; defaults per action (docs/registrations.md). */
  roles?: RegistrationRole[];
  /** A JSON Logic condition over `{ data, status, flags }`; the action is refused (409) when falsy. */
  allowedWhen?: Expression;
  /** Label for buttons. */
  label?: Localised;
}

/** A type-defined action with its own small form, e.g. `escalate`. It changes no status. */
export interface CustomActionConfig extends ActionConfig {
  label: Localised;
  /** The statuses it may be taken in; defaults to every status but archived. */
  statuses?: RegistrationStatus[];
  fields?: RegistrationField[];
  /** Flags set and cleared when it is taken. */
  addsFlags?: string[];
  removesFlags?: string[];
}

/** A flag the type's rules add; evaluated on notify, declare, validate, register and correction. */
export interface FlagRule {
  /** Lower-case words joined by dashes, e.g. `late-registration`. */
  id: string;
  label: Localised;
  /**
   * JSON Logic over `{ data, declaredAt, eventDate, daysSinceEvent }`; the flag is set while it
   * is truthy and cleared when it is not.
   */
  when: Expression;
}

/** An action hook: Cairn POSTs the registration to `url`, signed with Standard Webhooks. */
export interface HookConfig {
  url: string;
  /** Defaults to 5000; at most 30000. */
  timeoutMs?: number;
}

export interface CertificateTemplate {
  id: string;
  label: Localised;
  /** SVG with handlebars placeholders (`{{data.[child.firstName]}}`, `{{registrationNumber}}`, `{{qrCode}}` for the QR image). */
  svg: string;
  /** Fee for a copy, if printing one is paid for. */
  fee?: { amount: number; currency: string };
}

export interface RegistrationTypeDocument {
  /** Slug: `birth`, `death`, `marriage`. */
  id: string;
  label: Localised;
  /** At least `en` and `fr`; every localised text carries exactly these. */
  languages: string[];
  form: { pages: RegistrationFormPage[]; derived?: Record<string, DerivedValue> };
  /** Field id holding the date of the event (e.g. `child.dob`). */
  eventDateField: string;
  /** Field id holding the place of the event (a location field). */
  eventLocationField: string;
  /**
   * Field ids that must be answered to `declare` (beyond the form's own `required`);
   * `notify` accepts anything the form's validation accepts, and flags it `incomplete`.
   */
  requiredToDeclare?: string[];
  actions?: Partial<Record<CoreAction, ActionConfig>>;
  customActions?: Record<string, CustomActionConfig>;
  flags?: FlagRule[];
  /** Hooks per action (`notify`, `declare`, `register`, `reject`, `archive`, `print-certificate`). */
  hooks?: Partial<Record<'notify' | 'declare' | 'register' | 'reject' | 'archive' | 'print-certificate', HookConfig>>;
  /** `{type}`, `{year}`, `{office}` (the office's external id), `{seq:N}` (zero-padded yearly counter). */
  registrationNumber?: { pattern: string };
  certificates?: CertificateTemplate[];
  /** Whether a certified copy costs a fee (the print action then needs `fee`). */
  printFee?: { amount: number; currency: string };
  /** De-duplication rules, interpreted by the search module (issue 13); stored as given. */
  deduplication?: JsonValue;
}

export interface RegistrationTypeSummary {
  id: string;
  version: number;
  label: Localised;
  languages: string[];
  createdAt: string;
}

export interface RegistrationTypeVersion extends RegistrationTypeSummary {
  document: RegistrationTypeDocument;
}

// --- registrations -------------------------------------------------------------------------

export interface UserRef {
  id: string;
  username: string;
}

export interface Registration {
  id: string;
  /** 7 characters from an alphabet without look-alikes (no 0/O, 1/I/L). */
  trackingId: string;
  type: string;
  /** The version of the type it was declared under; it keeps validating and rendering with it. */
  typeVersion: number;
  status: RegistrationStatus;
  flags: RegistrationFlag[];
  data: Record<string, JsonValue>;
  /** Values the type derives from the data (e.g. `mother.ageAtBirth`). */
  derived: Record<string, JsonValue>;
  registrationNumber: string | null;
  /** The office it was created in; its jurisdiction decides who sees it. */
  officeId: string;
  eventDate: string | null;
  eventLocationId: string | null;
  assignedTo: UserRef | null;
  /** Registrations this one was flagged as possibly duplicating. */
  duplicateOf: string[];
  /** Certified copies printed so far. */
  printedCopies: number;
  createdBy: UserRef | null;
  createdAt: string;
  updatedAt: string;
  /** Number of actions taken (the stream's length, not counting reads). */
  version: number;
  /** A pending correction (request-correction): the corrected answers proposed. */
  correction?: { data: Record<string, JsonValue> };
}

/** What the caller may do now, and why not otherwise (GET /registrations/{id} only). */
export interface AvailableAction {
  action: RegistrationActionName;
  allowed: boolean;
  /** An error code when not allowed: `action_not_allowed`, `registration_not_assigned`, ... */
  reason?: string;
}

export interface RegistrationDetail extends Registration {
  actions: AvailableAction[];
}

export interface CreateRegistrationInput {
  type: string;
  action: 'notify' | 'declare';
  data: Record<string, unknown>;
  transactionId?: string;
  /** When the person confirmed it (RFC 3339), for work captured offline; defaults to the server's time. */
  occurredAt?: string;
}

export interface ActionInput {
  /** Changed answers (declare, validate, register, request-correction) or the custom action's form. */
  data?: Record<string, unknown>;
  reason?: string;
  transactionId?: string;
  /** When the person confirmed it (RFC 3339), for work captured offline; defaults to the server's time. */
  occurredAt?: string;
  /** assign: take over from another user (supervisors only). */
  force?: boolean;
}

export interface PrintCertificateData {
  /** Who collected it: `informant`, `mother`, `father` or `other`, and their identity. */
  collector: { relation: string; name: string; idType?: string; idNumber?: string };
  copies?: number;
  template?: string;
  fee?: { amount: number; currency: string; paid: boolean };
}

export interface ActionResult {
  registration: Registration;
  /** True when the transactionId had already been applied. */
  replayed: boolean;
}

export interface FieldChange {
  field: string;
  from: JsonValue | null;
  to: JsonValue | null;
}

export interface RegistrationHistoryItem {
  entryId: string;
  /** The action, or `read` for an audited opening. */
  action: RegistrationActionName | 'read';
  at: string;
  actor: {
    kind: 'user' | 'system' | 'app' | 'anonymous';
    id: string | null;
    username: string | null;
    role: RegistrationRole | null;
    officeId: string | null;
    officeName: string | null;
  };
  reason: string | null;
  changes: FieldChange[];
  /** The action's own data besides field changes (print collector, custom form, hook answer...). */
  details: Record<string, JsonValue>;
  statusAfter: RegistrationStatus;
  flagsAfter: RegistrationFlag[];
}

export interface RegistrationListQuery {
  status?: RegistrationStatus;
  flag?: string;
  type?: string;
  /** A workspace id: registrations whose event location or office is in its subtree. */
  location?: string;
  /** A user id, or `me`. */
  assignedTo?: string;
  queue?: Workqueue;
  after?: string;
  /** 1-200, default 50. */
  limit?: number;
}

export interface RegistrationList {
  items: Registration[];
  /** Cursor of the next page, null at the end. */
  next: string | null;
}

export interface RegistrationProfile {
  userId: string;
  role: RegistrationRole | null;
  office: { id: string; name: string; externalId: string | null } | null;
  /** The area the role reaches (null for country-wide roles or no office). */
  jurisdiction: { id: string; name: string } | null;
  reach: Reach | null;
}

export interface UploadedDocument {
  documentId: string;
  mediaType: string;
  size: number;
}

export interface CertificateVerification {
  valid: boolean;
  registrationNumber: string | null;
  /** Date of registration, YYYY-MM-DD. */
  date: string | null;
}

/** Error codes the workflow answers (docs/registrations.md). */
export const REGISTRATION_ERRORS = [
  'registration_not_assigned',
  'registration_assigned_elsewhere',
  'action_not_allowed',
  'potential_duplicate_unresolved',
  'unknown_action',
  'registration_role_required',
  'invalid_registration_type',
  'invalid_registration_data',
  'registration_hook_failed',
  'not_registered',
] as const;
export type RegistrationErrorCode = (typeof REGISTRATION_ERRORS)[number];

// --- search (docs/search.md) ---------------------------------------------------------------

export interface RegistrationSearchResult {
  id: string;
  trackingId: string;
  type: string;
  status: string;
  flags: string[];
  registrationNumber: string | null;
  legacyId: string | null;
  eventDate: string | null;
  /** Names and dates to recognise the person by. */
  summary: Record<string, string>;
  score: number;
  /** Why it matched: the field, how (identifier, exact, spelling, similar), the value and the query word. */
  matched: Array<{ field: string; how: 'identifier' | 'exact' | 'spelling' | 'similar'; value: string; query?: string }>;
}
export interface RegistrationSearchPage {
  results: RegistrationSearchResult[];
  next: string | null;
}
export interface RegistrationSearchFilter {
  field: string;
  op: 'fuzzy' | 'exact' | 'range' | 'within';
  value?: string;
  from?: string;
  to?: string;
}
export interface DuplicatePair {
  a: { id: string; trackingId: string; legacyId: string | null };
  b: { id: string; trackingId: string; legacyId: string | null };
  score: number | null;
}

/** A field error of an imported row: the field, a JSON pointer into the row's answers (or /header/N), a code. */
/** GET /registrations/{id}/matches: the registrations a flagged one may duplicate, compared field by field. */
export interface DuplicateReview {
  id: string;
  trackingId: string;
  matches: Array<{
    id: string;
    trackingId: string;
    type: string;
    typeVersion: number;
    status: string;
    flags: string[];
    registrationNumber: string | null;
    data: Record<string, JsonValue>;
    /** The match probability with the type's current model (null when the registration is not indexed). */
    score: number | null;
    /** Per compared field: its level (exact, alike, different, missing...) and weight (log2 m/u; > 0 favours a match). */
    fields: Array<{ field: string; level: string; weight: number }>;
  }>;
}
export interface RegistrationImportRowError {
  field: string;
  pointer: string;
  code: string;
  message: string;
}
/** What POST /registrations/import did (docs/search.md, "Importing a legacy register"). */
export interface RegistrationImportReport {
  type: string;
  action: string;
  /** Data rows read (the header not counted). */
  rows: number;
  created: number;
  refusedCount: number;
  /** Created and flagged as a potential duplicate of a registration already stored or of an earlier row. */
  duplicatesCount: number;
  /** Rows skipped because the register already holds their legacyId (a file imported again). */
  alreadyImported: number;
  /** Refused rows: `row` counts data rows from 1, `line` is the file's line. */
  refused: Array<{ row: number; line: number; legacyId: string | null; errors: RegistrationImportRowError[] }>;
  duplicates: Array<{ row: number; id: string; trackingId: string; legacyId: string | null; matches: Array<{ id: string; trackingId: string; legacyId: string | null; score: number | null }> }>;
  /** More than 10,000 refused or duplicate rows: the lists stop there, the counts do not. */
  truncated: boolean;
  /** Where the time went: checking rows, looking up legacy ids, de-duplicating, writing (reading the upload is the rest). */
  seconds: { validate: number; lookups: number; deduplicate: number; write: number };
}

/** Registered records and how many of them were registered within a year of the event. */
export interface RegistrationFigures {
  registered: number;
  withinYear: number;
}

/** The performance dashboard (`GET /registrations/stats`): counts only, within your jurisdiction. */
export interface RegistrationStats {
  type: string | null;
  from: string;
  /** Inclusive. */
  to: string;
  /** Places are counted one level below this one: the chosen location, your area, or the country. */
  root: { id: string; name: string } | null;
  total: RegistrationFigures;
  /** Every month of the period (`YYYY-MM`, by date of registration, UTC), empty ones included. */
  months: Array<{ month: string } & RegistrationFigures>;
  places: Array<{ id: string; name: string } & RegistrationFigures>;
  cells: Array<{ month: string; placeId: string } & RegistrationFigures>;
}

export interface RegistrationStatsQuery {
  type?: string;
  /** YYYY-MM-DD; by default the first day of the month eleven months before `to`. */
  from?: string;
  /** YYYY-MM-DD, inclusive; by default today. */
  to?: string;
  /** A location (workspace id): only records of this place, broken down one level below it. */
  location?: string;
}

// --- client --------------------------------------------------------------------------------

export class RegistrationsApi {
  constructor(private readonly http: HttpClient) {}

  create(input: CreateRegistrationInput): Promise<Registration & { replayed?: boolean }> {
    return this.http.post('/api/v1/registrations', input);
  }
  get(id: string): Promise<RegistrationDetail> {
    return this.http.get(`/api/v1/registrations/${seg(id)}`);
  }
  action(id: string, action: RegistrationActionName, input: ActionInput = {}): Promise<ActionResult> {
    return this.http.post(`/api/v1/registrations/${seg(id)}/actions/${seg(action)}`, input);
  }
  history(id: string): Promise<RegistrationHistoryItem[]> {
    return this.http.get(`/api/v1/registrations/${seg(id)}/history`);
  }
  list(q: RegistrationListQuery = {}): Promise<RegistrationList> {
    return this.http.get('/api/v1/registrations', { ...q });
  }
  async *iterate(q: Omit<RegistrationListQuery, 'after'> = {}): AsyncGenerator<Registration> {
    let after: string | undefined;
    do {
      const page = await this.list({ ...q, after });
      yield* page.items;
      after = page.next ?? undefined;
    } while (after);
  }
  workqueues(): Promise<WorkqueueCounts> {
    return this.http.get('/api/v1/registrations/workqueues');
  }
  /** Registered records per month and place, and completeness (the performance dashboard). */
  stats(q: RegistrationStatsQuery = {}): Promise<RegistrationStats> {
    return this.http.get('/api/v1/registrations/stats', { ...q });
  }
  /** URL of the same figures as CSV (counts only, no personal data). */
  statsCsvUrl(q: RegistrationStatsQuery = {}): string {
    return this.http.url('/api/v1/registrations/stats.csv', { ...q });
  }
  /** The same figures as CSV text. */
  async statsCsv(q: RegistrationStatsQuery = {}): Promise<string> {
    const res = await this.http.raw('GET', '/api/v1/registrations/stats.csv', { query: { ...q }, headers: { Accept: 'text/csv' } });
    if (!res.ok) throw await errorFromResponse(res);
    return res.text();
  }
  /** Quick search: identifiers, or names in any order with typos and transliterations (docs/search.md). */
  search(q: string, opts: { type?: string; limit?: number; cursor?: string } = {}): Promise<RegistrationSearchPage> {
    return this.http.get('/api/v1/registrations/search', { q, ...opts });
  }
  /** Advanced search on one type's fields, filters combined with AND. */
  advancedSearch(input: { type: string; filters: RegistrationSearchFilter[]; limit?: number; cursor?: string }): Promise<RegistrationSearchPage> {
    return this.http.post('/api/v1/registrations/search', input);
  }
  /** Every open potential-duplicate pair within your jurisdiction. */
  duplicates(type?: string): Promise<DuplicatePair[]> {
    return this.http.get('/api/v1/registrations/duplicates', { type });
  }
  /** The registrations a flagged one may duplicate, with their answers and how each field compared (the review page). */
  matches(id: string): Promise<DuplicateReview> {
    return this.http.get(`/api/v1/registrations/${seg(id)}/matches`);
  }
  /**
   * Imports a legacy register: CSV whose header names the type's field ids (and `legacyId`), one
   * registration per row, de-duplicated; answers the report. The body may be a stream (Node: duplex half).
   */
  importCsv(csv: string | Blob | Uint8Array | ReadableStream<Uint8Array>, o: { type: string; action: 'declare' | 'notify'; signal?: AbortSignal }): Promise<RegistrationImportReport> {
    return this.http.upload('/api/v1/registrations/import', csv, { contentType: 'text/csv', query: { type: o.type, action: o.action }, signal: o.signal });
  }
  /** Uploads a supporting document or signature image (PNG, JPEG or PDF, at most 10 MiB). */
  uploadDocument(content: Blob | Uint8Array, mediaType: string): Promise<UploadedDocument> {
    return this.http.upload('/api/v1/registrations/documents', content, { contentType: mediaType });
  }
  /** URL of a document attached to a registration (for <img> and links; cookie-authenticated). */
  documentUrl(registrationId: string, documentId: string): string {
    return this.http.url(`/api/v1/registrations/${seg(registrationId)}/documents/${seg(documentId)}`);
  }
  /** URL of the certificate PDF of a registered record. */
  certificateUrl(id: string, template?: string): string {
    return this.http.url(`/api/v1/registrations/${seg(id)}/certificate.pdf`, { template });
  }
  verify(code: string): Promise<CertificateVerification> {
    return this.http.get(`/api/v1/verify/${seg(code)}`);
  }
  profile(): Promise<RegistrationProfile> {
    return this.http.get('/api/v1/registration-users/me');
  }
  userProfile(userId: string): Promise<RegistrationProfile> {
    return this.http.get(`/api/v1/registration-users/${seg(userId)}`);
  }
  /** Admin: sets a user's office (a workspace of kind office) and registration role; nulls clear them. */
  setUserProfile(userId: string, p: { officeId: string | null; role: RegistrationRole | null }): Promise<RegistrationProfile> {
    return this.http.put(`/api/v1/registration-users/${seg(userId)}`, p);
  }
}

export class RegistrationTypesApi {
  constructor(private readonly http: HttpClient) {}

  list(): Promise<RegistrationTypeSummary[]> {
    return this.http.get('/api/v1/registration-types');
  }
  /** The latest version, or the given one. */
  get(id: string, version?: number): Promise<RegistrationTypeVersion> {
    return this.http.get(`/api/v1/registration-types/${seg(id)}`, { version });
  }
  versions(id: string): Promise<RegistrationTypeSummary[]> {
    return this.http.get(`/api/v1/registration-types/${seg(id)}/versions`);
  }
  /** Saves a new version (answers the current one unchanged when the document is identical). */
  put(id: string, document: RegistrationTypeDocument | Record<string, unknown>): Promise<RegistrationTypeVersion> {
    return this.http.put(`/api/v1/registration-types/${seg(id)}`, document);
  }
  /** Creates or rotates the Standard Webhooks secret for the type's hooks; shown only here. */
  rotateHookSecret(id: string): Promise<{ secret: string }> {
    return this.http.post(`/api/v1/registration-types/${seg(id)}/hook-secret`, {});
  }
}


/**
 * What printing `copies` certificates from `templateId` (default: the type's first template)
 * costs: the template's own fee, else the type's `printFee`, times the copies; undefined when
 * free. The server refuses a print whose `fee` differs, and the registrar's app shows and sends
 * this, so both read the rule here.
 */
export function certificateFee(doc: Pick<RegistrationTypeDocument, 'certificates' | 'printFee'>, templateId: string | undefined, copies: number): { amount: number; currency: string } | undefined {
  const template = templateId !== undefined ? doc.certificates?.find((t) => t.id === templateId) : doc.certificates?.[0];
  const rule = template?.fee ?? doc.printFee;
  return rule ? { amount: rule.amount * copies, currency: rule.currency } : undefined;
}
