import { RE2JS } from 're2js';
import { compilePattern } from '@cairn/sdk/instruments';
import { AppError } from './errors.js';

/**
 * Regular expressions written by users (event-type `pattern` and `patternProperties`, formats)
 * run on re2js, an RE2-class engine: matching time is linear in the input, whatever the pattern.
 * V8's own engine backtracks, so `^[a-z]*[a-z]*[a-z]*b$` or `.*a.*a.*a.*b` could hold the event
 * loop for minutes on a few thousand characters; no syntactic lint catches every such shape.
 *
 * JSON Schema patterns are ECMA-262 regular expressions (with the `u` flag). RE2's syntax differs
 * in a few places, so the source is translated first:
 * - `\uXXXX` and `\u{X...}` become `\x{...}`;
 * - `.` excludes the four ECMA line terminators (RE2's excludes only `\n`);
 * - `\s` and `\S` outside a class stand for ECMA's Unicode white space; inside a class `\s`
 *   expands to it, and `\S` inside a class is refused (RE2 cannot express it there);
 * - `^` and `$` already mean start and end of input in both (no `m` flag in JSON Schema).
 * What RE2 cannot run in linear time is refused when the pattern is registered: backreferences,
 * lookahead and lookbehind, and other syntax outside RE2.
 */
export class LinearRegexError extends Error {
  override readonly name = 'LinearRegexError';
}

export interface LinearRegex {
  readonly source: string;
  /** Searches anywhere in the input, like RegExp.prototype.test without the g flag. */
  test(input: string): boolean;
}

// Captured at load: the event-type validator swaps the global binding while it runs (see there).
const NativeRegExp = RegExp;
const SPACES = '\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}';
const DOT = '[^\\n\\r\\x{2028}\\x{2029}]';

/** ECMA-262 (u flag) syntax to RE2 syntax; throws LinearRegexError for what RE2 cannot express. */
export function toRe2Syntax(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const n = source[i + 1];
      if (n === undefined) throw new LinearRegexError('ends with a backslash');
      if (n === 'u') {
        const braced = /^\{([0-9a-fA-F]{1,6})\}/.exec(source.slice(i + 2, i + 11));
        const four = /^[0-9a-fA-F]{4}/.exec(source.slice(i + 2, i + 6));
        if (braced) {
          out += `\\x{${braced[1]}}`;
          i += 1 + braced[0].length;
        } else if (four) {
          out += `\\x{${four[0]}}`;
          i += 5;
        } else throw new LinearRegexError('\\u needs four hex digits or \\u{...}');
        continue;
      }
      if (n === 's') out += inClass ? SPACES : `[${SPACES}]`;
      else if (n === 'S') {
        if (inClass) throw new LinearRegexError('\\S inside a character class is not supported by the linear-time engine');
        out += `[^${SPACES}]`;
      } else if (/[1-9]/.test(n) || n === 'k') throw new LinearRegexError('backreferences are not supported (they cannot run in linear time)');
      else out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // A `]` right after `[` or `[^` is a syntax error in ECMA with the u flag; copy `^` as is.
      if (source[i + 1] === '^') {
        out += '^';
        i++;
      }
      continue;
    }
    if (c === '(' && source[i + 1] === '?' && (source[i + 2] === '=' || source[i + 2] === '!' || (source[i + 2] === '<' && (source[i + 3] === '=' || source[i + 3] === '!')))) {
      throw new LinearRegexError('lookahead and lookbehind are not supported (they cannot run in linear time)');
    }
    out += c === '.' ? DOT : c;
  }
  return out;
}

/** Compiles a user's pattern for linear-time matching; throws LinearRegexError if it is refused. */
export function compileLinear(source: string): LinearRegex {
  try {
    // The pattern must first be a valid ECMA-262 pattern: JSON Schema's definition of `pattern`.
    // Compiling (not running) a native RegExp is linear in the pattern's length.
    new NativeRegExp(source, 'u');
  } catch {
    throw new LinearRegexError('is not a valid regular expression (ECMA-262 with the u flag)');
  }
  const translated = toRe2Syntax(source);
  let re: RE2JS;
  try {
    re = RE2JS.compile(translated);
  } catch (e) {
    const detail = e instanceof Error ? e.message.replace(/^error parsing regexp: /, '') : 'invalid';
    throw new LinearRegexError(`is not supported by the linear-time engine (${detail})`);
  }
  return { source, test: (input: string) => re.test(input) };
}

const cache = new Map<string, LinearRegex>();
const CACHE_SIZE = 1000;

/** compileLinear with a bounded cache: schemas are compiled once, but patterns repeat across types. */
export function linearRegex(source: string): LinearRegex {
  let r = cache.get(source);
  if (!r) {
    r = compileLinear(source);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(source, r);
  }
  return r;
}

/**
 * Characters of instrument-pattern matching allowed per turn of the event loop. re2js costs up to
 * about 0.4 µs a character on the patterns instruments allow, so this bounds what one request can
 * hold the loop for to some 80 ms, whatever the body holds (a repeated group of 1,000 texts of
 * 10,000 characters each would otherwise be seconds). Counted in characters, not time, so a busy
 * machine does not turn a valid answer into a refusal. Applies from the start of a synchronous
 * run until the event loop next reaches its check phase.
 */
export const PATTERN_CHARS_PER_TURN = 200_000;
let charsThisTurn = 0;
let resetScheduled = false;
const chargeChars = (n: number) => {
  if (!resetScheduled) {
    resetScheduled = true;
    setImmediate(() => {
      charsThisTurn = 0;
      resetScheduled = false;
    });
  }
  charsThisTurn += n;
  if (charsThisTurn > PATTERN_CHARS_PER_TURN) {
    throw new AppError('validation_budget_exceeded', `More than ${PATTERN_CHARS_PER_TURN.toLocaleString('en')} characters of pattern-checked answers in one request; send them in smaller parts`, [{ pointer: '', message: 'too much pattern-checked text at once' }]);
  }
};

/**
 * A whole-value matcher for an instrument pattern (sdk pattern.engine's syntax, already accepted
 * by its compilePattern), on re2js; when the translation or RE2 refuses it, the
 * SDK's own linear engine then runs it (charged 25 characters a character). Throws 422 validation_budget_exceeded past
 * PATTERN_CHARS_PER_TURN.
 */
export function wholeValueMatcher(source: string): (value: string) => boolean {
  let re: RE2JS;
  try {
    re = RE2JS.compile(`^(?:${toRe2Syntax(source)})$`);
  } catch {
    // Still linear, about 25 times slower a character: charged as such.
    const own = compilePattern(source);
    return (value: string) => {
      chargeChars(value.length * 25);
      return own.test(value);
    };
  }
  return (value: string) => {
    chargeChars(value.length);
    return re.test(value);
  };
}
