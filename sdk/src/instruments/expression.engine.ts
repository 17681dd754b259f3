/**
 * A bounded JSON Logic evaluator. Expressions are data: this module walks them, it never turns
 * them into code. Every operator is listed below; anything else is refused when a definition is
 * validated, and again at evaluation time. Termination is structural (there is no recursion
 * or loop construct besides iterating over finite arrays), and a step budget plus caps on the
 * size of built strings and arrays bound the cost of the worst expression that passes validation.
 */
import type { DefinitionError, Expression, JsonValue } from './instrument.types.js';
import { LIMITS, hasOwn, isPlainObject, pointerOf } from './limits.js';

/** What a variable path can yield, used to check that expressions only name known answers. */
export type Shape =
  | { type: 'value' }
  | { type: 'record'; fields: Record<string, Shape> }
  | { type: 'list'; element: Shape };

export const VALUE: Shape = { type: 'value' };

interface OperatorSpec {
  min: number;
  max: number;
  /** Operators whose second argument is evaluated once per element of the first. */
  iterates?: 'element' | 'reduce';
}

const OPERATORS: Record<string, OperatorSpec> = {
  var: { min: 1, max: 2 },
  if: { min: 1, max: 99 },
  '?:': { min: 3, max: 3 },
  '==': { min: 2, max: 2 },
  '!=': { min: 2, max: 2 },
  '===': { min: 2, max: 2 },
  '!==': { min: 2, max: 2 },
  '!': { min: 1, max: 1 },
  '!!': { min: 1, max: 1 },
  or: { min: 1, max: 99 },
  and: { min: 1, max: 99 },
  '>': { min: 2, max: 2 },
  '>=': { min: 2, max: 2 },
  '<': { min: 2, max: 3 },
  '<=': { min: 2, max: 3 },
  max: { min: 1, max: 99 },
  min: { min: 1, max: 99 },
  '+': { min: 1, max: 99 },
  '-': { min: 1, max: 2 },
  '*': { min: 1, max: 99 },
  '/': { min: 2, max: 2 },
  '%': { min: 2, max: 2 },
  in: { min: 2, max: 2 },
  cat: { min: 1, max: 99 },
  substr: { min: 2, max: 3 },
  merge: { min: 0, max: 99 },
  map: { min: 2, max: 2, iterates: 'element' },
  filter: { min: 2, max: 2, iterates: 'element' },
  all: { min: 2, max: 2, iterates: 'element' },
  some: { min: 2, max: 2, iterates: 'element' },
  none: { min: 2, max: 2, iterates: 'element' },
  reduce: { min: 3, max: 3, iterates: 'reduce' },
};

export const SUPPORTED_OPERATORS: readonly string[] = Object.keys(OPERATORS);

export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
}

/** JSON Logic wraps a lone argument: `{"!": x}` means `{"!": [x]}`. */
function argsOf(raw: unknown): unknown[] {
  return Array.isArray(raw) ? raw : [raw];
}

/** Resolves a variable path against a shape; returns the shape or an error message. */
export function resolveShape(shape: Shape, path: string): Shape | string {
  if (path === '') return shape;
  let cur = shape;
  for (const seg of path.split('.')) {
    if (cur.type === 'record') {
      if (!hasOwn(cur.fields, seg)) return `unknown variable "${path}"`;
      cur = cur.fields[seg]!;
    } else if (cur.type === 'list') {
      if (!/^(0|[1-9][0-9]{0,5})$/.test(seg)) return `"${path}": "${seg}" is not a list index`;
      cur = cur.element;
    } else {
      return `unknown variable "${path}": "${seg}" does not exist inside a single value`;
    }
  }
  return cur;
}

interface CheckState {
  nodes: number;
  errors: DefinitionError[];
}

/**
 * Checks an untrusted expression: known operators with the right number of arguments, only
 * literal variable paths, and only variables that exist in `scope`. Errors carry pointers below
 * `pointer`.
 */
export function checkExpression(expr: unknown, scope: Shape, pointer: string, errors: DefinitionError[]): void {
  const state: CheckState = { nodes: 0, errors };
  check(expr, scope, pointer, 0, state);
}

function push(state: CheckState, pointer: string, message: string): void {
  if (state.errors.length < LIMITS.errors) state.errors.push({ pointer, message });
}

function check(expr: unknown, scope: Shape, ptr: string, depth: number, state: CheckState): void {
  if (expr === null || typeof expr === 'string' || typeof expr === 'boolean') return;
  if (typeof expr === 'number') {
    if (!Number.isFinite(expr)) push(state, ptr, 'numbers must be finite');
    return;
  }
  if (Array.isArray(expr)) {
    expr.forEach((e, i) => check(e, scope, pointerOf(ptr, i), depth, state));
    return;
  }
  if (!isPlainObject(expr)) {
    push(state, ptr, 'not a JSON value');
    return;
  }
  const keys = Object.keys(expr);
  if (keys.length !== 1) {
    push(state, ptr, 'an operation is an object with exactly one key, the operator');
    return;
  }
  const op = keys[0]!;
  const opPtr = pointerOf(ptr, op);
  const spec = hasOwn(OPERATORS, op) ? OPERATORS[op] : undefined;
  if (!spec) {
    push(state, opPtr, `unknown operator "${op}"`);
    return;
  }
  state.nodes += 1;
  if (state.nodes > LIMITS.expressionNodes) {
    if (state.nodes === LIMITS.expressionNodes + 1) push(state, opPtr, `expression has more than ${LIMITS.expressionNodes} operations`);
    return;
  }
  if (depth + 1 > LIMITS.expressionDepth) {
    push(state, opPtr, `expression is nested more than ${LIMITS.expressionDepth} operations deep`);
    return;
  }
  const raw = expr[op];
  const args = argsOf(raw);
  const argPtr = (i: number) => (Array.isArray(raw) ? pointerOf(opPtr, i) : opPtr);
  if (args.length < spec.min || args.length > spec.max) {
    const want = spec.min === spec.max ? `${spec.min}` : `${spec.min} to ${spec.max}`;
    push(state, opPtr, `"${op}" takes ${want} argument${spec.max === 1 ? '' : 's'}, got ${args.length}`);
    return;
  }
  if (op === 'var') {
    const path = args[0];
    if (typeof path !== 'string') {
      push(state, argPtr(0), 'a variable path must be a literal string');
    } else {
      const resolved = resolveShape(scope, path);
      if (typeof resolved === 'string') push(state, argPtr(0), resolved);
    }
    if (args.length === 2) check(args[1], scope, argPtr(1), depth + 1, state);
    return;
  }
  if (spec.iterates) {
    check(args[0], scope, argPtr(0), depth + 1, state);
    const element = elementShape(args[0], scope);
    const inner: Shape =
      spec.iterates === 'reduce' ? { type: 'record', fields: { current: element, accumulator: VALUE } } : element;
    check(args[1], inner, argPtr(1), depth + 1, state);
    if (spec.iterates === 'reduce') check(args[2], scope, argPtr(2), depth + 1, state);
    return;
  }
  args.forEach((a, i) => check(a, scope, argPtr(i), depth + 1, state));
}

/** The shape of one element of the array an iterating operator walks over. */
function elementShape(source: unknown, scope: Shape): Shape {
  if (isPlainObject(source)) {
    const keys = Object.keys(source);
    if (keys.length === 1) {
      const op = keys[0]!;
      const args = argsOf(source[op]);
      if (op === 'var' && typeof args[0] === 'string') {
        const s = resolveShape(scope, args[0]);
        if (typeof s !== 'string' && s.type === 'list') return s.element;
      }
      if (op === 'filter') return elementShape(args[0], scope);
    }
  }
  return VALUE;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

interface EvalState {
  steps: number;
}

export function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return Boolean(v);
}

/**
 * Evaluates an expression over `data`. Throws ExpressionError for unknown operators (an
 * expression that skipped validation) or when the step, depth or size budgets run out.
 */
export function evaluate(expr: Expression, data: unknown): JsonValue {
  return ev(expr, data, { steps: 0 }, 0);
}

function tick(state: EvalState): void {
  state.steps += 1;
  if (state.steps > LIMITS.evaluationSteps) throw new ExpressionError(`evaluation exceeded ${LIMITS.evaluationSteps} steps`);
}

function ev(expr: unknown, data: unknown, state: EvalState, depth: number): JsonValue {
  tick(state);
  if (depth > LIMITS.expressionDepth * 2 + 4) throw new ExpressionError('expression nested too deeply');
  if (expr === null || typeof expr === 'string' || typeof expr === 'boolean') return expr;
  if (typeof expr === 'number') return finite(expr);
  if (Array.isArray(expr)) {
    if (expr.length > LIMITS.evaluationValueLength) throw new ExpressionError('array literal too long');
    return expr.map((e) => ev(e, data, state, depth + 1));
  }
  if (!isPlainObject(expr)) throw new ExpressionError('not a JSON value');
  const keys = Object.keys(expr);
  if (keys.length !== 1) throw new ExpressionError('an operation is an object with exactly one key');
  const op = keys[0]!;
  if (!hasOwn(OPERATORS, op)) throw new ExpressionError(`unknown operator "${op}"`);
  const args = argsOf(expr[op]);
  const d = depth + 1;
  const arg = (i: number): JsonValue => ev(args[i], data, state, d);

  switch (op) {
    case 'var': {
      const path = args[0];
      const value = typeof path === 'string' ? lookup(data, path) : undefined;
      if (value === undefined || value === null) return args.length > 1 ? arg(1) : null;
      return value;
    }
    case 'if':
    case '?:': {
      let i = 0;
      for (; i + 1 < args.length; i += 2) {
        if (truthy(arg(i))) return arg(i + 1);
      }
      return i < args.length ? arg(i) : null;
    }
    case 'or': {
      let last: JsonValue = null;
      for (let i = 0; i < args.length; i++) {
        last = arg(i);
        if (truthy(last)) return last;
      }
      return last;
    }
    case 'and': {
      let last: JsonValue = null;
      for (let i = 0; i < args.length; i++) {
        last = arg(i);
        if (!truthy(last)) return last;
      }
      return last;
    }
    case '!':
      return !truthy(arg(0));
    case '!!':
      return truthy(arg(0));
    case '==':
      return looseEqual(arg(0), arg(1));
    case '!=':
      return !looseEqual(arg(0), arg(1));
    case '===':
      return strictEqual(arg(0), arg(1));
    case '!==':
      return !strictEqual(arg(0), arg(1));
    case '>':
      return compare(arg(0), arg(1), (c) => c > 0);
    case '>=':
      return compare(arg(0), arg(1), (c) => c >= 0);
    case '<':
    case '<=': {
      const ok = op === '<' ? (c: number) => c < 0 : (c: number) => c <= 0;
      const a = arg(0);
      const b = arg(1);
      if (args.length === 3) return compare(a, b, ok) && compare(b, arg(2), ok);
      return compare(a, b, ok);
    }
    case 'max':
    case 'min': {
      const nums = numbers(args.map((_, i) => arg(i)));
      if (!nums || nums.length === 0) return null;
      return op === 'max' ? Math.max(...nums) : Math.min(...nums);
    }
    case '+':
    case '*': {
      const nums = numbers(args.map((_, i) => arg(i)));
      if (!nums) return null;
      return finite(nums.reduce((acc, n) => (op === '+' ? acc + n : acc * n), op === '+' ? 0 : 1));
    }
    case '-': {
      const nums = numbers(args.map((_, i) => arg(i)));
      if (!nums) return null;
      return finite(nums.length === 1 ? -nums[0]! : nums[0]! - nums[1]!);
    }
    case '/':
    case '%': {
      const nums = numbers([arg(0), arg(1)]);
      if (!nums || nums[1] === 0) return null;
      return finite(op === '/' ? nums[0]! / nums[1]! : nums[0]! % nums[1]!);
    }
    case 'in': {
      const needle = arg(0);
      const hay = arg(1);
      if (typeof hay === 'string') return typeof needle === 'string' && hay.includes(needle);
      if (Array.isArray(hay)) return hay.some((h) => strictEqual(h, needle));
      return false;
    }
    case 'cat': {
      let out = '';
      for (let i = 0; i < args.length; i++) {
        const v = arg(i);
        if (v === null) continue;
        if (typeof v === 'object') throw new ExpressionError('"cat" only joins strings, numbers and booleans');
        out += String(v);
        if (out.length > LIMITS.evaluationValueLength) throw new ExpressionError('string grew too long');
      }
      return out;
    }
    case 'substr': {
      const s = arg(0);
      const start = arg(1);
      const len = args.length > 2 ? arg(2) : null;
      if (typeof s !== 'string' || typeof start !== 'number') return null;
      const chars = Array.from(s);
      const from = Math.trunc(start < 0 ? Math.max(chars.length + start, 0) : start);
      let to = chars.length;
      if (typeof len === 'number') to = Math.trunc(len < 0 ? chars.length + len : from + len);
      return chars.slice(from, Math.max(from, to)).join('');
    }
    case 'merge': {
      const out: JsonValue[] = [];
      for (let i = 0; i < args.length; i++) {
        const v = arg(i);
        if (Array.isArray(v)) out.push(...v);
        else out.push(v);
        if (out.length > LIMITS.evaluationValueLength) throw new ExpressionError('array grew too long');
      }
      return out;
    }
    case 'map':
    case 'filter':
    case 'all':
    case 'some':
    case 'none': {
      const list = arg(0);
      const items = Array.isArray(list) ? list : [];
      const body = args[1];
      if (op === 'map') return items.map((item) => ev(body, item, state, d));
      if (op === 'filter') return items.filter((item) => truthy(ev(body, item, state, d)));
      if (op === 'all') return items.length > 0 && items.every((item) => truthy(ev(body, item, state, d)));
      if (op === 'some') return items.some((item) => truthy(ev(body, item, state, d)));
      return !items.some((item) => truthy(ev(body, item, state, d)));
    }
    case 'reduce': {
      const list = arg(0);
      let acc = arg(2);
      if (!Array.isArray(list)) return acc;
      for (const current of list) {
        acc = ev(args[1], { current, accumulator: acc }, state, d);
        if ((typeof acc === 'string' || Array.isArray(acc)) && acc.length > LIMITS.evaluationValueLength) {
          throw new ExpressionError('value grew too long');
        }
      }
      return acc;
    }
  }
  throw new ExpressionError(`unknown operator "${op}"`);
}

/** Own properties only: an answer named `constructor` must not reach Object.prototype. */
function lookup(data: unknown, path: string): JsonValue | undefined {
  if (path === '') return data as JsonValue;
  let cur: unknown = data;
  for (const seg of path.split('.')) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(seg)) return undefined;
      cur = cur[Number(seg)];
    } else if (isPlainObject(cur)) {
      if (!hasOwn(cur, seg)) return undefined;
      cur = cur[seg];
    } else {
      return undefined;
    }
  }
  return cur as JsonValue | undefined;
}

/** JSON has no Infinity, NaN or -0. */
function finite(n: number): number | null {
  if (!Number.isFinite(n)) return null;
  return n === 0 ? 0 : n;
}

/** Arithmetic only on numbers: a missing answer makes the result null rather than 0. */
function numbers(values: JsonValue[]): number[] | null {
  for (const v of values) if (typeof v !== 'number') return null;
  return values as number[];
}

function compare(a: JsonValue, b: JsonValue, ok: (c: number) => boolean): boolean {
  if (typeof a === 'number' && typeof b === 'number') return ok(a - b);
  if (typeof a === 'string' && typeof b === 'string') return ok(a < b ? -1 : a > b ? 1 : 0);
  return false;
}

function strictEqual(a: JsonValue, b: JsonValue): boolean {
  return a === b;
}

/**
 * JavaScript's `==` for primitives. Objects and arrays compare by identity, because coercing
 * them would call `toString`/`valueOf`, which an answer could shadow with data.
 */
function looseEqual(a: JsonValue, b: JsonValue): boolean {
  if ((a !== null && typeof a === 'object') || (b !== null && typeof b === 'object')) return a === b;
  // eslint-disable-next-line eqeqeq -- deliberate: JSON Logic's == is JavaScript's loose equality
  return a == b;
}
