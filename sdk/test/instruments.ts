/** Definitions shared by the instrument tests. */
import type { FormInstrument } from '../src/instruments/instrument.types.js';

export function form(content: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'form',
    name: 'test-form',
    edition: 1,
    languages: ['en'],
    details: { title: 'Test', license: 'CC0-1.0' },
    content,
    ...extra,
  };
}

/** One field of every kind and variant, with conditions and measures: the renderer's worst day. */
export const KITCHEN_SINK = {
  kind: 'form',
  name: 'kitchen-sink',
  edition: 3,
  languages: ['en', 'fr'],
  details: {
    title: { en: 'Everything', fr: 'Tout' },
    description: 'Every field kind',
    license: 'MIT OR Apache-2.0',
    authors: ['A. Author'],
    references: ['https://example.org'],
  },
  content: [
    {
      kind: 'group',
      title: { en: 'Text', fr: 'Texte' },
      fields: [
        { kind: 'text', name: 'nickname', label: { en: 'Nickname', fr: 'Surnom' }, minLength: 2, maxLength: 10, required: true },
        { kind: 'text', variant: 'textarea', name: 'notes', label: 'Notes', maxLength: 50 },
        { kind: 'text', name: 'postcode', label: 'Postcode', pattern: '[0-9]{5}' },
        {
          kind: 'text',
          variant: 'select',
          name: 'colour',
          label: 'Colour',
          options: [
            { value: 'red', label: { en: 'Red', fr: 'Rouge' } },
            { value: 'blue', label: { en: 'Blue', fr: 'Bleu' } },
          ],
        },
        { kind: 'text', variant: 'radio', name: 'hand', label: 'Hand', options: [{ value: 'left', label: 'L' }, { value: 'right', label: 'R' }] },
      ],
    },
    {
      kind: 'group',
      title: 'Numbers',
      fields: [
        { kind: 'number', name: 'age', label: 'Age', integer: true, min: 0, max: 120, required: true },
        { kind: 'number', variant: 'slider', name: 'mood', label: 'Mood', min: 0, max: 10, step: 0.5 },
        { kind: 'number', variant: 'select', name: 'siblings', label: 'Siblings', options: [{ value: 0, label: '0' }, { value: 1, label: '1' }, { value: 2, label: '2+' }] },
        { kind: 'number', variant: 'radio', name: 'stars', label: 'Stars', integer: true, options: [{ value: 1, label: '*' }, { value: 5, label: '*****' }] },
      ],
    },
    { kind: 'boolean', name: 'smoker', label: 'Smoker', required: true },
    { kind: 'number', name: 'cigarettes', label: 'Per day', integer: true, min: 1, required: true, visibleWhen: { '==': [{ var: 'smoker' }, true] } },
    {
      kind: 'boolean',
      variant: 'radio',
      name: 'quitting',
      label: 'Trying to quit?',
      trueLabel: { en: 'Yes', fr: 'Oui' },
      falseLabel: { en: 'No', fr: 'Non' },
      visibleWhen: { '>': [{ var: 'cigarettes' }, 10] },
    },
    { kind: 'boolean', name: 'agree', label: 'I agree', mustBeTrue: true, required: true },
    { kind: 'date', name: 'visit', label: 'Visit', min: '2020-01-01', max: 'today' },
    {
      kind: 'multiselect',
      name: 'langs',
      label: 'Languages',
      minItems: 1,
      maxItems: 2,
      options: [{ value: 'en', label: 'English' }, { value: 'fr', label: 'French' }, { value: 'de', label: 'German' }],
    },
    {
      kind: 'repeated',
      name: 'kids',
      label: 'Children',
      itemLabel: { en: 'Child', fr: 'Enfant' },
      minItems: 1,
      maxItems: 3,
      visibleWhen: { '>': [{ var: 'age' }, 17] },
      fields: [
        { kind: 'text', name: 'name', label: 'Name', required: true },
        { kind: 'number', name: 'age', label: 'Age', integer: true, min: 0 },
        { kind: 'boolean', name: 'school', label: 'At school', visibleWhen: { '>=': [{ var: '$item.age' }, 3] } },
        { kind: 'date', name: 'born', label: 'Born' },
        { kind: 'multiselect', name: 'pets', label: 'Pets', options: [{ value: 'cat', label: 'Cat' }, { value: 'dog', label: 'Dog' }] },
      ],
    },
    {
      kind: 'likert',
      name: 'grid',
      label: 'How much do you agree?',
      required: true,
      items: [
        { key: 'a', label: { en: 'Statement A', fr: 'Énoncé A' } },
        { key: 'b', label: 'B' },
        { key: 'c', label: 'C' },
      ],
      options: [{ value: 1, label: 'Disagree' }, { value: 2, label: 'Neutral' }, { value: 3, label: 'Agree' }],
    },
  ],
  measures: {
    ageRef: { kind: 'ref', label: 'Age', field: 'age' },
    gridA: { kind: 'ref', label: 'A', field: 'grid.a' },
    gridTotal: { kind: 'computed', label: 'Total', expression: { '+': [{ var: 'grid.a' }, { var: 'grid.b' }, { var: 'grid.c' }] } },
    gridHigh: { kind: 'computed', label: 'High', expression: { '>=': [{ var: '$measures.gridTotal' }, 7] } },
    kidsAtSchool: {
      kind: 'computed',
      label: 'At school',
      expression: { reduce: [{ filter: [{ var: 'kids' }, { var: 'school' }] }, { '+': [{ var: 'accumulator' }, 1] }, 0] },
    },
    initials: { kind: 'computed', label: 'Initials', expression: { substr: [{ var: 'nickname' }, 0, 1] } },
    everything: { kind: 'computed', label: 'Not a single value', expression: { var: 'langs' } },
  },
} as const;

export const KITCHEN_SINK_FORM = KITCHEN_SINK as unknown as FormInstrument;

/** A complete valid answer set for KITCHEN_SINK. */
export const GOOD_ANSWERS = {
  nickname: 'Zed',
  age: 40,
  smoker: true,
  cigarettes: 12,
  quitting: false,
  agree: true,
  grid: { a: 3, b: 2, c: 3 },
  kids: [{ name: 'Lou', age: 5, school: true }, { name: 'Max', age: 1 }],
};

/**
 * A sleep diary whose "how many times?" question only appears when "woke" is checked: the data
 * hub's tests (the server's, which add fields and measures, and the web app's in a browser).
 */
export const SLEEP_DIARY = {
  kind: 'form',
  name: 'sleep-diary',
  edition: 1,
  languages: ['en', 'fr'],
  details: { title: { en: 'Sleep diary', fr: 'Agenda du sommeil' }, license: 'CC0-1.0' },
  content: [
    { kind: 'number', name: 'hours', label: { en: 'Hours slept', fr: 'Heures de sommeil' }, min: 0, max: 24, required: true },
    { kind: 'boolean', name: 'woke', label: { en: 'Woke during the night', fr: 'Réveil nocturne' } },
    { kind: 'number', name: 'wakings', integer: true, min: 1, required: true, label: { en: 'How many times?', fr: 'Combien de fois ?' }, visibleWhen: { '==': [{ var: 'woke' }, true] } },
  ],
  measures: { sleep: { kind: 'ref', label: { en: 'Sleep', fr: 'Sommeil' }, field: 'hours' } },
};
