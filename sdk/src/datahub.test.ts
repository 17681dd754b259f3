import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveSubjectIdentifier, normaliseName } from './datahub.js';

describe('derived subject identifiers', () => {
  it('normalise names so spelling variants of the same name agree', () => {
    expect(normaliseName("  Zoë   O'Brien-Smith ")).toBe('zoe obriensmith');
    expect(normaliseName('ÉLODIE')).toBe(normaliseName('elodie'));
    expect(normaliseName('Ａｌｉ')).toBe('ali'); // full-width forms fold too
  });

  it('is HMAC-SHA256 of the documented message, as 64 hex digits, under the given key', async () => {
    const key = randomBytes(32);
    const id = await deriveSubjectIdentifier({ firstName: 'Zoë', lastName: "O'Brien", dateOfBirth: '1980-02-29', sex: 'female' }, key.toString('base64url'));
    const expected = createHmac('sha256', key).update('cairn-subject-v1\nzoe\nobrien\n1980-02-29\nfemale').digest('hex');
    expect(id).toBe(expected);
    expect(await deriveSubjectIdentifier({ firstName: 'ZOE', lastName: 'obrien', dateOfBirth: '1980-02-29', sex: 'female' }, key.toString('base64url'))).toBe(id);
    // Any other input, or another instance's key, gives an unrelated identifier.
    expect(await deriveSubjectIdentifier({ firstName: 'Zoe', lastName: 'OBrien', dateOfBirth: '1980-02-28', sex: 'female' }, key.toString('base64url'))).not.toBe(id);
    expect(await deriveSubjectIdentifier({ firstName: 'Zoe', lastName: 'OBrien', dateOfBirth: '1980-02-29', sex: 'female' }, randomBytes(32).toString('base64url'))).not.toBe(id);
  });

  it('refuses incomplete information rather than hashing blanks', async () => {
    const key = randomBytes(32).toString('base64url');
    await expect(deriveSubjectIdentifier({ firstName: ' ', lastName: 'X', dateOfBirth: '1980-01-01', sex: 'male' }, key)).rejects.toThrow(/name/);
    await expect(deriveSubjectIdentifier({ firstName: 'A', lastName: 'X', dateOfBirth: '01/01/1980', sex: 'male' }, key)).rejects.toThrow(/date/);
  });
});
