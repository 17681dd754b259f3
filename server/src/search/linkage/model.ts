import { editDistance, fold, jaroWinkler, soundex, spellingKey } from './strings.js';
import { sameNickname } from './nicknames.js';

/**
 * Probabilistic record linkage in the Fellegi–Sunter family.
 *
 * Each candidate pair is compared field by field into a level (exact, close, far, different,
 * or missing); each level carries a weight log2(m/u), where m is how often true matches land at
 * that level and u how often non-matches do. u comes from random pairs (almost all non-matches),
 * m from expectation-maximisation over the candidate pairs, so neither needs labelled data:
 * thresholds are chosen without the answers. Exact agreement on a rare value counts more than on a
 * common one (term-frequency adjustment: "Zylstra" = "Zylstra" says more than "Smith" = "Smith").
 * A missing value on either side contributes nothing, which is how a declaration without the
 * child's first name or the mother's national ID still links.
 */

export type FieldKind = 'name' | 'text' | 'date' | 'id' | 'code';

export interface LinkageField {
  /** Key in the record's flat value map. */
  id: string;
  kind: FieldKind;
}

export interface LinkageConfig {
  fields: LinkageField[];
  /** Given/family name field pairs whose values may be swapped between two records. */
  nameSwaps?: Array<[string, string]>;
  /**
   * Pairs that agree exactly on every `same` field, clearly disagree on every `differ` field (not
   * one value misspelt: two edits apart, not nicknames, a date not merely day/month swapped) and
   * wholly on every `unlike` field (compared at the kind's last level, "different") are two
   * different people whatever the score (twins: same family name and date of birth, different
   * first names; two different mothers). Checked only when all those values are present on both
   * sides.
   */
  distinct?: Array<{ same?: string[]; differ?: string[]; unlike?: string[] }>;
  /**
   * The fields about the record's own person (the child, not the parents). Their weights together
   * must favour a match: siblings agree on every parent field, and that agreement alone must not
   * make them one person.
   */
  subject?: string[];
}

/** A record as flat answers keyed by field id; any object (values other than text are made text). */
export type LinkRecord = object;

/** Levels per kind, best first; the last is "different". Missing is -1. */
const LEVELS: Record<FieldKind, string[]> = {
  name: ['exact', 'alike', 'close', 'similar', 'different'],
  text: ['exact', 'alike', 'close', 'similar', 'different'],
  date: ['exact', 'day-month swapped', 'one digit', 'close', 'different'],
  id: ['exact', 'one edit', 'two edits', 'different'],
  code: ['exact', 'one edit', 'different'],
};
export const FIELD_KINDS = Object.keys(LEVELS) as FieldKind[];

/**
 * How often a true duplicate lands at each level: typical data-entry error rates (a typo in a
 * name in a few percent of records, a wholly different value in about one in a hundred).
 */
const M_PRIORS: Record<FieldKind, number[]> = {
  name: [0.88, 0.06, 0.03, 0.02, 0.01],
  text: [0.85, 0.07, 0.04, 0.02, 0.02],
  date: [0.905, 0.02, 0.05, 0.02, 0.005],
  id: [0.9, 0.06, 0.02, 0.02],
  code: [0.95, 0.03, 0.02],
};

/**
 * How often two different people land at each level, before any register is there to learn it
 * from: a given name shared by one pair in a hundred, a date of birth by one in two thousand, a
 * national ID by almost none. Learnt values from a register's own sample are blended in.
 */
const U_PRIORS: Record<FieldKind, number[]> = {
  name: [0.01, 0.005, 0.005, 0.02, 0.96],
  text: [0.02, 0.01, 0.01, 0.03, 0.93],
  date: [0.0005, 0.0002, 0.01, 0.04, 0.9493],
  id: [0.000001, 0.00001, 0.0001, 0.999889],
  code: [0.2, 0.01, 0.79],
};
/** Weight of the priors above, in pairs, when blended with pairs sampled from a register. */
const U_PRIOR_PAIRS = 2000;

export interface Prepared {
  raw: Array<string | null>;
  /** folded value (names: folded words sorted, so word order does not matter) */
  norm: Array<string | null>;
  keys: Array<string | null>;
}

export interface PairComparison {
  levels: Int8Array;
  swapped: boolean;
}

export interface FieldExplanation {
  field: string;
  level: string;
  weight: number;
}

export interface ScoredPair {
  a: number;
  b: number;
  /** log2 odds of a match */
  score: number;
  probability: number;
  fields: FieldExplanation[];
  distinct: boolean;
}

function normalise(kind: FieldKind, v: string | null | undefined): string | null {
  if (v == null) return null;
  // "unknown" is how forms say missing (a child's sex not recorded): it must not disagree.
  if (/^\s*unknown\s*$/i.test(v)) return null;
  const s = kind === 'date' ? v.replace(/[^0-9]/g, '') : fold(v);
  if (!s) return null;
  if (kind === 'name') return s.split(' ').sort().join(' ');
  if (kind === 'id' || kind === 'code') return s.replace(/ /g, '');
  return s;
}

function nameKey(norm: string): string {
  return norm.split(' ').map(spellingKey).join(' ');
}

function compareText(kind: 'name' | 'text', a: string, b: string, ka: string | null, kb: string | null): number {
  if (a === b) return 0;
  if ((ka && ka === kb) || (kind === 'name' && sameNickname(a, b))) return 1;
  const jw = jaroWinkler(a, b);
  if (jw >= 0.94) return 1;
  if (jw >= 0.88) return 2;
  if (jw >= 0.75) return 3;
  // One name contained in the other ("Marie" vs "Marie Claire", a hyphenated surname): close.
  if (kind === 'name' && (a.startsWith(b + ' ') || b.startsWith(a + ' ') || a.endsWith(' ' + b) || b.endsWith(' ' + a))) return 2;
  return 4;
}

function compareDate(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 8 && b.length === 8) {
    if (a.slice(0, 4) === b.slice(0, 4) && a.slice(4, 6) === b.slice(6, 8) && a.slice(6, 8) === b.slice(4, 6)) return 1;
    const d = editDistance(a, b, 2);
    if (d === 1) return 2;
    if (d === 2) return 3;
    return 4;
  }
  const d = editDistance(a, b, 2);
  return d === 1 ? 2 : d === 2 ? 3 : 4;
}

function compareCode(kind: 'id' | 'code', a: string, b: string): number {
  if (a === b) return 0;
  // A code has one level between exact and different: past one edit, how far does not matter.
  const d = editDistance(a, b, kind === 'code' ? 1 : 2);
  if (kind === 'code') return d === 1 ? 1 : 2;
  return d === 1 ? 1 : d === 2 ? 2 : 3;
}

export class LinkageModel {
  readonly fields: LinkageField[];
  private readonly swaps: Array<[number, number]>;
  private readonly distinctRules: Array<{ same: number[]; differ: number[]; unlike: number[] }>;
  private readonly subject: Set<number> | null;
  /** m[f][level], u[f][level] */
  m: number[][];
  u: number[][];
  lambda = 0.01;
  /** value → frequency among records, for term-frequency adjustment of exact agreement */
  private tf: Array<Map<string, number>>;
  private recordCount = 0;
  /** log2(m/u) of the m and u arrays it was worked out from (they are replaced, never edited in place). */
  private weights: { m: number[][]; u: number[][]; w: number[][] } | null = null;
  /** Fields outside every name swap (scoreAtLeast compares them first). */
  private readonly unswapped: number[];
  private readonly steppable: boolean;
  /** scoreAtLeast's ceilings per record, valid for the m, u and term frequencies they came from. */
  private ceilingCache = new WeakMap<Prepared, { m: number[][]; u: number[][]; tf: Array<Map<string, number>>; c: Float64Array }>();

  constructor(readonly config: LinkageConfig) {
    this.fields = config.fields;
    const index = (id: string) => {
      const i = this.fields.findIndex((f) => f.id === id);
      if (i < 0) throw new Error(`unknown linkage field ${id}`);
      return i;
    };
    this.swaps = (config.nameSwaps ?? []).map(([g, f]) => [index(g), index(f)]);
    this.distinctRules = (config.distinct ?? []).map((r) => ({ same: (r.same ?? []).map(index), differ: (r.differ ?? []).map(index), unlike: (r.unlike ?? []).map(index) }));
    this.subject = config.subject ? new Set(config.subject.map(index)) : null;
    const swapped = new Set(this.swaps.flat());
    this.unswapped = this.fields.map((_, i) => i).filter((i) => !swapped.has(i));
    // A field in two swap pairs would be compared twice by scoreAtLeast's steps: no early exit then.
    this.steppable = swapped.size === this.swaps.length * 2;
    this.m = this.fields.map((f) => [...M_PRIORS[f.kind]]);
    this.u = this.fields.map((f) => [...U_PRIORS[f.kind]]);
    this.tf = this.fields.map(() => new Map());
  }

  prepare(records: LinkRecord[]): Prepared[] {
    return records.map((r) => {
      const raw = this.fields.map((f) => {
        const v = (r as Record<string, unknown>)[f.id];
        return v == null || v === '' ? null : String(v);
      });
      const norm = this.fields.map((f, i) => normalise(f.kind, raw[i]));
      const keys = this.fields.map((f, i) => (f.kind === 'name' || f.kind === 'text') && norm[i] ? nameKey(norm[i]!) : null);
      return { raw, norm, keys };
    });
  }

  compare(a: Prepared, b: Prepared): PairComparison {
    const n = this.fields.length;
    const levels = new Int8Array(n);
    for (let i = 0; i < n; i++) levels[i] = this.compareField(i, a, b, i);
    let swapped = false;
    for (const [g, f] of this.swaps) if (this.compareSwap(g, f, a, b, levels)) swapped = true;
    return { levels, swapped };
  }

  /** Replaces the direct levels of a given/family pair by the crossed ones when the names look swapped. */
  private compareSwap(g: number, f: number, a: Prepared, b: Prepared, levels: Int8Array): boolean {
    if (levels[g]! <= 1 && levels[f]! <= 1) return false;
    const cross1 = this.compareField(g, a, b, f);
    const cross2 = this.compareField(f, a, b, g);
    // Swapped when both crossed comparisons are close and together better than the direct ones.
    // With typos on top of the swap the crossed comparisons are only "similar"; still a swap when
    // the direct ones are worse.
    const limit = levels[g]! >= 3 && levels[f]! >= 3 ? 3 : 2;
    if (cross1 >= 0 && cross2 >= 0 && cross1 <= limit && cross2 <= limit && cross1 + cross2 < Math.max(0, levels[g]!) + Math.max(0, levels[f]!)) {
      levels[g] = cross1;
      levels[f] = cross2;
      return true;
    }
    return false;
  }

  /**
   * The pair's score, or null as soon as it cannot reach `min` (log2 odds) or is already two
   * different people by the subject rule. Same answer as score() for every pair it does not drop:
   * fields are compared cheapest first (those outside the name swaps: dates, codes, ids), then
   * each swap pair as a unit, and after each step the score so far plus the most the fields left
   * could add (a's ceilings) is held against `min`. Most candidates of an import are dropped after
   * a few fields: strangers on their dates, siblings on the child's own fields.
   */
  scoreAtLeast(a: Prepared, b: Prepared, min: number): ScoredPair | null {
    if (!this.steppable) return this.score(a, b, 0, 0, false);
    const ceil = this.ceilings(a);
    const n = this.fields.length;
    const levels = new Int8Array(n);
    // A margin for the sums here and in score() adding the same weights in another order.
    const EPS = 1e-9;
    let score = Math.log2(this.lambda / (1 - this.lambda));
    let rest = ceil[n]!;
    let subjectScore = 0;
    let subjectLeft = this.subject?.size ?? 0;
    const add = (i: number) => {
      const l = levels[i]!;
      rest -= ceil[i]!;
      if (l < 0) return;
      const w = this.weight(i, l, a.norm[i] ?? null, true);
      score += w;
      if (this.subject?.has(i)) subjectScore += w;
    };
    const hopeless = () => score + rest < min - EPS || (this.subject !== null && subjectLeft === 0 && subjectScore <= -EPS);
    for (const i of this.unswapped) {
      levels[i] = this.compareField(i, a, b, i);
      add(i);
      if (this.subject?.has(i)) subjectLeft--;
    }
    if (hopeless()) return null;
    let swapped = false;
    for (const [g, f] of this.swaps) {
      levels[g] = this.compareField(g, a, b, g);
      levels[f] = this.compareField(f, a, b, f);
      if (this.compareSwap(g, f, a, b, levels)) swapped = true;
      add(g);
      add(f);
      if (this.subject?.has(g)) subjectLeft--;
      if (this.subject?.has(f)) subjectLeft--;
      if (hopeless()) return null;
    }
    // Every field is compared by now: the score is summed from these levels, not compared again.
    return this.scored({ levels, swapped }, a, b, 0, 0, false);
  }

  /** Per field, the most it can add to a pair's score with `a` (0 when a lacks it); the sum last. */
  private ceilings(a: Prepared): Float64Array {
    const cached = this.ceilingCache.get(a);
    if (cached && cached.m === this.m && cached.u === this.u && cached.tf === this.tf) return cached.c;
    const n = this.fields.length;
    const c = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      if (a.norm[i] == null) continue;
      let best = 0;
      for (let l = 0; l < LEVELS[this.fields[i]!.kind].length; l++) best = Math.max(best, this.weight(i, l, a.norm[i] ?? null, true));
      c[i] = best;
      c[n] = c[n]! + best;
    }
    this.ceilingCache.set(a, { m: this.m, u: this.u, tf: this.tf, c });
    return c;
  }

  private compareField(i: number, a: Prepared, b: Prepared, j: number): number {
    const va = a.norm[i];
    const vb = b.norm[j];
    if (va == null || vb == null) return -1;
    const kind = this.fields[i]!.kind;
    if (kind === 'name' || kind === 'text') return compareText(kind, va, vb, a.keys[i] ?? null, b.keys[j] ?? null);
    if (kind === 'date') return compareDate(va, vb);
    return compareCode(kind, va, vb);
  }

  /**
   * Two present values that are not one name misspelt: not equal, not one spelling key, not
   * nicknames, and at least two edits apart (Marie / Mariam and Joseph / Josephine are twins'
   * names; Hlène / Hélène is a typo).
   */
  private clearlyDifferent(i: number, a: Prepared, b: Prepared, j = i): boolean {
    const va = a.norm[i];
    const vb = b.norm[j];
    if (va == null || vb == null || va === vb) return false;
    if (a.keys[i] && a.keys[i] === b.keys[j]) return false;
    const kind = this.fields[i]!.kind;
    if (kind === 'name' && sameNickname(va, vb)) return false;
    // A date is clearly different only at the last level: a day and month swapped, or two digits
    // off, is how one date gets written twice.
    if (kind === 'date') return compareDate(va, vb) === 4;
    return editDistance(va, vb, 2) >= 2;
  }

  private swapPartner(i: number): number {
    for (const [g, f] of this.swaps) {
      if (g === i) return f;
      if (f === i) return g;
    }
    return i;
  }

  /** Term frequencies of exact values, and u from random pairs (nearly all non-matches). */
  estimateU(records: Prepared[], samplePairs = Math.min(200_000, Math.max(20_000, records.length * 20)), seed = 1): void {
    this.recordCount = records.length;
    this.tf = this.fields.map(() => new Map());
    for (const r of records) {
      r.norm.forEach((v, i) => {
        if (v != null) this.tf[i]!.set(v, (this.tf[i]!.get(v) ?? 0) + 1);
      });
    }
    const counts = this.fields.map((f) => new Float64Array(LEVELS[f.kind].length));
    let s = seed >>> 0 || 1;
    const rand = () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) / 4294967296;
    };
    const n = records.length;
    if (n < 2) return;
    for (let k = 0; k < samplePairs; k++) {
      const a = Math.floor(rand() * n);
      let b = Math.floor(rand() * (n - 1));
      if (b >= a) b++;
      const { levels } = this.compare(records[a]!, records[b]!);
      levels.forEach((l, i) => {
        if (l >= 0) counts[i]![l]! += 1;
      });
    }
    this.u = counts.map((c, i) => {
      const total = c.reduce((x, y) => x + y, 0);
      // Blended with the priors: a level never seen among random pairs is rare, not impossible,
      // and a small register does not yet say much.
      const prior = U_PRIORS[this.fields[i]!.kind];
      return Array.from(c, (x, l) => (x + prior[l]! * U_PRIOR_PAIRS) / (total + U_PRIOR_PAIRS));
    });
  }

  /** Expectation-maximisation of m and λ over candidate pairs, u held fixed. */
  estimateM(comparisons: PairComparison[], iterations = 25, fixed: ReadonlySet<number> = new Set()): void {
    if (!comparisons.length) return;
    for (let it = 0; it < iterations; it++) {
      const mCounts = this.fields.map((f) => new Float64Array(LEVELS[f.kind].length));
      let sumP = 0;
      for (const c of comparisons) {
        const p = this.probabilityOf(c.levels, false);
        sumP += p;
        c.levels.forEach((l, i) => {
          if (l >= 0) mCounts[i]![l]! += p;
        });
      }
      this.lambda = Math.min(0.999, Math.max(1e-6, sumP / comparisons.length));
      this.m = mCounts.map((c, i) => {
        if (fixed.has(i)) return this.m[i]!;
        const total = c.reduce((x, y) => x + y, 0);
        return Array.from(c, (x) => (x + 0.5) / (total + 0.5 * c.length));
      });
    }
  }

  private weight(i: number, level: number, value: string | null, tf: boolean): number {
    // Term frequencies only once the register is large enough for a frequency to mean something.
    if (tf && level === 0 && value != null && this.recordCount >= 200) {
      const freq = (this.tf[i]!.get(value) ?? 1) / this.recordCount;
      // Never claim more evidence than an exact match on a value seen once would carry.
      return Math.log2(this.m[i]![level]! / Math.max(freq, 1 / this.recordCount));
    }
    // log2(m/u) per level, worked out once per m and u (a pair is scored millions of times per import).
    if (this.weights?.m !== this.m || this.weights.u !== this.u) this.weights = { m: this.m, u: this.u, w: this.m.map((ms, f) => ms.map((x, l) => Math.log2(x / this.u[f]![l]!))) };
    return this.weights.w[i]![level]!;
  }

  private probabilityOf(levels: Int8Array, tf: boolean, a?: Prepared): number {
    let score = Math.log2(this.lambda / (1 - this.lambda));
    levels.forEach((l, i) => {
      if (l >= 0) score += this.weight(i, l, a?.norm[i] ?? null, tf);
    });
    return 1 / (1 + 2 ** -score);
  }

  /**
   * A pair's score with each field's level and weight. `explain: false` leaves `fields` empty:
   * a de-duplication pass scores every candidate and explains only the matches.
   */
  score(a: Prepared, b: Prepared, ia = 0, ib = 0, explain = true): ScoredPair {
    const c = this.compare(a, b);
    return this.scored(c, a, b, ia, ib, explain);
  }

  /** A pair's score from its comparison (score() and scoreAtLeast() both end here). */
  private scored(c: PairComparison, a: Prepared, b: Prepared, ia: number, ib: number, explain: boolean): ScoredPair {
    let score = Math.log2(this.lambda / (1 - this.lambda));
    let subjectScore = 0;
    const fields: FieldExplanation[] = [];
    const levels = c.levels;
    for (let i = 0; i < levels.length; i++) {
      const l = levels[i]!;
      if (l < 0) continue;
      const w = this.weight(i, l, a.norm[i] ?? null, true);
      score += w;
      if (this.subject?.has(i)) subjectScore += w;
      if (explain) fields.push({ field: this.fields[i]!.id, level: LEVELS[this.fields[i]!.kind][l]!, weight: Math.round(w * 100) / 100 });
    }
    const distinct =
      (this.subject !== null && subjectScore <= 0) ||
      this.distinctRules.some(
        (r) =>
          r.same.every((i) => levels[i] === 0) &&
          r.unlike.every((i) => levels[i] === LEVELS[this.fields[i]!.kind].length - 1) &&
          r.differ.every((i) => this.clearlyDifferent(i, a, b, c.swapped ? this.swapPartner(i) : i)),
      );
    return { a: ia, b: ib, score, probability: distinct ? 0 : 1 / (1 + 2 ** -score), fields, distinct };
  }

  /**
   * Learn u (and term frequencies) from random pairs; with `em`, also m and λ by
   * expectation-maximisation over the blocked candidates. EM suits registers whose duplicates are
   * independent corruptions of one record (FEBRL); in a birth register, siblings agree on every
   * family field at once, which breaks EM's independence assumption, so there the m priors
   * (typical data-entry error rates) stay and only λ is learnt.
   */
  train(records: Prepared[], candidates: Array<[number, number]>, opts: { em?: boolean; iterations?: number } = {}): void {
    this.estimateU(records);
    const comparisons = candidates.map(([a, b]) => this.compare(records[a]!, records[b]!));
    const all = new Set(this.fields.map((_, i) => i));
    this.estimateM(comparisons, opts.iterations ?? 25, opts.em ? new Set() : all);
  }

  toJSON() {
    return { fields: this.fields, lambda: this.lambda, m: this.m, u: this.u };
  }
}

/**
 * Blocking: candidate pairs share at least one key. Several cheap keys, each tolerant of a
 * different error (a typo in the name, a wrong date, a missing id), so a true pair is lost only
 * when every key is broken at once. A rule names the fields it reads: training must not learn
 * how often those fields agree among true matches from pairs that were chosen for agreeing on them.
 */
export interface BlockingRule {
  fields: string[];
  key(r: Prepared, fields: LinkageField[]): string | null;
}

export type KeyTransform = 'value' | 'soundex' | 'prefix3' | 'spelling' | 'year';

export function fieldKey(id: string, transform: KeyTransform = 'value'): BlockingRule {
  // The field's position in the last fields list asked with (always the model's own).
  let lastFields: LinkageField[] | null = null;
  let lastIndex = -1;
  return {
    fields: [id],
    key: (r, fields) => {
      if (fields !== lastFields) {
        lastFields = fields;
        lastIndex = fields.findIndex((f) => f.id === id);
      }
      const i = lastIndex;
      const v = r.norm[i];
      if (v == null) return null;
      switch (transform) {
        case 'soundex': {
          const space = v.indexOf(' ');
          return soundex(space < 0 ? v : v.slice(0, space));
        }
        case 'prefix3':
          return v.slice(0, 3);
        case 'spelling':
          return r.keys[i] ?? spellingKey(v);
        case 'year':
          return v.slice(0, 4);
        default:
          return v;
      }
    },
  };
}

export function combineKeys(...parts: BlockingRule[]): BlockingRule {
  return {
    fields: parts.flatMap((p) => p.fields),
    key: (r, fields) => {
      let out = '';
      for (let i = 0; i < parts.length; i++) {
        const v = parts[i]!.key(r, fields);
        if (v == null) return null;
        out = i ? `${out}|${v}` : v;
      }
      return out;
    },
  };
}

/** Candidate pairs per rule (a pair appears under the first rule that finds it). */
export function candidatePairsByRule(records: Prepared[], fields: LinkageField[], rules: BlockingRule[], maxBlock = 500): Array<Array<[number, number]>> {
  const seen = new Set<number>();
  const n = records.length;
  return rules.map((rule) => {
    const pairs: Array<[number, number]> = [];
    const blocks = new Map<string, number[]>();
    records.forEach((r, i) => {
      const k = rule.key(r, fields);
      if (k == null) return;
      const b = blocks.get(k);
      if (b) b.push(i);
      else blocks.set(k, [i]);
    });
    for (const members of blocks.values()) {
      // A block as large as a common surname's would compare everything with everything; other
      // keys still catch its true pairs.
      if (members.length < 2 || members.length > maxBlock) continue;
      for (let x = 0; x < members.length; x++) {
        for (let y = x + 1; y < members.length; y++) {
          const a = Math.min(members[x]!, members[y]!);
          const b = Math.max(members[x]!, members[y]!);
          const id = a * n + b;
          if (seen.has(id)) continue;
          seen.add(id);
          pairs.push([a, b]);
        }
      }
    }
    return pairs;
  });
}

export function candidatePairs(records: Prepared[], fields: LinkageField[], rules: BlockingRule[], maxBlock = 500): Array<[number, number]> {
  return candidatePairsByRule(records, fields, rules, maxBlock).flat();
}

/** Groups linked pairs into clusters (union-find) and lists every pair inside each cluster. */
export function clusterPairs(n: number, links: Array<[number, number]>): Array<[number, number]> {
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  for (const [a, b] of links) {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[ra] = rb;
  }
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const r = find(i);
    const g = groups.get(r);
    if (g) g.push(i);
    else groups.set(r, [i]);
  }
  const out: Array<[number, number]> = [];
  for (const g of groups.values()) for (let x = 0; x < g.length; x++) for (let y = x + 1; y < g.length; y++) out.push([g[x]!, g[y]!]);
  return out;
}
