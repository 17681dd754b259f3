/**
 * Rules for file paths inside a dataset. A dataset is downloaded onto Linux, macOS and Windows
 * machines and unpacked by zip/tar tools, so a path must mean the same file everywhere: relative,
 * `/`-separated, NFC-normalised UTF-8, no name that Windows reserves or silently rewrites, and no two
 * names that a case-insensitive filesystem would merge. See docs/datasets.md.
 */

export type PathErrorCode =
  | 'path_invalid'
  | 'path_traversal'
  | 'path_too_long'
  | 'path_case_collision'
  | 'path_conflict'
  | 'path_not_found';

export interface PathProblem {
  code: PathErrorCode;
  path: string;
  message: string;
  /** The existing path it collides or conflicts with, when there is one. */
  other?: string;
}

/** Storage-independent error; the dataset service maps codes onto the HTTP error catalog. */
export class PathError extends Error {
  readonly code: PathErrorCode;
  readonly path: string;
  readonly other: string | undefined;
  /** Every problem found when a whole list was checked (capped), the first one being this error. */
  readonly problems: PathProblem[];
  constructor(problem: PathProblem, problems?: PathProblem[]) {
    super(problem.message);
    this.name = 'PathError';
    this.code = problem.code;
    this.path = problem.path;
    this.other = problem.other;
    this.problems = problems ?? [problem];
  }
}

export const isPathError = (e: unknown): e is PathError => e instanceof PathError;

export const PATH_LIMITS = { segmentBytes: 255, pathBytes: 1024 } as const;

// C0 and C1 controls and DEL; NUL included.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Characters Windows forbids in names (besides controls and the separators).
const WINDOWS_FORBIDDEN = /[<>:"|?*]/;
// Device names Windows reserves with any extension (`nul.txt` opens the NUL device), plus the
// superscript-digit variants newer Windows also treats as devices.
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\.|$)/i;
// With the u flag, \p{Cs} only matches surrogates that are not part of a pair.
const LONE_SURROGATE = /\p{Cs}/u;
const utf8 = new TextEncoder();
const byteLength = (s: string) => (isAscii(s) ? s.length : utf8.encode(s).length);

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function problem(code: PathErrorCode, path: string, message: string, other?: string): PathProblem {
  return other === undefined ? { code, path, message } : { code, path, message, other };
}

const show = (s: string) => JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…` : s);

/**
 * Checks one file path and returns its canonical form (NFC), or the problem. `input` is what the
 * client sent; nothing is silently repaired except Unicode normalisation, because "fixing" `a//b`
 * or `./a` would make two different requests address the same file.
 */
export function checkPath(input: unknown): { path: string } | { problem: PathProblem } {
  if (typeof input !== 'string') return { problem: problem('path_invalid', String(input), 'A path must be a string') };
  if (input === '') return { problem: problem('path_invalid', input, 'A path must not be empty') };
  if (LONE_SURROGATE.test(input)) return { problem: problem('path_invalid', input, `Path ${show(input)} is not valid Unicode`) };
  const ascii = isAscii(input);
  if (ascii) {
    const fast = asciiProblem(input);
    if (fast !== false) return fast === undefined ? { path: input } : { problem: fast };
  }
  const path = ascii ? input : input.normalize('NFC');
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path)) {
    return { problem: problem('path_traversal', path, `Path ${show(path)} is absolute; dataset paths are relative to the dataset root`) };
  }
  if (path.includes('\\')) {
    return { problem: problem('path_invalid', path, `Path ${show(path)} contains a backslash; use / to separate folders`) };
  }
  if (CONTROL.test(path)) {
    return { problem: problem('path_invalid', path, `Path ${show(path)} contains a NUL or control character`) };
  }
  if (byteLength(path) > PATH_LIMITS.pathBytes) {
    return { problem: problem('path_too_long', path, `Path ${show(path)} is longer than ${PATH_LIMITS.pathBytes} bytes`) };
  }
  const segments = path.split('/');
  for (const seg of segments) {
    const p = segmentProblem(seg, path);
    if (p) return { problem: p };
  }
  return { path };
}

/**
 * One pass over a plain-ASCII path (the common case: 20,000-file commits check every path). Returns
 * undefined when valid, the problem when it is certain, or false to fall back to the general rules.
 */
function asciiProblem(path: string): PathProblem | undefined | false {
  if (path.length > PATH_LIMITS.pathBytes) return false;
  let segStart = 0;
  for (let i = 0; i <= path.length; i++) {
    const c = i === path.length ? 0x2f : path.charCodeAt(i);
    if (c === 0x2f) {
      const len = i - segStart;
      if (len === 0 || len > PATH_LIMITS.segmentBytes) return false;
      const first = path.charCodeAt(segStart);
      const last = path.charCodeAt(i - 1);
      if (last === 0x2e || last === 0x20) return false; // '.', '..', trailing dot or space
      // Only names starting with c, p, a, n or l can be Windows device names.
      if ((first | 0x20) === 0x63 || (first | 0x20) === 0x70 || (first | 0x20) === 0x61 || (first | 0x20) === 0x6e || (first | 0x20) === 0x6c) {
        if (WINDOWS_DEVICE.test(path.slice(segStart, i))) return false;
      }
      segStart = i + 1;
      continue;
    }
    // Controls, DEL, and the characters handled by the general rules: " * : < > ? \ |
    if (c < 0x20 || c === 0x7f || c === 0x22 || c === 0x2a || c === 0x3a || c === 0x3c || c === 0x3e || c === 0x3f || c === 0x5c || c === 0x7c) {
      return false;
    }
  }
  return undefined;
}

function segmentProblem(seg: string, path: string): PathProblem | undefined {
  if (seg === '') return problem('path_invalid', path, `Path ${show(path)} has an empty segment (leading, trailing or doubled /)`);
  if (seg === '..') return problem('path_traversal', path, `Path ${show(path)} contains a .. segment`);
  if (seg === '.') return problem('path_invalid', path, `Path ${show(path)} contains a . segment`);
  if (byteLength(seg) > PATH_LIMITS.segmentBytes) {
    return problem('path_too_long', path, `Name ${show(seg)} is longer than ${PATH_LIMITS.segmentBytes} bytes`);
  }
  if (WINDOWS_FORBIDDEN.test(seg)) {
    return problem('path_invalid', path, `Name ${show(seg)} contains one of < > : " | ? * which Windows does not allow`);
  }
  if (seg.endsWith('.') || seg.endsWith(' ')) {
    return problem('path_invalid', path, `Name ${show(seg)} ends with a dot or space, which Windows strips`);
  }
  if (WINDOWS_DEVICE.test(seg)) {
    return problem('path_invalid', path, `Name ${show(seg)} is reserved (a Windows device name)`);
  }
  return undefined;
}

/** Canonical form of a file path, or throws PathError. */
export function normalizePath(input: unknown): string {
  const r = checkPath(input);
  if ('problem' in r) throw new PathError(r.problem);
  return r.path;
}

/** Like normalizePath for a folder: `''`, `/` and `.` mean the root, and one trailing `/` is allowed. */
export function normalizeFolderPath(input: unknown): string {
  if (input === '' || input === '/' || input === '.' || input === undefined) return '';
  if (typeof input === 'string' && input.endsWith('/') && !input.endsWith('//')) return normalizePath(input.slice(0, -1));
  return normalizePath(input);
}

/**
 * Case folding used to find names a case-insensitive filesystem would merge. Upper-then-lower maps
 * `ß`/`SS`/`ss` and most other multi-form letters together; it need not match any one filesystem
 * exactly, only be at least as strict as the common ones.
 */
export function foldCase(name: string): string {
  return isAscii(name) ? name.toLowerCase() : name.toUpperCase().toLowerCase();
}

/**
 * Orders names by Unicode code point, which is also UTF-8 byte order. JavaScript's `<` compares
 * UTF-16 code units and puts astral characters before U+E000–U+FFFF; tree hashes must not depend
 * on that quirk, since other implementations (the CLI, third parties) recompute them.
 */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        const xs = x <= 0xdfff;
        const ys = y <= 0xdfff;
        if (xs !== ys) return xs ? 1 : -1;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

const HIGH = /[\ud800-\uffff]/;

/** Sorts names in place by code point; uses the engine's native order when it provably agrees. */
export function sortNames(names: string[]): string[] {
  for (const n of names) if (HIGH.test(n)) return names.sort(compareNames);
  return names.sort();
}

/** Sorts objects in place by a string key in code-point order (see sortNames). */
export function sortByKey<T>(items: T[], key: (t: T) => string): T[] {
  for (const t of items) {
    if (HIGH.test(key(t))) return items.sort((a, b) => compareNames(key(a), key(b)));
  }
  return items.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/**
 * Finds case collisions and file/folder conflicts in a list of already-normalised file paths, in
 * O(total segments). Returns at most `limit` problems, in input order.
 */
export function findTreeConflicts(paths: Iterable<string>, limit = 100): PathProblem[] {
  const problems: PathProblem[] = [];
  // folded path → the spelling first seen, for files and for folders (every proper prefix).
  const files = new Map<string, string>();
  const folders = new Map<string, string>();
  const push = (p: PathProblem) => {
    if (problems.length < limit) problems.push(p);
  };
  const all: string[] = [];
  for (const path of paths) {
    all.push(path);
    const folded = foldCase(path);
    const prev = files.get(folded);
    if (prev === undefined) files.set(folded, path);
    else if (prev === path) push(problem('path_conflict', path, `Path ${show(path)} appears more than once`, prev));
    else push(problem('path_case_collision', path, `Path ${show(path)} differs only by case from ${show(prev)}`, prev));
    let i = path.indexOf('/');
    while (i !== -1) {
      const dir = path.slice(0, i);
      const fdir = folded.slice(0, foldedIndex(path, folded, i));
      const seen = folders.get(fdir);
      if (seen === undefined) folders.set(fdir, dir);
      else if (seen !== dir) {
        push(problem('path_case_collision', path, `Folder ${show(dir)} differs only by case from ${show(seen)}`, seen));
        break;
      }
      i = path.indexOf('/', i + 1);
    }
    if (problems.length >= limit) return problems;
  }
  for (const path of all) {
    const folded = foldCase(path);
    const dir = folders.get(folded);
    if (dir !== undefined) {
      push(problem('path_conflict', path, `${show(path)} is a file but ${show(dir)} is also used as a folder`, dir));
      if (problems.length >= limit) break;
    }
  }
  return problems;
}

/**
 * Position in the folded string matching position `i` of the original. Folding can change length
 * (`ß` → `ss`), so when it did, fold the prefix itself.
 */
function foldedIndex(path: string, folded: string, i: number): number {
  return path.length === folded.length ? i : foldCase(path.slice(0, i)).length;
}

/** Validates and normalises a whole list of paths, throwing one PathError listing every problem (capped). */
export function normalizePaths(inputs: readonly unknown[], limit = 100): string[] {
  const out: string[] = new Array(inputs.length);
  const problems: PathProblem[] = [];
  for (let i = 0; i < inputs.length; i++) {
    const r = checkPath(inputs[i]);
    if ('problem' in r) {
      if (problems.length < limit) problems.push(r.problem);
    } else out[i] = r.path;
  }
  if (problems.length === 0) problems.push(...findTreeConflicts(out, limit));
  if (problems.length > 0) throw new PathError(problems[0]!, problems);
  return out;
}
