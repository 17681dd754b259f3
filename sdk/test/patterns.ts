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
