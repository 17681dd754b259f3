import { Validator, type OutputUnit } from '@cfworker/json-schema';
import { MAX_KEY_LENGTH, type SchemaProblem } from './event-types.schema-guard.js';

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
  /** null when valid; otherwise one problem per failing location, pointers relative to the data. */
  validate(data: unknown): SchemaProblem[] | null;
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

function tooLongKey(v: unknown, path: string, depth: number): string | undefined {
  if (depth > 64 || v === null || typeof v !== 'object') return undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const r = tooLongKey(v[i], `${path}/${i}`, depth + 1);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  for (const [k, x] of Object.entries(v)) {
    const at = `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (k.length > MAX_KEY_LENGTH) return at;
    const r = tooLongKey(x, at, depth + 1);
    if (r !== undefined) return r;
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
      // the real failure is reported at the same location already.
      if (kept.some((o) => o !== e && o.keyword !== 'false' && o.instanceLocation === e.instanceLocation)) continue;
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

export function compileType(name: string, version: number, schema: Record<string, unknown>, keyPatterns: boolean): CompiledType {
  // The validator annotates the schema objects it is given, so each gets its own copy; the root
  // $id is dropped because references are local ("#...") and identity comes from name and version.
  const copy = () => {
    const c = structuredClone(schema);
    delete c.$id;
    return c;
  };
  const fast = new Validator(copy(), '2020-12', true);
  const full = new Validator(copy(), '2020-12', false);
  return {
    name,
    version,
    validate(data) {
      if (keyPatterns) {
        const at = tooLongKey(data, '', 0);
        if (at !== undefined) return [{ pointer: at, message: `keys are limited to ${MAX_KEY_LENGTH} characters for this type` }];
      }
      try {
        if (fast.validate(data).valid) return null;
        return leafProblems(full.validate(data).errors);
      } catch {
        // A schema the guard let through but the validator cannot apply: refuse the data, never 500.
        return [{ pointer: '', message: 'the schema of this type could not be applied' }];
      }
    },
  };
}
