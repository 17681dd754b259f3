import { describe, expect, it } from 'vitest';
import type { JsonValue } from '@cairn/sdk';
import { BIRTH } from '../registrations/registrations.shipped.js';
import { CheckMemory, ModelCache, checkBatch, type CandidateSource } from './search.matching.js';

/** A register whose index holds nothing yet: every batch checked is still being written. */
const unwrittenRegister: CandidateSource = {
  candidatesByKey: async () => [],
  fieldsOf: async () => [],
  count: async () => 0,
  sample: async () => [],
};

const child = (i: number, firstName: string): { id: string; data: Record<string, JsonValue> } => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  data: { 'child.firstName': firstName, 'child.lastName': `Family${'abcdefghij'[i % 10]}${'klmnopqrst'[Math.floor(i / 10) % 10]}`, 'child.sex': 'female', 'child.dob': `2020-01-${String(1 + (i % 28)).padStart(2, '0')}`, 'mother.firstName': `Mother${i}`, 'mother.lastName': 'Doe', 'mother.nationalId': String(4_000_000_000 + i) },
});

describe('checking an import batch after batch', () => {
  const type = { id: 'birth', version: 1, doc: async () => BIRTH };
  const batches = [
    [child(1, 'Aminata'), child(2, 'Bintou')],
    [child(3, 'Chaka'), child(4, 'Daouda')],
    // The same child as row 1, misspelt: its batch may still be being written.
    [{ ...child(1, 'Aminatta'), id: '00000000-0000-4000-8000-000000000099' }],
  ];

  it('compares with as many unwritten batches as the import writes at once', async () => {
    const memory = new CheckMemory(2);
    const found = [];
    for (const b of batches) found.push(await checkBatch(new ModelCache(), unwrittenRegister, type, b, 'declare', memory));
    expect(found[2]![0]!.matches).toEqual([batches[0]![0]!.id]);
    expect(found.slice(0, 2).flat().every((f) => f.matches.length === 0)).toBe(true);
  });

  it('forgets a batch once it is written (the index holds it then)', async () => {
    const memory = new CheckMemory(1);
    const found = [];
    for (const b of batches) found.push(await checkBatch(new ModelCache(), unwrittenRegister, type, b, 'declare', memory));
    // Row 1 is remembered prepared (memory.known) but found again only through the index.
    expect(found[2]![0]!.matches).toEqual([]);
    expect(memory.known.has(batches[0]![0]!.id)).toBe(true);
  });
});
