import { errorFromResponse } from './errors.js';
import { seg, type HttpClient } from './http.js';
import type { InstrumentDefinition, DefinitionError, JsonValue, MeasureValue, Localised } from './instruments/instrument.types.js';

// --- types ---------------------------------------------------------------------------------

export interface InstrumentSummary {
  name: string;
  edition: number;
  kind: 'form' | 'series';
  title: Localised;
  languages: string[];
  source: 'library' | 'upload';
  createdAt: string;
  retiredAt: string | null;
  retiredReason: string | null;
}
export interface InstrumentEdition extends InstrumentSummary {
  definition: InstrumentDefinition;
}
export interface InstrumentWithEditions extends InstrumentEdition {
  editions: InstrumentSummary[];
}

export type Sex = 'female' | 'male' | 'other';
export type SessionKind = 'in_person' | 'retrospective' | 'remote';

export interface Session {
  id: string;
  workspaceId: string;
  subjectId: string;
  kind: SessionKind;
  date: string;
  startedAt: string;
  endedAt: string | null;
  active: boolean;
}
export interface Subject {
  id: string;
  workspaceId: string;
  identifier: string;
  identifierKind: 'custom' | 'derived';
  dateOfBirth: string | null;
  sex: Sex | null;
  /** A short readable name given by the team ("P-017"), unique in the workspace; null when none. */
  label: string | null;
  createdAt: string;
  recordCount?: number;
  lastRecordAt?: string | null;
  activeSession?: Session | null;
}
export interface CaptureRecord {
  id: string;
  workspaceId: string;
  subjectId: string;
  sessionId: string;
  instrument: { name: string; edition: number };
  date: string;
  data: Record<string, JsonValue>;
  measures: Record<string, MeasureValue>;
  version: number;
  importId: string | null;
  createdAt: string;
  updatedAt: string;
  deleted: boolean;
  deletedAt: string | null;
  deletedReason: string | null;
}
export interface RecordHistoryEntry {
  entryId: string;
  type: 'record.created' | 'record.updated' | 'record.deleted';
  version: number;
  data: Record<string, JsonValue> | null;
  measures: Record<string, MeasureValue> | null;
  reason: string | null;
  actor: { kind: string; id: string | null; username: string | null };
  at: string;
}
export interface DatahubSummary {
  subjects: number;
  sessions: number;
  activeSessions: number;
  records: number;
  byInstrument: { instrument: { name: string; edition: number }; records: number; lastRecordAt: string }[];
  weekly: { week: string; records: number }[];
}
export interface ImportRowError {
  row: number;
  field: string;
  code: string;
  message: string;
}
export interface ImportResult {
  importId: string | null;
  imported: number;
  skipped: number;
  subjectsCreated: number;
  dryRun: boolean;
  rows: number;
  valid: number;
  invalid: number;
  errors: ImportRowError[];
  errorCount: number;
}
export type ExportFormat = 'csv' | 'tsv' | 'xlsx' | 'json';
export type ExportShape = 'wide' | 'long';
export interface ExportOptions {
  format?: ExportFormat;
  shape?: ExportShape;
  instrument?: string;
  edition?: number;
  /** Records captured on or after this date (YYYY-MM-DD, UTC). */
  from?: string;
  /** Records captured on or before this date (YYYY-MM-DD, UTC), inclusive. */
  to?: string;
  /**
   * Only these subjects (their ids; workspace exports only). At most 1,000, sent comma-separated;
   * a URL carries about 400 ids within the server's 16 KiB header limit.
   */
  subjects?: string[];
}

// --- identifiers derived from personal information ------------------------------------------

export interface PersonalInformation {
  firstName: string;
  lastName: string;
  /** YYYY-MM-DD */
  dateOfBirth: string;
  sex: Sex;
}

/** Lower case, accents and punctuation removed, spaces collapsed: "  Zoë  O'Brien" → "zoe obrien". */
export function normaliseName(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N} ]/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The identifier of a person, computed where the names are typed (the browser): HMAC-SHA256
 * under the instance's identity key of the normalised names, date of birth and sex, as 64 hex
 * digits. The same person always gets the same identifier on this instance; the server only ever
 * sees the digest. See docs/instruments.md ("Subject identifiers") for what this does and does
 * not protect against.
 */
export async function deriveSubjectIdentifier(info: PersonalInformation, keyBase64url: string): Promise<string> {
  const first = normaliseName(info.firstName);
  const last = normaliseName(info.lastName);
  if (!first || !last) throw new Error('first and last name are required');
  if (!/^\d{4}-\d\d-\d\d$/.test(info.dateOfBirth)) throw new Error('date of birth must be YYYY-MM-DD');
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('This browser cannot compute identifiers here (Web Crypto needs HTTPS or localhost)');
  const raw = Uint8Array.from(atob(keyBase64url.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const key = await subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const message = new TextEncoder().encode(['cairn-subject-v1', first, last, info.dateOfBirth, info.sex].join('\n'));
  const mac = new Uint8Array(await subtle.sign('HMAC', key, message));
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('');
}

// --- clients ---------------------------------------------------------------------------------

export class InstrumentsApi {
  constructor(private readonly http: HttpClient) {}

  async list(opts: { includeRetired?: boolean } = {}): Promise<InstrumentSummary[]> {
    return (await this.http.get<{ instruments: InstrumentSummary[] }>('/api/v1/instruments', { includeRetired: opts.includeRetired })).instruments;
  }
  async get(name: string): Promise<InstrumentWithEditions> {
    return (await this.http.get<{ instrument: InstrumentWithEditions }>(`/api/v1/instruments/${seg(name)}`)).instrument;
  }
  async edition(name: string, edition: number): Promise<InstrumentEdition> {
    return (await this.http.get<{ instrument: InstrumentEdition }>(`/api/v1/instruments/${seg(name)}/editions/${edition}`)).instrument;
  }
  /** Errors come back as CairnError `invalid_instrument_definition` with `details.errors[].pointer`. */
  async upload(definition: unknown): Promise<InstrumentEdition> {
    return (await this.http.post<{ instrument: InstrumentEdition }>('/api/v1/instruments', definition)).instrument;
  }
  async publishEdition(name: string, definition: unknown): Promise<InstrumentEdition> {
    return (await this.http.post<{ instrument: InstrumentEdition }>(`/api/v1/instruments/${seg(name)}/editions`, definition)).instrument;
  }
  validate(definition: unknown): Promise<{ ok: boolean; errors: DefinitionError[] }> {
    return this.http.post('/api/v1/instruments/validate', definition);
  }
  async retire(name: string, opts: { edition?: number; reason?: string } = {}): Promise<InstrumentWithEditions> {
    return (await this.http.post<{ instrument: InstrumentWithEditions }>(`/api/v1/instruments/${seg(name)}/retire`, opts)).instrument;
  }
}

/** Subjects, sessions, records, exports and imports (the data hub). */
export class DatahubApi {
  readonly instruments: InstrumentsApi;
  constructor(private readonly http: HttpClient) {
    this.instruments = new InstrumentsApi(http);
  }

  identityKey(): Promise<{ algorithm: string; version: number; key: string }> {
    return this.http.get('/api/v1/datahub/identity-key');
  }
  settings(workspaceId: string): Promise<{ subjectIdPattern: string | null }> {
    return this.http.get(`/api/v1/workspaces/${seg(workspaceId)}/datahub/settings`);
  }
  setSettings(workspaceId: string, s: { subjectIdPattern: string | null }): Promise<{ subjectIdPattern: string | null }> {
    return this.http.put(`/api/v1/workspaces/${seg(workspaceId)}/datahub/settings`, s);
  }
  summary(workspaceId: string): Promise<DatahubSummary> {
    return this.http.get(`/api/v1/workspaces/${seg(workspaceId)}/datahub/summary`);
  }
  demo(workspaceId: string): Promise<{ subjects: number; records: number }> {
    return this.http.post(`/api/v1/workspaces/${seg(workspaceId)}/datahub/demo`);
  }

  subjects(workspaceId: string, q: { q?: string; after?: string; limit?: number } = {}): Promise<{ subjects: Subject[]; next: string | null }> {
    return this.http.get(`/api/v1/workspaces/${seg(workspaceId)}/subjects`, q);
  }
  /** Subjects that look like a new one (identifier read as a name, date of birth, sex): warn before creating a second. */
  async similarSubjects(workspaceId: string, q: { identifier: string; dateOfBirth?: string; sex?: Sex }): Promise<Array<Subject & { score: number }>> {
    return (await this.http.get<{ subjects: Array<Subject & { score: number }> }>(`/api/v1/workspaces/${seg(workspaceId)}/subjects/similar`, q)).subjects;
  }
  async createSubject(workspaceId: string, s: { identifier: string; identifierKind: 'custom' | 'derived'; dateOfBirth?: string | null; sex?: Sex | null; label?: string | null }): Promise<Subject> {
    return (await this.http.post<{ subject: Subject }>(`/api/v1/workspaces/${seg(workspaceId)}/subjects`, s)).subject;
  }
  /** Sets (or, with null, clears) a subject's label; CairnError `subject_label_taken` (409) when another subject of the workspace has it. */
  async setSubjectLabel(id: string, label: string | null): Promise<Subject> {
    return (await this.http.request<{ subject: Subject }>('PATCH', `/api/v1/subjects/${seg(id)}`, { body: { label } })).subject;
  }
  async subject(id: string): Promise<Subject> {
    return (await this.http.get<{ subject: Subject }>(`/api/v1/subjects/${seg(id)}`)).subject;
  }
  async sessions(subjectId: string): Promise<Session[]> {
    return (await this.http.get<{ sessions: Session[] }>(`/api/v1/subjects/${seg(subjectId)}/sessions`)).sessions;
  }
  async startSession(subjectId: string, s: { kind: SessionKind; date?: string }): Promise<Session> {
    return (await this.http.post<{ session: Session }>(`/api/v1/subjects/${seg(subjectId)}/sessions`, s)).session;
  }
  async session(id: string): Promise<Session> {
    return (await this.http.get<{ session: Session }>(`/api/v1/sessions/${seg(id)}`)).session;
  }
  async endSession(id: string): Promise<Session> {
    return (await this.http.post<{ session: Session }>(`/api/v1/sessions/${seg(id)}/end`)).session;
  }

  /** `transactionId` makes a retry safe: the same id answers the original record; `occurredAt` dates work captured offline. */
  async submit(sessionId: string, r: { instrument: { name: string; edition: number }; data: unknown; transactionId?: string; occurredAt?: string }): Promise<CaptureRecord> {
    return (await this.http.post<{ record: CaptureRecord }>(`/api/v1/sessions/${seg(sessionId)}/records`, r)).record;
  }
  async records(subjectId: string, q: { instrument?: string; edition?: number; limit?: number } = {}): Promise<CaptureRecord[]> {
    return (await this.http.get<{ records: CaptureRecord[] }>(`/api/v1/subjects/${seg(subjectId)}/records`, q)).records;
  }
  record(id: string): Promise<{ record: CaptureRecord; subject: { id: string; identifier: string; label: string | null }; definition: InstrumentDefinition }> {
    return this.http.get(`/api/v1/records/${seg(id)}`);
  }
  async history(id: string): Promise<RecordHistoryEntry[]> {
    return (await this.http.get<{ history: RecordHistoryEntry[] }>(`/api/v1/records/${seg(id)}/history`)).history;
  }
  async updateRecord(id: string, data: unknown, version: number): Promise<CaptureRecord> {
    return (await this.http.put<{ record: CaptureRecord }>(`/api/v1/records/${seg(id)}`, { data, version })).record;
  }
  deleteRecord(id: string, reason: string): Promise<void> {
    return this.http.request('DELETE', `/api/v1/records/${seg(id)}`, { body: { reason } });
  }

  /** The export URL (for a plain link, which the browser downloads with its session cookie). */
  exportUrl(scope: { workspaceId: string } | { subjectId: string }, o: ExportOptions = {}): string {
    const path = 'workspaceId' in scope ? `/api/v1/workspaces/${seg(scope.workspaceId)}/exports` : `/api/v1/subjects/${seg(scope.subjectId)}/exports`;
    return this.http.url(path, { format: o.format ?? 'csv', shape: o.shape ?? 'wide', instrument: o.instrument, edition: o.edition, from: o.from, to: o.to, subjects: o.subjects?.length ? o.subjects.join(',') : undefined });
  }
  /** The export as a streamed Response (read `body` chunk by chunk; nothing is buffered here). */
  async export(scope: { workspaceId: string } | { subjectId: string }, o: ExportOptions = {}, signal?: AbortSignal): Promise<Response> {
    const url = new URL(this.exportUrl(scope, o), 'http://x');
    const res = await this.http.raw('GET', url.pathname, { query: Object.fromEntries(url.searchParams), signal, headers: { Accept: '*/*' } });
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }
  importTemplateUrl(workspaceId: string, instrument: string, edition: number): string {
    return this.http.url(`/api/v1/workspaces/${seg(workspaceId)}/imports/template`, { instrument, edition });
  }

  /**
   * Uploads a CSV for import. Throws CairnError `invalid_import` (details: ImportResult with the
   * per-row errors) when rows fail and `onlyValid` is not set.
   */
  importCsv(workspaceId: string, csv: string | Blob | Uint8Array, o: { instrument: string; edition: number; onlyValid?: boolean; dryRun?: boolean }): Promise<ImportResult> {
    return this.http.upload(`/api/v1/workspaces/${seg(workspaceId)}/imports`, csv, { contentType: 'text/csv', query: { instrument: o.instrument, edition: o.edition, onlyValid: o.onlyValid, dryRun: o.dryRun } });
  }
}
