/**
 * A registration's current state is a fold over the entries of its stream: this file is that
 * fold, pure (no clock, no I/O, no type document), so the state written in the writer's
 * transaction and the state rebuilt from the ledger are the same function of the same entries.
 * Everything an action decided when it was taken (validated data, rule flags, the registration
 * number, the office's path) is in its entry; nothing is re-derived here.
 */
import type { JsonValue } from '@cairn/sdk';

export const ENTRY_PREFIX = 'registration.';
export const READ_ACTION = 'read';
/** Type of the entry an action is recorded as: `registration.declare`, `registration.read`... */
export const entryType = (action: string) => `${ENTRY_PREFIX}${action}`;

export type Status = 'created' | 'notified' | 'declared' | 'validated' | 'registered' | 'archived';

/** What the writer puts in an entry's data (every field optional except registrationId). */
export interface EntryData {
  registrationId: string;
  create?: { trackingId: string; type: string; typeVersion: number; officeId: string; officePath: string };
  /** The full validated answers after this action, when it changed them. */
  data?: Record<string, JsonValue>;
  derived?: Record<string, JsonValue>;
  eventDate?: string | null;
  eventLocationId?: string | null;
  eventLocationPath?: string | null;
  /** The type's rule flags that hold after this action (replaces the previous set). */
  ruleFlags?: string[];
  /** Notify: required answers still missing (for the record; notify always flags incomplete). */
  missing?: string[];
  reason?: string;
  /** Register: the number it got; or true while waiting for the external system. */
  registrationNumber?: string;
  pending?: boolean;
  /** Assign: who (the actor unless a supervisor assigns someone else). */
  assignee?: string;
  copies?: number;
  matches?: string[];
  /** Custom actions: flags they set and clear. */
  addsFlags?: string[];
  removesFlags?: string[];
  /** Request-correction: the corrected answers proposed. */
  correction?: { data: Record<string, JsonValue>; derived: Record<string, JsonValue> };
  actorRole?: string | null;
  actorOfficeId?: string | null;
  /** The action's own details (print collector, custom form answers, hook answers). */
  details?: Record<string, JsonValue>;
}

export interface FoldEntry {
  action: string;
  at: Date;
  actorId: string | null;
  data: EntryData;
}

export interface RegState {
  id: string;
  trackingId: string;
  type: string;
  typeVersion: number;
  status: Status;
  /** Workflow flags (sorted); `flags` in the API is these plus ruleFlags. */
  coreFlags: string[];
  ruleFlags: string[];
  data: Record<string, JsonValue>;
  derived: Record<string, JsonValue>;
  registrationNumber: string | null;
  officeId: string;
  officePath: string;
  eventDate: string | null;
  eventLocationId: string | null;
  eventLocationPath: string | null;
  assignedTo: string | null;
  duplicateOf: string[];
  printedCopies: number;
  correction: { data: Record<string, JsonValue>; derived: Record<string, JsonValue> } | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  registeredAt: Date | null;
  version: number;
}

export const allFlags = (s: Pick<RegState, 'coreFlags' | 'ruleFlags'>): string[] => [...new Set([...s.coreFlags, ...s.ruleFlags])].sort();

const ACTIVE: Status[] = ['created', 'notified', 'declared', 'validated'];
/** Status-changing actions release the assignment: the next step is someone else's to take. */
const RELEASES = new Set(['declare', 'validate', 'reject', 'archive', 'mark-as-duplicate']);

export interface Refusal {
  code: 'action_not_allowed' | 'potential_duplicate_unresolved';
  message: string;
}

/**
 * Whether the workflow allows `action` now (status and flags only; roles, jurisdiction,
 * assignment and the type's own conditions are checked by the service). `system` is the
 * external validation callback, the only one who may complete a pending registration.
 */
export function refusal(s: RegState | null, action: string, opts: { system?: boolean; custom?: { statuses?: string[] } } = {}): Refusal | null {
  const no = (message: string): Refusal => ({ code: 'action_not_allowed', message });
  if (!s) return action === 'notify' || action === 'declare' ? null : no('The registration does not exist yet');
  const has = (f: string) => s.coreFlags.includes(f);
  if (action === READ_ACTION) return null;
  if (s.status === 'archived') return no('An archived registration takes no more actions');
  const waiting = has('waiting-for-external-validation');
  if (waiting && !opts.system && !['assign', 'unassign'].includes(action)) return no('The registration is waiting for external validation');
  switch (action) {
    case 'notify':
      return no('notify only creates a registration');
    case 'declare':
      if (s.status === 'created' || s.status === 'notified') return null;
      if (has('rejected') && (s.status === 'declared' || s.status === 'validated')) return null;
      return no(`A ${s.status} registration cannot be declared`);
    case 'validate':
      if (s.status !== 'declared') return no(`Only a declared registration can be validated (this one is ${s.status})`);
      if (has('rejected')) return no('A rejected registration must be declared again first');
      if (has('potential-duplicate')) return { code: 'potential_duplicate_unresolved', message: 'Resolve the potential duplicate first' };
      return null;
    case 'register':
      if (opts.system && waiting) return null;
      if (s.status !== 'declared' && s.status !== 'validated') return no(`Only a declared or validated registration can be registered (this one is ${s.status})`);
      if (has('rejected')) return no('A rejected registration must be declared again first');
      if (has('potential-duplicate')) return { code: 'potential_duplicate_unresolved', message: 'Resolve the potential duplicate first' };
      return null;
    case 'reject':
      if (opts.system && waiting) return null;
      if (s.status === 'registered') return no('A registered record is corrected, not rejected');
      if (has('rejected')) return no('Already rejected');
      return null;
    case 'archive':
      return s.status === 'registered' ? no('A registered record cannot be archived') : null;
    case 'print-certificate':
      if (s.status !== 'registered') return no('Only a registered record has a certificate');
      if (has('correction-requested')) return no('Decide the pending correction first');
      return null;
    case 'request-correction':
      if (s.status !== 'registered') return no('Only a registered record is corrected');
      return has('correction-requested') ? no('A correction is already pending') : null;
    case 'approve-correction':
    case 'reject-correction':
      return has('correction-requested') ? null : no('No correction is pending');
    case 'assign':
    case 'unassign':
      return null;
    case 'duplicate-detected':
      return ACTIVE.includes(s.status) ? null : no('Only an unregistered registration is checked for duplicates');
    case 'mark-not-duplicate':
    case 'mark-as-duplicate':
      return has('potential-duplicate') ? null : no('The registration is not flagged as a potential duplicate');
    default: {
      const statuses = opts.custom?.statuses ?? ['created', 'notified', 'declared', 'validated', 'registered'];
      return statuses.includes(s.status) ? null : no(`This action is not available on a ${s.status} registration`);
    }
  }
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
const withFlag = (flags: string[], f: string, on: boolean) => sorted(on ? [...flags, f] : flags.filter((x) => x !== f));

/** Applies one entry. Reads change nothing. Throws on an entry that cannot start a stream. */
export function apply(prev: RegState | null, e: FoldEntry): RegState {
  if (e.action === READ_ACTION) {
    if (!prev) throw new Error(`read before the registration ${e.data.registrationId} exists`);
    return prev;
  }
  const d = e.data;
  let s: RegState;
  if (!prev) {
    if (!d.create) throw new Error(`the first entry of registration ${d.registrationId} does not create it`);
    s = {
      id: d.registrationId,
      trackingId: d.create.trackingId,
      type: d.create.type,
      typeVersion: d.create.typeVersion,
      status: 'created',
      coreFlags: [],
      ruleFlags: [],
      data: {},
      derived: {},
      registrationNumber: null,
      officeId: d.create.officeId,
      officePath: d.create.officePath,
      eventDate: null,
      eventLocationId: null,
      eventLocationPath: null,
      assignedTo: null,
      duplicateOf: [],
      printedCopies: 0,
      correction: null,
      createdBy: e.actorId,
      createdAt: e.at,
      updatedAt: e.at,
      registeredAt: null,
      version: 0,
    };
  } else {
    s = { ...prev, coreFlags: [...prev.coreFlags], ruleFlags: [...prev.ruleFlags], duplicateOf: [...prev.duplicateOf] };
  }
  s.version += 1;
  s.updatedAt = e.at;
  if (d.data) s.data = d.data;
  if (d.derived) s.derived = d.derived;
  if (d.eventDate !== undefined) s.eventDate = d.eventDate;
  if (d.eventLocationId !== undefined) s.eventLocationId = d.eventLocationId;
  if (d.eventLocationPath !== undefined) s.eventLocationPath = d.eventLocationPath;
  if (d.ruleFlags) s.ruleFlags = sorted(d.ruleFlags);

  switch (e.action) {
    case 'notify':
      s.status = 'notified';
      s.coreFlags = withFlag(s.coreFlags, 'incomplete', true);
      break;
    case 'declare':
      s.status = 'declared';
      s.coreFlags = withFlag(withFlag(s.coreFlags, 'incomplete', false), 'rejected', false);
      break;
    case 'validate':
      s.status = 'validated';
      break;
    case 'register':
      if (d.pending) {
        s.coreFlags = withFlag(s.coreFlags, 'waiting-for-external-validation', true);
        break;
      }
      s.status = 'registered';
      s.registrationNumber = d.registrationNumber ?? null;
      s.registeredAt = e.at;
      s.coreFlags = withFlag(s.coreFlags, 'waiting-for-external-validation', false);
      s.assignedTo = null;
      break;
    case 'reject':
      s.coreFlags = withFlag(withFlag(s.coreFlags, 'waiting-for-external-validation', false), 'rejected', true);
      break;
    case 'archive':
      s.status = 'archived';
      break;
    case 'print-certificate':
      s.coreFlags = withFlag(s.coreFlags, 'printed', true);
      s.printedCopies += d.copies ?? 1;
      break;
    case 'request-correction':
      s.coreFlags = withFlag(s.coreFlags, 'correction-requested', true);
      s.correction = d.correction ?? null;
      break;
    case 'approve-correction':
      if (s.correction) {
        s.data = s.correction.data;
        s.derived = s.correction.derived;
      }
      s.correction = null;
      // A corrected record's printed certificates are out of date.
      s.coreFlags = withFlag(withFlag(s.coreFlags, 'correction-requested', false), 'printed', false);
      break;
    case 'reject-correction':
      s.correction = null;
      s.coreFlags = withFlag(s.coreFlags, 'correction-requested', false);
      break;
    case 'assign':
      s.assignedTo = d.assignee ?? e.actorId;
      break;
    case 'unassign':
      s.assignedTo = null;
      break;
    case 'duplicate-detected':
      s.coreFlags = withFlag(s.coreFlags, 'potential-duplicate', true);
      s.duplicateOf = sorted([...s.duplicateOf, ...(d.matches ?? [])]);
      break;
    case 'mark-not-duplicate':
      s.coreFlags = withFlag(s.coreFlags, 'potential-duplicate', false);
      s.duplicateOf = [];
      break;
    case 'mark-as-duplicate':
      s.coreFlags = withFlag(s.coreFlags, 'potential-duplicate', false);
      s.status = 'archived';
      break;
    default:
      for (const f of d.addsFlags ?? []) s.coreFlags = withFlag(s.coreFlags, f, true);
      for (const f of d.removesFlags ?? []) s.coreFlags = withFlag(s.coreFlags, f, false);
  }
  if (RELEASES.has(e.action)) s.assignedTo = null;
  return s;
}

/** The state after all of a stream's entries, in order; null for no entries. */
export function fold(entries: readonly FoldEntry[]): RegState | null {
  let s: RegState | null = null;
  for (const e of entries) s = apply(s, e);
  return s;
}
