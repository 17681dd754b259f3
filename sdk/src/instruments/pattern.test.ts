import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PatternError, compilePattern, matchesPattern } from './pattern.engine.js';
import { PATTERN_CASES, SAFE_PATTERNS, native } from '../../test/patterns.js';


describe('matchesPattern', () => {
  it.each(PATTERN_CASES)('%s on %j is %s', (p, v, expected) => {
    expect(matchesPattern(p, v)).toBe(expected);
    expect(native(p, v)).toBe(expected);
  });

  it('agrees with the native engine on random inputs for every safe pattern', () => {
    const alphabet = fc.constantFrom(...'abcxyz019 -.@AZé😀\n_'.split(/(?:)/u));
    fc.assert(
      fc.property(fc.constantFrom(...SAFE_PATTERNS), fc.array(alphabet, { maxLength: 20 }), (p, chars) => {
        const v = chars.join('');
        expect(matchesPattern(p, v)).toBe(native(p, v));
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with the native engine on strings built to match', () => {
    expect(matchesPattern('(\\d{1,3}\\.){3}\\d{1,3}', '192.168.0.1')).toBe(true);
    expect(matchesPattern('[^@\\s]+@[^@\\s]+\\.[a-z]{2,}', 'ana@example.org')).toBe(true);
    expect(matchesPattern('(-\\d+)*', '-1-22-333')).toBe(true);
    expect(matchesPattern('\\.\\*\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\\\\\/', '.*?()[]{}|^$\\/')).toBe(true);
  });

  it('runs in linear time on inputs that make backtracking engines explode', () => {
    // Polynomial for a backtracking engine (n^4 here); a single pass for the NFA.
    expect(matchesPattern('[a-z]*[a-z]*[a-z]*[a-z]*x', 'a'.repeat(20_000))).toBe(false);
    expect(matchesPattern('(?:a?){30}a{30}', 'a'.repeat(30))).toBe(true);
  });
});

describe('compilePattern refuses', () => {
  it.each([
    ['(a+)+$', /unbounded repetition/],
    ['(a*)*', /unbounded repetition/],
    ['(\\w+\\s?)+', /unbounded repetition/],
    ['(a|a)*', /alternation/],
    ['(a|aa)+b', /alternation/],
    ['( a*a*)*', /unbounded repetition/],
    ['([a-z]+)*', /unbounded repetition/],
    ['( [a-z ]+)*', /unbounded repetition/],
    ['(a{1,2})+', /unbounded repetition/],
    ['(x+x+)+y', /unbounded repetition/],
    ['(.*a){12}', /repeated more than twice/],
    ['(a+b?){3}', /repeated more than twice/],
    ['\\1', /backreferences/],
    ['(a)\\1', /backreferences/],
    ['(?=a)', /lookaround/],
    ['(?!a)', /lookaround/],
    ['(?<=a)b', /lookaround/],
    ['(?<n>a)', /named groups/],
    ['\\b', /word boundaries/],
    ['\\p{L}', /unknown escape/],
    ['a{1000}', /at most 100/],
    ['a{3,2}', /n <= m/],
    ['(a{100}){100}', /more than 5000/],
    ['[b-a]', /out of order/],
    ['[]', /empty class/],
    ['[abc', /missing "]"/],
    ['(abc', /missing "\)"/],
    ['abc)', /unmatched/],
    ['a**', /nothing to repeat/],
    ['*a', /nothing to repeat/],
    ['{2}', /nothing to repeat/],
    ['a{', /quantifier/],
    ['^*', /anchor/],
    ['\\', /backslash/],
    ['\\u12', /hex/],
    ['\\01', /octal/],
    ['[\\d-z]', /single characters/],
  ])('%s', (p, message) => {
    expect(() => compilePattern(p)).toThrow(PatternError);
    expect(() => compilePattern(p)).toThrow(message);
  });

  it('patterns longer than the limit', () => {
    expect(() => compilePattern('a'.repeat(501))).toThrow(/longer than 500/);
  });

  it('every pattern it accepts is also a valid JavaScript pattern', () => {
    for (const p of SAFE_PATTERNS) {
      expect(() => compilePattern(p)).not.toThrow();
      expect(() => new RegExp(p, 'u')).not.toThrow();
    }
  });
});
