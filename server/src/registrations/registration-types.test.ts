import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { registrationTypeSchema } from './registration-types.schema.js';
import { formatNumber, validateTypeDocument } from './registration-types.validator.js';
import { SHIPPED_TYPES } from './registrations.shipped.js';

describe('registration type documents', () => {
  it('are documented by docs/registration-type.schema.json, which is the schema the server checks', () => {
    const docs = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../../../docs/registration-type.schema.json', import.meta.url)), 'utf8')) as unknown;
    expect(docs).toEqual(JSON.parse(JSON.stringify(registrationTypeSchema)));
  });

  it('ship birth and death documents that pass their own validation', () => {
    for (const [id, doc] of Object.entries(SHIPPED_TYPES)) expect(validateTypeDocument(doc, id)).toEqual(doc);
  });

  it('number registrations from a pattern', () => {
    expect(formatNumber('B{year}{seq:7}', { type: 'birth', year: 2026, office: 'X', seq: 42 })).toBe('B20260000042');
    expect(formatNumber('{TYPE}-{office}-{year}-{seq:4}', { type: 'death', year: 2026, office: 'DK01', seq: 7 })).toBe('DEATH-DK01-2026-0007');
    expect(() => validateTypeDocument({ ...SHIPPED_TYPES.birth, registrationNumber: { pattern: 'B{year}' } }, 'birth')).toThrow(/registration type/);
  });

  it('refuse certificate templates with scripts, handlers or external references, pointing at the template', () => {
    const withSvg = (svg: string) => ({ ...SHIPPED_TYPES.birth, certificates: [{ id: 'c', label: { en: 'C', fr: 'C' }, svg }] });
    expect(validateTypeDocument(withSvg('<svg xmlns="http://www.w3.org/2000/svg"><text>{{registrationNumber}}</text><image href="{{qrCode}}"/></svg>'), 'birth').certificates).toHaveLength(1);
    for (const bad of [
      '<svg xmlns="http://www.w3.org/2000/svg" onload="x()"></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><image href="http://evil.example/x.png"/></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(https://evil.example/x)"/></svg>',
      '<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
    ]) {
      let err: unknown;
      try {
        validateTypeDocument(withSvg(bad), 'birth');
      } catch (e) {
        err = e;
      }
      expect(JSON.stringify((err as { details?: unknown })?.details), bad).toContain('/certificates/0/svg');
    }
  });
});
