import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { editDistance, fold, jaroWinkler, soundex, spellingKey } from './strings.js';
import { sameNickname } from './nicknames.js';
import { LinkageModel } from './model.js';
import { linkRecords, pairMetrics } from './linkage.js';
import { birthLinkage, febrlLinkage } from './presets.js';
import { generateBirths } from '../../../test/fixtures/births.js';
import { febrlDir, readFebrl } from './febrl.js';

describe('string comparison', () => {
  it('folds accents, case and punctuation', () => {
    expect(fold('  Hélène-Françoise  N’Diaye ')).toBe('helene francoise n diaye');
    expect(fold('STRAßE Œuvre Łódź')).toBe('strasse oeuvre lodz');
  });
  it('gives transliterations one spelling key', () => {
    const keys = ['mohammed', 'muhammad', 'mohamed', 'mouhamed', 'mohammad'].map(spellingKey);
    expect(new Set(keys).size).toBe(1);
    expect(spellingKey('philippe')).toBe(spellingKey('filipe'));
    expect(spellingKey('youssouf')).toBe(spellingKey('yusuf'));
    expect(spellingKey('anna')).not.toBe(spellingKey('ina'));
  });
  it('knows nicknames, and only within a family', () => {
    expect(sameNickname('bill', 'william')).toBe(true);
    expect(sameNickname('peggy', 'margaret')).toBe(true);
    expect(sameNickname('bill', 'robert')).toBe(false);
  });
  it('computes Jaro-Winkler, edit distance and Soundex as published', () => {
    expect(jaroWinkler('martha', 'marhta')).toBeCloseTo(0.9611, 3);
    expect(jaroWinkler('dixon', 'dicksonx')).toBeCloseTo(0.8133, 3);
    expect(jaroWinkler('', 'a')).toBe(0);
    expect(editDistance('ca', 'ac')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('abcdefgh', 'zzzzzzzz', 2)).toBe(3);
    expect(soundex('robert')).toBe('r163');
    expect(soundex('rupert')).toBe('r163');
    expect(soundex('ashcraft')).toBe('a261');
  });
});

describe('comparison levels', () => {
  const model = new LinkageModel(birthLinkage.config);
  const base = {
    'child.firstName': 'Aïssatou', 'child.lastName': 'Traoré', 'child.sex': 'female', 'child.dob': '2021-03-07',
    'mother.firstName': 'Awa', 'mother.lastName': 'Diallo', 'mother.nationalId': '1234567890',
  };
  const level = (a: Record<string, string | null>, b: Record<string, string | null>, field: string) => {
    const [pa, pb] = model.prepare([a, b]);
    const s = model.score(pa!, pb!);
    return s.fields.find((f) => f.field === field)?.level;
  };
  it('sees accents, case and word order as exact', () => {
    expect(level(base, { ...base, 'child.firstName': 'AISSATOU', 'child.lastName': 'traore' }, 'child.firstName')).toBe('exact');
  });
  it('sees a day/month swap in a date', () => {
    expect(level(base, { ...base, 'child.dob': '2021-07-03' }, 'child.dob')).toBe('day-month swapped');
  });
  it('sees swapped first and last names', () => {
    const [pa, pb] = model.prepare([base, { ...base, 'child.firstName': 'Traoré', 'child.lastName': 'Aïssatou' }]);
    expect(model.compare(pa!, pb!).swapped).toBe(true);
  });
  it('leaves a missing value out instead of counting it against', () => {
    const [pa, pb] = model.prepare([base, { ...base, 'mother.nationalId': null, 'child.firstName': null }]);
    const s = model.score(pa!, pb!);
    expect(s.fields.map((f) => f.field)).not.toContain('mother.nationalId');
    expect(s.fields.map((f) => f.field)).not.toContain('child.firstName');
  });
  it('never merges twins: same mother and date, different first names', () => {
    const [pa, pb] = model.prepare([base, { ...base, 'child.firstName': 'Mariam' }]);
    const s = model.score(pa!, pb!);
    expect(s.distinct).toBe(true);
    expect(s.probability).toBe(0);
  });
});

describe('two different mothers', () => {
  const model = new LinkageModel(birthLinkage.config);
  // One common child's name, a birth date a digit apart: in a register with few family names,
  // enough agreement to outweigh a mother's different first name and national ID.
  const a = { 'child.firstName': 'Khadija', 'child.lastName': 'Okafor', 'child.sex': 'female', 'child.dob': '2015-09-24', 'mother.firstName': 'Amina', 'mother.lastName': 'Kamara', 'mother.dob': '1983-08-05', 'mother.nationalId': '2011126128', 'father.lastName': 'Okafor' };
  const score = (b: Record<string, string | null>) => {
    const [pa, pb] = model.prepare([a, b]);
    return model.score(pa!, pb!);
  };
  it('have two different children: a first name nothing alike and another national ID or date of birth', () => {
    expect(score({ ...a, 'child.dob': '2015-09-21', 'mother.firstName': 'Salimata', 'mother.nationalId': '4785637229' }).distinct).toBe(true);
    expect(score({ ...a, 'child.dob': '2015-09-21', 'mother.firstName': 'Salimata', 'mother.nationalId': null, 'mother.dob': '1991-02-13' }).distinct).toBe(true);
  });
  it('are not inferred from a misspelt first name, a missing ID or a day/month swap', () => {
    expect(score({ ...a, 'mother.firstName': 'Amna', 'mother.nationalId': '4785637229' }).probability).toBeGreaterThan(0.5);
    expect(score({ ...a, 'mother.firstName': 'Salimata', 'mother.nationalId': null, 'mother.dob': null }).distinct).toBe(false);
    expect(score({ ...a, 'mother.firstName': 'Salimata', 'mother.nationalId': null, 'mother.dob': '1983-05-08' }).distinct).toBe(false);
  });
});

describe('de-duplicating a birth register', () => {
  // Deterministic synthetic registers with the phenomena real ones have (server/test/fixtures/births.ts).
  for (const seed of [7, 11]) {
    it(`finds the duplicates and leaves twins and siblings apart (seed ${seed})`, () => {
      const rows = generateBirths({ originals: 1000, seed });
      const { matches } = linkRecords(rows, birthLinkage);
      const m = pairMetrics(rows.map((r) => r.person), matches);
      expect(m.truePairs).toBeGreaterThan(250);
      expect(m.recall).toBeGreaterThanOrEqual(0.98);
      expect(m.precision).toBeGreaterThanOrEqual(0.97);
      // Complete twin and sibling records are never flagged against each other or their original.
      const wrong = matches.filter((p) => {
        const a = rows[p.a]!;
        const b = rows[p.b]!;
        return a.person !== b.person && a['child.firstName'] && b['child.firstName'] && a.kind !== 'duplicate' && b.kind !== 'duplicate';
      });
      expect(wrong).toEqual([]);
    });
  }
});

const febrl = febrlDir();
describe.skipIf(!febrl)('FEBRL benchmark (shared data)', () => {
  it('links dataset1 with pairwise F1 above 0.99, threshold chosen without the answers', () => {
    const { records, labels } = readFebrl(path.join(febrl!, 'dataset1.csv'));
    const { matches } = linkRecords(records, febrlLinkage, { em: true });
    const m = pairMetrics(labels, matches);
    expect(m.truePairs).toBe(500);
    expect(m.f1).toBeGreaterThan(0.99);
  });
});
