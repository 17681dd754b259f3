/**
 * String comparison and normalisation for record linkage. Hand-written rather than a library:
 * these run on every candidate pair (millions per de-duplication pass), and the versions here
 * work on plain strings without allocation in the inner loop.
 */

/**
 * A bounded memo for the normalisations below: a register holds a few tens of thousands of
 * distinct name words, and each is folded and keyed again for every record and every candidate
 * (the regular expressions were most of the time of a de-duplication pass). Emptied when full,
 * so a stream of unique strings costs a little memory, never a leak.
 */
function memo(fn: (s: string) => string, max = 100_000): (s: string) => string {
  const cache = new Map<string, string>();
  return (s) => {
    let v = cache.get(s);
    if (v === undefined) {
      if (cache.size >= max) cache.clear();
      v = fn(s);
      cache.set(s, v);
    }
    return v;
  };
}

/** Lower case, accents removed, punctuation to spaces, runs of spaces collapsed. */
export const fold = memo(foldUncached);

function foldUncached(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[ß]/g, 'ss')
    .replace(/[æ]/g, 'ae')
    .replace(/[œ]/g, 'oe')
    .replace(/[ø]/g, 'o')
    .replace(/[đð]/g, 'd')
    .replace(/[ł]/g, 'l')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * A spelling key that collapses the variation transliteration and dictation bring: Mohammed,
 * Muhammad, Mohamed and Mouhamed all become the same key; ph/f, ou/u, double letters, silent h,
 * y/i, k/c/q, z/s. Applied to one folded word.
 */
export const spellingKey = memo(spellingKeyUncached);

function spellingKeyUncached(word: string): string {
  let w = word;
  w = w.replace(/ph/g, 'f').replace(/[cs]h/g, 's').replace(/(ck|q|c(?=[aou])|c$)/g, 'k').replace(/kh/g, 'k');
  w = w.replace(/ou/g, 'u').replace(/oo/g, 'u').replace(/ee/g, 'i').replace(/y/g, 'i').replace(/z/g, 's');
  w = w.replace(/w/g, 'v').replace(/th/g, 't').replace(/dh/g, 'd');
  w = w.replace(/(?<=.)h/g, ''); // silent h after the first letter (Mohammed → Moammed)
  w = w.replace(/(.)\1+/g, '$1'); // double letters
  // Vowels inside a word are where transliterations disagree most (Muhammad / Mohamed): keep the
  // first letter and the consonant skeleton, with a vowel marker so "ana" and "anna" still agree.
  const first = w[0] ?? '';
  const rest = w.slice(1).replace(/[aeiou]+/g, 'a').replace(/a$/, '');
  return first + rest.replace(/(.)\1+/g, '$1');
}

// Scratch flags reused across calls: this runs millions of times per de-duplication pass.
let aFlagsBuf = new Uint8Array(64);
let bFlagsBuf = new Uint8Array(64);

/** Jaro-Winkler similarity in [0, 1]. */
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return a.length ? 1 : 0;
  const la = a.length;
  const lb = b.length;
  if (!la || !lb) return 0;
  const range = Math.max(0, (Math.max(la, lb) >> 1) - 1);
  if (aFlagsBuf.length < la) aFlagsBuf = new Uint8Array(la * 2);
  if (bFlagsBuf.length < lb) bFlagsBuf = new Uint8Array(lb * 2);
  const aFlags = aFlagsBuf;
  const bFlags = bFlagsBuf;
  aFlags.fill(0, 0, la);
  bFlags.fill(0, 0, lb);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const lo = Math.max(0, i - range);
    const hi = Math.min(lb - 1, i + range);
    const c = a.charCodeAt(i);
    for (let j = lo; j <= hi; j++) {
      if (!bFlags[j] && b.charCodeAt(j) === c) {
        aFlags[i] = 1;
        bFlags[j] = 1;
        matches++;
        break;
      }
    }
  }
  if (!matches) return 0;
  let t = 0;
  let k = 0;
  for (let i = 0; i < la; i++) {
    if (!aFlags[i]) continue;
    while (!bFlags[k]) k++;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) t++;
    k++;
  }
  const m = matches;
  const jaro = (m / la + m / lb + (m - t / 2) / m) / 3;
  let prefix = 0;
  const maxPrefix = Math.min(4, la, lb);
  while (prefix < maxPrefix && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

// Scratch rows, as for Jaro-Winkler: every cell read is written first in the same call.
let rowBufs = [new Int32Array(64), new Int32Array(64), new Int32Array(64)];

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), capped at `max + 1`.
 * An import compares every candidate's dates, codes and ids with it (the first item of its
 * profile), nearly always two values far apart, so: two strings of one length that differ in one
 * or two places are answered without a table, and otherwise only the band of cells within `max`
 * of the diagonal is filled (a cell outside it is already over the cap), stopping at the first
 * row over the cap.
 */
export function editDistance(a: string, b: string, max = 3): number {
  if (a === b) return 0;
  const la = a.length;
  const lb = b.length;
  const big = max + 1;
  if (Math.abs(la - lb) > max) return big;
  if (!la) return Math.min(lb, big);
  if (!lb) return Math.min(la, big);
  if (la === lb) {
    // One substitution is 1; two differences are 1 when they are one adjacent transposition.
    let h = 0;
    let first = -1;
    for (let i = 0; i < la && h < 3; i++) {
      if (a.charCodeAt(i) === b.charCodeAt(i)) continue;
      if (h === 0) first = i;
      else if (h === 1) {
        const swapped = i === first + 1 && a.charCodeAt(first) === b.charCodeAt(i) && a.charCodeAt(i) === b.charCodeAt(first);
        if (swapped) {
          // The rest must match for the distance to be 1; otherwise it is at least 2.
          let rest = 0;
          for (let k = i + 1; k < la && rest < 2; k++) if (a.charCodeAt(k) !== b.charCodeAt(k)) rest++;
          if (rest === 0) return Math.min(1, big);
        }
      }
      h++;
    }
    if (h === 1) return Math.min(1, big);
    if (h === 2) return Math.min(2, big);
  }
  if (rowBufs[0]!.length <= lb + 1) rowBufs = [new Int32Array(lb * 2 + 2), new Int32Array(lb * 2 + 2), new Int32Array(lb * 2 + 2)];
  let [prev2, prev, cur] = rowBufs as [Int32Array, Int32Array, Int32Array];
  // Row 0 inside the band, and the first cell past it (read as "delete" by the next row).
  const top = Math.min(lb, max);
  for (let j = 0; j <= top; j++) prev[j] = j;
  if (top < lb) prev[top + 1] = big;
  for (let i = 1; i <= la; i++) {
    const lo = i - max > 1 ? i - max : 1;
    const hi = i + max < lb ? i + max : lb;
    // The cell left of the band: the first column inside it, over the cap outside it.
    cur[lo - 1] = lo === 1 ? i : big;
    let rowMin = big;
    const ca = a.charCodeAt(i - 1);
    const ca2 = i > 1 ? a.charCodeAt(i - 2) : -1;
    for (let j = lo; j <= hi; j++) {
      const cb = b.charCodeAt(j - 1);
      let v = prev[j - 1]! + (ca === cb ? 0 : 1);
      const del = prev[j]! + 1;
      if (del < v) v = del;
      const ins = cur[j - 1]! + 1;
      if (ins < v) v = ins;
      if (j > 1 && ca === b.charCodeAt(j - 2) && ca2 === cb) {
        const t = prev2[j - 2]! + 1;
        if (t < v) v = t;
      }
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return big;
    if (hi < lb) cur[hi + 1] = big;
    const t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return Math.min(prev[lb]!, big);
}

const SOUNDEX: Record<string, string> = { b: '1', f: '1', p: '1', v: '1', c: '2', g: '2', j: '2', k: '2', q: '2', s: '2', x: '2', z: '2', d: '3', t: '3', l: '4', m: '5', n: '5', r: '6' };

/** American Soundex, for blocking keys. */
export const soundex = memo(soundexUncached);

function soundexUncached(word: string): string {
  const w = word.replace(/[^a-z]/g, '');
  if (!w) return '';
  const codes = SOUNDEX;
  let out = w[0]!;
  let last = codes[w[0]!] ?? '';
  for (let i = 1; i < w.length && out.length < 4; i++) {
    const ch = w[i]!;
    const code = codes[ch] ?? '';
    if (code && code !== last) out += code;
    if (ch !== 'h' && ch !== 'w') last = code;
  }
  return out.padEnd(4, '0');
}

/**
 * How much two written names resemble each other, 0..1, word order and punctuation aside: each
 * word of the shorter name is matched with its best word of the other (1 the same word, 0.97 the
 * same spelling key, else Jaro-Winkler), and the mean is taken. "Curie Dupont", "Curie-Dupont"
 * and "DUPONT Curie" score 1; "Curie Dupond" about 0.97.
 */
export function nameResemblance(a: string, b: string): number {
  const wa = fold(a).split(' ').filter(Boolean);
  const wb = fold(b).split(' ').filter(Boolean);
  if (!wa.length || !wb.length) return 0;
  const [short, long] = wa.length <= wb.length ? [wa, wb] : [wb, wa];
  // Words glued together on one side ("curiedupont") count as the other side's words joined.
  if (short.length === 1 && long.length > 1 && short[0] === long.join('')) return 1;
  let total = 0;
  for (const w of short) {
    let best = 0;
    for (const v of long) best = Math.max(best, v === w ? 1 : spellingKey(v) === spellingKey(w) ? 0.97 : jaroWinkler(v, w));
    total += best;
  }
  // A name with extra words resembles less: "Curie" is not "Curie Dupont".
  return (total / short.length) * (short.length / long.length) ** 0.25;
}
