import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateDefinition } from './definition.validator.js';
import { ExpressionError, evaluate } from './expression.engine.js';
import type { FormInstrument, JsonValue, SubmissionResult } from './instrument.types.js';
import { computeMeasures, validateSubmission, visibleFields } from './submission.validator.js';
import { GOOD_ANSWERS, KITCHEN_SINK, KITCHEN_SINK_FORM } from '../../test/instruments.js';

/** Arbitrary values of every kind JavaScript callers could pass, not only JSON. */
const anything = fc.anything({
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withObjectString: true,
  withNullPrototype: true,
  withBigInt: true,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
});

function wellFormed(r: SubmissionResult): void {
  if (r.ok) {
    expect(typeof r.data).toBe('object');
    expect(JSON.parse(JSON.stringify(r.data))).toEqual(r.data);
    for (const v of Object.values(r.measures)) expect(['string', 'number', 'boolean']).toContain(v === null ? 'string' : typeof v);
  } else {
    expect(r.errors.length).toBeGreaterThan(0);
    for (const e of r.errors) {
      expect(typeof e.field).toBe('string');
      expect(e.pointer === '' || e.pointer.startsWith('/')).toBe(true);
      expect(e.message.length).toBeGreaterThan(0);
    }
  }
}

const fieldNames = KITCHEN_SINK_FORM.content.flatMap((c) => (c.kind === 'group' ? c.fields : [c])).map((f) => f.name);

describe('validateSubmission never throws', () => {
  it('on arbitrary answers', () => {
    fc.assert(
      fc.property(anything, (answers) => {
        wellFormed(validateSubmission(KITCHEN_SINK_FORM, answers, { today: '2025-01-01' }));
        visibleFields(KITCHEN_SINK_FORM, answers);
      }),
      { numRuns: 2000 },
    );
  });

  it('on objects whose keys are real field names and whose values are arbitrary', () => {
    const answers = fc.dictionary(fc.constantFrom(...fieldNames, 'grid', 'kids', '__proto__', 'constructor'), anything, { maxKeys: 12 });
    fc.assert(
      fc.property(answers, (a) => {
        wellFormed(validateSubmission(KITCHEN_SINK_FORM, a, { today: '2025-01-01' }));
      }),
      { numRuns: 2000 },
    );
  });

  it('on good answers with one value replaced, and flags that field', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(GOOD_ANSWERS)), anything, (key, value) => {
        const r = validateSubmission(KITCHEN_SINK_FORM, { ...GOOD_ANSWERS, [key]: value }, { today: '2025-01-01' });
        wellFormed(r);
        if (!r.ok) {
          // Any error is about the replaced field, or about fields its value reveals or hides.
          expect(r.errors.some((e) => e.field === key || e.field.startsWith(`${key}.`) || ['cigarettes', 'quitting', 'kids'].includes(e.field.split('.')[0]!))).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('on structurally plausible answers for repeated groups and grids', () => {
    const kid = fc.record({ name: fc.oneof(fc.string(), anything), age: fc.oneof(fc.integer(), anything), school: anything }, { requiredKeys: [] });
    const grid = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.oneof(fc.integer({ min: 0, max: 4 }), anything));
    fc.assert(
      fc.property(fc.array(kid, { maxLength: 5 }), grid, (kids, g) => {
        wellFormed(validateSubmission(KITCHEN_SINK_FORM, { ...GOOD_ANSWERS, kids, grid: g }, { today: '2025-01-01' }));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('validateDefinition never throws', () => {
  it('on arbitrary values', () => {
    fc.assert(
      fc.property(anything, (def) => {
        const r = validateDefinition(def);
        expect(r.ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('on a valid definition with one part replaced by anything', () => {
    // Replace a random node of the kitchen sink, so the validator sees near-valid shapes.
    const paths: Array<Array<string | number>> = [];
    const collect = (v: unknown, path: Array<string | number>) => {
      paths.push(path);
      if (Array.isArray(v)) v.forEach((x, i) => collect(x, [...path, i]));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) collect(x, [...path, k]);
    };
    collect(KITCHEN_SINK, []);
    fc.assert(
      fc.property(fc.constantFrom(...paths.filter((p) => p.length > 0)), anything, (path, value) => {
        const def = JSON.parse(JSON.stringify(KITCHEN_SINK)) as Record<string, unknown>;
        let parent: Record<string | number, unknown> = def;
        for (const seg of path.slice(0, -1)) parent = parent[seg] as Record<string | number, unknown>;
        parent[path[path.length - 1]!] = value;
        const r = validateDefinition(def);
        if (r.ok) {
          // Whatever it accepted must be usable: submissions and measures still never throw.
          const form = r.definition as FormInstrument;
          wellFormed(validateSubmission(form, GOOD_ANSWERS, { today: '2025-01-01' }));
          computeMeasures(form, {});
        } else {
          for (const e of r.errors) expect(e.pointer === '' || e.pointer.startsWith('/')).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('evaluate', () => {
  it('returns JSON or throws ExpressionError, whatever the expression and data', () => {
    const ops = ['var', 'if', '==', '===', '!', 'or', 'and', '<', '>', '+', '-', '*', '/', '%', 'in', 'cat', 'substr', 'merge', 'map', 'filter', 'reduce', 'all', 'some', 'none', 'max', 'min', 'nope'];
    const expr = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null)),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.record({ op: fc.constantFrom(...ops), args: fc.oneof(tie('node'), fc.array(tie('node'), { maxLength: 4 })) }).map(({ op, args }) => ({ [op]: args })),
      ),
    })).node;
    fc.assert(
      fc.property(expr, fc.jsonValue(), (e, data) => {
        try {
          const v = evaluate(e as JsonValue, data);
          expect(v).not.toBeUndefined();
          const json = JSON.stringify(v);
          expect(JSON.stringify(JSON.parse(json))).toBe(json);
        } catch (err) {
          expect(err).toBeInstanceOf(ExpressionError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
