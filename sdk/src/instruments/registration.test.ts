import { describe, expect, it } from 'vitest';
import { checkDigitValid, nestAnswers, validateRegistrationData, validateRegistrationForm } from './registration.validator.js';
import type { RegistrationFormPage } from './instrument.types.js';

const t = (en: string) => ({ en, fr: `${en} (fr)` });
const form: { pages: RegistrationFormPage[] } = {
  pages: [
    {
      id: 'child',
      title: t('Child'),
      fields: [
        { kind: 'personName', name: 'child.firstName', label: t('First name') },
        { kind: 'date', name: 'child.dob', label: t('Born'), required: true, max: 'today' },
        { kind: 'boolean', name: 'child.twin', label: t('Twin') },
        { kind: 'personName', name: 'child.twinName', label: t('Twin name'), visibleWhen: { '==': [{ var: 'child.twin' }, true] } },
      ],
    },
    {
      id: 'mother',
      title: t('Mother'),
      fields: [
        { kind: 'date', name: 'mother.dob', label: t('Born'), ageInsteadOfDate: true },
        { kind: 'nationalId', name: 'mother.nationalId', label: t('ID') },
        { kind: 'nationalId', name: 'mother.passport', label: t('Passport'), pattern: '[0-9]{6}', checkDigit: 'luhn' },
        { kind: 'phone', name: 'mother.phone', label: t('Phone') },
        { kind: 'email', name: 'mother.email', label: t('Email') },
        { kind: 'location', name: 'mother.home', label: t('Home'), locationKind: 'area' },
      ],
    },
  ],
};

describe('registration forms', () => {
  it('accepts a valid form and refuses bad ids, kinds, labels and conditions on later fields', () => {
    expect(validateRegistrationForm(form, ['en', 'fr'])).toEqual([]);
    const bad = validateRegistrationForm(
      {
        pages: [
          {
            id: 'p',
            title: t('P'),
            fields: [
              { kind: 'personName', name: 'a..b', label: t('x') },
              { kind: 'laser', name: 'a.c', label: t('x') },
              { kind: 'text', name: 'a.d', label: { en: 'only english' } },
              { kind: 'text', name: 'a.e', label: t('x'), visibleWhen: { var: 'a.f' } },
              { kind: 'text', name: 'a.f', label: t('x') },
              { kind: 'nationalId', name: 'a.g', label: t('x'), pattern: '(a+)+\\1' },
            ],
          },
        ],
      },
      ['en', 'fr'],
    );
    const pointers = bad.map((e) => e.pointer);
    expect(pointers).toContain('/pages/0/fields/0/name');
    expect(pointers).toContain('/pages/0/fields/1/kind');
    expect(pointers.some((p) => p.startsWith('/pages/0/fields/2/label'))).toBe(true);
    expect(pointers.some((p) => p.startsWith('/pages/0/fields/3/visibleWhen'))).toBe(true);
    expect(pointers).toContain('/pages/0/fields/5/pattern');
  });

  it('checks answers, keeps only visible ones, and reports missing required answers apart from errors', () => {
    const r = validateRegistrationData(form, { 'child.twinName': 'Hidden', 'mother.dob': { age: 31 }, 'mother.nationalId': '0123456789', 'mother.phone': '+33 6 12 34 56 78' }, { today: '2026-01-01' });
    expect(r.ok).toBe(true);
    expect(r.missing).toEqual(['child.dob']);
    expect(r.data).toEqual({ 'mother.dob': { age: 31 }, 'mother.nationalId': '0123456789', 'mother.phone': '+33612345678' });
    const twin = validateRegistrationData(form, { 'child.twin': true, 'child.twinName': 'Awa', 'child.dob': '2025-12-31' }, { today: '2026-01-01' });
    expect(twin.data['child.twinName']).toBe('Awa');
    const bad = validateRegistrationData(form, { 'child.dob': '2027-01-01', 'mother.nationalId': '12345', 'mother.passport': '123456', 'mother.email': 'nope', 'mother.dob': { age: -1 }, 'child.firstName': 'R2-D2', 'mother.home': 'x', extra: 1 }, { today: '2026-01-01' });
    expect(bad.ok).toBe(false);
    expect(bad.errors.map((e) => e.field).sort()).toEqual(['child.dob', 'child.firstName', 'extra', 'mother.dob', 'mother.email', 'mother.home', 'mother.nationalId', 'mother.passport']);
    const loc = validateRegistrationData(form, { 'mother.home': '0190a0a0-0000-7000-8000-000000000001' });
    expect(loc.locations).toEqual([{ field: 'mother.home', id: '0190a0a0-0000-7000-8000-000000000001', kind: 'area' }]);
  });

  it('knows its check digits and nests answers for expressions', () => {
    expect(checkDigitValid('79927398713', 'luhn')).toBe(true);
    expect(checkDigitValid('79927398710', 'luhn')).toBe(false);
    expect(checkDigitValid('2363', 'verhoeff')).toBe(true);
    expect(checkDigitValid('2364', 'verhoeff')).toBe(false);
    expect(checkDigitValid('1236', 'mod11')).toBe(true);
    expect(checkDigitValid('1237', 'mod11')).toBe(false);
    expect(checkDigitValid('anything', 'none')).toBe(true);
    expect(nestAnswers({ 'a.b': 1, 'a.c': 2, d: 3 })).toEqual({ a: { b: 1, c: 2 }, d: 3 });
  });
});
