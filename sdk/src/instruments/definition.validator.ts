/**
 * Validates untrusted instrument definitions. Definitions are authored by users with the right
 * role and rendered to everyone else, so a definition is checked as hostile input: bounded size
 * first (cheap, before anything else looks at it), then structure, then meaning (references,
 * expressions, patterns, translations). Every error carries a JSON pointer into the definition,
 * which is what the instrument playground highlights.
 */
import { VALUE, checkExpression, type Shape } from './expression.engine.js';
import type {
  DefinitionError,
  DefinitionResult,
  FormInstrument,
  InstrumentDefinition,
  SeriesInstrument,
} from './instrument.types.js';
import { LIMITS, hasOwn, isPlainObject, pointerOf } from './limits.js';
import { PatternError, compilePattern } from './pattern.engine.js';
import { measureOrder } from './measures.order.js';

export interface ValidateDefinitionOptions {
  /**
   * Looks up a form that a series names. Without it, series entries are checked for shape only;
   * the server passes its catalogue so a series cannot name a missing form.
   */
  resolveForm?: (name: string, edition: number) => InstrumentDefinition | undefined;
}

const NAME_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const IDENT_RE = /^[A-Za-z][A-Za-z0-9_]*$/;
const LANG_RE = /^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$/;
const SPDX_ID = '(?:LicenseRef-[A-Za-z0-9.-]+|[A-Za-z0-9][A-Za-z0-9.+-]*)';
const SPDX_RE = new RegExp(`^\\(?${SPDX_ID}\\)?(?: (?:AND|OR|WITH) \\(?${SPDX_ID}\\)?)*$`);
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

const SCALAR_KINDS = ['text', 'number', 'boolean', 'date', 'multiselect'] as const;
const FIELD_KINDS = [...SCALAR_KINDS, 'repeated', 'likert'] as const;
const COMMON_KEYS = ['kind', 'name', 'label', 'description', 'required', 'visibleWhen'];
const KIND_KEYS: Record<string, string[]> = {
  text: ['variant', 'minLength', 'maxLength', 'pattern', 'options', 'placeholder'],
  number: ['variant', 'integer', 'min', 'max', 'step', 'options'],
  boolean: ['variant', 'mustBeTrue', 'trueLabel', 'falseLabel'],
  date: ['min', 'max'],
  multiselect: ['options', 'minItems', 'maxItems'],
  repeated: ['fields', 'minItems', 'maxItems', 'itemLabel'],
  likert: ['items', 'options'],
};

export function isValidDate(s: string): boolean {
  const m = DATE_RE.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1) return false;
  const days = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return d <= days[mo - 1]!;
}

function recordShape(fields: Record<string, Shape>): Shape & { type: 'record' } {
  return { type: 'record', fields };
}

interface Declared {
  name: string;
  shape: Shape;
}

class Checker {
  readonly errors: DefinitionError[] = [];
  languages: string[] | null = null;
  fieldCount = 0;
  /** Top-level fields in document order. */
  readonly declared: Declared[] = [];
  private readonly expressions: Array<{ expr: unknown; ptr: string; scope: () => Shape; later: string[]; laterMessage?: (path: string) => string }> = [];

  error(pointer: string, message: string): void {
    if (this.errors.length < LIMITS.errors) this.errors.push({ pointer, message });
  }

  get full(): boolean {
    return this.errors.length >= LIMITS.errors;
  }

  object(v: unknown, ptr: string, allowed: string[], required: string[]): Record<string, unknown> | null {
    if (!isPlainObject(v)) {
      this.error(ptr, 'must be an object');
      return null;
    }
    for (const k of Object.keys(v)) if (!allowed.includes(k)) this.error(pointerOf(ptr, k), `unknown property "${k}"`);
    for (const k of required) if (!hasOwn(v, k)) this.error(ptr, `missing property "${k}"`);
    return v;
  }

  string(v: unknown, ptr: string, opts: { max?: number; re?: RegExp; what?: string; nonEmpty?: boolean } = {}): v is string {
    if (typeof v !== 'string') {
      this.error(ptr, 'must be a string');
      return false;
    }
    if (opts.nonEmpty && v.trim() === '') {
      this.error(ptr, 'must not be empty');
      return false;
    }
    if (opts.max !== undefined && v.length > opts.max) {
      this.error(ptr, `must be at most ${opts.max} characters`);
      return false;
    }
    if (opts.re && !opts.re.test(v)) {
      this.error(ptr, `must be ${opts.what ?? `a string matching ${opts.re.source}`}`);
      return false;
    }
    return true;
  }

  integer(v: unknown, ptr: string, min: number, max: number): v is number {
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.error(ptr, 'must be an integer');
      return false;
    }
    if (v < min || v > max) {
      this.error(ptr, `must be between ${min} and ${max}`);
      return false;
    }
    return true;
  }

  number(v: unknown, ptr: string): v is number {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.error(ptr, 'must be a finite number');
      return false;
    }
    return true;
  }

  boolean(v: unknown, ptr: string): v is boolean {
    if (typeof v !== 'boolean') {
      this.error(ptr, 'must be true or false');
      return false;
    }
    return true;
  }

  array(v: unknown, ptr: string, min: number, max: number): v is unknown[] {
    if (!Array.isArray(v)) {
      this.error(ptr, 'must be an array');
      return false;
    }
    if (v.length < min) {
      this.error(ptr, min === 1 ? 'must not be empty' : `must have at least ${min} items`);
      return false;
    }
    if (v.length > max) {
      this.error(ptr, `must have at most ${max} items`);
      return false;
    }
    return true;
  }

  /** A user-facing string: plain, or a map with exactly the declared languages. */
  localised(v: unknown, ptr: string): void {
    if (typeof v === 'string') {
      if (v.trim() === '') this.error(ptr, 'must not be empty');
      return;
    }
    if (!isPlainObject(v)) {
      this.error(ptr, 'must be a string or an object of translations such as { "en": "...", "fr": "..." }');
      return;
    }
    const langs = this.languages;
    for (const [lang, text] of Object.entries(v)) {
      if (langs && !langs.includes(lang)) this.error(pointerOf(ptr, lang), `language "${lang}" is not declared in "languages"`);
      else if (!langs && !LANG_RE.test(lang)) this.error(pointerOf(ptr, lang), `"${lang}" is not a language code`);
      else if (typeof text !== 'string' || text.trim() === '') this.error(pointerOf(ptr, lang), 'must be a non-empty string');
    }
    if (langs) {
      for (const lang of langs) if (!hasOwn(v, lang)) this.error(ptr, `missing the "${lang}" translation`);
    } else if (Object.keys(v).length === 0) {
      this.error(ptr, 'must have at least one translation');
    }
  }

  optionalLocalised(o: Record<string, unknown>, key: string, ptr: string): void {
    if (hasOwn(o, key)) this.localised(o[key], pointerOf(ptr, key));
  }

  /** Expressions are checked after the whole form is read, so messages can tell "later" from "unknown". */
  expression(expr: unknown, ptr: string, scope: () => Shape, later: string[], laterMessage?: (path: string) => string): void {
    this.expressions.push({ expr, ptr, scope, later, laterMessage });
  }

  checkExpressions(): void {
    for (const { expr, ptr, scope, later, laterMessage } of this.expressions) {
      const errs: DefinitionError[] = [];
      checkExpression(expr, scope(), ptr, errs);
      for (const e of errs) {
        const m = /^unknown variable "([^"]*)"/.exec(e.message);
        const path = m?.[1];
        if (path !== undefined && later.some((l) => path === l || path.startsWith(`${l}.`))) {
          this.error(e.pointer, laterMessage ? laterMessage(path) : `"${path}" is declared after this expression; expressions may only use what comes before them`);
        } else this.error(e.pointer, e.message);
      }
    }
  }

  scopeOf(count: number): Record<string, Shape> {
    const fields: Record<string, Shape> = {};
    for (const d of this.declared.slice(0, count)) fields[d.name] = d.shape;
    return fields;
  }
}

/**
 * Refuses anything that is not small, plain JSON before any other check runs, so a hostile
 * definition (a million fields, nesting a thousand deep, a cycle) costs at most the node limit.
 */
function prescan(def: unknown): DefinitionError | null {
  let nodes = 0;
  let chars = 0;
  const path: Array<string | number> = [];
  const at = () => pointerOf('', ...path);
  const walk = (v: unknown, depth: number): DefinitionError | null => {
    nodes += 1;
    if (nodes > LIMITS.definitionNodes) return { pointer: at(), message: `definition has more than ${LIMITS.definitionNodes} values` };
    if (depth > LIMITS.definitionDepth) return { pointer: at(), message: `definition is nested more than ${LIMITS.definitionDepth} levels deep` };
    if (v === null || typeof v === 'boolean') return null;
    if (typeof v === 'number') return Number.isFinite(v) ? null : { pointer: at(), message: 'numbers must be finite' };
    if (typeof v === 'string') {
      chars += v.length;
      if (v.length > LIMITS.stringLength) return { pointer: at(), message: `string is longer than ${LIMITS.stringLength} characters` };
      if (chars > LIMITS.definitionChars) return { pointer: at(), message: `definition has more than ${LIMITS.definitionChars} characters of text` };
      return null;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        const e = walk(v[i], depth + 1);
        path.pop();
        if (e) return e;
      }
      return null;
    }
    if (isPlainObject(v)) {
      for (const k of Object.keys(v)) {
        chars += k.length;
        path.push(k);
        const e = k.length > LIMITS.stringLength ? { pointer: at(), message: 'property name too long' } : walk(v[k], depth + 1);
        path.pop();
        if (e) return e;
      }
      return null;
    }
    return { pointer: at(), message: 'not a JSON value' };
  };
  return walk(def, 0);
}

export function validateDefinition(def: unknown, options: ValidateDefinitionOptions = {}): DefinitionResult {
  const pre = prescan(def);
  if (pre) return { ok: false, errors: [pre] };
  const c = new Checker();
  if (!isPlainObject(def)) return { ok: false, errors: [{ pointer: '', message: 'a definition must be a JSON object' }] };

  const kind = def.kind;
  if (kind !== 'form' && kind !== 'series') {
    c.error('/kind', 'must be "form" or "series"');
    return { ok: false, errors: c.errors };
  }
  const topKeys = ['$schema', 'kind', 'name', 'edition', 'languages', 'details', 'content', ...(kind === 'form' ? ['measures'] : [])];
  c.object(def, '', topKeys, ['name', 'edition', 'languages', 'details', 'content']);
  if (hasOwn(def, '$schema')) c.string(def.$schema, '/$schema', { max: 500 });
  if (hasOwn(def, 'name')) c.string(def.name, '/name', { max: 64, re: NAME_RE, what: 'a slug of lowercase letters, digits and single dashes' });
  if (hasOwn(def, 'edition')) c.integer(def.edition, '/edition', 1, 1_000_000);
  checkLanguages(c, def.languages);
  if (hasOwn(def, 'details')) checkDetails(c, def.details);

  if (kind === 'form') checkForm(c, def);
  else checkSeries(c, def, options);

  if (c.errors.length > 0) return { ok: false, errors: c.errors };
  // A fresh plain copy: callers keep nothing that aliases the caller's (possibly mutable) input.
  return { ok: true, definition: JSON.parse(JSON.stringify(def)) as InstrumentDefinition };
}

function checkLanguages(c: Checker, v: unknown): void {
  if (v === undefined) return;
  if (!c.array(v, '/languages', 1, LIMITS.languages)) return;
  let ok = true;
  v.forEach((lang, i) => {
    if (!c.string(lang, pointerOf('/languages', i), { re: LANG_RE, what: 'a language code such as "en" or "fr-CA"' })) ok = false;
    else if (v.indexOf(lang) !== i) {
      c.error(pointerOf('/languages', i), `"${lang}" is listed twice`);
      ok = false;
    }
  });
  if (ok) c.languages = v as string[];
}

function checkDetails(c: Checker, v: unknown): void {
  const d = c.object(v, '/details', ['title', 'description', 'instructions', 'license', 'authors', 'references'], ['title', 'license']);
  if (!d) return;
  if (hasOwn(d, 'title')) c.localised(d.title, '/details/title');
  c.optionalLocalised(d, 'description', '/details');
  c.optionalLocalised(d, 'instructions', '/details');
  if (hasOwn(d, 'license')) {
    c.string(d.license, '/details/license', { max: 200, re: SPDX_RE, what: 'an SPDX license identifier or expression, e.g. "CC-BY-4.0"' });
  }
  for (const key of ['authors', 'references'] as const) {
    if (!hasOwn(d, key)) continue;
    const list = d[key];
    const ptr = pointerOf('/details', key);
    if (c.array(list, ptr, 0, 100)) list.forEach((s, i) => c.string(s, pointerOf(ptr, i), { max: 2000, nonEmpty: true }));
  }
}

function checkSeries(c: Checker, def: Record<string, unknown>, options: ValidateDefinitionOptions): void {
  const content = def.content;
  if (!c.array(content, '/content', 1, LIMITS.seriesForms)) return;
  const seen = new Set<string>();
  content.forEach((entry, i) => {
    const ptr = pointerOf('/content', i);
    const e = c.object(entry, ptr, ['name', 'edition'], ['name', 'edition']);
    if (!e) return;
    const nameOk = hasOwn(e, 'name') && c.string(e.name, pointerOf(ptr, 'name'), { max: 64, re: NAME_RE, what: 'an instrument name (slug)' });
    const editionOk = hasOwn(e, 'edition') && c.integer(e.edition, pointerOf(ptr, 'edition'), 1, 1_000_000);
    if (!nameOk || !editionOk) return;
    const key = `${e.name}@${e.edition}`;
    if (seen.has(key)) c.error(ptr, `"${e.name}" edition ${e.edition} is listed twice`);
    seen.add(key);
    if (!options.resolveForm) return;
    const form = options.resolveForm(e.name as string, e.edition as number);
    if (!form) c.error(ptr, `no instrument "${e.name}" edition ${e.edition}`);
    else if (form.kind !== 'form') c.error(ptr, `"${e.name}" is a series; a series lists forms only`);
    else if (c.languages) {
      for (const lang of c.languages) {
        if (!form.languages.includes(lang)) c.error(ptr, `"${e.name}" edition ${e.edition} is not available in "${lang}"`);
      }
    }
  });
}

function checkForm(c: Checker, def: Record<string, unknown>): void {
  const content = def.content;
  const names = new Map<string, string>();
  if (c.array(content, '/content', 1, LIMITS.contentItems)) {
    // Names first, so expressions can say "declared later" rather than "unknown".
    const allNames: string[] = [];
    for (const item of content) {
      if (!isPlainObject(item)) continue;
      if (item.kind === 'group' && Array.isArray(item.fields)) {
        for (const f of item.fields) if (isPlainObject(f) && typeof f.name === 'string') allNames.push(f.name);
      } else if (typeof item.name === 'string') allNames.push(item.name);
    }
    content.forEach((item, i) => {
      if (c.full) return;
      const ptr = pointerOf('/content', i);
      if (isPlainObject(item) && item.kind === 'group') {
        const g = c.object(item, ptr, ['kind', 'title', 'description', 'visibleWhen', 'fields'], ['title', 'fields']);
        if (!g) return;
        if (hasOwn(g, 'title')) c.localised(g.title, pointerOf(ptr, 'title'));
        c.optionalLocalised(g, 'description', ptr);
        if (hasOwn(g, 'visibleWhen')) {
          const count = c.declared.length;
          c.expression(g.visibleWhen, pointerOf(ptr, 'visibleWhen'), () => recordShape(c.scopeOf(count)), allNames.slice(count));
        }
        const fieldsPtr = pointerOf(ptr, 'fields');
        if (!c.array(g.fields, fieldsPtr, 1, LIMITS.groupFields)) return;
        g.fields.forEach((f, j) => {
          if (!c.full) checkTopField(c, f, pointerOf(fieldsPtr, j), names, allNames);
        });
      } else {
        checkTopField(c, item, ptr, names, allNames);
      }
    });
  }
  if (c.fieldCount > LIMITS.fields) c.error('/content', `a form may have at most ${LIMITS.fields} fields`);
  if (hasOwn(def, 'measures')) checkMeasures(c, def.measures);
  c.checkExpressions();
}

function checkTopField(c: Checker, f: unknown, ptr: string, names: Map<string, string>, allNames: string[]): void {
  const count = c.declared.length;
  const shape = checkField(c, f, ptr, false, names, () => recordShape(c.scopeOf(count)), allNames.slice(count));
  if (shape && isPlainObject(f) && typeof f.name === 'string') c.declared.push({ name: f.name, shape });
}

/**
 * Checks one field; returns the shape of its answer (for expressions), or null if the field is
 * too broken to be referenced.
 */
function checkField(
  c: Checker,
  v: unknown,
  ptr: string,
  inRepeated: boolean,
  names: Map<string, string>,
  scope: () => Shape,
  later: string[],
): Shape | null {
  c.fieldCount += 1;
  if (!isPlainObject(v)) {
    c.error(ptr, 'a field must be an object');
    return null;
  }
  const kind = v.kind;
  if (kind === 'group') {
    c.error(pointerOf(ptr, 'kind'), inRepeated ? 'a repeated group holds fields, not groups' : 'groups cannot be nested');
    return null;
  }
  if (typeof kind !== 'string' || !(FIELD_KINDS as readonly string[]).includes(kind)) {
    c.error(pointerOf(ptr, 'kind'), `must be one of ${FIELD_KINDS.map((k) => `"${k}"`).join(', ')}${inRepeated ? '' : ' or "group"'}`);
    return null;
  }
  if (inRepeated && !(SCALAR_KINDS as readonly string[]).includes(kind)) {
    c.error(pointerOf(ptr, 'kind'), `a repeated group may only hold ${SCALAR_KINDS.join(', ')} fields`);
    return null;
  }
  c.object(v, ptr, [...COMMON_KEYS, ...KIND_KEYS[kind]!], ['name', 'label']);
  let named = false;
  if (hasOwn(v, 'name') && c.string(v.name, pointerOf(ptr, 'name'), { max: 64, re: IDENT_RE, what: 'an identifier (a letter, then letters, digits or _)' })) {
    const previous = names.get(v.name);
    if (previous !== undefined) c.error(pointerOf(ptr, 'name'), `"${v.name}" is already the name of ${previous}`);
    else {
      names.set(v.name, ptr);
      named = true;
    }
  }
  if (hasOwn(v, 'label')) c.localised(v.label, pointerOf(ptr, 'label'));
  c.optionalLocalised(v, 'description', ptr);
  if (hasOwn(v, 'required')) c.boolean(v.required, pointerOf(ptr, 'required'));
  if (hasOwn(v, 'visibleWhen')) c.expression(v.visibleWhen, pointerOf(ptr, 'visibleWhen'), scope, later);

  const shape = checkKind(c, kind, v, ptr, scope);
  return named ? shape : null;
}

function variant(c: Checker, v: Record<string, unknown>, ptr: string, allowed: string[]): string {
  if (!hasOwn(v, 'variant')) return allowed[0]!;
  if (typeof v.variant === 'string' && allowed.includes(v.variant)) return v.variant;
  c.error(pointerOf(ptr, 'variant'), `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
  return '';
}

function checkOptions(c: Checker, v: unknown, ptr: string, valueType: 'string' | 'number', integer = false): void {
  if (!c.array(v, ptr, 1, LIMITS.options)) return;
  const seen = new Set<unknown>();
  v.forEach((o, i) => {
    const optPtr = pointerOf(ptr, i);
    const opt = c.object(o, optPtr, ['value', 'label'], ['value', 'label']);
    if (!opt) return;
    if (hasOwn(opt, 'label')) c.localised(opt.label, pointerOf(optPtr, 'label'));
    if (!hasOwn(opt, 'value')) return;
    const valPtr = pointerOf(optPtr, 'value');
    if (valueType === 'string') {
      if (!c.string(opt.value, valPtr, { max: 200, nonEmpty: true })) return;
    } else {
      if (!c.number(opt.value, valPtr)) return;
      if (integer && !Number.isInteger(opt.value)) {
        c.error(valPtr, 'must be an integer, since the field is an integer field');
        return;
      }
    }
    if (seen.has(opt.value)) c.error(valPtr, `option value ${JSON.stringify(opt.value)} is used twice`);
    seen.add(opt.value);
  });
}

function minMax(c: Checker, v: Record<string, unknown>, ptr: string, lo: string, hi: string, min: number, max: number): void {
  const okLo = hasOwn(v, lo) && c.integer(v[lo], pointerOf(ptr, lo), min, max);
  const okHi = hasOwn(v, hi) && c.integer(v[hi], pointerOf(ptr, hi), min, max);
  if (okLo && okHi && (v[lo] as number) > (v[hi] as number)) c.error(pointerOf(ptr, lo), `must not exceed "${hi}"`);
}

function notWith(c: Checker, v: Record<string, unknown>, ptr: string, keys: string[], why: string): void {
  for (const k of keys) if (hasOwn(v, k)) c.error(pointerOf(ptr, k), why);
}

function checkKind(c: Checker, kind: string, v: Record<string, unknown>, ptr: string, scope: () => Shape): Shape {
  switch (kind) {
    case 'text': {
      const vr = variant(c, v, ptr, ['input', 'textarea', 'select', 'radio']);
      const choice = vr === 'select' || vr === 'radio';
      if (choice) {
        if (!hasOwn(v, 'options')) c.error(ptr, `a "${vr}" text field needs "options"`);
        notWith(c, v, ptr, ['minLength', 'maxLength', 'pattern', 'placeholder'], `does not apply to a "${vr}" field, whose answers are its options`);
      } else if (vr) {
        notWith(c, v, ptr, ['options'], `only "select" and "radio" fields have options`);
      }
      if (hasOwn(v, 'options')) checkOptions(c, v.options, pointerOf(ptr, 'options'), 'string');
      minMax(c, v, ptr, 'minLength', 'maxLength', 0, LIMITS.maxTextLength);
      if (hasOwn(v, 'pattern') && c.string(v.pattern, pointerOf(ptr, 'pattern'), { max: LIMITS.patternLength })) {
        try {
          compilePattern(v.pattern);
        } catch (e) {
          if (!(e instanceof PatternError)) throw e;
          c.error(pointerOf(ptr, 'pattern'), `unsafe or unsupported pattern: ${e.message}`);
        }
      }
      c.optionalLocalised(v, 'placeholder', ptr);
      return VALUE;
    }
    case 'number': {
      const vr = variant(c, v, ptr, ['input', 'slider', 'select', 'radio']);
      const choice = vr === 'select' || vr === 'radio';
      const integer = hasOwn(v, 'integer') && c.boolean(v.integer, pointerOf(ptr, 'integer')) && v.integer === true;
      if (choice) {
        if (!hasOwn(v, 'options')) c.error(ptr, `a "${vr}" number field needs "options"`);
        notWith(c, v, ptr, ['min', 'max', 'step'], `does not apply to a "${vr}" field, whose answers are its options`);
      } else if (vr) {
        notWith(c, v, ptr, ['options'], `only "select" and "radio" fields have options`);
        if (vr === 'slider' && (!hasOwn(v, 'min') || !hasOwn(v, 'max'))) c.error(ptr, 'a slider needs "min" and "max"');
      }
      if (hasOwn(v, 'options')) checkOptions(c, v.options, pointerOf(ptr, 'options'), 'number', integer);
      const okMin = hasOwn(v, 'min') && c.number(v.min, pointerOf(ptr, 'min'));
      const okMax = hasOwn(v, 'max') && c.number(v.max, pointerOf(ptr, 'max'));
      if (okMin && okMax && (v.min as number) > (v.max as number)) c.error(pointerOf(ptr, 'min'), 'must not exceed "max"');
      if (hasOwn(v, 'step') && c.number(v.step, pointerOf(ptr, 'step')) && (v.step as number) <= 0) {
        c.error(pointerOf(ptr, 'step'), 'must be greater than 0');
      }
      return VALUE;
    }
    case 'boolean': {
      variant(c, v, ptr, ['checkbox', 'radio']);
      if (hasOwn(v, 'mustBeTrue')) c.boolean(v.mustBeTrue, pointerOf(ptr, 'mustBeTrue'));
      c.optionalLocalised(v, 'trueLabel', ptr);
      c.optionalLocalised(v, 'falseLabel', ptr);
      return VALUE;
    }
    case 'date': {
      const bound = (k: string): string | null => {
        if (!hasOwn(v, k)) return null;
        const b = v[k];
        if (typeof b === 'string' && (b === 'today' || isValidDate(b))) return b;
        c.error(pointerOf(ptr, k), 'must be a date "YYYY-MM-DD" or "today"');
        return null;
      };
      const lo = bound('min');
      const hi = bound('max');
      if (lo && hi && lo !== 'today' && hi !== 'today' && lo > hi) c.error(pointerOf(ptr, 'min'), 'must not be after "max"');
      return VALUE;
    }
    case 'multiselect': {
      if (hasOwn(v, 'options')) checkOptions(c, v.options, pointerOf(ptr, 'options'), 'string');
      const n = Array.isArray(v.options) ? v.options.length : LIMITS.options;
      minMax(c, v, ptr, 'minItems', 'maxItems', 0, n);
      return { type: 'list', element: VALUE };
    }
    case 'likert': {
      if (hasOwn(v, 'options')) checkOptions(c, v.options, pointerOf(ptr, 'options'), 'number');
      const fields: Record<string, Shape> = {};
      const itemsPtr = pointerOf(ptr, 'items');
      if (hasOwn(v, 'items') && c.array(v.items, itemsPtr, 1, LIMITS.likertItems)) {
        v.items.forEach((it, i) => {
          const itPtr = pointerOf(itemsPtr, i);
          const item = c.object(it, itPtr, ['key', 'label'], ['key', 'label']);
          if (!item) return;
          if (hasOwn(item, 'label')) c.localised(item.label, pointerOf(itPtr, 'label'));
          if (!hasOwn(item, 'key') || !c.string(item.key, pointerOf(itPtr, 'key'), { max: 64, re: IDENT_RE, what: 'an identifier' })) return;
          if (hasOwn(fields, item.key)) c.error(pointerOf(itPtr, 'key'), `item key "${item.key}" is used twice`);
          fields[item.key] = VALUE;
        });
      }
      return recordShape(fields);
    }
    case 'repeated': {
      minMax(c, v, ptr, 'minItems', 'maxItems', 0, LIMITS.maxRepeatedItems);
      c.optionalLocalised(v, 'itemLabel', ptr);
      const fieldsPtr = pointerOf(ptr, 'fields');
      const sub: Record<string, Shape> = {};
      if (hasOwn(v, 'fields') && c.array(v.fields, fieldsPtr, 1, LIMITS.repeatedSubFields)) {
        const subNames = new Map<string, string>();
        const allSub = v.fields.flatMap((f) => (isPlainObject(f) && typeof f.name === 'string' ? [f.name] : []));
        const declared: Array<[string, Shape]> = [];
        v.fields.forEach((f, i) => {
          const count = declared.length;
          // A sub-field's condition sees earlier top-level fields and earlier sub-fields of its own item.
          const subScope = (): Shape => {
            const base = scope();
            const item: Record<string, Shape> = {};
            for (const [n, s] of declared.slice(0, count)) item[n] = s;
            return recordShape({ ...(base.type === 'record' ? base.fields : {}), $item: recordShape(item) });
          };
          const later = allSub.slice(count).map((n) => `$item.${n}`);
          const s = checkField(c, f, pointerOf(fieldsPtr, i), true, subNames, subScope, later);
          if (s && isPlainObject(f) && typeof f.name === 'string') {
            declared.push([f.name, s]);
            sub[f.name] = s;
          }
        });
      }
      return { type: 'list', element: recordShape(sub) };
    }
  }
  return VALUE;
}

function checkMeasures(c: Checker, v: unknown): void {
  if (!isPlainObject(v)) {
    c.error('/measures', 'must be an object of measures by name');
    return;
  }
  const entries = Object.entries(v);
  if (entries.length > LIMITS.measures) {
    c.error('/measures', `at most ${LIMITS.measures} measures`);
    return;
  }
  // Measures see the measures computed before them, in the order of what they read (jsonb keeps
  // keys shortest first, so the written order does not survive storage); see measures.order.ts.
  const { order, cyclic } = measureOrder(v);
  const fieldsScope = () => c.scopeOf(c.declared.length);
  entries.forEach(([name, m]) => {
    const ptr = pointerOf('/measures', name);
    if (!IDENT_RE.test(name) || name.length > 64) c.error(ptr, 'a measure name must be an identifier (a letter, then letters, digits or _)');
    if (!isPlainObject(m) || (m.kind !== 'ref' && m.kind !== 'computed')) {
      c.error(pointerOf(ptr, 'kind'), 'a measure must have "kind": "ref" or "computed"');
      return;
    }
    if (m.kind === 'ref') {
      c.object(m, ptr, ['kind', 'label', 'field'], ['label', 'field']);
      if (hasOwn(m, 'field') && c.string(m.field, pointerOf(ptr, 'field'), { max: 200 })) {
        const fieldPtr = pointerOf(ptr, 'field');
        const field = m.field as string;
        const scope = recordShape(fieldsScope());
        const parts = field.split('.');
        const top = scope.fields[parts[0]!];
        if (!hasOwn(scope.fields, parts[0]!) || top === undefined) c.error(fieldPtr, `unknown field "${parts[0]}"`);
        else if (parts.length === 1 && top.type !== 'value') {
          c.error(fieldPtr, `"${field}" holds several values; a ref measure names a single-valued field or one likert item`);
        } else if (parts.length === 2 && top.type === 'record') {
          if (!hasOwn(top.fields, parts[1]!)) c.error(fieldPtr, `"${parts[0]}" has no item "${parts[1]}"`);
        } else if (parts.length > 1) {
          c.error(fieldPtr, 'a ref measure names a field, or "grid.item" for one item of a likert grid');
        }
      }
    } else {
      c.object(m, ptr, ['kind', 'label', 'expression'], ['label', 'expression']);
      if (hasOwn(m, 'expression')) {
        const k = order.indexOf(name);
        const seen: Record<string, Shape> = {};
        for (const n of k >= 0 ? order.slice(0, k) : order) seen[n] = VALUE;
        c.expression(
          m.expression,
          pointerOf(ptr, 'expression'),
          () => recordShape({ ...fieldsScope(), $measures: recordShape(seen) }),
          [...(k >= 0 ? order.slice(k) : []), ...cyclic].map((n) => `$measures.${n}`),
          k >= 0 ? undefined : (path) => `"${path}" reads this measure in turn (directly or through other measures); measures may not depend on each other in a cycle`,
        );
      }
    }
    if (hasOwn(m, 'label')) c.localised(m.label, pointerOf(ptr, 'label'));
  });
}

export function isForm(def: InstrumentDefinition): def is FormInstrument {
  return def.kind === 'form';
}

export function isSeries(def: InstrumentDefinition): def is SeriesInstrument {
  return def.kind === 'series';
}
