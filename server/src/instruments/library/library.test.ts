import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import schema from '../../../../docs/instrument.schema.json' with { type: 'json' };
import {
  localise,
  validateDefinition,
  validateSubmission,
  visibleFields,
  type FormInstrument,
  type InstrumentDefinition,
  type LikertField,
} from '../../../../sdk/src/instruments/index.js';
import consent from './consent.json' with { type: 'json' };
import { LIBRARY_INSTRUMENTS, findLibraryInstrument } from './index.js';

const TODAY = { today: '2025-06-15' };

function get(name: string): FormInstrument {
  const d = findLibraryInstrument(name);
  if (!d || d.kind !== 'form') throw new Error(`no form ${name}`);
  return d;
}

/** Answers for a scale with the given item scores. */
function scale(scores: number[], extra: Record<string, unknown> = {}) {
  return { symptoms: Object.fromEntries(scores.map((s, i) => [`q${i + 1}`, s])), ...extra };
}

/** [total, band] cases at both edges of each band, from each band's lowest and highest total. */
function bandEdges(bands: Record<string, [low: number, high: number]>): [number, string][] {
  return Object.entries(bands).flatMap(([band, [low, high]]): [number, string][] => [[low, band], [high, band]]);
}

/** Item scores adding up to `total` for `n` items, each 0-3. */
function scoresFor(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.max(0, Math.min(3, total - 3 * i)));
}

describe('library instruments', () => {
  it('ships the five instruments, forms before the series', () => {
    expect(LIBRARY_INSTRUMENTS.map((d) => `${d.kind}:${d.name}@${d.edition}`)).toEqual([
      'form:consent@1',
      'form:demographics@1',
      'form:phq-9@1',
      'form:gad-7@1',
      'series:mental-health-screening@1',
    ]);
  });

  it.each(LIBRARY_INSTRUMENTS.map((d) => [d.name, d] as const))('%s passes validateDefinition, in English and French', (_, d) => {
    const resolveForm = (name: string, edition: number) => LIBRARY_INSTRUMENTS.find((x) => x.name === name && x.edition === edition);
    const r = validateDefinition(d, { resolveForm });
    expect(r.ok ? [] : r.errors).toEqual([]);
    expect(d.languages).toEqual(['en', 'fr']);
  });

  it.each(LIBRARY_INSTRUMENTS.map((d) => [d.name, d] as const))('%s conforms to docs/instrument.schema.json', (_, d) => {
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    const validate = ajv.compile(schema);
    expect(validate(d) ? [] : validate.errors).toEqual([]);
  });

  it('the schema refuses what the engine refuses structurally', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    const validate = ajv.compile(schema);
    const broken = JSON.parse(JSON.stringify(consent)) as { content: Array<{ fields: Array<Record<string, unknown>> }> };
    broken.content[0]!.fields[0]!.kind = 'checkbox';
    expect(validate(broken)).toBe(false);
    expect(validateDefinition(broken).ok).toBe(false);
  });

  it('the series refuses to validate when one of its forms is missing', () => {
    const series = findLibraryInstrument('mental-health-screening')!;
    const r = validateDefinition(series, { resolveForm: (n, e) => (n === 'gad-7' ? undefined : findLibraryInstrument(n, e)) });
    expect(r.ok ? [] : r.errors).toEqual([{ pointer: '/content/3', message: 'no instrument "gad-7" edition 1' }]);
  });
});

describe('PHQ-9', () => {
  const phq = get('phq-9');

  it('has the nine public items, scored 0-3, in both languages', () => {
    const grid = phq.content[0] as LikertField;
    expect(grid.items.map((i) => i.key)).toEqual(['q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7', 'q8', 'q9']);
    expect(grid.options.map((o) => o.value)).toEqual([0, 1, 2, 3]);
    expect(localise(grid.items[8]!.label, 'en')).toMatch(/better off dead/);
    expect(localise(grid.items[8]!.label, 'fr')).toMatch(/vaudrait mieux mourir/);
    expect(localise(grid.options[3]!.label, 'fr')).toBe('Presque tous les jours');
  });

  it.each(bandEdges({ minimal: [0, 4], mild: [5, 9], moderate: [10, 14], moderately_severe: [15, 19], severe: [20, 27] }))('total %i is %s', (total, band) => {
    const answers = scale(scoresFor(total, 9), total > 0 ? { difficulty: 1 } : {});
    const r = validateSubmission(phq, answers, TODAY);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.measures.total).toBe(total);
    expect(r.measures.severity).toBe(band);
  });

  it('flags item 9 separately', () => {
    const r = validateSubmission(phq, scale([0, 0, 0, 0, 0, 0, 0, 0, 1], { difficulty: 0 }), TODAY);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.measures).toEqual({ total: 1, severity: 'minimal', item9: 1, item9Positive: true, difficulty: 0 });
  });

  it('asks the functional difficulty question only when a problem was checked, and then requires it', () => {
    const none = scale([0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(visibleFields(phq, none)).toEqual(['symptoms']);
    const r = validateSubmission(phq, { ...none, difficulty: 3 }, TODAY);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.data).toEqual(none);
    expect(r.measures.difficulty).toBeNull();

    const some = scale([0, 2, 0, 0, 0, 0, 0, 0, 0]);
    expect(visibleFields(phq, some)).toEqual(['symptoms', 'difficulty']);
    expect(validateSubmission(phq, some, TODAY)).toEqual({
      ok: false,
      errors: [{ field: 'difficulty', pointer: '/difficulty', code: 'required', message: 'an answer is required' }],
    });
  });

  it('requires every item, naming the missing one', () => {
    const answers = scale([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(validateSubmission(phq, { ...answers, difficulty: 1 }, TODAY)).toEqual({
      ok: false,
      errors: [{ field: 'symptoms.q9', pointer: '/symptoms/q9', code: 'required', message: 'every item needs an answer' }],
    });
  });

  it('refuses scores outside 0-3', () => {
    const r = validateSubmission(phq, scale([4, 0, 0, 0, 0, 0, 0, 0, 0], { difficulty: 0 }), TODAY);
    expect(r.ok ? [] : r.errors.map((e) => [e.field, e.code])).toEqual([['symptoms.q1', 'not_an_option']]);
  });
});

describe('GAD-7', () => {
  const gad = get('gad-7');

  it('has seven items scored 0-3', () => {
    const grid = gad.content[0] as LikertField;
    expect(grid.items).toHaveLength(7);
    expect(localise(grid.items[0]!.label, 'en')).toBe('Feeling nervous, anxious, or on edge');
  });

  it.each(bandEdges({ minimal: [0, 4], mild: [5, 9], moderate: [10, 14], severe: [15, 21] }))('total %i is %s', (total, band) => {
    const r = validateSubmission(gad, scale(scoresFor(total, 7), total > 0 ? { difficulty: 2 } : {}), TODAY);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.measures).toMatchObject({ total, severity: band });
  });
});

describe('consent and demographics', () => {
  const consentForm = get('consent');
  const demographics = get('demographics');
  const base = { informationRead: true, voluntary: true, dataUse: true, dataSharing: false, futureContact: false, participantName: 'Ana Diaz', signedOn: '2025-06-01' };

  it('consent requires the mandatory boxes to be checked', () => {
    const r = validateSubmission(consentForm, { ...base, dataUse: false }, TODAY);
    expect(r.ok ? [] : r.errors.map((e) => [e.field, e.code])).toEqual([['dataUse', 'must_be_true']]);
    const good = validateSubmission(consentForm, base, TODAY);
    expect(good.ok && good.measures).toEqual({ consented: true, dataSharing: false, futureContact: false });
  });

  it('consent asks for an email only for future contact, and checks its format', () => {
    const r = validateSubmission(consentForm, { ...base, futureContact: true, contactEmail: 'not an email' }, TODAY);
    expect(r.ok ? [] : r.errors.map((e) => [e.field, e.code])).toEqual([['contactEmail', 'pattern']]);
    expect(validateSubmission(consentForm, { ...base, futureContact: true, contactEmail: 'ana@example.org' }, TODAY).ok).toBe(true);
    const hidden = validateSubmission(consentForm, { ...base, contactEmail: 'ana@example.org' }, TODAY);
    expect(hidden.ok && hidden.data).not.toHaveProperty('contactEmail');
    expect(validateSubmission(consentForm, { ...base, signedOn: '2025-06-16' }, TODAY).ok).toBe(false);
  });

  it('demographics computes BMI and household measures, with per-person conditions', () => {
    const r = validateSubmission(
      demographics,
      {
        dateOfBirth: '1980-05-04',
        sex: 'female',
        gender: 'other',
        genderOther: 'Two-spirit',
        employment: 'part_time',
        hoursPerWeek: 20,
        heightCm: 160,
        weightKg: 64,
        household: [{ relationship: 'child', age: 6, dependent: true }, { relationship: 'partner', age: 45, dependent: true }],
      },
      TODAY,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.measures).toEqual({ bmi: 25, householdSize: 3, dependents: 1 });
    expect(r.data.household).toEqual([{ relationship: 'child', age: 6, dependent: true }, { relationship: 'partner', age: 45 }]);
  });

  it('demographics hides work hours and the gender description unless relevant', () => {
    const r = validateSubmission(demographics, { dateOfBirth: '1980-05-04', sex: 'male', employment: 'retired', hoursPerWeek: 40, genderOther: 'x' }, TODAY);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.data).toEqual({ dateOfBirth: '1980-05-04', sex: 'male', employment: 'retired' });
    expect(r.measures).toEqual({ bmi: null, householdSize: 1, dependents: 0 });
  });
});

it('every library instrument is a plain JSON value (what a user could upload)', () => {
  for (const d of LIBRARY_INSTRUMENTS as InstrumentDefinition[]) expect(JSON.parse(JSON.stringify(d))).toEqual(d);
});
