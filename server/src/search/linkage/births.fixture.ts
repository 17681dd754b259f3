/**
 * A synthetic birth register with the phenomena real ones are full of, for tests and benchmarks
 * of de-duplication: each duplicate carries one or more of typos, swapped first and last names,
 * nicknames, transliterations, accents added or dropped, a day/month swap, a missing national ID
 * or first name; and the register holds the look-alikes that must NOT be merged: twins (same
 * mother, same date of birth, different first names) and siblings (same mother, other dates).
 * Deterministic from a seed.
 */

export interface BirthRow {
  /** who this record is about: duplicates share it, twins and siblings do not */
  person: string;
  kind: 'original' | 'duplicate' | 'twin' | 'sibling';
  phenomena: string[];
  'child.firstName': string | null;
  'child.lastName': string;
  'child.sex': 'male' | 'female';
  'child.dob': string;
  'child.placeOfBirth': string;
  'mother.firstName': string;
  'mother.lastName': string;
  'mother.dob': string | null;
  'mother.nationalId': string | null;
  'father.firstName': string | null;
  'father.lastName': string | null;
  'informant.phone': string | null;
}

const GIRLS = ['Amina', 'Fatoumata', 'Aïssatou', 'Marie', 'Chloé', 'Léa', 'Grace', 'Esther', 'Ruth', 'Nadia', 'Hélène', 'Zainab', 'Mariam', 'Awa', 'Khadija', 'Sophie', 'Camille', 'Noémie', 'Joséphine', 'Elizabeth', 'Margaret', 'Rebecca', 'Victoria', 'Salimata', 'Adjoa', 'Efua', 'Yasmine', 'Inès', 'Béatrice', 'Odile'];
const BOYS = ['Mohammed', 'Ibrahim', 'Ousmane', 'Moussa', 'Jean', 'Pierre', 'François', 'Joseph', 'William', 'Robert', 'Youssef', 'Ahmed', 'Kwame', 'Kofi', 'Emmanuel', 'Samuel', 'Daniel', 'Thomas', 'Étienne', 'Mamadou', 'Abdoulaye', 'Seydou', 'Lamine', 'Bakary', 'Cheikh', 'Olivier', 'Théo', 'Hugo', 'Nathan', 'Gabriel'];
const SURNAMES = ['Traoré', 'Diallo', 'Koné', 'Coulibaly', 'Ouédraogo', 'Mensah', 'Owusu', 'Dupont', 'Martin', 'Bernard', 'Lefèvre', 'Moreau', 'Nkurunziza', 'Uwimana', 'Habimana', 'Ndayishimiye', 'Mukamana', 'Kamara', 'Sesay', 'Bangura', 'Diop', 'Ndiaye', 'Fall', 'Sow', 'Ba', 'Cissé', 'Touré', 'Sangaré', 'Keïta', 'Camara', 'Okafor', 'Adeyemi', 'Mwangi', 'Otieno', 'Kariuki', 'Banda', 'Phiri', 'Mbeki', 'Dlamini', 'Nkosi'];
const TRANSLIT: Record<string, string[]> = {
  Mohammed: ['Muhammad', 'Mohamed', 'Mouhamed', 'Mohammad'],
  Youssef: ['Yusuf', 'Yousef', 'Youssouf'],
  Ahmed: ['Ahmad', 'Ahmet'],
  Ibrahim: ['Ibraheem', 'Ebrahim'],
  Ousmane: ['Usman', 'Osman'],
  Moussa: ['Musa', 'Mousa'],
  Aïssatou: ['Aissatou', 'Aichatou'],
  Khadija: ['Khadidja', 'Kadija'],
  Fatoumata: ['Fatumata', 'Fatoumatta'],
  Joséphine: ['Josephine', 'Josefine'],
  Sophie: ['Sofie', 'Sophy'],
  Mariam: ['Maryam', 'Meriem'],
};
const NICK: Record<string, string> = { William: 'Bill', Robert: 'Bob', Elizabeth: 'Liz', Margaret: 'Peggy', Rebecca: 'Becky', Victoria: 'Vicky', Joseph: 'Joe', Samuel: 'Sam', Daniel: 'Dan', Thomas: 'Tom' };
const PLACES = Array.from({ length: 40 }, (_, i) => `loc-${i + 1}`);

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

export function generateBirths(opts: { originals: number; duplicateRate?: number; twinRate?: number; siblingRate?: number; seed?: number }): BirthRow[] {
  const r = rng(opts.seed ?? 7);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const pad = (n: number) => String(n).padStart(2, '0');
  const date = (y0: number, y1: number) => `${y0 + Math.floor(r() * (y1 - y0 + 1))}-${pad(1 + Math.floor(r() * 12))}-${pad(1 + Math.floor(r() * 28))}`;
  const nid = () => String(1_000_000_000 + Math.floor(r() * 8_999_999_999));
  const phone = () => `+2507${Math.floor(r() * 1e8).toString().padStart(8, '0')}`;
  const out: BirthRow[] = [];
  const stripAccents = (s: string) => s.normalize('NFKD').replace(/\p{M}+/gu, '');
  const typo = (s: string) => {
    if (s.length < 3) return s;
    const i = 1 + Math.floor(r() * (s.length - 2));
    const op = Math.floor(r() * 3);
    if (op === 0) return s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2); // transpose
    if (op === 1) return s.slice(0, i) + s.slice(i + 1); // drop
    return s.slice(0, i) + 'aeioun'[Math.floor(r() * 6)] + s.slice(i + 1); // substitute
  };

  for (let p = 0; p < opts.originals; p++) {
    const sex = r() < 0.5 ? 'female' : 'male';
    const family = pick(SURNAMES);
    const base: BirthRow = {
      person: `p${p}`,
      kind: 'original',
      phenomena: [],
      'child.firstName': pick(sex === 'female' ? GIRLS : BOYS),
      'child.lastName': family,
      'child.sex': sex,
      'child.dob': date(2015, 2024),
      'child.placeOfBirth': pick(PLACES),
      'mother.firstName': pick(GIRLS),
      'mother.lastName': pick(SURNAMES),
      'mother.dob': r() < 0.9 ? date(1975, 2002) : null,
      'mother.nationalId': r() < 0.85 ? nid() : null,
      'father.firstName': r() < 0.8 ? pick(BOYS) : null,
      'father.lastName': family,
      'informant.phone': r() < 0.7 ? phone() : null,
    };
    out.push(base);

    if (r() < (opts.twinRate ?? 0.03)) {
      const sex2 = r() < 0.5 ? 'female' : 'male';
      let name = pick(sex2 === 'female' ? GIRLS : BOYS);
      while (name === base['child.firstName']) name = pick(sex2 === 'female' ? GIRLS : BOYS);
      out.push({ ...base, person: `p${p}-twin`, kind: 'twin', phenomena: ['twin'], 'child.firstName': name, 'child.sex': sex2 });
    }
    if (r() < (opts.siblingRate ?? 0.08)) {
      const y = Number(base['child.dob'].slice(0, 4));
      const sex2 = r() < 0.5 ? 'female' : 'male';
      let name = pick(sex2 === 'female' ? GIRLS : BOYS);
      while (name === base['child.firstName']) name = pick(sex2 === 'female' ? GIRLS : BOYS);
      out.push({ ...base, person: `p${p}-sib`, kind: 'sibling', phenomena: ['sibling'], 'child.firstName': name, 'child.sex': sex2, 'child.dob': date(y - 4 > 2010 ? y - 4 : 2011, y - 2), 'child.placeOfBirth': r() < 0.5 ? base['child.placeOfBirth'] : pick(PLACES) });
    }
    if (r() < (opts.duplicateRate ?? 0.3)) {
      const d: BirthRow = { ...base, kind: 'duplicate', phenomena: [] };
      const changes = 1 + Math.floor(r() * 3);
      for (let c = 0; c < changes; c++) {
        const which = Math.floor(r() * 10);
        const fn = d['child.firstName'];
        switch (which) {
          case 0:
            d['child.firstName'] = fn ? typo(fn) : fn;
            d['child.lastName'] = typo(d['child.lastName']);
            d.phenomena.push('typo');
            break;
          case 1:
            if (fn) {
              d['child.firstName'] = d['child.lastName'];
              d['child.lastName'] = fn;
              d.phenomena.push('swapped names');
            }
            break;
          case 2:
            if (fn && NICK[fn]) {
              d['child.firstName'] = NICK[fn]!;
              d.phenomena.push('nickname');
            } else {
              d['mother.firstName'] = typo(d['mother.firstName']);
              d.phenomena.push('typo');
            }
            break;
          case 3:
            if (fn && TRANSLIT[fn]) {
              d['child.firstName'] = pick(TRANSLIT[fn]!);
              d.phenomena.push('transliteration');
            } else if (TRANSLIT[d['mother.firstName']]) {
              d['mother.firstName'] = pick(TRANSLIT[d['mother.firstName']]!);
              d.phenomena.push('transliteration');
            }
            break;
          case 4:
            d['child.lastName'] = stripAccents(d['child.lastName']).toUpperCase();
            d['mother.lastName'] = stripAccents(d['mother.lastName']);
            d.phenomena.push('accents');
            break;
          case 5: {
            const [y, m, dd] = d['child.dob'].split('-');
            if (Number(dd) <= 12 && dd !== m) {
              d['child.dob'] = `${y}-${dd}-${m}`;
              d.phenomena.push('day/month swap');
            }
            break;
          }
          case 6:
            d['mother.nationalId'] = null;
            d.phenomena.push('missing national id');
            break;
          case 7:
            d['child.firstName'] = null;
            d.phenomena.push('missing first name');
            break;
          case 8:
            d['mother.dob'] = null;
            d['informant.phone'] = null;
            d.phenomena.push('missing mother dob');
            break;
          default:
            d['child.placeOfBirth'] = pick(PLACES);
            d['father.firstName'] = null;
            d.phenomena.push('other place');
        }
      }
      out.push(d);
    }
  }
  // Shuffle so duplicates are not next to their originals.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
