import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePattern } from '@cairn/sdk/instruments';
import { AppError } from './errors.js';
import { PATTERN_CHARS_PER_TURN, wholeValueMatcher } from './linear-regex.js';
import { PATTERN_CASES, SAFE_PATTERNS, native } from '../../../sdk/test/patterns.js';

/**
 * The server matches instrument patterns with re2js (wholeValueMatcher) instead of the SDK's
 * interpreted engine: both must give the same answer, and the browser's native engine is the
 * reference (sdk/test/patterns.ts: the patterns and cases both test files use).
 */

describe('wholeValueMatcher (re2js) for instrument patterns', () => {
  it('compiles every safe pattern and answers the table like the SDK and the browser', () => {
    for (const [p, v, expected] of PATTERN_CASES) {
      const m = wholeValueMatcher(p);
      
      expect(m(v), `${p} on ${JSON.stringify(v)}`).toBe(expected);
      expect(compilePattern(p).test(v)).toBe(expected);
    }
  });

  it('agrees with the SDK engine and the native engine on random inputs', () => {
    for (const p of SAFE_PATTERNS) expect(wholeValueMatcher(p), p).toBeDefined();
    const alphabet = fc.constantFrom(...'abcxyz019 -.@AZé😀\n_\r\u2028\u00a0'.split(/(?:)/u));
    fc.assert(
      fc.property(fc.constantFrom(...SAFE_PATTERNS), fc.array(alphabet, { maxLength: 20 }), (p, chars) => {
        const v = chars.join('');
        const expected = native(p, v);
        expect(wholeValueMatcher(p)(v)).toBe(expected);
        expect(compilePattern(p).test(v)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('stops a turn of the event loop after PATTERN_CHARS_PER_TURN characters, and starts afresh on the next', async () => {
    await new Promise((r) => setImmediate(r));
    const m = wholeValueMatcher('[a-z]+( [a-z]+)*');
    const text = 'abc '.repeat(2500).trim(); // 9,999 characters
    const fits = Math.floor(PATTERN_CHARS_PER_TURN / text.length);
    for (let i = 0; i < fits; i++) expect(m(text)).toBe(true);
    let refused: unknown;
    try {
      m(text);
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('validation_budget_exceeded');
    await new Promise((r) => setImmediate(r));
    expect(m(text)).toBe(true);
    // A pattern re2js refuses runs on the SDK's engine, charged 25 characters a character.
    await new Promise((r) => setImmediate(r));
    const own = wholeValueMatcher('[\\S]+');
    expect(own('abc')).toBe(true);
    expect(() => own('x'.repeat(Math.ceil(PATTERN_CHARS_PER_TURN / 25) + 1))).toThrow(AppError);
  });
});
