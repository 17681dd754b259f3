/**
 * Registration forms: the instrument engine with the kinds civil registration needs (names,
 * national IDs, phones, addresses, locations, documents, signatures, dates given as an age).
 * Field ids are dotted (`child.firstName`) and answers a flat map keyed by them; expressions see
 * the answers nested (`{"var": "child.dob"}`), so JSON Logic paths read naturally.
 *
 * Pure code with no I/O: the web app runs it on every keystroke, the server on every action and
 * re-checks what only it can (that a location exists and is of the right kind, that a document
 * was uploaded).
 */
import { checkExpression, evaluate, ExpressionError, truthy, type Shape } from './expression.engine.js';
import { validateDefinition } from './definition.validator.js';
import { checkAnswer } from './submission.validator.js';
import type { DefinitionError, Field, JsonValue, RegistrationField, RegistrationFormPage, SubmissionError, DerivedValue, CheckDigit } from './instrument.types.js';
import { LIMITS, hasOwn, isPlainObject, pointerOf } from './limits.js';
import { PatternError, compilePattern, matchesPattern } from './pattern.engine.js';

export const FIELD_ID_RE = /^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*){0,3}$/;
const PAGE_ID_RE = /^[a-z][a-z0-9-]{0,63}$/;
const NAME_CHARS = /^[\p{L}\p{M}][\p{L}\p{M} '’.\-]*$/u;
const EMAIL_RE = /^[^\s@]{1,64}@[^\s@.]+(?:\.[^\s@.]+)+$/;
const DEFAULT_NATIONAL_ID = '[0-9]{10}';
const DEFAULT_PHONE = '\\+?[0-9]{6,15}';
const DEFAULT_ACCEPT = ['image/png', 'image/jpeg', 'application/pdf'];
const DEFAULT_DOC_BYTES = 5 * 1024 * 1024;
const SHA256_RE = /^[0-9a-f]{64}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ADDRESS_PARTS = ['line1', 'line2', 'city', 'postcode', 'locationId'];
const REGISTRATION_KINDS = ['personName', 'nationalId', 'phone', 'email', 'address', 'location', 'documents', 'signature'];
const STANDARD_KINDS = ['text', 'number', 'boolean', 'date', 'multiselect'];
const REG_KEYS: Record<string, string[]> = {
  personName: ['maxLength'],
  nationalId: ['pattern', 'checkDigit'],
  phone: ['pattern'],
  email: [],
  address: [],
  location: ['locationKind'],
  documents: ['accept', 'maxBytes', 'maxItems', 'documentTypes'],
  signature: [],
};
const COMMON_KEYS = ['kind', 'name', 'label', 'description', 'required', 'visibleWhen'];

// --- answers nested for expressions --------------------------------------------------------

/** `{"child.dob": "2024-01-01"}` → `{ child: { dob: "2024-01-01" } }`. */
export function nestAnswers(flat: Record<string, unknown>): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split('.');
    let cur: Record<string, JsonValue> = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const p = parts[i]!;
      const next = hasOwn(cur, p) ? cur[p] : undefined;
      if (!isPlainObject(next)) cur[p] = {};
      cur = cur[p] as Record<string, JsonValue>;
    }
    cur[parts[parts.length - 1]!] = value as JsonValue;
  }
  return out;
}

function shapeOf(ids: string[], extra: Record<string, Shape> = {}): Shape {
  const root: { type: 'record'; fields: Record<string, Shape> } = { type: 'record', fields: { ...extra } };
  for (const id of ids) {
    const parts = id.split('.');
    let cur = root;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1) {
        if (!hasOwn(cur.fields, p)) cur.fields[p] = { type: 'value' };
      } else {
        const next = cur.fields[p];
        if (!next || next.type !== 'record') cur.fields[p] = { type: 'record', fields: {} };
        cur = cur.fields[p] as typeof root;
      }
    }
  }
  return root;
}

// --- check digits --------------------------------------------------------------------------

const VERHOEFF_D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6], [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
  [5, 9, 8, 7, 6, 0, 4, 3, 2, 1], [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2], [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1], [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/** Whether the digits of `value` (other characters ignored) carry a valid check digit. */
export function checkDigitValid(value: string, algorithm: CheckDigit): boolean {
  if (algorithm === 'none') return true;
  const digits = value.replace(/\D/g, '').split('').map(Number);
  if (digits.length < 2) return false;
  if (algorithm === 'luhn') {
    let sum = 0;
    for (let i = 0; i < digits.length; i++) {
      let d = digits[digits.length - 1 - i]!;
      if (i % 2 === 1) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
    }
    return sum % 10 === 0;
  }
  if (algorithm === 'verhoeff') {
    let c = 0;
    const rev = [...digits].reverse();
    for (let i = 0; i < rev.length; i++) c = VERHOEFF_D[c]![VERHOEFF_P[i % 8]![rev[i]!]!]!;
    return c === 0;
  }
  // mod11: weights 2,3,4,... from the right over the body; check = (11 - sum % 11) % 11, 10 invalid.
  const body = digits.slice(0, -1);
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum += body[body.length - 1 - i]! * (i + 2);
  const check = (11 - (sum % 11)) % 11;
  return check < 10 && check === digits[digits.length - 1];
}

// --- the form definition -------------------------------------------------------------------

function localisedOk(v: unknown, languages: string[]): boolean {
  if (typeof v === 'string') return v.length > 0 && v.length <= 2000;
  if (!isPlainObject(v)) return false;
  const keys = Object.keys(v);
  return keys.length === languages.length && languages.every((l) => typeof v[l] === 'string' && (v[l] as string).length > 0);
}

/**
 * Checks a registration form: pages, unique dotted field ids, each field's settings (standard
 * kinds through the instrument validator itself), conditions and derived values naming only
 * known fields. Errors are pointers relative to the form (`/pages/0/fields/2/pattern`).
 */
export function validateRegistrationForm(form: unknown, languages: string[]): DefinitionError[] {
  const errors: DefinitionError[] = [];
  const err = (pointer: string, message: string) => {
    if (errors.length < LIMITS.errors) errors.push({ pointer, message });
  };
  if (!isPlainObject(form)) return [{ pointer: '', message: 'must be an object with pages' }];
  for (const k of Object.keys(form)) if (k !== 'pages' && k !== 'derived') err(pointerOf('', k), 'unknown property');
  const pages = form.pages;
  if (!Array.isArray(pages) || pages.length === 0 || pages.length > 50) return [...errors, { pointer: '/pages', message: 'must be a list of 1 to 50 pages' }];
  const ids: string[] = [];
  const seenPages = new Set<string>();
  const conditions: Array<{ expr: unknown; pointer: string; before: string[] }> = [];
  pages.forEach((page: unknown, p) => {
    const pp = pointerOf('/pages', p);
    if (!isPlainObject(page)) return err(pp, 'must be an object');
    for (const k of Object.keys(page)) if (!['id', 'title', 'description', 'visibleWhen', 'fields'].includes(k)) err(pointerOf(pp, k), 'unknown property');
    if (typeof page.id !== 'string' || !PAGE_ID_RE.test(page.id)) err(pointerOf(pp, 'id'), 'must be a lower-case id such as "child"');
    else if (seenPages.has(page.id)) err(pointerOf(pp, 'id'), `page "${page.id}" is defined twice`);
    else seenPages.add(page.id);
    if (!localisedOk(page.title, languages)) err(pointerOf(pp, 'title'), `must be a text in each of ${languages.join(', ')}`);
    if (hasOwn(page, 'description') && !localisedOk(page.description, languages)) err(pointerOf(pp, 'description'), `must be a text in each of ${languages.join(', ')}`);
    if (hasOwn(page, 'visibleWhen')) conditions.push({ expr: page.visibleWhen, pointer: pointerOf(pp, 'visibleWhen'), before: [...ids] });
    if (!Array.isArray(page.fields) || page.fields.length > 200) return err(pointerOf(pp, 'fields'), 'must be a list of at most 200 fields');
    page.fields.forEach((f: unknown, i) => {
      const fp = pointerOf(pp, 'fields', i);
      if (!isPlainObject(f)) return err(fp, 'must be an object');
      if (typeof f.name !== 'string' || !FIELD_ID_RE.test(f.name)) return err(pointerOf(fp, 'name'), 'must be a dotted id such as "child.firstName"');
      if (ids.includes(f.name)) return err(pointerOf(fp, 'name'), `"${f.name}" is defined twice`);
      if (ids.some((id) => id.startsWith(`${f.name}.`) || (f.name as string).startsWith(`${id}.`))) return err(pointerOf(fp, 'name'), `"${f.name}" cannot be both a field and a prefix of another`);
      if (hasOwn(f, 'visibleWhen')) conditions.push({ expr: f.visibleWhen, pointer: pointerOf(fp, 'visibleWhen'), before: [...ids] });
      checkField(f, fp, languages, err);
      ids.push(f.name);
    });
  });
  for (const c of conditions) checkExpression(c.expr, shapeOf(c.before, { $today: { type: 'value' } }), c.pointer, errors);
  if (hasOwn(form, 'derived')) {
    if (!isPlainObject(form.derived)) err('/derived', 'must be an object of derived values by id');
    else {
      for (const [name, d] of Object.entries(form.derived)) {
        const dp = pointerOf('/derived', name);
        if (!FIELD_ID_RE.test(name) || ids.includes(name)) err(dp, 'must be a dotted id that is not a field');
        if (!isPlainObject(d)) {
          err(dp, 'must be an object with label and expression');
          continue;
        }
        for (const k of Object.keys(d)) if (!['label', 'expression', 'round'].includes(k)) err(pointerOf(dp, k), 'unknown property');
        if (!localisedOk(d.label, languages)) err(pointerOf(dp, 'label'), `must be a text in each of ${languages.join(', ')}`);
        if (hasOwn(d, 'round') && d.round !== 'floor') err(pointerOf(dp, 'round'), 'must be "floor"');
        checkExpression(d.expression, shapeOf(ids, { $today: { type: 'value' }, $days: shapeOf(ids) }), pointerOf(dp, 'expression'), errors);
      }
    }
  }
  return errors;
}

function checkField(f: Record<string, unknown>, fp: string, languages: string[], err: (p: string, m: string) => void): void {
  const kind = f.kind;
  if (typeof kind !== 'string' || (!REGISTRATION_KINDS.includes(kind) && !STANDARD_KINDS.includes(kind))) {
    return err(pointerOf(fp, 'kind'), `must be one of ${[...STANDARD_KINDS, ...REGISTRATION_KINDS].join(', ')}`);
  }
  if (STANDARD_KINDS.includes(kind)) {
    // The instrument validator checks the standard kinds; a synthetic one-field form borrows it.
    const { ageInsteadOfDate, ...rest } = f;
    if (ageInsteadOfDate !== undefined && (kind !== 'date' || typeof ageInsteadOfDate !== 'boolean')) err(pointerOf(fp, 'ageInsteadOfDate'), 'only date fields take ageInsteadOfDate, true or false');
    const { visibleWhen: _conditionCheckedAbove, ...probeFields } = rest;
    const probe = { ...probeFields, name: 'f' };
    const r = validateDefinition({ kind: 'form', name: 'probe', edition: 1, languages, details: { title: Object.fromEntries(languages.map((l) => [l, 'x'])), license: 'CC0-1.0' }, content: [probe] });
    if (!r.ok) for (const e of r.errors) err(fp + e.pointer.replace(/^\/content\/0/, ''), e.message);
    return;
  }
  for (const k of Object.keys(f)) if (!COMMON_KEYS.includes(k) && !REG_KEYS[kind]!.includes(k)) err(pointerOf(fp, k), `unknown property for a ${kind} field`);
  if (!localisedOk(f.label, languages)) err(pointerOf(fp, 'label'), `must be a text in each of ${languages.join(', ')}`);
  if (hasOwn(f, 'description') && !localisedOk(f.description, languages)) err(pointerOf(fp, 'description'), `must be a text in each of ${languages.join(', ')}`);
  if (hasOwn(f, 'required') && typeof f.required !== 'boolean') err(pointerOf(fp, 'required'), 'must be true or false');
  if (hasOwn(f, 'pattern')) {
    try {
      if (typeof f.pattern !== 'string') throw new PatternError('must be a string');
      compilePattern(f.pattern);
    } catch (e) {
      if (!(e instanceof PatternError)) throw e;
      err(pointerOf(fp, 'pattern'), `is not a usable pattern: ${e.message}`);
    }
  }
  if (hasOwn(f, 'checkDigit') && !['none', 'luhn', 'verhoeff', 'mod11'].includes(f.checkDigit as string)) err(pointerOf(fp, 'checkDigit'), 'must be none, luhn, verhoeff or mod11');
  if (hasOwn(f, 'locationKind') && !['area', 'office', 'any'].includes(f.locationKind as string)) err(pointerOf(fp, 'locationKind'), 'must be area, office or any');
  if (hasOwn(f, 'maxLength') && !(Number.isInteger(f.maxLength) && (f.maxLength as number) >= 1 && (f.maxLength as number) <= 500)) err(pointerOf(fp, 'maxLength'), 'must be a whole number from 1 to 500');
  if (hasOwn(f, 'maxBytes') && !(Number.isInteger(f.maxBytes) && (f.maxBytes as number) >= 1 && (f.maxBytes as number) <= 10 * 1024 * 1024)) err(pointerOf(fp, 'maxBytes'), 'must be a whole number of bytes up to 10 MiB');
  if (hasOwn(f, 'maxItems') && !(Number.isInteger(f.maxItems) && (f.maxItems as number) >= 1 && (f.maxItems as number) <= 50)) err(pointerOf(fp, 'maxItems'), 'must be a whole number from 1 to 50');
  if (hasOwn(f, 'accept') && !(Array.isArray(f.accept) && f.accept.length > 0 && f.accept.every((t) => DEFAULT_ACCEPT.includes(t as string)))) err(pointerOf(fp, 'accept'), `must be a list of ${DEFAULT_ACCEPT.join(', ')}`);
  if (hasOwn(f, 'documentTypes')) {
    const ok = Array.isArray(f.documentTypes) && f.documentTypes.every((o) => isPlainObject(o) && typeof o.value === 'string' && /^[a-z0-9-]{1,64}$/.test(o.value) && localisedOk(o.label, languages));
    if (!ok) err(pointerOf(fp, 'documentTypes'), 'must be a list of { value, label } with lower-case values');
  }
}

// --- answers -------------------------------------------------------------------------------

export interface RegistrationDataOptions {
  /** YYYY-MM-DD; defaults to the current UTC date. */
  today?: string;
}

export interface RegistrationDataResult {
  /** False when some answer is malformed (a missing required answer is not malformed). */
  ok: boolean;
  /** Visible, well-formed answers, normalised. */
  data: Record<string, JsonValue>;
  derived: Record<string, JsonValue>;
  errors: SubmissionError[];
  /** Visible required fields left unanswered (declare refuses them; notify records them as incomplete). */
  missing: string[];
  /** Location ids and document refs the server must check exist. */
  locations: Array<{ field: string; id: string; kind: 'area' | 'office' | 'any' }>;
  documents: Array<{ field: string; documentId: string }>;
}

function daysOf(date: string): number {
  return Math.floor(Date.parse(`${date}T00:00:00Z`) / 86_400_000);
}

/**
 * Checks a registration's answers against its form, in page order: a condition sees only earlier
 * visible, valid answers; hidden fields are dropped; every error names its field.
 */
export function validateRegistrationData(form: { pages: RegistrationFormPage[]; derived?: Record<string, DerivedValue> }, answers: unknown, options: RegistrationDataOptions = {}): RegistrationDataResult {
  const today = options.today ?? new Date().toISOString().slice(0, 10);
  const out: RegistrationDataResult = { ok: true, data: {}, derived: {}, errors: [], missing: [], locations: [], documents: [] };
  const fail = (field: string, code: SubmissionError['code'], message: string) => {
    if (out.errors.length < LIMITS.errors) out.errors.push({ field, pointer: pointerOf('', field), code, message });
    return undefined;
  };
  if (!isPlainObject(answers)) {
    fail('', 'not_an_object', 'data must be an object of answers by field id');
    out.ok = false;
    return out;
  }
  const known = new Set(form.pages.flatMap((p) => p.fields.map((f) => f.name)));
  for (const key of Object.keys(answers)) if (!known.has(key)) fail(key, 'unknown_field', `"${key}" is not a field of this form`);
  const visible = (expr: unknown): boolean => {
    if (expr === undefined) return true;
    try {
      return truthy(evaluate(expr as JsonValue, { ...nestAnswers(out.data), $today: today }));
    } catch (e) {
      if (!(e instanceof ExpressionError)) throw e;
      return false;
    }
  };
  for (const page of form.pages) {
    if (!visible(page.visibleWhen)) continue;
    for (const field of page.fields) {
      if (!visible(field.visibleWhen)) continue;
      const raw = hasOwn(answers, field.name) ? answers[field.name] : undefined;
      if (raw === undefined || raw === null || raw === '' || (Array.isArray(raw) && raw.length === 0)) {
        if (field.required) out.missing.push(field.name);
        continue;
      }
      const value = checkRegistrationAnswer(field, raw, today, fail, out);
      if (value !== undefined) out.data[field.name] = value;
    }
  }
  if (form.derived) {
    const days: Record<string, number> = {};
    for (const [k, v] of Object.entries(out.data)) if (typeof v === 'string' && /^\d{4}-\d\d-\d\d$/.test(v)) days[k] = daysOf(v);
    const scope = { ...nestAnswers(out.data), $today: today, $days: nestAnswers(days) };
    for (const [name, d] of Object.entries(form.derived)) {
      let v: JsonValue = null;
      try {
        v = evaluate(d.expression, scope);
      } catch (e) {
        if (!(e instanceof ExpressionError)) throw e;
      }
      if (typeof v === 'number' && (d as { round?: string }).round === 'floor') v = Math.floor(v);
      if (v !== null && typeof v !== 'object') out.derived[name] = v;
    }
  }
  out.ok = out.errors.length === 0;
  return out;
}

function checkRegistrationAnswer(
  field: RegistrationField,
  raw: unknown,
  today: string,
  fail: (field: string, code: SubmissionError['code'], message: string) => undefined,
  out: RegistrationDataResult,
): JsonValue | undefined {
  const id = field.name;
  const patternOk = (pattern: string, value: string) => {
    try {
      return matchesPattern(pattern, value);
    } catch (e) {
      if (!(e instanceof PatternError)) throw e;
      return false;
    }
  };
  switch (field.kind) {
    case 'personName': {
      if (typeof raw !== 'string') return fail(id, 'wrong_type', 'must be text');
      const v = raw.normalize('NFC').replace(/\s+/g, ' ').trim();
      if (Array.from(v).length > (field.maxLength ?? 100)) return fail(id, 'too_long', `must be at most ${field.maxLength ?? 100} characters`);
      if (!NAME_CHARS.test(v)) return fail(id, 'pattern', 'must be letters, spaces, apostrophes, hyphens or dots');
      return v;
    }
    case 'nationalId': {
      if (typeof raw !== 'string') return fail(id, 'wrong_type', 'must be text');
      const v = raw.trim();
      if (v.length > 64 || !patternOk(field.pattern ?? DEFAULT_NATIONAL_ID, v)) return fail(id, 'pattern', 'is not a national ID in the expected format');
      if (!checkDigitValid(v, field.checkDigit ?? 'none')) return fail(id, 'pattern', 'has a wrong check digit');
      return v;
    }
    case 'phone': {
      if (typeof raw !== 'string') return fail(id, 'wrong_type', 'must be text');
      const v = raw.replace(/[\s().-]/g, '');
      if (v.length > 32 || !patternOk(field.pattern ?? DEFAULT_PHONE, v)) return fail(id, 'pattern', 'is not a phone number');
      return v;
    }
    case 'email': {
      if (typeof raw !== 'string') return fail(id, 'wrong_type', 'must be text');
      const v = raw.trim();
      if (v.length > 254 || !EMAIL_RE.test(v)) return fail(id, 'pattern', 'is not an email address');
      return v;
    }
    case 'address': {
      if (!isPlainObject(raw)) return fail(id, 'wrong_type', 'must be an object of address parts');
      const v: Record<string, string> = {};
      for (const [k, part] of Object.entries(raw)) {
        if (!ADDRESS_PARTS.includes(k)) return fail(`${id}.${k}`, 'unknown_field', `an address has ${ADDRESS_PARTS.join(', ')}`);
        if (part === null || part === '') continue;
        if (typeof part !== 'string' || part.length > 200) return fail(`${id}.${k}`, 'wrong_type', 'must be text of at most 200 characters');
        if (k === 'locationId' && !UUID_RE.test(part)) return fail(`${id}.${k}`, 'wrong_type', 'must be a location id');
        v[k] = part.trim();
      }
      if (v.locationId) out.locations.push({ field: `${id}.locationId`, id: v.locationId, kind: 'any' });
      return v;
    }
    case 'location': {
      if (typeof raw !== 'string' || !UUID_RE.test(raw)) return fail(id, 'wrong_type', 'must be a location id');
      out.locations.push({ field: id, id: raw, kind: field.locationKind ?? 'any' });
      return raw;
    }
    case 'documents':
    case 'signature': {
      const list = field.kind === 'signature' ? [raw] : raw;
      if (!Array.isArray(list)) return fail(id, 'wrong_type', 'must be a list of documents');
      const maxItems = field.kind === 'documents' ? (field.maxItems ?? 10) : 1;
      if (list.length > maxItems) return fail(id, 'too_many', `at most ${maxItems} documents`);
      const accept = field.kind === 'signature' ? ['image/png', 'image/jpeg'] : (field.accept ?? DEFAULT_ACCEPT);
      const maxBytes = field.kind === 'documents' ? (field.maxBytes ?? DEFAULT_DOC_BYTES) : 512 * 1024;
      const docs: JsonValue[] = [];
      for (let i = 0; i < list.length; i++) {
        const d: unknown = list[i];
        const at = field.kind === 'signature' ? id : `${id}.${i}`;
        if (!isPlainObject(d) || typeof d.documentId !== 'string' || !SHA256_RE.test(d.documentId)) return fail(at, 'wrong_type', 'must be { documentId, mediaType, size } from the upload');
        for (const k of Object.keys(d)) if (!['documentId', 'mediaType', 'size', 'name', 'documentType'].includes(k)) return fail(`${at}.${k}`, 'unknown_field', 'unknown property of a document');
        if (typeof d.mediaType !== 'string' || !accept.includes(d.mediaType)) return fail(at, 'not_an_option', `must be one of ${accept.join(', ')}`);
        if (typeof d.size !== 'number' || !Number.isInteger(d.size) || d.size < 1) return fail(at, 'wrong_type', 'size must be a whole number of bytes');
        if (d.size > maxBytes) return fail(at, 'too_large', `must be at most ${maxBytes} bytes`);
        if (d.name !== undefined && (typeof d.name !== 'string' || d.name.length > 200)) return fail(`${at}.name`, 'wrong_type', 'must be text of at most 200 characters');
        if (d.documentType !== undefined) {
          const types = field.kind === 'documents' ? (field.documentTypes ?? []) : [];
          if (typeof d.documentType !== 'string' || !types.some((t) => t.value === d.documentType)) return fail(`${at}.documentType`, 'not_an_option', 'is not one of the document types');
        }
        out.documents.push({ field: at, documentId: d.documentId });
        docs.push(d as JsonValue);
      }
      return field.kind === 'signature' ? docs[0]! : docs;
    }
    case 'date': {
      if (field.ageInsteadOfDate && isPlainObject(raw)) {
        const keys = Object.keys(raw);
        const age = raw.age;
        if (keys.length !== 1 || typeof age !== 'number' || !Number.isInteger(age) || age < 0 || age > 150) return fail(id, 'wrong_type', 'an age must be { "age": whole years from 0 to 150 }');
        return { age };
      }
      const r = checkAnswer(field as Field, raw, { field: id, pointer: pointerOf('', id) }, { today });
      for (const e of r.errors) fail(e.field, e.code, e.message);
      return r.value;
    }
    default: {
      const r = checkAnswer(field as Field, raw, { field: id, pointer: pointerOf('', id) }, { today });
      for (const e of r.errors) fail(e.field, e.code, e.message);
      return r.value;
    }
  }
}
