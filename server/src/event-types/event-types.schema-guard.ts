import safeRegex from 'safe-regex2';
import { canonicalJson } from '../ledger/ledger.hash.js';
import { compileLinear, LinearRegexError } from '../kernel/linear-regex.js';

/**
 * Event-type schemas come from apps, so they are untrusted input. Before a schema is stored or
 * compiled it must pass this guard, which bounds everything that makes validation expensive:
 *
 * - size and nesting of the schema document, and the number of subschemas;
 * - `$ref`: only local pointers (`#`, `#/$defs/x`), no cycles, and the schema with every `$ref`
 *   inlined must stay small (a DAG of refs could otherwise cost 2^n evaluations per event);
 * - regular expressions (`pattern`, `patternProperties`): short, compiling under the `u` flag
 *   AND under re2js, the linear-time engine that runs them (kernel/linear-regex.ts): so no
 *   backreferences, lookahead or lookbehind. The guarantee comes from the engine; the older lint
 *   below stays as a second line: star height at most 1 (safe-regex2) and no alternation
 *   under a repeating quantifier (`(a|a)*`), the two shapes that backtrack exponentially.
 *   A `pattern` must also bound its string with `maxLength`, and data of a type that uses
 *   `patternProperties` may not have keys over MAX_KEY_LENGTH, so the polynomial worst case of a
 *   backtracking engine stays small;
 * - `uniqueItems` needs a `maxItems` (it is quadratic in the array's length);
 * - property names that collide with Object.prototype members (`constructor`, `toString`...) are
 *   refused: the validator tests presence with `in`, which would see them on every object;
 * - keywords outside JSON Schema 2020-12 are refused rather than silently ignored (a typo such as
 *   `requried` would otherwise accept everything), except `x-` extensions. `$dynamicRef` and the
 *   anchors are refused: the validator does not implement them, and a silently ignored keyword
 *   is a weaker schema than its author believes.
 */
export const SCHEMA_LIMITS = {
  maxBytes: 64 * 1024,
  maxDepth: 32,
  maxSubschemas: 2000,
  /** Subschemas visited with every $ref inlined. */
  maxExpanded: 20_000,
  maxPatternLength: 256,
  maxPatterns: 100,
  /** The largest maxLength a string checked by `pattern` may declare. */
  maxPatternInput: 10_000,
  maxUniqueItems: 1000,
};
export const MAX_KEY_LENGTH = 256;
export const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

export interface SchemaProblem {
  pointer: string;
  message: string;
}

export interface GuardResult {
  problems: SchemaProblem[];
  /** The schema uses key patterns: data keys must be length-checked before validation. */
  keyPatterns: boolean;
}

const SCHEMA_KEYWORDS = new Set(['additionalProperties', 'unevaluatedProperties', 'propertyNames', 'items', 'contains', 'not', 'if', 'then', 'else', 'unevaluatedItems']);
const SCHEMA_ARRAY_KEYWORDS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const SCHEMA_MAP_KEYWORDS = new Set(['properties', 'patternProperties', '$defs', 'dependentSchemas']);
const NON_NEGATIVE_INT = new Set(['maxLength', 'minLength', 'maxItems', 'minItems', 'maxProperties', 'minProperties', 'maxContains', 'minContains']);
const NUMBER_KEYWORDS = new Set(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']);
const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', '$comment', 'contentMediaType', 'contentEncoding', 'format']);
const TYPES = new Set(['null', 'boolean', 'object', 'array', 'number', 'integer', 'string']);
const UNSUPPORTED: Record<string, string> = {
  $dynamicRef: 'dynamic references are not supported',
  $dynamicAnchor: 'dynamic anchors are not supported',
  $recursiveRef: '$recursiveRef is not part of 2020-12',
  $recursiveAnchor: '$recursiveAnchor is not part of 2020-12',
  $anchor: 'anchors are not supported; use "$ref": "#/$defs/name"',
  $vocabulary: 'custom vocabularies are not supported',
  definitions: 'use $defs (2020-12)',
  dependencies: 'use dependentRequired or dependentSchemas (2020-12)',
  additionalItems: 'use items with prefixItems (2020-12)',
};

const escapePointer = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNonNegInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Alternation inside a group that a `*`, `+` or `{n,m}` repeats; also backreferences and lookbehind. */
function regexShapeProblem(source: string): string | undefined {
  const groups: { alt: boolean }[] = [];
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const n = source[i + 1] ?? '';
      if (/[1-9]/.test(n) || n === 'k') return 'backreferences are not allowed';
      i++;
      continue;
    }
    if (c === '[') {
      // Skip the class; `]` right after `[` or `[^` is literal, escapes are skipped.
      let j = i + 1;
      if (source[j] === '^') j++;
      if (source[j] === ']') j++;
      while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1;
      i = j;
      continue;
    }
    if (c === '(') {
      if (source.startsWith('(?<=', i) || source.startsWith('(?<!', i)) return 'lookbehind is not allowed';
      groups.push({ alt: false });
    } else if (c === '|') {
      if (groups.length) groups[groups.length - 1]!.alt = true;
    } else if (c === ')') {
      const g = groups.pop();
      if (!g) continue; // RegExp compilation reports the imbalance
      if (groups.length && g.alt) groups[groups.length - 1]!.alt = true;
      const q = source[i + 1];
      // Even an exact count repeats: (a|a){30} has 2^30 ways to fail.
      const repeats = q === '*' || q === '+' || (q === '{' && !source.startsWith('{0,1}', i + 1));
      if (g.alt && repeats) return 'alternation inside a repeated group is not allowed (it can backtrack exponentially)';
    }
  }
  return undefined;
}

export function regexProblem(source: unknown): string | undefined {
  if (typeof source !== 'string') return 'must be a string';
  if (source.length > SCHEMA_LIMITS.maxPatternLength) return `must be at most ${SCHEMA_LIMITS.maxPatternLength} characters`;
  try {
    compileLinear(source);
  } catch (e) {
    if (e instanceof LinearRegexError) return e.message;
    throw e;
  }
  const shape = regexShapeProblem(source);
  if (shape) return shape;
  if (!safeRegex(source, { limit: 10 })) return 'may backtrack catastrophically (nested quantifiers or too many repetitions)';
  return undefined;
}

/**
 * Checks a schema against the limits above and the keyword shapes of 2020-12. Problems carry a
 * JSON pointer into the schema (prefixed by `base`).
 */
export function guardSchema(schema: unknown, base = '/schema'): GuardResult {
  const problems: SchemaProblem[] = [];
  const add = (pointer: string, message: string) => {
    if (problems.length < 50) problems.push({ pointer: pointer || '/', message });
  };
  let keyPatterns = false;
  if (!isObject(schema)) {
    add(base, 'must be a JSON Schema object');
    return { problems, keyPatterns };
  }
  let json: string;
  try {
    json = canonicalJson(schema);
  } catch {
    add(base, 'is not serialisable JSON');
    return { problems, keyPatterns };
  }
  if (Buffer.byteLength(json) > SCHEMA_LIMITS.maxBytes) {
    add(base, `is larger than ${SCHEMA_LIMITS.maxBytes} bytes`);
    return { problems, keyPatterns };
  }
  // Depth of the JSON document itself, before any recursive walk relies on it.
  const depthOf = (v: unknown, d: number): number => {
    if (d > SCHEMA_LIMITS.maxDepth) return d;
    if (Array.isArray(v)) return v.reduce<number>((m, x) => Math.max(m, depthOf(x, d + 1)), d);
    if (isObject(v)) return Object.values(v).reduce<number>((m, x) => Math.max(m, depthOf(x, d + 1)), d);
    return d;
  };
  if (depthOf(schema, 0) > SCHEMA_LIMITS.maxDepth) {
    add(base, `nests deeper than ${SCHEMA_LIMITS.maxDepth} levels`);
    return { problems, keyPatterns };
  }
  if (schema.$schema !== undefined && schema.$schema !== DRAFT_2020_12 && schema.$schema !== `${DRAFT_2020_12}#`) {
    add(`${base}/$schema`, `only JSON Schema 2020-12 (${DRAFT_2020_12}) is supported`);
  }

  let subschemas = 0;
  let patterns = 0;
  const refs: { pointer: string; ref: string; node: Record<string, unknown> }[] = [];

  const walk = (node: unknown, ptr: string, isRoot: boolean): void => {
    subschemas++;
    if (subschemas > SCHEMA_LIMITS.maxSubschemas) {
      if (subschemas === SCHEMA_LIMITS.maxSubschemas + 1) add(base, `has more than ${SCHEMA_LIMITS.maxSubschemas} subschemas`);
      return;
    }
    if (typeof node === 'boolean') return;
    if (!isObject(node)) return add(ptr, 'must be a schema (an object or a boolean)');
    for (const [key, value] of Object.entries(node)) {
      const at = `${ptr}/${escapePointer(key)}`;
      if (UNSUPPORTED[key]) add(at, UNSUPPORTED[key]!);
      else if (key === '$schema') {
        if (!isRoot) add(at, '$schema is only allowed at the root');
      } else if (key === '$id') {
        if (!isRoot) add(at, '$id is only allowed at the root');
        else if (typeof value !== 'string' || value.length > 500) add(at, 'must be a string of at most 500 characters');
      } else if (key === '$ref') {
        if (typeof value !== 'string' || !value.startsWith('#')) add(at, 'only local references ("#" or "#/$defs/...") are allowed');
        else refs.push({ pointer: at, ref: value, node });
      } else if (SCHEMA_KEYWORDS.has(key)) {
        if (key === 'items' && Array.isArray(value)) add(at, 'items must be a single schema in 2020-12; use prefixItems for tuples');
        else walk(value, at, false);
      } else if (SCHEMA_ARRAY_KEYWORDS.has(key)) {
        if (!Array.isArray(value) || value.length === 0) add(at, 'must be a non-empty array of schemas');
        else value.forEach((s, i) => walk(s, `${at}/${i}`, false));
      } else if (SCHEMA_MAP_KEYWORDS.has(key)) {
        if (!isObject(value)) add(at, 'must be an object of schemas');
        else {
          for (const [k, s] of Object.entries(value)) {
            const sub = `${at}/${escapePointer(k)}`;
            if (key !== 'patternProperties' && key !== '$defs' && k in Object.prototype) add(sub, `"${k}" cannot be a property name (it collides with a JavaScript built-in)`);
            if (key === 'patternProperties') {
              keyPatterns = true;
              if (++patterns > SCHEMA_LIMITS.maxPatterns) add(sub, `more than ${SCHEMA_LIMITS.maxPatterns} patterns`);
              const p = regexProblem(k);
              if (p) add(sub, `pattern ${p}`);
            }
            walk(s, sub, false);
          }
        }
      } else if (NON_NEGATIVE_INT.has(key)) {
        if (!isNonNegInt(value)) add(at, 'must be a non-negative integer');
      } else if (NUMBER_KEYWORDS.has(key)) {
        if (typeof value !== 'number' || !Number.isFinite(value)) add(at, 'must be a number');
      } else if (key === 'multipleOf') {
        if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) add(at, 'must be a number greater than 0');
      } else if (key === 'type') {
        const list = Array.isArray(value) ? value : [value];
        if (!list.length || list.some((t) => typeof t !== 'string' || !TYPES.has(t)) || new Set(list).size !== list.length) {
          add(at, `must be one of ${[...TYPES].join(', ')} or a list of distinct ones`);
        }
      } else if (key === 'required') {
        if (!Array.isArray(value) || value.some((s) => typeof s !== 'string') || new Set(value).size !== value.length) add(at, 'must be an array of distinct strings');
        else if (value.some((s) => s in Object.prototype)) add(at, 'cannot name a JavaScript built-in such as "constructor"');
      } else if (key === 'dependentRequired') {
        if (!isObject(value) || Object.entries(value).some(([k, a]) => k in Object.prototype || !Array.isArray(a) || a.some((s) => typeof s !== 'string' || s in Object.prototype))) {
          add(at, 'must map property names to arrays of strings (not JavaScript built-ins such as "constructor")');
        }
      } else if (key === 'enum') {
        if (!Array.isArray(value) || value.length === 0) add(at, 'must be a non-empty array');
      } else if (key === 'const') {
        // any JSON value
      } else if (key === 'uniqueItems') {
        if (typeof value !== 'boolean') add(at, 'must be a boolean');
        else if (value && !(isNonNegInt(node.maxItems) && (node.maxItems as number) <= SCHEMA_LIMITS.maxUniqueItems)) {
          add(at, `uniqueItems needs "maxItems" of at most ${SCHEMA_LIMITS.maxUniqueItems} in the same schema`);
        }
      } else if (key === 'pattern') {
        if (++patterns > SCHEMA_LIMITS.maxPatterns) add(at, `more than ${SCHEMA_LIMITS.maxPatterns} patterns`);
        const p = regexProblem(value);
        if (p) add(at, `pattern ${p}`);
        else if (!(isNonNegInt(node.maxLength) && (node.maxLength as number) <= SCHEMA_LIMITS.maxPatternInput)) {
          add(at, `pattern needs "maxLength" of at most ${SCHEMA_LIMITS.maxPatternInput} in the same schema`);
        }
      } else if (ANNOTATIONS.has(key)) {
        if (key === 'format' && typeof value !== 'string') add(at, 'must be a string');
      } else if (!key.startsWith('x-')) {
        add(at, `unknown keyword "${key}" (JSON Schema 2020-12; extensions must start with x-)`);
      }
    }
  };
  walk(schema, base, true);
  if (problems.length) return { problems, keyPatterns };

  // $ref targets must exist; with refs inlined the schema must stay small and acyclic.
  const resolve = (ref: string): unknown => {
    if (ref === '#') return schema;
    if (!ref.startsWith('#/')) return undefined;
    let cur: unknown = schema;
    for (const raw of ref.slice(2).split('/')) {
      let part: string;
      try {
        part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      } catch {
        return undefined;
      }
      if (Array.isArray(cur) && /^\d+$/.test(part)) cur = cur[Number(part)];
      else if (isObject(cur) && Object.hasOwn(cur, part)) cur = cur[part];
      else return undefined;
    }
    return typeof cur === 'boolean' || isObject(cur) ? cur : undefined;
  };
  for (const r of refs) if (resolve(r.ref) === undefined) add(r.pointer, `points at nothing: ${r.ref}`);
  if (problems.length) return { problems, keyPatterns };
  if (refs.length) {
    const sizes = new Map<unknown, number>();
    const active = new Set<unknown>();
    let cyclic: string | undefined;
    const size = (node: unknown): number => {
      if (!isObject(node)) return 1;
      const known = sizes.get(node);
      if (known !== undefined) return known;
      if (active.has(node)) {
        cyclic ??= 'recursive $ref is not supported';
        return SCHEMA_LIMITS.maxExpanded + 1;
      }
      active.add(node);
      let n = 1;
      for (const [key, value] of Object.entries(node)) {
        if (n > SCHEMA_LIMITS.maxExpanded) break;
        if (key === '$ref' && typeof value === 'string') n += size(resolve(value));
        else if (key === '$defs') continue; // only counted where referenced
        else if (SCHEMA_KEYWORDS.has(key)) n += size(value);
        else if (SCHEMA_ARRAY_KEYWORDS.has(key)) for (const s of value as unknown[]) n += size(s);
        else if (SCHEMA_MAP_KEYWORDS.has(key)) for (const s of Object.values(value as object)) n += size(s);
      }
      active.delete(node);
      sizes.set(node, n);
      return n;
    };
    const total = size(schema);
    if (cyclic) add(base, cyclic);
    else if (total > SCHEMA_LIMITS.maxExpanded) add(base, `expands to more than ${SCHEMA_LIMITS.maxExpanded} subschemas once its $refs are followed`);
  }
  return { problems, keyPatterns };
}
