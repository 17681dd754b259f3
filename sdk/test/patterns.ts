/**
 * Patterns a person may give an instrument's text field, shared by the SDK's pattern engine tests
 * and the server's re2js matcher tests: both engines must answer as the browser's native engine,
 * the reference, does on each.
 */
/** The reference: what a browser's `pattern` attribute would do with a safe pattern. */
export const native = (p: string, v: string) => new RegExp(`^(?:${p})$`, 'u').test(v);

export const SAFE_PATTERNS = [
  '[0-9]{5}',
  '\\d{3}-\\d{4}',
  '[A-Z]{2}\\d{6}',
  '[A-Za-z]+( [A-Za-z]+)*',
  '[^@\\s]+@[^@\\s]+\\.[a-z]{2,}',
  '(?:ab)*c',
  'a|b|cd',
  '^a|b$',
  'x{2,4}',
  'x{2,}y?',
  '.*',
  '[\\-a]+',
  '[^abc]?z',
  '\\w+',
  '\\S\\s\\S',
  '(\\d{1,3}\\.){3}\\d{1,3}',
  '\\u00e9+',
  '[a-c]*b[a-c]*',
  '(-\\d+)*',
  'colou?r',
  '\\.\\*\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\\\\\/',
  '[\\d.]+',
  '[a-z]+( [a-z]+){0,3}',
  '(.*a){2}',
];

/** Patterns with a value each and the answer every engine must give (the native one included). */
export const PATTERN_CASES: [pattern: string, value: string, matches: boolean][] = [
  ['[0-9]{5}', '75001', true],
  ['[0-9]{5}', '7500', false],
  ['[0-9]{5}', '750011', false],
  ['a|b', 'ab', false],
  ['[A-Za-z]+( [A-Za-z]+)*', 'Jean Paul Sartre', true],
  ['[A-Za-z]+( [A-Za-z]+)*', 'Jean  Paul', false],
  ['(?:ab)*c', 'ababc', true],
  ['(?:ab)*c', 'abac', false],
  ['.*', '', true],
  ['.', '\n', false],
  ['.', '😀', true],
  ['😀{2}', '😀😀', true],
  ['\\u{1F600}', '😀', true],
  ['[é-ë]', 'ê', true],
  ['\\s', '\u00a0', true],
  ['\\t\\n\\r\\f\\v\\0', '\t\n\r\f\v\0', true],
];
