import path from 'node:path';
import fc from 'fast-check';
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

describe('bounded edit distance', () => {
  /** The textbook optimal-string-alignment table, unbounded. */
  const reference = (a: string, b: string): number => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++) {
        d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
      }
    return d[a.length]![b.length]!;
  };
  it('agrees with the full table, capped, on any two strings', () => {
    // A small alphabet makes near strings, transpositions and shifted runs common.
    const text = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '1', '2'), maxLength: 14 });
    fc.assert(
      fc.property(text, text, fc.integer({ min: 0, max: 4 }), (a, b, max) => {
        expect(editDistance(a, b, max)).toBe(Math.min(reference(a, b), max + 1));
      }),
      { numRuns: 20_000 },
    );
  });
  it('answers the shortcuts exactly', () => {
    expect(editDistance('20200113', '20201013', 2)).toBe(1);
    expect(editDistance('20200113', '20201031', 2)).toBe(2);
    expect(editDistance('20200113', '20209876', 2)).toBe(3);
    expect(editDistance('abcd', 'badc', 2)).toBe(2);
    expect(editDistance('1234567890', '1234567809', 2)).toBe(1);
    expect(editDistance('1234567890', '2345678901', 2)).toBe(2);
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

describe('scoring with an early exit', () => {
  it('drops only pairs that score() would not match, and keeps the same score for the rest', () => {
    const rows = generateBirths({ originals: 800, seed: 5 });
    const model = new LinkageModel(birthLinkage.config);
    const prepared = model.prepare(rows);
    // Learnt u and term frequencies: the ceilings must hold for the weights of a real register.
    model.estimateU(prepared);
    const pairs: Array<[number, number]> = [];
    for (let i = 0; i < rows.length; i++) for (let j = 0; j < i; j++) if (rows[i]!.person === rows[j]!.person || rows[i]!['mother.lastName'] === rows[j]!['mother.lastName']) pairs.push([i, j]);
    expect(pairs.length).toBeGreaterThan(5000);
    for (const threshold of [0.05, 0.5, 0.95]) {
      const min = Math.log2(threshold / (1 - threshold));
      let dropped = 0;
      let matched = 0;
      for (const [i, j] of pairs) {
        const full = model.score(prepared[i]!, prepared[j]!, 0, 0, false);
        const quick = model.scoreAtLeast(prepared[i]!, prepared[j]!, min);
        if (quick === null) {
          dropped++;
          expect(full.probability < threshold, `pair ${i},${j} dropped at ${threshold} with probability ${full.probability}`).toBe(true);
        } else expect(quick).toEqual(full);
        if (full.probability >= threshold) matched++;
      }
      expect(matched).toBeGreaterThan(100);
      // Most pairs sharing only a family name are hopeless after a few fields.
      expect(dropped).toBeGreaterThan((pairs.length - matched) / 2);
    }
  });
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
