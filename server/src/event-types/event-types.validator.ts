import { Validator, type OutputUnit } from '@cfworker/json-schema';
import { linearRegex } from '../kernel/linear-regex.js';
import { MAX_KEY_LENGTH, SCHEMA_LIMITS, type SchemaProblem } from './event-types.schema-guard.js';
import { installLinearFormats } from './event-types.formats.js';

/**
 * How long validating one event may hold the event loop. Every regular expression and format
 * check is linear and length-capped, so this is a backstop for the product of many of them (an
 * event with thousands of patterned strings), checked before each one. The event is refused only
 * when BOTH the wall clock and the process's CPU time have moved past the budget: on a loaded
 * machine the process waits for a core (wall time runs, CPU time does not), and while other
 * threads hash passwords the process's CPU time runs faster than the event loop's (wall time does
 * not); neither may turn a valid event into a refusal.
 */
export const EVENT_VALIDATION_BUDGET_MS = 50;

const cpuClockMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Thrown when one event's validation outlives its deadline; the caller answers 422. */
export class ValidationBudgetExceeded extends Error {
  override readonly name = 'ValidationBudgetExceeded';
}

let wallDeadline = Infinity;
let cpuDeadline = Infinity;
const checkDeadline = () => {
  if (performance.now() > wallDeadline && cpuClockMs() > cpuDeadline) throw new ValidationBudgetExceeded('validation took too long');
};
installLinearFormats(checkDeadline);

/**
 * @cfworker/json-schema compiles `pattern` and `patternProperties` with `new RegExp(p, 'u')`
 * on every call, through the global binding. For the duration of one (synchronous) validation,
 * that binding answers re2js matchers instead, so user patterns never reach V8's backtracking
 * engine. Nothing else runs while it is swapped: validation is synchronous and the swap is undone
 * in `finally`. Regular-expression literals elsewhere are unaffected (they do not use the binding).
 * Inputs longer than any patterned string may be (the guard requires maxLength <= maxPatternInput
 * beside every pattern, and keys are bounded) fail the match without running it: such a value is
 * invalid for its maxLength anyway.
 */
const NativeRegExp = RegExp;
function LinearRegExp(source: unknown): { test(s: string): boolean } {
  const re = linearRegex(String(source));
  return {
    test(s: string) {
      checkDeadline();
      return s.length <= SCHEMA_LIMITS.maxPatternInput && re.test(s);
    },
  };
}
function linearly<T>(deadlines: readonly [wall: number, cpu: number], fn: () => T): T {
  const outer = [wallDeadline, cpuDeadline] as const;
  [wallDeadline, cpuDeadline] = deadlines;
  globalThis.RegExp = LinearRegExp as unknown as RegExpConstructor;
  try {
    return fn();
  } finally {
    globalThis.RegExp = NativeRegExp;
    [wallDeadline, cpuDeadline] = outer;
  }
}

/**
 * A compiled event-type schema. @cfworker/json-schema interprets the schema (no code generation),
 * which is what makes it safe for schemas written by apps; the guard has already bounded the
 * schema's size, references and regular expressions.
 *
 * Valid data, the common case, is checked by a short-circuiting validator that stops at the first
 * failure; only invalid data pays for a second pass that collects every error.
 */
export interface CompiledType {
  name: string;
  version: number;
  /**
   * null when valid; otherwise one problem per failing location, pointers relative to the data.
   * Throws ValidationBudgetExceeded once `budgetMs` have passed on both the wall clock and the
   * process's CPU time (default EVENT_VALIDATION_BUDGET_MS).
   */
  validate(data: unknown, budgetMs?: number): SchemaProblem[] | null;
}

const AGGREGATES = new Set(['properties', 'patternProperties', 'additionalProperties', 'unevaluatedProperties', 'items', 'prefixItems', 'unevaluatedItems', 'allOf', '$ref', 'dependentSchemas', 'if', 'then', 'else', 'propertyNames']);
const BRANCHING = new Set(['anyOf', 'oneOf', 'not', 'contains']);

const toPointer = (location: string) => {
  const p = location.startsWith('#') ? location.slice(1) : location;
  try {
    return decodeURI(p);
  } catch {
    return p;
  }
};

/** The pointer of the first key longer than MAX_KEY_LENGTH, at any depth (an explicit stack, no recursion). */
function tooLongKey(root: unknown): string | undefined {
  const stack: [unknown, string][] = [[root, '']];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}/${i}`]);
      continue;
    }
    for (const [k, x] of Object.entries(v)) {
      const at = `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (k.length > MAX_KEY_LENGTH) return at;
      stack.push([x, at]);
    }
  }
  return undefined;
}

/** Keeps the errors a person can act on: the failing leaves, not every enclosing applicator. */
export function leafProblems(errors: OutputUnit[]): SchemaProblem[] {
  const branches = errors.filter((e) => BRANCHING.has(e.keyword)).map((e) => `${e.keywordLocation}/`);
  const kept = errors.filter((e) => !AGGREGATES.has(e.keyword) && !branches.some((b) => e.keywordLocation.startsWith(b)));
  const out: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const e of kept) {
    let pointer = toPointer(e.instanceLocation);
    let message = e.error;
    if (e.keyword === 'required') {
      const m = /required property "(.*)"\.$/.exec(e.error);
      if (m) {
        pointer += `/${m[1]!.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        message = 'is required';
      }
    }
    if (e.keyword === 'false') {
      // The validator also reports a declared property that failed its own schema as "additional";
      // the real failure is reported at the same location already, or below it when it is one
      // level deeper or more (an undeclared property has nothing validated below it).
      const under = `${e.instanceLocation}/`;
      if (kept.some((o) => o !== e && o.keyword !== 'false' && (o.instanceLocation === e.instanceLocation || o.instanceLocation.startsWith(under)))) continue;
      message = 'is not allowed here';
    }
    const key = `${pointer}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ pointer, message });
    if (out.length >= 20) break;
  }
  return out.length ? out : [{ pointer: '', message: 'does not match the schema' }];
}

/** Every `pattern` and `patternProperties` key in a schema, compiled into linearRegex's cache. No recursion. */
function precompilePatterns(schema: unknown): void {
  const stack: unknown[] = [schema];
  while (stack.length) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    const o = node as Record<string, unknown>;
    const sources = [...(typeof o.pattern === 'string' ? [o.pattern] : []), ...(o.patternProperties && typeof o.patternProperties === 'object' ? Object.keys(o.patternProperties) : [])];
    for (const p of sources) {
      try {
        linearRegex(p);
      } catch {
        // A pattern re2js refuses (in a type stored before re2js): validation reports it.
      }
    }
    stack.push(...Object.values(o));
  }
}

export function compileType(name: string, version: number, schema: Record<string, unknown>, keyPatterns: boolean): CompiledType {
  // The validator annotates the schema objects it is given, so each gets its own copy; the root
  // $id is dropped because references are local ("#...") and identity comes from name and version.
  const copy = () => {
    const c = structuredClone(schema);
    delete c.$id;
    return c;
  };
  // Compile every pattern now, outside any event's budget (the first re2js compile in a process
  // also warms the engine up); validation then finds them in linearRegex's cache.
  precompilePatterns(schema);
  const fast = new Validator(copy(), '2020-12', true);
  const full = new Validator(copy(), '2020-12', false);
  return {
    name,
    version,
    validate(data, budgetMs = EVENT_VALIDATION_BUDGET_MS) {
      if (keyPatterns) {
        const at = tooLongKey(data);
        if (at !== undefined) return [{ pointer: at, message: `keys are limited to ${MAX_KEY_LENGTH} characters for this type` }];
      }
      // One budget for both passes: the second (collecting every error) runs on what is left.
      const deadlines = [performance.now() + budgetMs, cpuClockMs() + budgetMs] as const;
      try {
        if (linearly(deadlines, () => fast.validate(data).valid)) return null;
        return leafProblems(linearly(deadlines, () => full.validate(data).errors));
      } catch (e) {
        if (e instanceof ValidationBudgetExceeded) throw e;
        // A schema the guard let through but the validator cannot apply: refuse the data, never 500.
        return [{ pointer: '', message: 'the schema of this type could not be applied' }];
      }
    },
  };
}
