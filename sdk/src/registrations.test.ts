import { describe, expect, it } from 'vitest';
import { certificateFee, type RegistrationTypeDocument } from './registrations.js';

type FeeDoc = Pick<RegistrationTypeDocument, 'certificates' | 'printFee'>;
const template = (id: string, fee?: { amount: number; currency: string }) => ({ id, fee }) as NonNullable<FeeDoc['certificates']>[number];

describe('certificateFee', () => {
  const doc: FeeDoc = { printFee: { amount: 250, currency: 'XOF' }, certificates: [template('standard'), template('extract', { amount: 100, currency: 'XOF' })] };

  it('charges the type fee for every copy of a template without its own, the first template by default', () => {
    expect(certificateFee(doc, undefined, 1)).toEqual({ amount: 250, currency: 'XOF' });
    expect(certificateFee(doc, 'standard', 3)).toEqual({ amount: 750, currency: 'XOF' });
  });

  it("charges a template's own fee instead of the type's", () => {
    expect(certificateFee(doc, 'extract', 2)).toEqual({ amount: 200, currency: 'XOF' });
  });

  it('is free when neither the template nor the type charges', () => {
    expect(certificateFee({ certificates: [template('standard')] }, 'standard', 5)).toBeUndefined();
    expect(certificateFee({}, undefined, 1)).toBeUndefined();
  });
});
