import type { JsonValue, RegistrationTypeDocument } from '@cairn/sdk';
import { fold, spellingKey } from './linkage/strings.js';
import { FIELD_KINDS, LinkageModel, type BlockingRule, type FieldKind, type LinkageConfig, type Prepared, combineKeys, fieldKey, type KeyTransform } from './linkage/model.js';
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
  /** De-duplication keys and pairs of keys (candidateKeysOf), stored as hashes. */
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

// Type documents are immutable once saved: each one's form is walked once (the index projection
// asks for every registration it re-indexes).
const fieldsOfDoc = new WeakMap<RegistrationTypeDocument, Map<string, Record<string, unknown>>>();
const kindsOf = new WeakMap<RegistrationTypeDocument, Map<string, string>>();

/** Every field of a type's form, by name, wherever it sits (pages, groups). */
export function formFields(doc: RegistrationTypeDocument): Map<string, Record<string, unknown>> {
  const cached = fieldsOfDoc.get(doc);
  if (cached) return cached;
  const fields = new Map<string, Record<string, unknown>>();
  fieldsOfDoc.set(doc, fields);
  const walk = (items: unknown) => {
    if (!Array.isArray(items)) return;
    for (const item of items as Array<Record<string, unknown>>) {
      if (typeof item.name === 'string' && typeof item.kind === 'string') fields.set(item.name, item);
      walk(item.items);
      walk(item.fields);
    }
  };
  for (const page of doc.form.pages as unknown as Array<Record<string, unknown>>) {
    walk(page.items);
    walk(page.fields);
  }
  return fields;
}

/** The answers of a type's form, by kind (personName, date, nationalId, phone, location, text...). */
export function fieldKinds(doc: RegistrationTypeDocument): Map<string, string> {
  const cached = kindsOf.get(doc);
  if (cached) return cached;
  const kinds = new Map([...formFields(doc)].map(([name, item]) => [name, item.kind as string]));
  kindsOf.set(doc, kinds);
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
  distinct?: LinkageConfig['distinct'];
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

/**
 * The `deduplication` part of a type document, checked when a version is saved: the model it
 * describes must build (every field it names is one of its fields, of a known kind, and of the
 * form), so no declare later fails on it.
 */
export function checkDeduplication(doc: RegistrationTypeDocument): Array<{ pointer: string; message: string }> {
  const d = doc.deduplication;
  if (d === undefined) return [];
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return [{ pointer: '/deduplication', message: 'must be an object' }];
  const cfg = d as Record<string, unknown>;
  const problems: Array<{ pointer: string; message: string }> = [];
  if (cfg.mode !== undefined && !['scored', 'rules', 'both'].includes(cfg.mode as string)) problems.push({ pointer: '/deduplication/mode', message: 'must be scored, rules or both' });
  if (cfg.enabled !== undefined && typeof cfg.enabled !== 'boolean') problems.push({ pointer: '/deduplication/enabled', message: 'must be true or false' });
  const scored = cfg.scored as ScoredConfig | undefined;
  if (scored !== undefined && (typeof scored !== 'object' || scored === null || Array.isArray(scored))) return [...problems, { pointer: '/deduplication/scored', message: 'must be an object' }];
  if (scored?.threshold !== undefined && (typeof scored.threshold !== 'number' || !(scored.threshold > 0 && scored.threshold < 1))) problems.push({ pointer: '/deduplication/scored/threshold', message: 'must be a number between 0 and 1' });
  const formFields = fieldKinds(doc);
  (Array.isArray(scored?.fields) ? scored.fields : []).forEach((f, i) => {
    if (!f || typeof f.id !== 'string' || !formFields.has(f.id)) problems.push({ pointer: `/deduplication/scored/fields/${i}/id`, message: 'must name a field of the form' });
    if (!f || !FIELD_KINDS.includes(f.kind)) problems.push({ pointer: `/deduplication/scored/fields/${i}/kind`, message: `must be one of ${FIELD_KINDS.join(', ')}` });
  });
  if (problems.length) return problems;
  try {
    const preset = linkagePreset(doc);
    const model = new LinkageModel(preset.config);
    // A blocking rule reading a field the model does not compare would never make a key.
    const known = new Set(model.fields.map((f) => f.id));
    preset.blocking.forEach((rule, i) => {
      for (const f of rule.fields) if (!known.has(f)) problems.push({ pointer: `/deduplication/scored/blocking/${i}`, message: `"${String(f).slice(0, 100)}" is not one of the model's fields` });
    });
  } catch (e) {
    problems.push({ pointer: '/deduplication/scored', message: e instanceof Error ? e.message.slice(0, 200) : 'is not a model this server can build' });
  }
  return problems;
}

// --- building a row ----------------------------------------------------------------------------

const ASCII = /^[\x00-\x7f]*$/;

/** jsonb's key order: shorter keys first (in UTF-8 bytes), then bytewise. */
export function jsonbKeyOrder(a: string, b: string): number {
  if (ASCII.test(a) && ASCII.test(b)) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length - y.length || Buffer.compare(x, y);
}

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
  // In the order PostgreSQL keeps a jsonb object's keys: a row built from a state just folded and
  // one built from the stored jsonb (a rebuild) list identifiers and names alike.
  for (const id of Object.keys(reg.data).sort(jsonbKeyOrder)) {
    const v = comparable(reg.data[id]);
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
  const blockKeys = indexKeysOf(keysOfPrepared(preset, model, preparedOf(preset, model, fields)));
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

/** Which of a preset's blocking rules read identifiers only (strong keys), worked out once per preset. */
const strongRulesOf = new WeakMap<LinkagePreset, boolean[]>();

function strongRules(preset: LinkagePreset, model: LinkageModel): boolean[] {
  let strong = strongRulesOf.get(preset);
  if (!strong) {
    const kindOf = new Map(model.fields.map((f) => [f.id, f.kind]));
    strong = preset.blocking.map((rule) => rule.fields.every((f) => kindOf.get(f) === 'id'));
    strongRulesOf.set(preset, strong);
  }
  return strong;
}

/** A prepared record's blocking keys (`${rule index}:${key}`), split into strong (identifiers only) and weak. */
function keysOfPrepared(preset: LinkagePreset, model: LinkageModel, prepared: Prepared): { all: string[]; strong: string[]; weak: string[] } {
  const isStrong = strongRules(preset, model);
  const all: string[] = [];
  const strong: string[] = [];
  const weak: string[] = [];
  for (let i = 0; i < preset.blocking.length; i++) {
    const k = preset.blocking[i]!.key(prepared, model.fields);
    if (k === null) continue;
    all.push(`${i}:${k}`);
    (isStrong[i] ? strong : weak).push(`${i}:${k}`);
  }
  return { all, strong, weak };
}

/** Two weak keys as one: the order of the two does not matter ('&' never occurs in a key). */
const pairKey = (a: string, b: string) => (a < b ? `${a}&${b}` : `${b}&${a}`);

/**
 * What the index stores for a record (hashed, migration 1212): every key on its own, and every
 * pair of its weak keys, so "shares two weak keys" is one look-up of a pair, not the intersection
 * of two long lists.
 */
function indexKeysOf(k: { all: string[]; weak: string[] }): string[] {
  return [...k.all, ...pairsOf(k.weak)];
}

/** Every pair of these weak keys, each as one key. */
function pairsOf(weak: string[]): string[] {
  const out: string[] = [];
  for (let a = 0; a < weak.length; a++) for (let b = a + 1; b < weak.length; b++) out.push(pairKey(weak[a]!, weak[b]!));
  return out;
}

function preparedOf(preset: LinkagePreset, model: LinkageModel, values: Record<string, unknown>): Prepared {
  return model.prepare([Object.fromEntries(preset.config.fields.map((f) => [f.id, comparable(values[f.id])]))])[0]!;
}

/**
 * A new record's blocking keys for the candidate query (`asked`) and for the index (`index`). A
 * key made only of identifiers (a national id, a phone) is strong: sharing it alone makes a
 * candidate. A key built from names and dates (a name's sound and a birth year) is shared by
 * thousands in a national register, so a candidate must share two of them: a real duplicate
 * shares several even with a typo, a swapped date or a missing identifier, while one common key
 * alone would fill the candidate limit with strangers and leave the duplicate out. With fewer than
 * two such keys (a sparse record), each is enough on its own. A record whose first and last names
 * were swapped keeps none of its name keys: the query also asks with each pair the model treats
 * as swappable put back the other way round.
 */
export function candidateKeysOf(preset: LinkagePreset, model: LinkageModel, data: Record<string, unknown>): { index: string[]; asked: string[] } {
  const prepared = preparedOf(preset, model, data);
  const own = keysOfPrepared(preset, model, prepared);
  const asked = new Set<string>();
  const ask = (v: { strong: string[]; weak: string[] }) => {
    v.strong.forEach((k) => asked.add(k));
    (v.weak.length < 2 ? v.weak : pairsOf(v.weak)).forEach((k) => asked.add(k));
  };
  ask(own);
  for (const [a, b] of preset.config.nameSwaps ?? []) {
    const ia = model.fields.findIndex((f) => f.id === a);
    const ib = model.fields.findIndex((f) => f.id === b);
    // A field's preparation depends on its kind alone: two fields of one kind swap their prepared
    // values; otherwise the swapped answers are prepared again.
    let swapped: Prepared;
    if (ia >= 0 && ib >= 0 && model.fields[ia]!.kind === model.fields[ib]!.kind) {
      const swap = <T>(xs: T[]) => xs.map((x, i) => (i === ia ? xs[ib]! : i === ib ? xs[ia]! : x));
      swapped = { raw: swap(prepared.raw), norm: swap(prepared.norm), keys: swap(prepared.keys) };
    } else swapped = preparedOf(preset, model, { ...data, [a]: data[b], [b]: data[a] });
    ask(keysOfPrepared(preset, model, swapped));
  }
  return { index: indexKeysOf(own), asked: [...asked] };
}

export { comparable };
