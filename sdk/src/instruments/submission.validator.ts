/**
 * Validates answers against a (validated) form definition, decides which fields are visible,
 * and computes measures. The server runs it on every submission and import; the renderer runs
 * the same code on every keystroke, so what the browser shows is exactly what the server accepts.
 *
 * Visibility is decided in document order: a condition only sees answers to earlier fields that
 * are themselves visible and valid. A hidden field is never required and its answer is dropped
 * without error, so a chain of conditions collapses cleanly when an early answer changes.
 */
import { ExpressionError, evaluate, truthy } from './expression.engine.js';
import { isValidDate } from './definition.validator.js';
import type {
  Expression,
  Field,
  FormInstrument,
  InstrumentDefinition,
  JsonValue,
  LikertField,
  MeasureValue,
  MultiSelectField,
  RepeatedField,
  ScalarField,
  SubmissionError,
  SubmissionErrorCode,
  SubmissionResult,
} from './instrument.types.js';
import { LIMITS, hasOwn, isPlainObject, pointerOf } from './limits.js';
import { PatternError, matchesPattern } from './pattern.engine.js';
import { measureOrder } from './measures.order.js';

export interface SubmissionOptions {
  /** The date `today` means in date bounds, `YYYY-MM-DD`. Defaults to the current UTC date. */
  today?: string;
}

interface Ctx {
  errors: SubmissionError[];
  visible: string[];
  today: string;
}

interface Loc {
  field: string;
  pointer: string;
}

const child = (loc: Loc, seg: string | number): Loc => ({
  field: loc.field ? `${loc.field}.${seg}` : String(seg),
  pointer: pointerOf(loc.pointer, seg),
});

function fail(ctx: Ctx, loc: Loc, code: SubmissionErrorCode, message: string): undefined {
  if (ctx.errors.length < LIMITS.errors) ctx.errors.push({ field: loc.field, pointer: loc.pointer, code, message });
  return undefined;
}

function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

function condition(ctx: Ctx, expr: Expression | undefined, data: unknown, loc: Loc): boolean {
  if (expr === undefined) return true;
  try {
    return truthy(evaluate(expr, data));
  } catch (e) {
    if (!(e instanceof ExpressionError)) throw e;
    fail(ctx, loc, 'condition_failed', `the condition for this field could not be evaluated: ${e.message}`);
    return false;
  }
}

function fieldsOf(def: FormInstrument): Field[] {
  return def.content.flatMap((item) => (item.kind === 'group' ? item.fields : [item]));
}

function walk(def: InstrumentDefinition, answers: unknown, options: SubmissionOptions): { data: Record<string, JsonValue>; ctx: Ctx } {
  const ctx: Ctx = { errors: [], visible: [], today: options.today ?? todayUtc() };
  const data: Record<string, JsonValue> = {};
  const root: Loc = { field: '', pointer: '' };
  if (def.kind !== 'form') {
    fail(ctx, root, 'not_a_form', 'a series has no answers of its own; submit each of its forms');
    return { data, ctx };
  }
  if (!isPlainObject(answers)) {
    fail(ctx, root, 'not_an_object', 'answers must be an object of answers by field name');
    return { data, ctx };
  }
  const known = new Set(fieldsOf(def).map((f) => f.name));
  for (const key of Object.keys(answers)) {
    if (!known.has(key)) fail(ctx, child(root, key), 'unknown_field', `"${key}" is not a field of this instrument`);
  }
  for (const item of def.content) {
    const fields = item.kind === 'group' ? item.fields : [item];
    const groupVisible =
      item.kind !== 'group' || condition(ctx, item.visibleWhen, data, child(root, fields[0]?.name ?? ''));
    for (const field of fields) {
      const loc = child(root, field.name);
      if (!groupVisible || !condition(ctx, field.visibleWhen, data, loc)) continue;
      ctx.visible.push(field.name);
      const value = checkValue(ctx, field, hasOwn(answers, field.name) ? answers[field.name] : undefined, loc, data);
      if (value !== undefined) data[field.name] = value;
    }
  }
  return { data, ctx };
}

/**
 * What counts as "no answer": null or missing always; otherwise the empty value of the field's
 * own type (a blank input, an empty list, an empty grid). An empty value of another type is a
 * wrong answer, not a missing one.
 */
function isAbsent(kind: Field['kind'], v: unknown): boolean {
  if (v === undefined || v === null) return true;
  switch (kind) {
    case 'multiselect':
    case 'repeated':
      return Array.isArray(v) && v.length === 0;
    case 'likert':
      return isPlainObject(v) && Object.keys(v).length === 0;
    default:
      // Blank inputs and blank CSV cells arrive as "".
      return v === '';
  }
}

function checkValue(ctx: Ctx, field: Field, raw: unknown, loc: Loc, data: Record<string, JsonValue>): JsonValue | undefined {
  if (isAbsent(field.kind, raw)) {
    if (field.required) return fail(ctx, loc, 'required', 'an answer is required');
    return undefined;
  }
  switch (field.kind) {
    case 'text':
      return checkText(ctx, field, raw, loc);
    case 'number':
      return checkNumber(ctx, field, raw, loc);
    case 'boolean':
      if (typeof raw !== 'boolean') return fail(ctx, loc, 'wrong_type', 'must be true or false');
      if (field.mustBeTrue && raw !== true) return fail(ctx, loc, 'must_be_true', 'must be checked');
      return raw;
    case 'date':
      return checkDate(ctx, field, raw, loc);
    case 'multiselect':
      return checkMultiSelect(ctx, field, raw, loc);
    case 'repeated':
      return checkRepeated(ctx, field, raw, loc, data);
    case 'likert':
      return checkLikert(ctx, field, raw, loc);
  }
}

function checkText(ctx: Ctx, field: ScalarField & { kind: 'text' }, raw: unknown, loc: Loc): string | undefined {
  if (typeof raw !== 'string') return fail(ctx, loc, 'wrong_type', 'must be text');
  if (field.options && (field.variant === 'select' || field.variant === 'radio')) {
    if (!field.options.some((o) => o.value === raw)) return fail(ctx, loc, 'not_an_option', 'is not one of the options');
    return raw;
  }
  const max = field.maxLength ?? LIMITS.defaultMaxTextLength;
  // Code points, as JSON Schema counts them; cheap upper bound first so huge strings cost nothing.
  if (raw.length > max * 2) return fail(ctx, loc, 'too_long', `must be at most ${max} characters`);
  const length = Array.from(raw).length;
  if (length > max) return fail(ctx, loc, 'too_long', `must be at most ${max} characters`);
  if (field.minLength !== undefined && length < field.minLength) {
    return fail(ctx, loc, 'too_short', `must be at least ${field.minLength} characters`);
  }
  if (field.pattern !== undefined) {
    let ok: boolean;
    try {
      ok = matchesPattern(field.pattern, raw);
    } catch (e) {
      if (!(e instanceof PatternError)) throw e;
      ok = false;
    }
    if (!ok) return fail(ctx, loc, 'pattern', 'does not have the expected format');
  }
  return raw;
}

function checkNumber(ctx: Ctx, field: ScalarField & { kind: 'number' }, raw: unknown, loc: Loc): number | undefined {
  if (typeof raw !== 'number' || !Number.isFinite(raw)) return fail(ctx, loc, 'wrong_type', 'must be a number');
  if (field.integer && !Number.isInteger(raw)) return fail(ctx, loc, 'not_integer', 'must be a whole number');
  if (field.options && (field.variant === 'select' || field.variant === 'radio')) {
    if (!field.options.some((o) => o.value === raw)) return fail(ctx, loc, 'not_an_option', 'is not one of the options');
    return raw;
  }
  if (field.min !== undefined && raw < field.min) return fail(ctx, loc, 'too_small', `must be at least ${field.min}`);
  if (field.max !== undefined && raw > field.max) return fail(ctx, loc, 'too_large', `must be at most ${field.max}`);
  return raw === 0 ? 0 : raw;
}

function checkDate(ctx: Ctx, field: ScalarField & { kind: 'date' }, raw: unknown, loc: Loc): string | undefined {
  if (typeof raw !== 'string') return fail(ctx, loc, 'wrong_type', 'must be a date YYYY-MM-DD');
  if (!isValidDate(raw)) return fail(ctx, loc, 'invalid_date', 'must be a real date written YYYY-MM-DD');
  const bound = (b: string | undefined) => (b === 'today' ? ctx.today : b);
  const min = bound(field.min);
  const max = bound(field.max);
  if (min !== undefined && raw < min) return fail(ctx, loc, 'too_small', `must be on or after ${min}`);
  if (max !== undefined && raw > max) return fail(ctx, loc, 'too_large', `must be on or before ${max}`);
  return raw;
}

function checkMultiSelect(ctx: Ctx, field: MultiSelectField, raw: unknown, loc: Loc): string[] | undefined {
  if (!Array.isArray(raw)) return fail(ctx, loc, 'wrong_type', 'must be a list of options');
  if (raw.length > field.options.length) return fail(ctx, loc, 'too_many', `at most ${field.options.length} choices`);
  const chosen = new Set<string>();
  let ok = true;
  // Index loops, not forEach/map: those skip the holes of sparse arrays a JS caller could pass.
  for (let i = 0; i < raw.length; i++) {
    const v: unknown = raw[i];
    const at: Loc = { field: loc.field, pointer: pointerOf(loc.pointer, i) };
    if (typeof v !== 'string' || !field.options.some((o) => o.value === v)) {
      fail(ctx, at, 'not_an_option', 'is not one of the options');
      ok = false;
    } else if (chosen.has(v)) {
      fail(ctx, at, 'duplicate', 'is chosen twice');
      ok = false;
    } else chosen.add(v);
  }
  if (!ok) return undefined;
  if (field.minItems !== undefined && chosen.size < field.minItems) return fail(ctx, loc, 'too_few', `choose at least ${field.minItems}`);
  if (field.maxItems !== undefined && chosen.size > field.maxItems) return fail(ctx, loc, 'too_many', `choose at most ${field.maxItems}`);
  // Options order, so equal answers are stored (and exported) identically.
  return field.options.filter((o) => chosen.has(o.value)).map((o) => o.value);
}

function checkRepeated(
  ctx: Ctx,
  field: RepeatedField,
  raw: unknown,
  loc: Loc,
  data: Record<string, JsonValue>,
): Array<Record<string, JsonValue>> | undefined {
  if (!Array.isArray(raw)) return fail(ctx, loc, 'wrong_type', 'must be a list of entries');
  const max = field.maxItems ?? LIMITS.defaultMaxRepeatedItems;
  if (raw.length > max) return fail(ctx, loc, 'too_many', `at most ${max} entries`);
  if (field.minItems !== undefined && raw.length < field.minItems) return fail(ctx, loc, 'too_few', `at least ${field.minItems} entries`);
  const before = ctx.errors.length;
  const known = new Set(field.fields.map((f) => f.name));
  const items: Array<Record<string, JsonValue>> = [];
  for (let i = 0; i < raw.length; i++) {
    const entry: unknown = raw[i];
    const itemLoc = child(loc, i);
    const item: Record<string, JsonValue> = {};
    items.push(item);
    if (!isPlainObject(entry)) {
      fail(ctx, itemLoc, 'wrong_type', 'each entry must be an object');
      continue;
    }
    for (const key of Object.keys(entry)) {
      if (!known.has(key)) fail(ctx, child(itemLoc, key), 'unknown_field', `"${key}" is not a field of "${field.name}"`);
    }
    const scope = { ...data, $item: item };
    for (const sub of field.fields) {
      const subLoc = child(itemLoc, sub.name);
      if (!condition(ctx, sub.visibleWhen, scope, subLoc)) continue;
      ctx.visible.push(subLoc.field);
      const value = checkValue(ctx, sub, hasOwn(entry, sub.name) ? entry[sub.name] : undefined, subLoc, data);
      if (value !== undefined) item[sub.name] = value;
    }
  }
  return ctx.errors.length === before ? items : undefined;
}

function checkLikert(ctx: Ctx, field: LikertField, raw: unknown, loc: Loc): Record<string, number> | undefined {
  if (!isPlainObject(raw)) return fail(ctx, loc, 'wrong_type', 'must be an object of answers by item');
  const before = ctx.errors.length;
  const keys = new Set(field.items.map((i) => i.key));
  for (const key of Object.keys(raw)) {
    if (!keys.has(key)) fail(ctx, child(loc, key), 'unknown_field', `"${key}" is not an item of "${field.name}"`);
  }
  const out: Record<string, number> = {};
  for (const item of field.items) {
    const itemLoc = child(loc, item.key);
    const v = hasOwn(raw, item.key) ? raw[item.key] : undefined;
    if (v === undefined || v === null) {
      if (field.required) fail(ctx, itemLoc, 'required', 'every item needs an answer');
      continue;
    }
    if (typeof v !== 'number' || !field.options.some((o) => o.value === v)) {
      fail(ctx, itemLoc, typeof v === 'number' ? 'not_an_option' : 'wrong_type', 'is not one of the options');
      continue;
    }
    out[item.key] = v;
  }
  return ctx.errors.length === before ? out : undefined;
}

/**
 * Checks answers against a form. Never throws for any `answers`: every problem is an error that
 * names its field. On success, `data` holds only visible, answered fields (normalised), and
 * `measures` the computed measures.
 */
export function validateSubmission(def: InstrumentDefinition, answers: unknown, options: SubmissionOptions = {}): SubmissionResult {
  const { data, ctx } = walk(def, answers, options);
  if (ctx.errors.length > 0) return { ok: false, errors: ctx.errors };
  return { ok: true, data, measures: computeMeasures(def as FormInstrument, data) };
}

/**
 * Dotted paths of the fields that are visible given these answers: `age`, and for repeated
 * groups `children.0.name`. Invalid answers count as unanswered for later conditions.
 */
export function visibleFields(def: InstrumentDefinition, answers: unknown, options: SubmissionOptions = {}): string[] {
  return walk(def, isPlainObject(answers) ? answers : {}, options).ctx.visible;
}

/**
 * The measures as they stand while a form is being filled (the capture page's live score): the
 * answers go through the same walk as a submission (hidden, invalid and unanswered fields are left
 * out, a required likert grid counts only once every item is answered), then through
 * `computeMeasures`. So a measure with a missing input is null, exactly as on submission, never a
 * partial sum; once the answers are valid the result equals `validateSubmission(...).measures`.
 */
export function measuresSoFar(def: FormInstrument, answers: unknown, options: SubmissionOptions = {}): Record<string, MeasureValue> {
  return computeMeasures(def, walk(def, isPlainObject(answers) ? answers : {}, options).data);
}

/**
 * The form's measures over validated data. A measure whose inputs are missing, whose result is
 * not a single value, or whose evaluation runs out of budget is null rather than a wrong number.
 */
export function computeMeasures(def: FormInstrument, data: Record<string, JsonValue>): Record<string, MeasureValue> {
  const measures = def.measures ?? {};
  const out: Record<string, MeasureValue> = {};
  // In the order of what each reads, not key order (jsonb reorders keys); see measures.order.ts.
  const { order, cyclic } = measureOrder(measures);
  for (const name of order) {
    const m = measures[name]!;
    let value: JsonValue = null;
    if (m.kind === 'ref') {
      const [top, item] = m.field.split('.');
      const v = top !== undefined && hasOwn(data, top) ? data[top] : null;
      value = item === undefined ? v ?? null : isPlainObject(v) && hasOwn(v, item) ? (v[item] ?? null) : null;
    } else {
      try {
        value = evaluate(m.expression, { ...data, $measures: { ...out } });
      } catch (e) {
        if (!(e instanceof ExpressionError)) throw e;
        value = null;
      }
    }
    out[name] = value === null || typeof value === 'object' ? null : value;
  }
  for (const name of cyclic) out[name] = null;
  // Answered in the definition's key order, whatever the order of computation.
  return Object.fromEntries(Object.keys(measures).map((n) => [n, out[n] ?? null]));
}

/**
 * Checks one answer to one standard field, ignoring `required` (the caller decides what a missing
 * answer means). Registration forms use it for the kinds they share with instruments, so both
 * accept and normalise a text, number, date or choice identically.
 */
export function checkAnswer(field: Field, raw: unknown, at: { field: string; pointer: string }, options: SubmissionOptions = {}): { value: JsonValue | undefined; errors: SubmissionError[] } {
  const ctx: Ctx = { errors: [], visible: [], today: options.today ?? todayUtc() };
  if (isAbsent(field.kind, raw)) return { value: undefined, errors: [] };
  const value = checkValue(ctx, { ...field, required: false } as Field, raw, at, {});
  return { value, errors: ctx.errors };
}
