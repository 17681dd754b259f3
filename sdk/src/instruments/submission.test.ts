import { describe, expect, it } from 'vitest';
import { validateDefinition } from './definition.validator.js';
import type { FormInstrument, SubmissionError } from './instrument.types.js';
import { localise } from './localise.js';
import { computeMeasures, measuresSoFar, validateSubmission, visibleFields } from './submission.validator.js';
import { GOOD_ANSWERS, KITCHEN_SINK, KITCHEN_SINK_FORM, form } from '../../test/instruments.js';

const TODAY = { today: '2025-06-15' };

function def(content: unknown[], extra: Record<string, unknown> = {}): FormInstrument {
  const r = validateDefinition(form(content, extra));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.definition as FormInstrument;
}

function errs(d: FormInstrument, answers: unknown): SubmissionError[] {
  const r = validateSubmission(d, answers, TODAY);
  if (r.ok) throw new Error('expected the submission to be refused');
  return r.errors;
}

function ok(d: FormInstrument, answers: unknown) {
  const r = validateSubmission(d, answers, TODAY);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r;
}

const with_ = (patch: Record<string, unknown>) => ({ ...GOOD_ANSWERS, ...patch });

describe('validateSubmission on the kitchen sink', () => {
  it('accepts good answers and computes the measures', () => {
    const r = ok(KITCHEN_SINK_FORM, GOOD_ANSWERS);
    expect(r.data).toEqual(GOOD_ANSWERS);
    expect(r.measures).toEqual({
      ageRef: 40,
      gridA: 3,
      gridTotal: 8,
      gridHigh: true,
      kidsAtSchool: 1,
      initials: 'Z',
      everything: null,
    });
  });

  it('refuses a non-object and unknown fields, naming them', () => {
    expect(errs(KITCHEN_SINK_FORM, [])).toEqual([{ field: '', pointer: '', code: 'not_an_object', message: 'answers must be an object of answers by field name' }]);
    expect(errs(KITCHEN_SINK_FORM, null)[0]!.code).toBe('not_an_object');
    expect(errs(KITCHEN_SINK_FORM, with_({ favourite: 'x', 'a/b': 1 }))).toEqual([
      { field: 'favourite', pointer: '/favourite', code: 'unknown_field', message: '"favourite" is not a field of this instrument' },
      { field: 'a/b', pointer: '/a~1b', code: 'unknown_field', message: '"a/b" is not a field of this instrument' },
    ]);
  });

  it('names every missing required field', () => {
    const e = errs(KITCHEN_SINK_FORM, {});
    expect(e.map((x) => [x.field, x.code])).toEqual([
      ['nickname', 'required'],
      ['age', 'required'],
      ['smoker', 'required'],
      ['agree', 'required'],
      ['grid', 'required'],
    ]);
  });

  it('treats null, empty strings, lists and objects as unanswered', () => {
    const r = ok(KITCHEN_SINK_FORM, with_({ notes: '', colour: null, langs: [], visit: '', postcode: undefined }));
    expect(r.data).not.toHaveProperty('notes');
    expect(r.data).not.toHaveProperty('colour');
    expect(r.data).not.toHaveProperty('langs');
    expect(errs(KITCHEN_SINK_FORM, with_({ grid: {} }))).toEqual([{ field: 'grid', pointer: '/grid', code: 'required', message: 'an answer is required' }]);
    expect(errs(KITCHEN_SINK_FORM, with_({ nickname: [] }))[0]).toMatchObject({ field: 'nickname', code: 'wrong_type' });
    expect(errs(KITCHEN_SINK_FORM, with_({ grid: [] }))[0]).toMatchObject({ field: 'grid', code: 'wrong_type' });
    expect(errs(KITCHEN_SINK_FORM, with_({ langs: '' }))[0]).toMatchObject({ field: 'langs', code: 'wrong_type' });
  });
});

describe('text fields', () => {
  it('checks type, length in code points and pattern', () => {
    expect(errs(KITCHEN_SINK_FORM, with_({ nickname: 5 }))[0]).toMatchObject({ field: 'nickname', code: 'wrong_type' });
    expect(errs(KITCHEN_SINK_FORM, with_({ nickname: 'Z' }))[0]).toMatchObject({ field: 'nickname', code: 'too_short' });
    expect(errs(KITCHEN_SINK_FORM, with_({ nickname: 'Zedzedzedze' }))[0]).toMatchObject({ field: 'nickname', code: 'too_long' });
    // Ten emoji are twenty UTF-16 units but ten characters.
    expect(ok(KITCHEN_SINK_FORM, with_({ nickname: '😀'.repeat(10) })).data.nickname).toBe('😀'.repeat(10));
    expect(errs(KITCHEN_SINK_FORM, with_({ notes: 'x'.repeat(51) }))[0]).toMatchObject({ field: 'notes', code: 'too_long' });
    expect(ok(KITCHEN_SINK_FORM, with_({ postcode: '75001' })).data.postcode).toBe('75001');
    expect(errs(KITCHEN_SINK_FORM, with_({ postcode: '7500' }))[0]).toMatchObject({ field: 'postcode', code: 'pattern' });
    expect(errs(KITCHEN_SINK_FORM, with_({ postcode: '75001\n' }))[0]).toMatchObject({ field: 'postcode', code: 'pattern' });
  });

  it('caps text without a declared maxLength', () => {
    expect(ok(KITCHEN_SINK_FORM, with_({ postcode: undefined, kids: [{ name: 'x'.repeat(10_000) }] })).ok).toBe(true);
    expect(errs(KITCHEN_SINK_FORM, with_({ kids: [{ name: 'x'.repeat(10_001) }] }))[0]).toMatchObject({ field: 'kids.0.name', code: 'too_long' });
    expect(errs(KITCHEN_SINK_FORM, with_({ postcode: 'x'.repeat(5_000_000) }))[0]).toMatchObject({ field: 'postcode', code: 'too_long' });
  });

  it('checks select and radio options', () => {
    expect(ok(KITCHEN_SINK_FORM, with_({ colour: 'red', hand: 'left' })).data).toMatchObject({ colour: 'red', hand: 'left' });
    expect(errs(KITCHEN_SINK_FORM, with_({ colour: 'green' }))[0]).toMatchObject({ field: 'colour', code: 'not_an_option' });
    expect(errs(KITCHEN_SINK_FORM, with_({ hand: 'Left' }))[0]).toMatchObject({ field: 'hand', code: 'not_an_option' });
  });
});

describe('number fields', () => {
  it('checks type, integer, min and max', () => {
    expect(errs(KITCHEN_SINK_FORM, with_({ age: '40' }))[0]).toMatchObject({ field: 'age', code: 'wrong_type' });
    expect(errs(KITCHEN_SINK_FORM, with_({ age: 40.5 }))[0]).toMatchObject({ field: 'age', code: 'not_integer' });
    expect(errs(KITCHEN_SINK_FORM, with_({ age: -1 }))[0]).toMatchObject({ field: 'age', code: 'too_small' });
    expect(errs(KITCHEN_SINK_FORM, with_({ age: 121 }))[0]).toMatchObject({ field: 'age', code: 'too_large' });
    expect(errs(KITCHEN_SINK_FORM, with_({ age: Number.NaN }))[0]).toMatchObject({ field: 'age', code: 'wrong_type' });
    expect(errs(KITCHEN_SINK_FORM, with_({ age: Infinity }))[0]).toMatchObject({ field: 'age', code: 'wrong_type' });
    expect(ok(KITCHEN_SINK_FORM, with_({ age: 120 })).data.age).toBe(120);
  });

  it('handles sliders and number options', () => {
    expect(ok(KITCHEN_SINK_FORM, with_({ mood: 7.5, siblings: 0, stars: 5 })).data).toMatchObject({ mood: 7.5, siblings: 0, stars: 5 });
    expect(errs(KITCHEN_SINK_FORM, with_({ mood: 11 }))[0]).toMatchObject({ field: 'mood', code: 'too_large' });
    expect(errs(KITCHEN_SINK_FORM, with_({ siblings: 3 }))[0]).toMatchObject({ field: 'siblings', code: 'not_an_option' });
    expect(errs(KITCHEN_SINK_FORM, with_({ stars: 3 }))[0]).toMatchObject({ field: 'stars', code: 'not_an_option' });
  });
});

describe('boolean and date fields', () => {
  it('checks booleans, including must-be-true consent boxes', () => {
    expect(errs(KITCHEN_SINK_FORM, with_({ smoker: 'yes' }))[0]).toMatchObject({ field: 'smoker', code: 'wrong_type' });
    expect(errs(KITCHEN_SINK_FORM, with_({ agree: false }))).toEqual([{ field: 'agree', pointer: '/agree', code: 'must_be_true', message: 'must be checked' }]);
    expect(ok(KITCHEN_SINK_FORM, with_({ smoker: false, cigarettes: undefined, quitting: undefined })).data.smoker).toBe(false);
  });

  it('checks real calendar dates and bounds, with today', () => {
    expect(ok(KITCHEN_SINK_FORM, with_({ visit: '2024-02-29' })).data.visit).toBe('2024-02-29');
    expect(errs(KITCHEN_SINK_FORM, with_({ visit: '2023-02-29' }))[0]).toMatchObject({ field: 'visit', code: 'invalid_date' });
    expect(errs(KITCHEN_SINK_FORM, with_({ visit: '2024-2-1' }))[0]).toMatchObject({ field: 'visit', code: 'invalid_date' });
    expect(errs(KITCHEN_SINK_FORM, with_({ visit: 20240201 }))[0]).toMatchObject({ field: 'visit', code: 'wrong_type' });
    expect(errs(KITCHEN_SINK_FORM, with_({ visit: '2019-12-31' }))[0]).toMatchObject({ field: 'visit', code: 'too_small' });
    expect(ok(KITCHEN_SINK_FORM, with_({ visit: '2025-06-15' })).data.visit).toBe('2025-06-15');
    expect(errs(KITCHEN_SINK_FORM, with_({ visit: '2025-06-16' }))[0]).toMatchObject({ field: 'visit', code: 'too_large', message: 'must be on or before 2025-06-15' });
  });
});

describe('multi-select fields', () => {
  it('stores choices in option order', () => {
    expect(ok(KITCHEN_SINK_FORM, with_({ langs: ['fr', 'en'] })).data.langs).toEqual(['en', 'fr']);
  });

  it('names the bad element', () => {
    expect(errs(KITCHEN_SINK_FORM, with_({ langs: ['en', 'xx'] }))).toEqual([
      { field: 'langs', pointer: '/langs/1', code: 'not_an_option', message: 'is not one of the options' },
    ]);
    expect(errs(KITCHEN_SINK_FORM, with_({ langs: ['en', 'en'] }))[0]).toMatchObject({ pointer: '/langs/1', code: 'duplicate' });
    expect(errs(KITCHEN_SINK_FORM, with_({ langs: 'en' }))[0]).toMatchObject({ field: 'langs', code: 'wrong_type' });
    expect(errs(KITCHEN_SINK_FORM, with_({ langs: ['en', 'fr', 'de'] }))[0]).toMatchObject({ field: 'langs', code: 'too_many' });
    expect(errs(KITCHEN_SINK_FORM, with_({ langs: ['en', 'fr', 'de', 'en'] }))[0]).toMatchObject({ field: 'langs', code: 'too_many' });
  });
});

describe('repeated groups', () => {
  it('validates each item and names the item and sub-field', () => {
    const e = errs(KITCHEN_SINK_FORM, with_({ kids: [{ name: 'Lou', age: 'five' }, { age: 2, hat: 1 }, 'x'] }));
    expect(e).toEqual([
      { field: 'kids.0.age', pointer: '/kids/0/age', code: 'wrong_type', message: 'must be a number' },
      { field: 'kids.1.hat', pointer: '/kids/1/hat', code: 'unknown_field', message: '"hat" is not a field of "kids"' },
      { field: 'kids.1.name', pointer: '/kids/1/name', code: 'required', message: 'an answer is required' },
      { field: 'kids.2', pointer: '/kids/2', code: 'wrong_type', message: 'each entry must be an object' },
    ]);
  });

  it('refuses the holes of sparse arrays', () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(errs(KITCHEN_SINK_FORM, with_({ kids: [, { name: 'x' }] }))[0]).toMatchObject({ field: 'kids.0', code: 'wrong_type' });
    // eslint-disable-next-line no-sparse-arrays
    expect(errs(KITCHEN_SINK_FORM, with_({ langs: ['en', , 'fr'] }))[0]).toMatchObject({ pointer: '/langs/1', code: 'not_an_option' });
  });

  it('checks item counts', () => {
    expect(errs(KITCHEN_SINK_FORM, with_({ kids: [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }] }))[0]).toMatchObject({ field: 'kids', code: 'too_many' });
    expect(errs(KITCHEN_SINK_FORM, with_({ kids: {} }))[0]).toMatchObject({ field: 'kids', code: 'wrong_type' });
    const d = def([{ kind: 'repeated', name: 'r', label: 'R', minItems: 2, fields: [{ kind: 'text', name: 'x', label: 'X' }] }]);
    expect(errs(d, { r: [{ x: 'a' }] })[0]).toMatchObject({ field: 'r', code: 'too_few' });
    expect(errs(d, { r: Array.from({ length: 101 }, () => ({})) })[0]).toMatchObject({ field: 'r', code: 'too_many', message: 'at most 100 entries' });
  });

  it('applies per-item conditions on $item and drops hidden sub-answers', () => {
    const r = ok(KITCHEN_SINK_FORM, with_({ kids: [{ name: 'Lou', age: 5, school: true }, { name: 'Max', age: 1, school: true }] }));
    expect(r.data.kids).toEqual([{ name: 'Lou', age: 5, school: true }, { name: 'Max', age: 1 }]);
    expect(r.measures.kidsAtSchool).toBe(1);
  });

  it('validates sub-field kinds inside items', () => {
    expect(errs(KITCHEN_SINK_FORM, with_({ kids: [{ name: 'Lou', born: '2020-13-01', pets: ['cat', 'cow'] }] }))).toEqual([
      { field: 'kids.0.born', pointer: '/kids/0/born', code: 'invalid_date', message: 'must be a real date written YYYY-MM-DD' },
      { field: 'kids.0.pets', pointer: '/kids/0/pets/1', code: 'not_an_option', message: 'is not one of the options' },
    ]);
  });
});

describe('likert grids', () => {
  it('validates each item and names it', () => {
    expect(errs(KITCHEN_SINK_FORM, with_({ grid: { a: 3, b: 4, c: '3', d: 1 } }))).toEqual([
      { field: 'grid.d', pointer: '/grid/d', code: 'unknown_field', message: '"d" is not an item of "grid"' },
      { field: 'grid.b', pointer: '/grid/b', code: 'not_an_option', message: 'is not one of the options' },
      { field: 'grid.c', pointer: '/grid/c', code: 'wrong_type', message: 'is not one of the options' },
    ]);
  });

  it('requires every item of a required grid, and allows partial optional grids', () => {
    expect(errs(KITCHEN_SINK_FORM, with_({ grid: { a: 1, c: 2 } }))).toEqual([
      { field: 'grid.b', pointer: '/grid/b', code: 'required', message: 'every item needs an answer' },
    ]);
    const d = def([{ kind: 'likert', name: 'g', label: 'G', items: [{ key: 'a', label: 'A' }, { key: 'b', label: 'B' }], options: [{ value: 0, label: '0' }] }]);
    expect(ok(d, { g: { b: 0 } }).data).toEqual({ g: { b: 0 } });
    expect(errs(d, { g: [0] })[0]).toMatchObject({ field: 'g', code: 'wrong_type' });
  });
});

describe('conditional fields', () => {
  it('shows a field only when its condition holds, and then applies its requirements', () => {
    expect(errs(KITCHEN_SINK_FORM, with_({ cigarettes: undefined, quitting: undefined }))).toEqual([
      { field: 'cigarettes', pointer: '/cigarettes', code: 'required', message: 'an answer is required' },
    ]);
    const r = ok(KITCHEN_SINK_FORM, with_({ smoker: false, cigarettes: 'lots', quitting: 'maybe' }));
    expect(r.data).not.toHaveProperty('cigarettes');
    expect(r.data).not.toHaveProperty('quitting');
  });

  it('collapses chains: a field depending on a hidden field is hidden too', () => {
    // quitting depends on cigarettes, which depends on smoker.
    const r = ok(KITCHEN_SINK_FORM, with_({ smoker: false, cigarettes: 20, quitting: true }));
    expect(r.data).not.toHaveProperty('cigarettes');
    expect(r.data).not.toHaveProperty('quitting');
    expect(visibleFields(KITCHEN_SINK_FORM, with_({ smoker: false, cigarettes: 20 }))).not.toContain('quitting');
    expect(visibleFields(KITCHEN_SINK_FORM, with_({ smoker: true, cigarettes: 20 }))).toContain('quitting');
    expect(visibleFields(KITCHEN_SINK_FORM, with_({ smoker: true, cigarettes: 5 }))).not.toContain('quitting');
  });

  it('uses only valid answers in conditions', () => {
    // An invalid cigarettes answer is an error, and does not reveal quitting.
    const e = errs(KITCHEN_SINK_FORM, with_({ cigarettes: 'twenty', quitting: 'x' }));
    expect(e).toEqual([{ field: 'cigarettes', pointer: '/cigarettes', code: 'wrong_type', message: 'must be a number' }]);
  });

  it('hides a whole repeated group, and group conditions hide their fields', () => {
    const r = ok(KITCHEN_SINK_FORM, with_({ age: 12, kids: 'not even a list' }));
    expect(r.data).not.toHaveProperty('kids');
    const d = def([
      { kind: 'boolean', name: 'pregnant', label: 'P' },
      { kind: 'group', title: 'Pregnancy', visibleWhen: { var: 'pregnant' }, fields: [{ kind: 'number', name: 'weeks', label: 'W', required: true }] },
    ]);
    expect(ok(d, { pregnant: false, weeks: 'x' }).data).toEqual({ pregnant: false });
    expect(errs(d, { pregnant: true })[0]).toMatchObject({ field: 'weeks', code: 'required' });
    expect(visibleFields(d, {})).toEqual(['pregnant']);
    expect(visibleFields(d, { pregnant: true })).toEqual(['pregnant', 'weeks']);
  });

  it('lists visible fields, including repeated sub-fields by item', () => {
    expect(visibleFields(KITCHEN_SINK_FORM, GOOD_ANSWERS)).toEqual([
      'nickname', 'notes', 'postcode', 'colour', 'hand', 'age', 'mood', 'siblings', 'stars', 'smoker', 'cigarettes', 'quitting', 'agree', 'visit', 'langs',
      'kids', 'kids.0.name', 'kids.0.age', 'kids.0.school', 'kids.0.born', 'kids.0.pets', 'kids.1.name', 'kids.1.age', 'kids.1.born', 'kids.1.pets',
      'grid',
    ]);
    expect(visibleFields(KITCHEN_SINK_FORM, 'garbage')).not.toContain('cigarettes');
  });

  it('reports a condition that runs out of budget on its field instead of throwing', () => {
    const list = Array.from({ length: 100 }, (_, i) => i);
    const heavy = { some: [{ var: 'r' }, { some: [[...list], { some: [[...list], { '==': [1, 2] }] }] }] };
    const d = def([{ kind: 'repeated', name: 'r', label: 'R', fields: [{ kind: 'text', name: 'x', label: 'X' }] }, { kind: 'text', name: 't', label: 'T', visibleWhen: heavy }]);
    const e = errs(d, { r: list.map(() => ({ x: 'x' })) });
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({ field: 't', code: 'condition_failed' });
  });
});

describe('measures', () => {
  it('are null, not wrong, when their inputs are missing', () => {
    const d = def(
      [
        { kind: 'likert', name: 'g', label: 'G', items: [{ key: 'a', label: 'A' }, { key: 'b', label: 'B' }], options: [{ value: 0, label: '0' }, { value: 1, label: '1' }] },
        { kind: 'number', name: 'n', label: 'N' },
      ],
      {
        measures: {
          sum: { kind: 'computed', label: 'S', expression: { '+': [{ var: 'g.a' }, { var: 'g.b' }] } },
          band: { kind: 'computed', label: 'B', expression: { if: [{ '===': [{ var: '$measures.sum' }, null] }, null, { '>': [{ var: '$measures.sum' }, 1] }, 'high', 'low'] } },
          n: { kind: 'ref', label: 'N', field: 'n' },
          b: { kind: 'ref', label: 'B', field: 'g.b' },
          ratio: { kind: 'computed', label: 'R', expression: { '/': [{ var: 'g.a' }, { var: 'n' }] } },
        },
      },
    );
    expect(ok(d, { g: { a: 1 } }).measures).toEqual({ sum: null, band: null, n: null, b: null, ratio: null });
    expect(ok(d, { g: { a: 1, b: 1 }, n: 0 }).measures).toEqual({ sum: 2, band: 'high', n: 0, b: 1, ratio: null });
    expect(ok(d, { g: { a: 1, b: 0 }, n: 4 }).measures).toEqual({ sum: 1, band: 'low', n: 4, b: 0, ratio: 0.25 });
  });

  it('computes a measure that reads another whatever the key order (jsonb gives keys back shortest first)', () => {
    const measures = {
      longerSum: { kind: 'computed', label: 'S', expression: { '+': [{ var: 'n' }, 1] } },
      hi: { kind: 'computed', label: 'H', expression: { '>': [{ var: '$measures.longerSum' }, 1] } },
    } as const;
    const written = def([{ kind: 'number', name: 'n', label: 'N' }], { measures });
    const stored = def([{ kind: 'number', name: 'n', label: 'N' }], { measures: { hi: measures.hi, longerSum: measures.longerSum } });
    expect(ok(written, { n: 4 }).measures).toEqual({ longerSum: 5, hi: true });
    expect(ok(stored, { n: 4 }).measures).toEqual({ hi: true, longerSum: 5 });
    expect(Object.keys(ok(stored, { n: 4 }).measures)).toEqual(['hi', 'longerSum']);
  });

  it('measuresSoFar: a half-filled form gives null, not a partial score, and the submitted measures once complete', () => {
    const d = def(
      [
        { kind: 'likert', name: 'g', label: 'G', required: true, items: [{ key: 'a', label: 'A' }, { key: 'b', label: 'B' }], options: [{ value: 0, label: '0' }, { value: 3, label: '3' }] },
        { kind: 'number', name: 'n', label: 'N', required: true, max: 10 },
      ],
      { measures: { sum: { kind: 'computed', label: 'S', expression: { '+': [{ var: 'g.a' }, { var: 'g.b' }] } }, n: { kind: 'ref', label: 'N', field: 'n' } } },
    );
    expect(measuresSoFar(d, {})).toEqual({ sum: null, n: null });
    // A required grid counts only once every item is answered; an invalid answer counts as none.
    expect(measuresSoFar(d, { g: { a: 3 }, n: 11 })).toEqual({ sum: null, n: null });
    expect(measuresSoFar(d, { g: { a: 3, b: 3 } })).toEqual({ sum: 6, n: null });
    expect(measuresSoFar(d, { g: { a: 3, b: 0 }, n: 4 })).toEqual(ok(d, { g: { a: 3, b: 0 }, n: 4 }).measures);
    expect(measuresSoFar(d, 'garbage')).toEqual({ sum: null, n: null });
  });

  it('computeMeasures works on stored data directly', () => {
    expect(computeMeasures(KITCHEN_SINK_FORM, { grid: { a: 1, b: 1, c: 1 }, age: 3 })).toMatchObject({ gridTotal: 3, gridHigh: false, ageRef: 3, kidsAtSchool: 0 });
  });
});

describe('series', () => {
  it('has no answers of its own', () => {
    const series = validateDefinition({ kind: 'series', name: 's', edition: 1, languages: ['en'], details: { title: 'S', license: 'MIT' }, content: [{ name: 'a', edition: 1 }] });
    if (!series.ok) throw new Error('series should be valid');
    const r = validateSubmission(series.definition, {});
    expect(r).toEqual({ ok: false, errors: [{ field: '', pointer: '', code: 'not_a_form', message: 'a series has no answers of its own; submit each of its forms' }] });
  });
});

describe('hostile answers', () => {
  it('never reads prototype properties through answer names', () => {
    const d = def([{ kind: 'text', name: 'constructor', label: 'C' }, { kind: 'text', name: 'toString', label: 'T', visibleWhen: { var: 'constructor' } }]);
    expect(ok(d, {}).data).toEqual({});
    expect(visibleFields(d, {})).toEqual(['constructor']);
    expect(ok(d, { constructor: 'x', toString: 'y' }).data).toEqual({ constructor: 'x', toString: 'y' });
    expect(errs(d, JSON.parse('{"__proto__": {"constructor": "x"}}'))[0]).toMatchObject({ field: '__proto__', code: 'unknown_field' });
  });

  it('caps the error list', () => {
    const answers = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`junk${i}`, i]));
    expect(errs(KITCHEN_SINK_FORM, answers)).toHaveLength(200);
  });

  it('does not mutate the answers', () => {
    const answers = JSON.parse(JSON.stringify(with_({ langs: ['fr', 'en'], smoker: false })));
    const before = JSON.stringify(answers);
    validateSubmission(KITCHEN_SINK_FORM, answers, TODAY);
    expect(JSON.stringify(answers)).toBe(before);
  });
});

describe('localise', () => {
  const text = { en: 'Age', fr: 'Âge' };
  it('picks the language, then its base, then fallbacks, then anything', () => {
    expect(localise(text, 'fr')).toBe('Âge');
    expect(localise(text, 'fr-CA')).toBe('Âge');
    expect(localise(text, 'de', 'en')).toBe('Age');
    expect(localise(text, 'de', ['es', 'fr'])).toBe('Âge');
    expect(localise(text, 'de')).toBe('Age');
    expect(localise('Plain', 'fr')).toBe('Plain');
    expect(localise(undefined, 'fr')).toBe('');
    expect(localise({}, 'fr')).toBe('');
    expect(localise({ en: 'x' }, 'constructor')).toBe('x');
  });

  it('renders every label of the kitchen sink in both languages', () => {
    const labels = [KITCHEN_SINK.details.title, KITCHEN_SINK.content[0].title, KITCHEN_SINK.content[0].fields[0].label];
    expect(labels.map((l) => localise(l, 'fr'))).toEqual(['Tout', 'Texte', 'Surnom']);
    expect(labels.map((l) => localise(l, 'en'))).toEqual(['Everything', 'Text', 'Nickname']);
  });
});
