import { AppError } from '../kernel/errors.js';
import { editDistance, fold, jaroWinkler, spellingKey } from './linkage/strings.js';
import { sameNickname } from './linkage/nicknames.js';

/**
 * De-duplication rules as a type's document writes them (`deduplication.rules.declare` /
 * `.register`), evaluated on a new record against one candidate. What OpenCRVS's rules can say:
 *
 *   { "and": [ ... ] } | { "or": [ ... ] } | { "not": rule }
 *   { "fuzzy":     { "field": "child.firstName", "fuzziness": "AUTO" | 0..3, "matchAgainst"?: "other.field" } }
 *   { "strict":    { "field": "mother.nationalId", "matchAgainst"?: "..." } }
 *   { "dateRange": { "field": "child.dob", "days": 30, "matchAgainst"?: "..." } }
 *   { "ageRange":  { "field": "mother.age", "years": 1, "matchAgainst": "mother.dob" } }
 *
 * `matchAgainst` compares the new record's `field` with the candidate's `matchAgainst` field
 * (e.g. the mother's stated age against the candidate's recorded date of birth). A clause whose
 * value is missing on either side is dropped, not failed: it says nothing. An `and` whose clauses
 * were all dropped says nothing too; the top level then is not a match.
 */
export type Rule =
  | { and: Rule[] }
  | { or: Rule[] }
  | { not: Rule }
  | { fuzzy: { field: string; fuzziness?: 'AUTO' | number; matchAgainst?: string } }
  | { strict: { field: string; matchAgainst?: string } }
  | { dateRange: { field: string; days: number; matchAgainst?: string } }
  | { ageRange: { field: string; years: number; matchAgainst: string } };

type Values = Record<string, string | undefined>;
/** true / false, or null when every clause it rests on was dropped for missing values. */
type Verdict = boolean | null;

const MAX_DEPTH = 16;
const MAX_CLAUSES = 64;

/** Checks a rule's shape when a type is saved; throws AppError with a pointer. */
export function checkRule(rule: unknown, pointer = '/deduplication/rules', depth = 0, count = { n: 0 }): asserts rule is Rule {
  const bad = (message: string, at = pointer): never => {
    throw new AppError('validation_failed', `De-duplication rule: ${message}`, [{ pointer: at, message }]);
  };
  if (depth > MAX_DEPTH) bad(`nested deeper than ${MAX_DEPTH}`);
  if (++count.n > MAX_CLAUSES) bad(`more than ${MAX_CLAUSES} clauses`);
  if (!rule || typeof rule !== 'object' || Array.isArray(rule)) return bad('must be an object with one operator');
  const keys = Object.keys(rule);
  if (keys.length !== 1) bad('must have exactly one operator: and, or, not, fuzzy, strict, dateRange, ageRange');
  const op = keys[0]!;
  const arg = (rule as Record<string, unknown>)[op];
  const field = (a: unknown, needAgainst = false) => {
    if (!a || typeof a !== 'object') return bad(`${op} takes an object`, `${pointer}/${op}`);
    const o = a as Record<string, unknown>;
    if (typeof o.field !== 'string' || !o.field) bad(`${op}.field must name a field`, `${pointer}/${op}/field`);
    if (o.matchAgainst !== undefined && typeof o.matchAgainst !== 'string') bad(`${op}.matchAgainst must name a field`, `${pointer}/${op}/matchAgainst`);
    if (needAgainst && typeof o.matchAgainst !== 'string') bad(`${op}.matchAgainst is required`, `${pointer}/${op}/matchAgainst`);
    return o;
  };
  switch (op) {
    case 'and':
    case 'or':
      if (!Array.isArray(arg) || !arg.length) bad(`${op} takes a non-empty list`, `${pointer}/${op}`);
      (arg as unknown[]).forEach((r, i) => checkRule(r, `${pointer}/${op}/${i}`, depth + 1, count));
      return;
    case 'not':
      checkRule(arg, `${pointer}/not`, depth + 1, count);
      return;
    case 'fuzzy': {
      const o = field(arg);
      if (o.fuzziness !== undefined && o.fuzziness !== 'AUTO' && !(Number.isInteger(o.fuzziness) && (o.fuzziness as number) >= 0 && (o.fuzziness as number) <= 3)) bad('fuzziness is "AUTO" or 0 to 3', `${pointer}/fuzzy/fuzziness`);
      return;
    }
    case 'strict':
      field(arg);
      return;
    case 'dateRange': {
      const o = field(arg);
      if (!Number.isInteger(o.days) || (o.days as number) < 0 || (o.days as number) > 36_600) bad('days is a whole number from 0 to 36600', `${pointer}/dateRange/days`);
      return;
    }
    case 'ageRange': {
      const o = field(arg, true);
      if (typeof o.years !== 'number' || o.years < 0 || o.years > 150) bad('years is a number from 0 to 150', `${pointer}/ageRange/years`);
      return;
    }
    default:
      bad(`unknown operator ${op}`);
  }
}

const dayNumber = (s: string): number | null => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return null;
  const t = Date.parse(`${s}T00:00:00Z`);
  return Number.isNaN(t) ? null : Math.round(t / 86_400_000);
};

/** Elasticsearch's AUTO fuzziness: 0 edits up to 2 characters, 1 up to 5, 2 beyond. */
const autoFuzziness = (len: number) => (len <= 2 ? 0 : len <= 5 ? 1 : 2);

function fuzzyEqual(a: string, b: string, fuzziness: 'AUTO' | number): boolean {
  const x = fold(a);
  const y = fold(b);
  if (x === y) return true;
  const wordsX = x.split(' ');
  const wordsY = y.split(' ');
  // Names in any order: every word of the shorter side has a close word on the other.
  const [short, long] = wordsX.length <= wordsY.length ? [wordsX, wordsY] : [wordsY, wordsX];
  return short.every((w) => long.some((v) => {
    if (w === v || spellingKey(w) === spellingKey(v) || sameNickname(w, v)) return true;
    const max = fuzziness === 'AUTO' ? autoFuzziness(Math.min(w.length, v.length)) : fuzziness;
    return editDistance(w, v, max) <= max || (max > 0 && jaroWinkler(w, v) >= 0.94);
  }));
}

export function evaluateRule(rule: Rule, mine: Values, theirs: Values, at: Date = new Date()): Verdict {
  if ('and' in rule) {
    let any = false;
    for (const r of rule.and) {
      const v = evaluateRule(r, mine, theirs, at);
      if (v === false) return false;
      if (v === true) any = true;
    }
    return any ? true : null;
  }
  if ('or' in rule) {
    let seen = false;
    for (const r of rule.or) {
      const v = evaluateRule(r, mine, theirs, at);
      if (v === true) return true;
      if (v === false) seen = true;
    }
    return seen ? false : null;
  }
  if ('not' in rule) {
    const v = evaluateRule(rule.not, mine, theirs, at);
    return v === null ? null : !v;
  }
  if ('fuzzy' in rule) {
    const a = mine[rule.fuzzy.field];
    const b = theirs[rule.fuzzy.matchAgainst ?? rule.fuzzy.field];
    if (!a || !b) return null;
    return fuzzyEqual(a, b, rule.fuzzy.fuzziness ?? 'AUTO');
  }
  if ('strict' in rule) {
    const a = mine[rule.strict.field];
    const b = theirs[rule.strict.matchAgainst ?? rule.strict.field];
    if (!a || !b) return null;
    return fold(a).replace(/ /g, '') === fold(b).replace(/ /g, '');
  }
  if ('dateRange' in rule) {
    const a = mine[rule.dateRange.field];
    const b = theirs[rule.dateRange.matchAgainst ?? rule.dateRange.field];
    const x = a ? dayNumber(a) : null;
    const y = b ? dayNumber(b) : null;
    if (x === null || y === null) return null;
    return Math.abs(x - y) <= rule.dateRange.days;
  }
  // ageRange: a stated age against a recorded date of birth, as of today.
  const age = Number(mine[rule.ageRange.field]);
  const dob = theirs[rule.ageRange.matchAgainst];
  const d = dob ? dayNumber(dob) : null;
  if (!Number.isFinite(age) || d === null) return null;
  const theirAge = (at.getTime() / 86_400_000 - d) / 365.25;
  return Math.abs(theirAge - age) <= rule.ageRange.years;
}
