import { describe, expect, it } from 'vitest';
import { validateDefinition } from './definition.validator.js';
import type { DefinitionError, InstrumentDefinition } from './instrument.types.js';
import { LIMITS } from './limits.js';
import { KITCHEN_SINK, form } from '../../test/instruments.js';

function errors(def: unknown, options?: Parameters<typeof validateDefinition>[1]): DefinitionError[] {
  const r = validateDefinition(def, options);
  if (r.ok) throw new Error('expected the definition to be refused');
  return r.errors;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const text = (name: string, extra: Record<string, unknown> = {}) => ({ kind: 'text', name, label: name, ...extra });

describe('validateDefinition accepts', () => {
  it('a form with every field kind, conditions and measures', () => {
    const r = validateDefinition(KITCHEN_SINK);
    expect(r.ok).toBe(true);
  });

  it('a minimal form and returns a copy that does not alias the input', () => {
    const def = form([text('a')]);
    const r = validateDefinition(def);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.definition).toEqual(def);
    (def.content as unknown[]).push(text('b'));
    expect((r.definition as { content: unknown[] }).content).toHaveLength(1);
  });

  it('a series, checking its forms through the resolver', () => {
    const a = validateDefinition(form([text('x')], { name: 'a', languages: ['en', 'fr'], details: { title: 'A', license: 'MIT' } }));
    expect(a.ok).toBe(true);
    const catalogue = a.ok ? [a.definition] : [];
    const series = { kind: 'series', name: 's', edition: 1, languages: ['en'], details: { title: 'S', license: 'MIT' }, content: [{ name: 'a', edition: 1 }] };
    const resolveForm = (n: string, e: number) => catalogue.find((d) => d.name === n && d.edition === e);
    expect(validateDefinition(series, { resolveForm }).ok).toBe(true);
  });

  it('SPDX expressions and LicenseRef identifiers', () => {
    for (const license of ['CC-BY-4.0', 'MIT OR Apache-2.0', 'LicenseRef-PHQ-Screeners', 'GPL-2.0-or-later WITH Classpath-exception-2.0', 'CC-BY-NC-SA-4.0']) {
      expect(validateDefinition(form([text('a')], { details: { title: 'T', license } })).ok).toBe(true);
    }
  });

  it('a $schema property so editors can find the schema', () => {
    expect(validateDefinition(form([text('a')], { $schema: '../docs/instrument.schema.json' })).ok).toBe(true);
  });
});

describe('validateDefinition structure errors', () => {
  it('refuses non-objects and unknown kinds', () => {
    expect(errors(null)).toEqual([{ pointer: '', message: 'a definition must be a JSON object' }]);
    expect(errors([])).toEqual([{ pointer: '', message: 'a definition must be a JSON object' }]);
    expect(errors({ kind: 'survey' })).toEqual([{ pointer: '/kind', message: 'must be "form" or "series"' }]);
  });

  it('names missing and unknown properties', () => {
    const def = form([text('a')], { extra: 1 });
    delete def.details;
    expect(errors(def)).toEqual([
      { pointer: '/extra', message: 'unknown property "extra"' },
      { pointer: '', message: 'missing property "details"' },
    ]);
  });

  it('checks name, edition and languages', () => {
    expect(errors(form([text('a')], { name: 'Bad Name', edition: 0, languages: ['en', 'EN', 'en'] }))).toEqual([
      { pointer: '/name', message: 'must be a slug of lowercase letters, digits and single dashes' },
      { pointer: '/edition', message: 'must be between 1 and 1000000' },
      { pointer: '/languages/1', message: 'must be a language code such as "en" or "fr-CA"' },
      { pointer: '/languages/2', message: '"en" is listed twice' },
    ]);
    expect(errors(form([text('a')], { edition: 1.5 }))).toEqual([{ pointer: '/edition', message: 'must be an integer' }]);
    expect(errors(form([text('a')], { languages: [] }))).toEqual([{ pointer: '/languages', message: 'must not be empty' }]);
  });

  it('checks the license', () => {
    expect(errors(form([text('a')], { details: { title: 'T', license: 'not a license!' } }))[0]!.pointer).toBe('/details/license');
    expect(errors(form([text('a')], { details: { title: 'T' } }))).toEqual([{ pointer: '/details', message: 'missing property "license"' }]);
  });

  it('refuses an unknown field kind and unknown field properties', () => {
    expect(errors(form([{ kind: 'colour', name: 'c', label: 'C' }]))[0]).toEqual({
      pointer: '/content/0/kind',
      message: 'must be one of "text", "number", "boolean", "date", "multiselect", "repeated", "likert" or "group"',
    });
    expect(errors(form([text('a', { visiblewhen: true })]))).toEqual([{ pointer: '/content/0/visiblewhen', message: 'unknown property "visiblewhen"' }]);
    expect(errors(form([text('a', { min: 3 })]))).toEqual([{ pointer: '/content/0/min', message: 'unknown property "min"' }]);
  });

  it('refuses bad and duplicate field names, across groups', () => {
    const def = form([text('age'), { kind: 'group', title: 'G', fields: [text('age'), text('2fast'), text('$item')] }]);
    expect(errors(def)).toEqual([
      { pointer: '/content/1/fields/0/name', message: '"age" is already the name of /content/0' },
      { pointer: '/content/1/fields/1/name', message: 'must be an identifier (a letter, then letters, digits or _)' },
      { pointer: '/content/1/fields/2/name', message: 'must be an identifier (a letter, then letters, digits or _)' },
    ]);
  });

  it('refuses nested groups and non-scalar fields inside repeated groups', () => {
    expect(errors(form([{ kind: 'group', title: 'G', fields: [{ kind: 'group', title: 'H', fields: [text('a')] }] }]))).toEqual([
      { pointer: '/content/0/fields/0/kind', message: 'groups cannot be nested' },
    ]);
    const likert = { kind: 'likert', name: 'l', label: 'L', items: [{ key: 'a', label: 'A' }], options: [{ value: 1, label: '1' }] };
    expect(errors(form([{ kind: 'repeated', name: 'r', label: 'R', fields: [likert] }]))).toEqual([
      { pointer: '/content/0/fields/0/kind', message: 'a repeated group may only hold text, number, boolean, date, multiselect fields' },
    ]);
  });

  it('checks variants and the options they need', () => {
    expect(errors(form([text('a', { variant: 'select' })]))).toEqual([{ pointer: '/content/0', message: 'a "select" text field needs "options"' }]);
    expect(errors(form([text('a', { options: [{ value: 'x', label: 'X' }] })]))).toEqual([
      { pointer: '/content/0/options', message: 'only "select" and "radio" fields have options' },
    ]);
    expect(errors(form([text('a', { variant: 'dropdown' })]))[0]).toEqual({
      pointer: '/content/0/variant',
      message: 'must be one of "input", "textarea", "select", "radio"',
    });
    expect(errors(form([text('a', { variant: 'radio', options: [{ value: 'x', label: 'X' }], pattern: 'x' })]))).toEqual([
      { pointer: '/content/0/pattern', message: 'does not apply to a "radio" field, whose answers are its options' },
    ]);
    expect(errors(form([{ kind: 'number', variant: 'slider', name: 'n', label: 'N', min: 0 }]))).toEqual([
      { pointer: '/content/0', message: 'a slider needs "min" and "max"' },
    ]);
  });

  it('refuses duplicate options and options of the wrong type', () => {
    const opts = [{ value: 'a', label: 'A' }, { value: 'b', label: 'B' }, { value: 'a', label: 'A again' }];
    expect(errors(form([text('t', { variant: 'select', options: opts })]))).toEqual([
      { pointer: '/content/0/options/2/value', message: 'option value "a" is used twice' },
    ]);
    const nums = [{ value: 1, label: '1' }, { value: 1.5, label: '1.5' }, { value: '2', label: '2' }];
    expect(errors(form([{ kind: 'number', variant: 'radio', name: 'n', label: 'N', integer: true, options: nums }]))).toEqual([
      { pointer: '/content/0/options/1/value', message: 'must be an integer, since the field is an integer field' },
      { pointer: '/content/0/options/2/value', message: 'must be a finite number' },
    ]);
    const likert = { kind: 'likert', name: 'l', label: 'L', items: [{ key: 'a', label: 'A' }, { key: 'a', label: 'A' }], options: [{ value: 1, label: '1' }] };
    expect(errors(form([likert]))).toEqual([{ pointer: '/content/0/items/1/key', message: 'item key "a" is used twice' }]);
  });

  it('checks bounds are consistent', () => {
    expect(errors(form([text('a', { minLength: 5, maxLength: 2 })]))).toEqual([{ pointer: '/content/0/minLength', message: 'must not exceed "maxLength"' }]);
    expect(errors(form([{ kind: 'number', name: 'n', label: 'N', min: 5, max: 2, step: 0 }]))).toEqual([
      { pointer: '/content/0/min', message: 'must not exceed "max"' },
      { pointer: '/content/0/step', message: 'must be greater than 0' },
    ]);
    expect(errors(form([{ kind: 'date', name: 'd', label: 'D', min: '2024-02-30', max: 'tomorrow' }]))).toEqual([
      { pointer: '/content/0/min', message: 'must be a date "YYYY-MM-DD" or "today"' },
      { pointer: '/content/0/max', message: 'must be a date "YYYY-MM-DD" or "today"' },
    ]);
    expect(errors(form([{ kind: 'date', name: 'd', label: 'D', min: '2024-03-01', max: '2024-02-29' }]))).toEqual([
      { pointer: '/content/0/min', message: 'must not be after "max"' },
    ]);
    const ms = { kind: 'multiselect', name: 'm', label: 'M', options: [{ value: 'a', label: 'A' }], maxItems: 2 };
    expect(errors(form([ms]))).toEqual([{ pointer: '/content/0/maxItems', message: 'must be between 0 and 1' }]);
  });
});

describe('validateDefinition references and expressions', () => {
  it('points at a condition that names an unknown field', () => {
    const def = form([text('a'), text('b', { visibleWhen: { '==': [{ var: 'c' }, 'x'] } })]);
    expect(errors(def)).toEqual([{ pointer: '/content/1/visibleWhen/==/0/var', message: 'unknown variable "c"' }]);
  });

  it('refuses conditions on fields declared later, or on themselves', () => {
    const def = form([text('a', { visibleWhen: { var: 'b' } }), text('b', { visibleWhen: { var: 'b' } })]);
    expect(errors(def)).toEqual([
      { pointer: '/content/0/visibleWhen/var', message: '"b" is declared after this expression; expressions may only use what comes before them' },
      { pointer: '/content/1/visibleWhen/var', message: '"b" is declared after this expression; expressions may only use what comes before them' },
    ]);
  });

  it('points at unknown operators', () => {
    const def = form([text('a'), text('b', { visibleWhen: { or: [{ var: 'a' }, { exec: ['rm -rf /'] }] } })]);
    expect(errors(def)).toEqual([{ pointer: '/content/1/visibleWhen/or/1/exec', message: 'unknown operator "exec"' }]);
  });

  it('checks group conditions against the fields before the group', () => {
    const def = form([text('a'), { kind: 'group', title: 'G', visibleWhen: { var: 'b' }, fields: [text('b')] }]);
    expect(errors(def)).toEqual([
      { pointer: '/content/1/visibleWhen/var', message: '"b" is declared after this expression; expressions may only use what comes before them' },
    ]);
  });

  it('lets repeated sub-fields see earlier sub-fields as $item, and earlier top-level fields', () => {
    const ok = form([
      text('a'),
      { kind: 'repeated', name: 'r', label: 'R', fields: [text('x'), text('y', { visibleWhen: { and: [{ var: '$item.x' }, { var: 'a' }] } })] },
    ]);
    expect(validateDefinition(ok).ok).toBe(true);
    const bad = form([{ kind: 'repeated', name: 'r', label: 'R', fields: [text('x', { visibleWhen: { var: '$item.y' } }), text('y', { visibleWhen: { var: 'x' } })] }]);
    expect(errors(bad)).toEqual([
      { pointer: '/content/0/fields/0/visibleWhen/var', message: '"$item.y" is declared after this expression; expressions may only use what comes before them' },
      { pointer: '/content/0/fields/1/visibleWhen/var', message: 'unknown variable "x"' },
    ]);
  });

  it('checks likert item references', () => {
    const likert = { kind: 'likert', name: 'g', label: 'G', items: [{ key: 'a', label: 'A' }], options: [{ value: 1, label: '1' }] };
    expect(validateDefinition(form([likert, text('t', { visibleWhen: { var: 'g.a' } })])).ok).toBe(true);
    expect(errors(form([likert, text('t', { visibleWhen: { var: 'g.z' } })]))).toEqual([
      { pointer: '/content/1/visibleWhen/var', message: 'unknown variable "g.z"' },
    ]);
  });

  it('checks measures: refs, expressions and their order', () => {
    const likert = { kind: 'likert', name: 'g', label: 'G', items: [{ key: 'a', label: 'A' }], options: [{ value: 1, label: '1' }] };
    const ms = { kind: 'multiselect', name: 'm', label: 'M', options: [{ value: 'a', label: 'A' }] };
    const def = form([text('t'), likert, ms], {
      measures: {
        ok1: { kind: 'ref', label: 'x', field: 'g.a' },
        bad1: { kind: 'ref', label: 'x', field: 'nope' },
        bad2: { kind: 'ref', label: 'x', field: 'g' },
        bad3: { kind: 'ref', label: 'x', field: 'g.z' },
        bad4: { kind: 'ref', label: 'x', field: 'm' },
        bad5: { kind: 'computed', label: 'x', expression: { '+': [{ var: '$measures.later' }, 1] } },
        later: { kind: 'computed', label: 'x', expression: { '+': [{ var: '$measures.ok1' }, { var: 'nothing' }, { var: '$measures.bad5' }] } },
        'bad name': { kind: 'sum', label: 'x' },
        bad6: { kind: 'computed', label: 'x' },
      },
    });
    expect(errors(def)).toEqual([
      { pointer: '/measures/bad1/field', message: 'unknown field "nope"' },
      { pointer: '/measures/bad2/field', message: '"g" holds several values; a ref measure names a single-valued field or one likert item' },
      { pointer: '/measures/bad3/field', message: '"g" has no item "z"' },
      { pointer: '/measures/bad4/field', message: '"m" holds several values; a ref measure names a single-valued field or one likert item' },
      { pointer: '/measures/bad name', message: 'a measure name must be an identifier (a letter, then letters, digits or _)' },
      { pointer: '/measures/bad name/kind', message: 'a measure must have "kind": "ref" or "computed"' },
      { pointer: '/measures/bad6', message: 'missing property "expression"' },
      { pointer: '/measures/bad5/expression/+/0/var', message: '"$measures.later" reads this measure in turn (directly or through other measures); measures may not depend on each other in a cycle' },
      { pointer: '/measures/later/expression/+/1/var', message: 'unknown variable "nothing"' },
      { pointer: '/measures/later/expression/+/2/var', message: '"$measures.bad5" reads this measure in turn (directly or through other measures); measures may not depend on each other in a cycle' },
    ]);
  });

  it('lets a measure read any measure that does not read it, whatever the key order (jsonb sorts keys shortest first)', () => {
    const sum = { kind: 'computed', label: 'S', expression: { '+': [{ var: 't' }, 1] } };
    const hi = { kind: 'computed', label: 'H', expression: { '>': [{ var: '$measures.longerSum' }, 1] } };
    // The author's order, and the order PostgreSQL gives back.
    expect(validateDefinition(form([{ kind: 'number', name: 't', label: 'T' }], { measures: { longerSum: sum, hi } }))).toMatchObject({ ok: true });
    expect(validateDefinition(form([{ kind: 'number', name: 't', label: 'T' }], { measures: { hi, longerSum: sum } }))).toMatchObject({ ok: true });
    expect(errors(form([{ kind: 'number', name: 't', label: 'T' }], { measures: { hi: { ...hi, expression: { var: '$measures.hi' } } } }))).toEqual([
      { pointer: '/measures/hi/expression/var', message: '"$measures.hi" reads this measure in turn (directly or through other measures); measures may not depend on each other in a cycle' },
    ]);
  });

  it('escapes pointers per RFC 6901', () => {
    const def = form([text('a')], { measures: { m: { kind: 'computed', label: 'x', expression: { or: [{ 'a/b~c': [1] }] } } } });
    expect(errors(def)).toEqual([{ pointer: '/measures/m/expression/or/0/a~1b~0c', message: 'unknown operator "a/b~c"' }]);
  });

  it('refuses unsafe and unsupported patterns', () => {
    expect(errors(form([text('a', { pattern: '(a+)+$' })]))).toEqual([
      {
        pointer: '/content/0/pattern',
        message: 'unsafe or unsupported pattern: a repeated part inside an unbounded repetition (like (a+)+) can backtrack catastrophically at position 5',
      },
    ]);
    expect(errors(form([text('a', { pattern: '(x|xx)*y' })]))[0]!.message).toMatch(/alternation inside an unbounded repetition/);
    expect(errors(form([text('a', { pattern: '(a)\\1' })]))[0]!.message).toMatch(/backreferences/);
    expect(errors(form([text('a', { pattern: 'a'.repeat(501) })]))).toEqual([{ pointer: '/content/0/pattern', message: 'must be at most 500 characters' }]);
  });
});

describe('validateDefinition languages', () => {
  const bilingual = (label: unknown, extra: Record<string, unknown> = {}) =>
    form([{ kind: 'text', name: 'a', label }], { languages: ['en', 'fr'], details: { title: { en: 'T', fr: 'T' }, license: 'MIT' }, ...extra });

  it('accepts complete maps and language-neutral strings', () => {
    expect(validateDefinition(bilingual({ en: 'Age', fr: 'Âge' })).ok).toBe(true);
    expect(validateDefinition(bilingual('ID')).ok).toBe(true);
  });

  it('points at a missing translation', () => {
    expect(errors(bilingual({ en: 'Age' }))).toEqual([{ pointer: '/content/0/label', message: 'missing the "fr" translation' }]);
  });

  it('points at a missing translation deep inside options and likert items', () => {
    const def = form(
      [
        { kind: 'text', variant: 'radio', name: 'a', label: 'A', options: [{ value: 'x', label: { en: 'X', fr: 'X' } }, { value: 'y', label: { fr: 'Y' } }] },
        { kind: 'likert', name: 'g', label: 'G', items: [{ key: 'k', label: { en: 'K' } }], options: [{ value: 1, label: '1' }] },
      ],
      { languages: ['en', 'fr'] },
    );
    expect(errors(def)).toEqual([
      { pointer: '/content/0/options/1/label', message: 'missing the "en" translation' },
      { pointer: '/content/1/items/0/label', message: 'missing the "fr" translation' },
    ]);
  });

  it('points at undeclared languages and empty texts', () => {
    expect(errors(bilingual({ en: 'Age', fr: 'Âge', de: 'Alter' }))).toEqual([
      { pointer: '/content/0/label/de', message: 'language "de" is not declared in "languages"' },
    ]);
    expect(errors(bilingual({ en: 'Age', fr: ' ' }))).toEqual([{ pointer: '/content/0/label/fr', message: 'must be a non-empty string' }]);
    expect(errors(bilingual(''))).toEqual([{ pointer: '/content/0/label', message: 'must not be empty' }]);
    expect(errors(bilingual(42))[0]!.pointer).toBe('/content/0/label');
  });

  it('checks translations in details and measure labels', () => {
    const def = bilingual('A', {
      details: { title: { en: 'T' }, description: { en: 'D', fr: 'D' }, license: 'MIT' },
      measures: { m: { kind: 'ref', field: 'a', label: { fr: 'M' } } },
    });
    expect(errors(def)).toEqual([
      { pointer: '/details/title', message: 'missing the "en" translation'.replace('en', 'fr') },
      { pointer: '/measures/m/label', message: 'missing the "en" translation' },
    ]);
  });
});

describe('validateDefinition series', () => {
  const series = (content: unknown, languages = ['en']) => ({ kind: 'series', name: 's', edition: 1, languages, details: { title: 'S', license: 'MIT' }, content });
  const catalogue: InstrumentDefinition[] = [
    form([text('a')], { name: 'a', languages: ['en'] }) as unknown as InstrumentDefinition,
    series([{ name: 'a', edition: 1 }]) as unknown as InstrumentDefinition,
  ];
  const resolveForm = (n: string, e: number) => catalogue.find((d) => d.name === n && d.edition === e);

  it('refuses duplicates, missing forms, nested series and missing languages', () => {
    const def = series(
      [{ name: 'a', edition: 1 }, { name: 'a', edition: 1 }, { name: 'b', edition: 1 }, { name: 's', edition: 1 }, { name: 'a' }],
      ['en', 'fr'],
    );
    expect(errors(def, { resolveForm })).toEqual([
      { pointer: '/content/0', message: '"a" edition 1 is not available in "fr"' },
      { pointer: '/content/1', message: '"a" edition 1 is listed twice' },
      { pointer: '/content/1', message: '"a" edition 1 is not available in "fr"' },
      { pointer: '/content/2', message: 'no instrument "b" edition 1' },
      { pointer: '/content/3', message: '"s" is a series; a series lists forms only' },
      { pointer: '/content/4', message: 'missing property "edition"' },
    ]);
  });

  it('refuses an empty series and form-only properties', () => {
    expect(errors(series([]))).toEqual([{ pointer: '/content', message: 'must not be empty' }]);
    expect(errors({ ...series([{ name: 'a', edition: 1 }]), measures: {} })).toEqual([{ pointer: '/measures', message: 'unknown property "measures"' }]);
  });
});

describe('validateDefinition against hostile definitions', () => {
  it('refuses a huge definition at the size limit, without reading it all', () => {
    const fields = Array.from({ length: 100_000 }, (_, i) => text(`f${i}`));
    const errs = errors(form(fields));
    expect(errs).toHaveLength(1);
    expect(errs[0]!.message).toBe(`definition has more than ${LIMITS.definitionNodes} values`);
  });

  it('refuses more fields than the limit even under the size limit', () => {
    const fields = Array.from({ length: 400 }, (_, i) => ({ kind: 'group', title: 'G', fields: [text(`a${i}`), text(`b${i}`), text(`c${i}`)] }));
    expect(errors(form(fields))).toEqual([{ pointer: '/content', message: 'a form may have at most 1000 fields' }]);
  });

  it('refuses very deep nesting before recursing into it', () => {
    let deep: unknown = { var: 'a' };
    for (let i = 0; i < 100_000; i++) deep = { '!': [deep] };
    const errs = errors(form([text('a'), text('b', { visibleWhen: deep })]));
    expect(errs).toHaveLength(1);
    expect(errs[0]!.message).toBe(`definition is nested more than ${LIMITS.definitionDepth} levels deep`);
    expect(errs[0]!.pointer.startsWith('/content/1/visibleWhen/!/0/!/0')).toBe(true);
  });

  it('refuses expressions nested past the expression limit but within the JSON limit', () => {
    let deep: unknown = { var: 'a' };
    for (let i = 0; i < 40; i++) deep = { '!': [deep] };
    const errs = errors(form([text('a'), text('b', { visibleWhen: deep })]));
    expect(errs).toHaveLength(1);
    expect(errs[0]!.message).toBe('expression is nested more than 32 operations deep');
  });

  it('refuses cyclic objects and values JSON cannot carry', () => {
    const cyclic: Record<string, unknown> = form([text('a')]);
    cyclic.details = { title: 'x', license: 'MIT', self: cyclic };
    expect(errors(cyclic)[0]!.message).toMatch(/nested more than|more than .* values/);
    expect(errors(form([text('a', { label: () => 'x' })]))).toEqual([{ pointer: '/content/0/label', message: 'not a JSON value' }]);
    expect(errors(form([text('a', { maxLength: Infinity })]))).toEqual([{ pointer: '/content/0/maxLength', message: 'numbers must be finite' }]);
    expect(errors(form([text('a', { label: new Date() })]))).toEqual([{ pointer: '/content/0/label', message: 'not a JSON value' }]);
    expect(errors(form([text('a', { label: undefined })]))).toEqual([{ pointer: '/content/0/label', message: 'not a JSON value' }]);
  });

  it('refuses oversized strings and total text', () => {
    expect(errors(form([text('a', { label: 'x'.repeat(10_001) })]))).toEqual([
      { pointer: '/content/0/label', message: 'string is longer than 10000 characters' },
    ]);
    const many = Array.from({ length: 300 }, (_, i) => text(`f${i}`, { label: 'x'.repeat(9_000) }));
    expect(errors(form(many))[0]!.message).toMatch(/characters of text/);
  });

  it('refuses every regex bomb in the usual catalogue', () => {
    for (const pattern of ['(a+)+', '([a-zA-Z]+)*', '(a|aa)+', '(a|a?)+', '(.*a){12}x*', '(\\w+\\d+)+c', '^(([a-z])+.)+[A-Z]([a-z])+$', '(x+x+)+y']) {
      const r = validateDefinition(form([text('a', { pattern })]));
      expect(r.ok, pattern).toBe(false);
    }
  });

  it('caps the number of errors reported', () => {
    const fields = Array.from({ length: 400 }, () => ({ kind: 'text', name: '1', label: '' }));
    expect(errors(form(fields)).length).toBe(LIMITS.errors);
  });

  it('does not let a field named after an Object.prototype property confuse lookups', () => {
    const def = form([text('constructor'), text('toString', { visibleWhen: { var: 'constructor' } }), text('b', { visibleWhen: { var: 'hasOwnProperty' } })]);
    expect(errors(def)).toEqual([{ pointer: '/content/2/visibleWhen/var', message: 'unknown variable "hasOwnProperty"' }]);
  });

  it('treats a __proto__ key from JSON as an ordinary unknown property', () => {
    const def = JSON.parse(JSON.stringify(form([text('a')])).replace('"kind":"form"', '"kind":"form","__proto__":{"polluted":true}'));
    expect(errors(def)).toEqual([{ pointer: '/__proto__', message: 'unknown property "__proto__"' }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never mutates its input', () => {
    const def = clone(KITCHEN_SINK);
    const before = JSON.stringify(def);
    validateDefinition(def);
    expect(JSON.stringify(def)).toBe(before);
  });
});
