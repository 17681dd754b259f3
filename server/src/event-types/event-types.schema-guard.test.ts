import { describe, expect, it } from 'vitest';
import { guardSchema, regexProblem, SCHEMA_LIMITS } from './event-types.schema-guard.js';
import { compileType } from './event-types.validator.js';
import { CALENDAR_EVENT_SCHEMA, CALENDAR_EVENT_TYPE } from '../../test/fixtures/calendar.js';

const problems = (schema: unknown) => guardSchema(schema).problems;
const refused = (schema: unknown, pointer: string, message: RegExp) => {
  const p = problems(schema);
  expect(p.length, JSON.stringify(schema).slice(0, 200)).toBeGreaterThan(0);
  expect(p.some((x) => x.pointer === pointer && message.test(x.message)), JSON.stringify(p)).toBe(true);
};

/** The calendar app's schema, naming its draft as a schema may. */
const calendar = { $schema: 'https://json-schema.org/draft/2020-12/schema', ...CALENDAR_EVENT_SCHEMA };

describe('schema guard', () => {
  it('accepts an ordinary 2020-12 schema with local references', () => {
    expect(problems(calendar)).toEqual([]);
    expect(problems({ $defs: { when: { type: 'string', format: 'date' } }, type: 'object', properties: { a: { $ref: '#/$defs/when' }, b: { $ref: '#/$defs/when' } } })).toEqual([]);
  });

  it('refuses non-object schemas and other drafts', () => {
    refused(true, '/schema', /object/);
    refused([], '/schema', /object/);
    refused({ $schema: 'http://json-schema.org/draft-07/schema#' }, '/schema/$schema', /2020-12/);
  });

  it('refuses malformed keyword values instead of failing later', () => {
    refused({ type: 5 }, '/schema/type', /one of/);
    refused({ type: ['string', 'string'] }, '/schema/type', /distinct/);
    refused({ properties: [] }, '/schema/properties', /object of schemas/);
    refused({ properties: { a: 'x' } }, '/schema/properties/a', /schema/);
    refused({ minLength: -1 }, '/schema/minLength', /non-negative/);
    refused({ multipleOf: 0 }, '/schema/multipleOf', /greater than 0/);
    refused({ required: ['a', 'a'] }, '/schema/required', /distinct/);
    refused({ anyOf: [] }, '/schema/anyOf', /non-empty/);
    refused({ items: [{}] }, '/schema/items', /prefixItems/);
  });

  it('refuses unknown keywords (typos) but allows x- extensions', () => {
    refused({ type: 'object', requried: ['a'] }, '/schema/requried', /unknown keyword/);
    expect(problems({ type: 'object', 'x-ui': { widget: 'colour' } })).toEqual([]);
  });

  it('refuses references that leave the document, dangle, or recurse', () => {
    refused({ $ref: 'https://evil.example/schema.json' }, '/schema/$ref', /local/);
    refused({ properties: { a: { $ref: '#/$defs/missing' } } }, '/schema/properties/a/$ref', /nothing/);
    refused({ $ref: '#' }, '/schema', /recursive/);
    refused({ $defs: { a: { $ref: '#/$defs/b' }, b: { $ref: '#/$defs/a' } }, $ref: '#/$defs/a' }, '/schema', /recursive/);
    refused({ type: 'object', properties: { child: { $ref: '#' } } }, '/schema', /recursive/);
  });

  it('refuses a reference DAG that expands exponentially', () => {
    const $defs: Record<string, unknown> = { d0: { type: 'string' } };
    for (let i = 1; i <= 30; i++) $defs[`d${i}`] = { anyOf: [{ $ref: `#/$defs/d${i - 1}` }, { $ref: `#/$defs/d${i - 1}` }] };
    refused({ $defs, $ref: '#/$defs/d30' }, '/schema', /expands/);
  });

  it('refuses keywords the validator does not implement rather than ignoring them', () => {
    refused({ $dynamicRef: '#meta' }, '/schema/$dynamicRef', /not supported/);
    refused({ properties: { a: { $anchor: 'x' } } }, '/schema/properties/a/$anchor', /anchors/);
    refused({ properties: { a: { $id: 'https://x.example/a' } } }, '/schema/properties/a/$id', /root/);
    refused({ dependencies: {} }, '/schema/dependencies', /dependentRequired/);
  });

  it('refuses property names that every JavaScript object already has', () => {
    refused({ required: ['constructor'] }, '/schema/required', /built-in/);
    refused({ properties: { toString: { type: 'string' } } }, '/schema/properties/toString', /built-in/);
  });

  it('bounds size, depth and the number of subschemas', () => {
    refused({ description: 'x'.repeat(SCHEMA_LIMITS.maxBytes) }, '/schema', /larger/);
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 40; i++) deep = { items: deep };
    refused(deep, '/schema', /deeper/);
    const properties = Object.fromEntries(Array.from({ length: SCHEMA_LIMITS.maxSubschemas + 5 }, (_, i) => [`p${i}`, true]));
    refused({ properties }, '/schema', /subschemas/);
  });

  it('refuses costly regular expressions', () => {
    for (const bad of ['(a+)+$', '^(a|a)*$', '(x|y){40}', '(.*a){12}', '(a)\\1', '(?<=a)b', 'x'.repeat(300), '[']) {
      expect(regexProblem(bad), bad).toBeDefined();
    }
    for (const ok of ['^#[0-9a-f]{6}$', '^[A-Z]{2}-\\d+$', '^(red|green|blue)$', '^(?:ab)?c$', '[|()*+]+']) {
      expect(regexProblem(ok), ok).toBeUndefined();
    }
    refused({ type: 'string', pattern: '^(a|b)+$', maxLength: 10 }, '/schema/pattern', /alternation/);
    refused({ type: 'string', pattern: '^a+$' }, '/schema/pattern', /maxLength/);
    refused({ patternProperties: { '(a+)+': {} } }, '/schema/patternProperties/(a+)+', /backtrack/);
  });

  it('needs maxItems for uniqueItems (quadratic in the array length)', () => {
    refused({ type: 'array', uniqueItems: true }, '/schema/uniqueItems', /maxItems/);
    expect(problems({ type: 'array', uniqueItems: true, maxItems: 50 })).toEqual([]);
  });
});

describe('compiled validators', () => {
  const v = compileType(CALENDAR_EVENT_TYPE, 1, calendar, false);
  const good = { startTime: '2026-03-02T09:00:00Z', endTime: '2026-03-02T10:00:00Z', title: 'Stand-up', description: 'daily', color: '#336699' };

  it('accepts valid data', () => {
    expect(v.validate(good)).toBeNull();
  });

  it('reports one pointer and message per failing location, not the enclosing keywords', () => {
    const p = v.validate({ ...good, startTime: 'tomorrow', color: 'blue', extra: 1 })!;
    expect(p).toEqual(
      expect.arrayContaining([
        { pointer: '/startTime', message: expect.stringMatching(/date-time/) },
        { pointer: '/color', message: expect.stringMatching(/pattern/) },
        { pointer: '/extra', message: 'is not allowed here' },
      ]),
    );
    // A declared property that failed is not also reported as "additional".
    expect(p.filter((x) => x.pointer === '/startTime')).toHaveLength(1);
    const missing = v.validate({ startTime: good.startTime })!;
    expect(missing.map((x) => x.pointer).sort()).toEqual(['/color', '/description', '/endTime', '/title']);
    expect(missing.every((x) => x.message === 'is required')).toBe(true);
  });

  it('keeps keys short for types that match keys with patterns', () => {
    const kp = compileType('x.y/z', 1, { type: 'object', patternProperties: { '^a': { type: 'number' } } }, true);
    expect(kp.validate({ a1: 1 })).toBeNull();
    expect(kp.validate({ ['a'.repeat(300)]: 1 })![0]!.message).toMatch(/keys are limited/);
  });
});
