import type { JsonValue, RegistrationTypeDocument } from '@cairn/sdk';
import { fold, spellingKey } from './linkage/strings.js';
import { LinkageModel, type BlockingRule, type FieldKind, type LinkageConfig, combineKeys, fieldKey, type KeyTransform } from './linkage/model.js';
import { birthLinkage, deathLinkage, type LinkagePreset } from './linkage/presets.js';

/**
 * What the search index holds about one registration, computed from its current state and its
 * type's form: pure, so the inline projection and a rebuild produce the same rows.
 */
export interface SearchRow {
  id: string;
  type: string;
  status: string;
  flags: string[];
  office_path: string;
  event_location_path: string | null;
  event_date: string | null;
  tracking_id: string;
  registration_number: string | null;
  legacy_id: string | null;
  identifiers: string[];
  names: string;
  name_keys: string[];
  /** Each distinct name word with its spelling key (the registration_name_words lexicon). */
  name_words: Array<[string, string]>;
  block_keys: string[];
  fields: Record<string, string>;
  updated_at: Date;
}

export interface IndexedRegistration {
  id: string;
  type: string;
  status: string;
  flags: string[];
  officePath: string;
  eventLocationPath: string | null;
  eventDate: string | null;
  trackingId: string;
  registrationNumber: string | null;
  data: Record<string, unknown>;
  updatedAt: Date;
}

/** The answers of a type's form, by kind (personName, date, nationalId, phone, location, text...). */
// Type documents are immutable once saved: each one's field kinds are worked out once (the index
// projection asks for every registration it re-indexes).
const kindsOf = new WeakMap<RegistrationTypeDocument, Map<string, string>>();

export function fieldKinds(doc: RegistrationTypeDocument): Map<string, string> {
  const cached = kindsOf.get(doc);
  if (cached) return cached;
  const kinds = new Map<string, string>();
  kindsOf.set(doc, kinds);
  const walk = (items: unknown[]) => {
    for (const item of items as Array<Record<string, unknown>>) {
      if (typeof item.name === 'string' && typeof item.kind === 'string') kinds.set(item.name, item.kind);
      if (Array.isArray(item.items)) walk(item.items);
      if (Array.isArray(item.fields)) walk(item.fields);
    }
  };
  for (const page of doc.form.pages as unknown as Array<Record<string, unknown>>) {
    if (Array.isArray(page.items)) walk(page.items);
    if (Array.isArray(page.fields)) walk(page.fields);
  }
  return kinds;
}

/** The person-name fields of a type's form: what quick search compares query words with. */
export function personNameFields(doc: RegistrationTypeDocument): Set<string> {
  return new Set([...fieldKinds(doc)].filter(([, k]) => k === 'personName').map(([id]) => id));
}

/** Text of an answer that can be compared: dates as YYYY-MM-DD, ages dropped, objects skipped. */
function comparable(v: unknown): string | null {
  if (typeof v === 'string') return v.trim() || null;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

export const digits = (s: string) => s.replace(/[^0-9]/g, '');
/** Identifiers are compared upper-case without spaces or punctuation. */
export const normaliseIdentifier = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, '');

// --- the linkage model of a type ------------------------------------------------------------

/**
 * A type's scored de-duplication model: `deduplication.scored` of its document when given (fields
 * with kinds, subject, distinct, nameSwaps, blocking), else the shipped preset for `birth` and
 * `death`, else one made from the form (names, dates, ids).
 */
export interface ScoredConfig {
  fields?: Array<{ id: string; kind: FieldKind }>;
  subject?: string[];
  distinct?: Array<{ same: string[]; differ: string[] }>;
  nameSwaps?: Array<[string, string]>;
  blocking?: Array<Array<{ field: string; transform?: KeyTransform }>>;
  threshold?: number;
}

export interface DeduplicationConfig {
  /** `scored` (default), `rules`, or `both` (a pair is a duplicate when either says so). */
  mode?: 'scored' | 'rules' | 'both';
  scored?: ScoredConfig;
  rules?: { declare?: JsonValue; register?: JsonValue };
  /** Off: no check at all. */
  enabled?: boolean;
}

export function dedupConfig(doc: RegistrationTypeDocument): DeduplicationConfig {
  const d = doc.deduplication;
  return d && typeof d === 'object' && !Array.isArray(d) ? (d as unknown as DeduplicationConfig) : {};
}

const KIND_OF: Record<string, FieldKind> = { personName: 'name', date: 'date', nationalId: 'id', phone: 'id', location: 'code', email: 'code' };

export function linkagePreset(doc: RegistrationTypeDocument): LinkagePreset {
  const scored = dedupConfig(doc).scored;
  const base = !scored?.fields && doc.id === 'birth' ? birthLinkage : !scored?.fields && doc.id === 'death' ? deathLinkage : null;
  if (base && !scored?.blocking) return base;
  const kinds = fieldKinds(doc);
  const fields = scored?.fields ?? [...kinds].filter(([, k]) => KIND_OF[k]).map(([id, k]) => ({ id, kind: KIND_OF[k]! }));
  const config: LinkageConfig = base?.config ?? { fields, subject: scored?.subject, distinct: scored?.distinct, nameSwaps: scored?.nameSwaps };
  let blocking: BlockingRule[];
  if (scored?.blocking) blocking = scored.blocking.map((parts) => combineKeys(...parts.map((p) => fieldKey(p.field, p.transform ?? 'value'))));
  else if (base) blocking = base.blocking;
  else {
    // Generic keys: every id exactly; each name's Soundex with the event year.
    const ids = fields.filter((f) => f.kind === 'id').map((f) => fieldKey(f.id));
    const names = fields.filter((f) => f.kind === 'name').map((f) => combineKeys(fieldKey(f.id, 'soundex'), fieldKey(doc.eventDateField, 'year')));
    blocking = [...ids, ...names];
  }
  return { config, blocking };
}

// --- building a row ----------------------------------------------------------------------------

export function buildSearchRow(doc: RegistrationTypeDocument, reg: IndexedRegistration, preset: LinkagePreset, model: LinkageModel): SearchRow {
  const kinds = fieldKinds(doc);
  const fields: Record<string, string> = {};
  const identifiers = new Set<string>([reg.trackingId]);
  if (reg.registrationNumber) identifiers.add(normaliseIdentifier(reg.registrationNumber));
  const legacy = comparable(reg.data.legacyId);
  if (legacy) identifiers.add(normaliseIdentifier(legacy));
  const nameWords: string[] = [];
  const wordKeys = new Map<string, string>();
  const keys = new Set<string>();
  for (const [id, raw] of Object.entries(reg.data)) {
    const v = comparable(raw);
    if (v === null) continue;
    const kind = kinds.get(id);
    fields[id] = v;
    if (kind === 'nationalId') identifiers.add(normaliseIdentifier(v));
    if (kind === 'phone') {
      const d = digits(v);
      if (d.length >= 6) {
        identifiers.add(d);
        // Local and international forms of one number end alike: its last 8 and 9 digits too.
        identifiers.add(d.slice(-9));
        identifiers.add(d.slice(-8));
      }
    }
    if (kind === 'personName') {
      for (const w of fold(v).split(' ').filter(Boolean)) {
        nameWords.push(w);
        const k = spellingKey(w);
        wordKeys.set(w, k);
        keys.add(k);
        keys.add(`${id}:${k}`);
      }
    }
  }
  const blockKeys = blockingKeys(preset, model, fields).all;
  return {
    id: reg.id,
    type: reg.type,
    status: reg.status,
    flags: reg.flags,
    office_path: reg.officePath,
    event_location_path: reg.eventLocationPath,
    event_date: reg.eventDate,
    tracking_id: reg.trackingId,
    registration_number: reg.registrationNumber,
    legacy_id: legacy,
    identifiers: [...identifiers],
    names: nameWords.join(' '),
    name_keys: [...keys],
    name_words: [...wordKeys],
    block_keys: blockKeys,
    fields,
    updated_at: reg.updatedAt,
  };
}

/**
 * A record's blocking keys (`${rule index}:${key}`) from its comparable values: `all` as the index
 * stores them, split into `strong` (rules made of identifiers only) and `weak` (the others).
 */
function blockingKeys(preset: LinkagePreset, model: LinkageModel, values: Record<string, string | null | undefined>): { all: string[]; strong: string[]; weak: string[] } {
  const prepared = model.prepare([Object.fromEntries(preset.config.fields.map((f) => [f.id, values[f.id] ?? null]))])[0]!;
  const kindOf = new Map(model.fields.map((f) => [f.id, f.kind]));
  const all: string[] = [];
  const strong: string[] = [];
  const weak: string[] = [];
  for (const [i, rule] of preset.blocking.entries()) {
    const k = rule.key(prepared, model.fields);
    if (k === null) continue;
    all.push(`${i}:${k}`);
    (rule.fields.every((f) => kindOf.get(f) === 'id') ? strong : weak).push(`${i}:${k}`);
  }
  return { all, strong, weak };
}

/**
 * A new record's blocking keys, split for the candidate query. A key made only of identifiers
 * (a national id, a phone) is `strong`: sharing it alone makes a candidate. A key built from names
 * and dates (a name's sound and a birth year) is shared by thousands in a national register, so a
 * candidate must share two of them (`pairs`): a real duplicate shares several even with a typo, a
 * swapped date or a missing identifier, while one common key alone would fill the candidate limit
 * with strangers and leave the duplicate out. With fewer than two such keys (a sparse record),
 * each is enough on its own.
 */
export function candidateKeysOf(preset: LinkagePreset, model: LinkageModel, data: Record<string, unknown>): { all: string[]; strong: string[]; pairs: Array<[string, string]> } {
  const keysOf = (d: Record<string, unknown>) => blockingKeys(preset, model, Object.fromEntries(preset.config.fields.map((f) => [f.id, comparable(d[f.id])])));
  const own = keysOf(data);
  // A record whose first and last names were swapped keeps none of its name keys: the query also
  // asks with each pair the model treats as swappable put back the other way round.
  const variants = [own, ...(preset.config.nameSwaps ?? []).map(([a, b]) => keysOf({ ...data, [a]: data[b], [b]: data[a] }))];
  const strong = new Set<string>();
  const pairs = new Map<string, [string, string]>();
  for (const v of variants) {
    if (v.weak.length < 2) v.weak.forEach((k) => strong.add(k));
    v.strong.forEach((k) => strong.add(k));
    for (let a = 0; a < v.weak.length; a++) for (let b = a + 1; b < v.weak.length; b++) pairs.set(`${v.weak[a]}\n${v.weak[b]}`, [v.weak[a]!, v.weak[b]!]);
  }
  return { all: own.all, strong: [...strong], pairs: [...pairs.values()] };
}

export { comparable };
