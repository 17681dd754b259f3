import fc from 'fast-check';

/**
 * The operations of the running app's OpenAPI document, and values shaped by their schemas: the
 * fuzz and the authorisation matrix walk this list, so a new route is attacked the day it is added.
 */

export type JsonSchema = Record<string, unknown>;

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: JsonSchema;
}

export interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** OpenAPI template, e.g. /api/v1/workspaces/{id}/members/{userId} */
  path: string;
  tag: string;
  pathParams: Parameter[];
  queryParams: Parameter[];
  /** Declared request body schema per media type (empty when the operation takes none). */
  bodies: Record<string, JsonSchema>;
  requiredBody: boolean;
}

interface Spec {
  paths: Record<string, Record<string, { tags?: string[]; parameters?: Parameter[]; requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> } }>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Replaces `$ref`s to components by the schemas themselves (the documents here have no cycles through refs). */
function deref(schema: unknown, spec: Spec, depth = 0): unknown {
  if (depth > 40 || schema === null || typeof schema !== 'object') return schema;
  if (Array.isArray(schema)) return schema.map((s) => deref(s, spec, depth + 1));
  const o = schema as Record<string, unknown>;
  if (typeof o.$ref === 'string') {
    const name = o.$ref.replace(/^#\/components\/schemas\//, '');
    return deref(spec.components?.schemas?.[name] ?? {}, spec, depth + 1);
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, deref(v, spec, depth + 1)]));
}

export function operationsOf(specIn: unknown): Operation[] {
  const spec = specIn as Spec;
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const m of METHODS) {
      const op = item[m];
      if (!op) continue;
      const params = ((op.parameters ?? []) as Parameter[]).map((p) => ({ ...p, schema: deref(p.schema ?? {}, spec) as JsonSchema, required: p.required === true }));
      const bodies: Record<string, JsonSchema> = {};
      for (const [type, c] of Object.entries(op.requestBody?.content ?? {})) bodies[type] = deref(c.schema ?? {}, spec) as JsonSchema;
      ops.push({
        method: m.toUpperCase() as Operation['method'],
        path,
        tag: op.tags?.[0] ?? 'other',
        pathParams: params.filter((p) => p.in === 'path'),
        queryParams: params.filter((p) => p.in === 'query'),
        bodies,
        requiredBody: op.requestBody?.required === true,
      });
    }
  }
  return ops;
}

/** Percent-encodes like encodeURIComponent, except that a lone surrogate becomes its WTF-8 bytes (ill-formed UTF-8 on the wire) instead of throwing. */
export function encodeComponent(v: string): string {
  let out = '';
  for (const ch of v) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) out += [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    else out += encodeURIComponent(ch);
  }
  return out;
}

/** Fills an OpenAPI path template; values are percent-encoded unless `raw`. */
export function fillPath(path: string, values: Record<string, string>, raw = false): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = values[name] ?? 'x';
    return raw ? v : name === '*' ? v.split('/').map(encodeComponent).join('/') : encodeComponent(v);
  });
}

const typeOf = (s: JsonSchema): string | undefined => (Array.isArray(s.type) ? (s.type as string[]).find((t) => t !== 'null') : (s.type as string | undefined));
const options = (s: JsonSchema): JsonSchema[] | undefined => (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;

/** One value the schema accepts, the plainest there is (minimum lengths, first enum member, required fields only). */
export function sampleOf(s: JsonSchema, hints: Record<string, unknown> = {}, key = ''): unknown {
  if (key && key in hints) return hints[key];
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  const alts = options(s);
  if (alts) return sampleOf(alts.find((a) => a.type !== 'null') ?? alts[0]!, hints, key);
  switch (typeOf(s)) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, JsonSchema>;
      const required = (s.required ?? []) as string[];
      return Object.fromEntries(required.map((k) => [k, sampleOf(props[k] ?? {}, hints, k)]));
    }
    case 'array':
      return Array.from({ length: Number(s.minItems ?? 0) }, () => sampleOf((s.items ?? {}) as JsonSchema, hints));
    case 'string': {
      if (s.format === 'uuid') return '01a20000-0000-7000-8000-000000000000';
      if (s.format === 'date-time') return '2026-01-01T00:00:00.000Z';
      if (s.format === 'date') return '2026-01-01';
      if (s.format === 'byte') return 'aGVsbG8=';
      const min = Number(s.minLength ?? 1);
      return 'x'.repeat(Math.max(min, 1));
    }
    case 'integer':
    case 'number':
      return Number(s.minimum ?? 1);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return {};
  }
}

// --- hostile values -----------------------------------------------------------------------

export const HOSTILE_STRINGS = [
  '',
  ' ',
  '..',
  '../../../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '/absolute/path',
  'C:\\Windows\\system32',
  '\u0000',
  'a\u0000b',
  '\ud83d', // lone high surrogate
  '\udc00x', // lone low surrogate
  'x\ud800\ud800y',
  '\u202eevil\u202c', // right-to-left override
  'e\u0301\u0301\u0301', // stacked combining marks
  '\ufeffbom',
  '\u200b\u200d',
  '🧨👩‍👩‍👧‍👦',
  'ǅ ß İ ﬃ',
  "' OR 1=1 --",
  '"; DROP TABLE users; --',
  '${7*7}{{7*7}}<%= 7*7 %>',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  'null',
  'undefined',
  'NaN',
  '-1',
  '0',
  '1e309',
  '99999999999999999999999999999',
  '-9223372036854775809',
  '2026-02-30T25:61:61Z',
  '%',
  '%zz',
  '%E0%A4%A',
  'a'.repeat(300),
  'a'.repeat(5000),
  'http://' + 'a'.repeat(40) + '!',
  'a'.repeat(60) + '!',
  'x'.repeat(30) + '@' + 'x'.repeat(30),
  '01a201b0-1a33-7084-b86d-bf0ce3408ce1',
  '00000000-0000-0000-0000-000000000000',
  'ds999999',
  'ds000001/../ds000002',
  '*',
  'draft',
  '1.0.0',
  '\n\r\t',
];

const hostileString = fc.oneof(
  { arbitrary: fc.constantFrom(...HOSTILE_STRINGS), weight: 4 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 1 }, // includes lone surrogates
);

const hostileNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 1.5, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, -1e308, Number.MIN_VALUE),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** Any value that is the wrong shape: wrong types, huge numbers, odd strings, prototype keys, deep nesting. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: hostileString, weight: 4 },
  { arbitrary: hostileNumber, weight: 2 },
  { arbitrary: fc.constantFrom(null, true, false, [], {}, [[[]]], { __proto__x: 1 }), weight: 1 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 2 },
  { arbitrary: fc.integer({ min: 65, max: 300 }).map((d) => nest(d)), weight: 1 },
  { arbitrary: fc.constant(Array.from({ length: 3000 }, (_, i) => i)), weight: 1 },
);

function nest(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

/** JSON text nested `depth` deep: beyond what JSON.stringify of a JS value would be sensible to build. */
export const deepJsonText = (depth: number, open = '{"a":', close = '}') => open.repeat(depth) + '1' + close.repeat(depth);

/**
 * Values shaped by the schema: usually valid, with a hostile value swapped in at some node with
 * probability `hostility` (so requests get past the first check and reach the services).
 */
export function shaped(s: JsonSchema, hints: readonly unknown[], hostility = 0.15, depth = 0): fc.Arbitrary<unknown> {
  const hint = hints.length ? fc.constantFrom(...hints) : hostileString;
  const valid = ((): fc.Arbitrary<unknown> => {
    if ('const' in s) return fc.constant(s.const);
    if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
    const alts = options(s);
    if (alts && alts.length) return fc.oneof(...alts.map((a) => shaped(a, hints, hostility, depth + 1)));
    if (depth > 6) return fc.constant(sampleOf(s));
    switch (typeOf(s)) {
      case 'object': {
        const props = (s.properties ?? {}) as Record<string, JsonSchema>;
        const required = (s.required ?? []) as string[];
        const record = fc.record(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, shaped(v, hints, hostility, depth + 1)])), { requiredKeys: required.filter((k) => k in props) });
        if (!Object.keys(props).length) return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
        return record;
      }
      case 'array': {
        const min = Number(s.minItems ?? 0);
        return fc.array(shaped((s.items ?? {}) as JsonSchema, hints, hostility, depth + 1), { minLength: min, maxLength: Math.max(min, Math.min(Number(s.maxItems ?? 4), 4)) });
      }
      case 'string':
        if (s.format === 'uuid') return fc.oneof(fc.uuid(), hint.filter((h) => typeof h === 'string'));
        if (s.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
        return fc.oneof(
          { arbitrary: fc.string({ minLength: Number(s.minLength ?? 0), maxLength: Math.min(Number(s.maxLength ?? 30), 30) }), weight: 3 },
          { arbitrary: hint.filter((h) => typeof h === 'string'), weight: 2 },
          { arbitrary: hostileString, weight: 1 },
        );
      case 'integer':
        return fc.integer({ min: Number(s.minimum ?? -1000), max: Math.min(Number(s.maximum ?? 100000), 2 ** 31 - 1) });
      case 'number':
        return fc.double({ noNaN: true, noDefaultInfinity: true });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      default:
        return fc.jsonValue({ maxDepth: 3 });
    }
  })();
  if (depth === 0 && hostility === 0) return valid;
  return fc.oneof({ arbitrary: valid, weight: Math.round((1 - hostility) * 100) }, { arbitrary: hostileValue, weight: Math.round(hostility * 100) });
}
