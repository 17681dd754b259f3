import { format } from '@cfworker/json-schema';
import { RE2JS } from 're2js';

/**
 * The `format` checks event-type schemas may ask for, replacing @cfworker/json-schema's own table.
 * Some of its checks were backtracking regular expressions: `url` took 4.5 s on 30 characters and
 * minutes on 1,000 (issue 10). Here every check is either straight-line code or an RE2-class
 * expression (re2js, linear in the input), and every format has a length above which a value is
 * not in that format, so each check costs at most a few milliseconds whatever the input.
 *
 * Formats this table does not know are annotations (JSON Schema 2020-12's default): they pass.
 */

/** Above these lengths a value is refused without looking further (documented in docs/security.md). */
export const FORMAT_MAX_LENGTH = {
  date: 10,
  time: 64,
  'date-time': 80,
  duration: 80,
  uri: 8192,
  'uri-reference': 8192,
  'uri-template': 8192,
  url: 8192,
  email: 320,
  hostname: 254,
  ipv4: 15,
  ipv6: 45,
  regex: 1024,
  uuid: 45,
  'json-pointer': 8192,
  'json-pointer-uri-fragment': 8192,
  'relative-json-pointer': 8192,
} as const;
export type FormatName = keyof typeof FORMAT_MAX_LENGTH;

// The expressions of @cfworker/json-schema 4.1.1, run by re2js instead of V8.
const URI_PATTERN = "^(?:[a-z][a-z0-9+\\-.]*:)(?:\\/?\\/(?:(?:[a-z0-9\\-._~!$&'()*+,;=:]|%[0-9a-f]{2})*@)?(?:\\[(?:(?:(?:(?:[0-9a-f]{1,4}:){6}|::(?:[0-9a-f]{1,4}:){5}|(?:[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){4}|(?:(?:[0-9a-f]{1,4}:){0,1}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){3}|(?:(?:[0-9a-f]{1,4}:){0,2}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){2}|(?:(?:[0-9a-f]{1,4}:){0,3}[0-9a-f]{1,4})?::[0-9a-f]{1,4}:|(?:(?:[0-9a-f]{1,4}:){0,4}[0-9a-f]{1,4})?::)(?:[0-9a-f]{1,4}:[0-9a-f]{1,4}|(?:(?:25[0-5]|2[0-4]\\d|[01]?\\d\\d?)\\.){3}(?:25[0-5]|2[0-4]\\d|[01]?\\d\\d?))|(?:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})?::[0-9a-f]{1,4}|(?:(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4})?::)|[Vv][0-9a-f]+\\.[a-z0-9\\-._~!$&'()*+,;=:]+)\\]|(?:(?:25[0-5]|2[0-4]\\d|[01]?\\d\\d?)\\.){3}(?:25[0-5]|2[0-4]\\d|[01]?\\d\\d?)|(?:[a-z0-9\\-._~!$&'()*+,;=]|%[0-9a-f]{2})*)(?::\\d*)?(?:\\/(?:[a-z0-9\\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})*)*|\\/(?:(?:[a-z0-9\\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})+(?:\\/(?:[a-z0-9\\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})*)*)?|(?:[a-z0-9\\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})+(?:\\/(?:[a-z0-9\\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})*)*)(?:\\?(?:[a-z0-9\\-._~!$&'()*+,;=:@/?]|%[0-9a-f]{2})*)?(?:#(?:[a-z0-9\\-._~!$&'()*+,;=:@/?]|%[0-9a-f]{2})*)?$";
const URIREF = "^(?:[a-z][a-z0-9+\\-.]*:)?(?:\\/?\\/(?:(?:[a-z0-9\\-._~!$&'()*+,;=:]|%[0-9a-f]{2})*@)?(?:\\[(?:(?:(?:(?:[0-9a-f]{1,4}:){6}|::(?:[0-9a-f]{1,4}:){5}|(?:[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){4}|(?:(?:[0-9a-f]{1,4}:){0,1}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){3}|(?:(?:[0-9a-f]{1,4}:){0,2}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){2}|(?:(?:[0-9a-f]{1,4}:){0,3}[0-9a-f]{1,4})?::[0-9a-f]{1,4}:|(?:(?:[0-9a-f]{1,4}:){0,4}[0-9a-f]{1,4})?::)(?:[0-9a-f]{1,4}:[0-9a-f]{1,4}|(?:(?:25[0-5]|2[0-4]\\d|[01]?\\d\\d?)\\.){3}(?:25[0-5]|2[0-4]\\d|[01]?\\d\\d?))|(?:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})?::[0-9a-f]{1,4}|(?:(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4})?::)|[Vv][0-9a-f]+\\.[a-z0-9\\-._~!$&'()*+,;=:]+)\\]|(?:(?:25[0-5]|2[0-4]\\d|[01]?\\d\\d?)\\.){3}(?:25[0-5]|2[0-4]\\d|[01]?\\d\\d?)|(?:[a-z0-9\\-._~!$&'\"()*+,;=]|%[0-9a-f]{2})*)(?::\\d*)?(?:\\/(?:[a-z0-9\\-._~!$&'\"()*+,;=:@]|%[0-9a-f]{2})*)*|\\/(?:(?:[a-z0-9\\-._~!$&'\"()*+,;=:@]|%[0-9a-f]{2})+(?:\\/(?:[a-z0-9\\-._~!$&'\"()*+,;=:@]|%[0-9a-f]{2})*)*)?|(?:[a-z0-9\\-._~!$&'\"()*+,;=:@]|%[0-9a-f]{2})+(?:\\/(?:[a-z0-9\\-._~!$&'\"()*+,;=:@]|%[0-9a-f]{2})*)*)?(?:\\?(?:[a-z0-9\\-._~!$&'\"()*+,;=:@/?]|%[0-9a-f]{2})*)?(?:#(?:[a-z0-9\\-._~!$&'\"()*+,;=:@/?]|%[0-9a-f]{2})*)?$";
const URITEMPLATE = "^(?:(?:[^\\x00-\\x20\"'<>%\\\\^`{|}]|%[0-9a-f]{2})|\\{[+#./;?&=,!@|]?(?:[a-z0-9_]|%[0-9a-f]{2})+(?::[1-9][0-9]{0,3}|\\*)?(?:,(?:[a-z0-9_]|%[0-9a-f]{2})+(?::[1-9][0-9]{0,3}|\\*)?)*\\})*$";
const IPV4 = "^(?:(?:25[0-5]|2[0-4]\\d|[01]?\\d\\d?)\\.){3}(?:25[0-5]|2[0-4]\\d|[01]?\\d\\d?)$";
const IPV6 = "^((([0-9a-f]{1,4}:){7}([0-9a-f]{1,4}|:))|(([0-9a-f]{1,4}:){6}(:[0-9a-f]{1,4}|((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3})|:))|(([0-9a-f]{1,4}:){5}(((:[0-9a-f]{1,4}){1,2})|:((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3})|:))|(([0-9a-f]{1,4}:){4}(((:[0-9a-f]{1,4}){1,3})|((:[0-9a-f]{1,4})?:((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}))|:))|(([0-9a-f]{1,4}:){3}(((:[0-9a-f]{1,4}){1,4})|((:[0-9a-f]{1,4}){0,2}:((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}))|:))|(([0-9a-f]{1,4}:){2}(((:[0-9a-f]{1,4}){1,5})|((:[0-9a-f]{1,4}){0,3}:((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}))|:))|(([0-9a-f]{1,4}:){1}(((:[0-9a-f]{1,4}){1,6})|((:[0-9a-f]{1,4}){0,4}:((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}))|:))|(:(((:[0-9a-f]{1,4}){1,7})|((:[0-9a-f]{1,4}){0,5}:((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}))|:)))$";
const UUID = "^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$";
const DURATION_WEEKS = "^P\\d+([.,]\\d+)?W$";
const DURATION_SHAPE = "^P[\\dYMDTHS]*(\\d[.,]\\d+)?[YMDHS]$";
const DURATION_ORDER = "^P([.,\\d]+Y)?([.,\\d]+M)?([.,\\d]+D)?(T([.,\\d]+H)?([.,\\d]+M)?([.,\\d]+S)?)?$";
const JSON_POINTER_URI_FRAGMENT = "^#(?:\\/(?:[a-z0-9_\\-.!$&'()*+,;:=@]|%[0-9a-f]{2}|~0|~1)*)*$";

const linear = (source: string, caseInsensitive = true) => {
  const re = RE2JS.compile(source, caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0);
  return (s: string) => re.test(s);
};
const uriPattern = linear(URI_PATTERN);
const uriReference = linear(URIREF);
const uriTemplate = linear(URITEMPLATE);
const jsonPointerFragment = linear(JSON_POINTER_URI_FRAGMENT);
const ipv4 = linear(IPV4);
const ipv6 = linear(IPV6);
const uuid = linear(UUID);
const durationWeeks = linear(DURATION_WEEKS, false);
const durationShape = linear(DURATION_SHAPE, false);
const durationOrder = linear(DURATION_ORDER, false);
const duration = (s: string) => s.length > 1 && (durationWeeks(s) || (durationShape(s) && durationOrder(s)));

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const digitsAt = (s: string, from: number, n: number) => {
  for (let i = from; i < from + n; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
};
const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);

function date(s: string): boolean {
  if (s.length !== 10 || s[4] !== '-' || s[7] !== '-' || !digitsAt(s, 0, 4) || !digitsAt(s, 5, 2) || !digitsAt(s, 8, 2)) return false;
  const y = Number(s.slice(0, 4));
  const m = Number(s.slice(5, 7));
  const d = Number(s.slice(8, 10));
  return m >= 1 && m <= 12 && d >= 1 && d <= (m === 2 && isLeapYear(y) ? 29 : DAYS[m]!);
}

/** HH:MM:SS, optional fraction, then (when `full`) a required zone: Z or ±HH[:]MM or ±HH. */
function time(full: boolean, s: string): boolean {
  if (s.length < 8 || s[2] !== ':' || s[5] !== ':' || !digitsAt(s, 0, 2) || !digitsAt(s, 3, 2) || !digitsAt(s, 6, 2)) return false;
  const h = Number(s.slice(0, 2));
  const min = Number(s.slice(3, 5));
  const sec = Number(s.slice(6, 8));
  if (!((h <= 23 && min <= 59 && sec <= 59) || (h === 23 && min === 59 && sec === 60))) return false;
  let i = 8;
  if (s[i] === '.') {
    const start = ++i;
    while (i < s.length && isDigit(s.charCodeAt(i))) i++;
    if (i === start) return false;
  }
  const zone = s.slice(i);
  if (zone === '') return !full;
  if (zone === 'z' || zone === 'Z') return true;
  if (zone[0] !== '+' && zone[0] !== '-') return false;
  const z = zone.slice(1);
  return (z.length === 2 && digitsAt(z, 0, 2)) || (z.length === 4 && digitsAt(z, 0, 4)) || (z.length === 5 && z[2] === ':' && digitsAt(z, 0, 2) && digitsAt(z, 3, 2));
}

function dateTime(s: string): boolean {
  // One separator: T, t or a white-space character (as @cfworker/json-schema accepts).
  const sep = s.slice(10, 11);
  if (!(sep === 'T' || sep === 't' || /^\s$/.test(sep))) return false;
  return date(s.slice(0, 10)) && time(true, s.slice(11));
}

const hostLabel = (l: string) => {
  if (l.length < 1 || l.length > 63 || l[0] === '-' || l[l.length - 1] === '-') return false;
  for (let i = 0; i < l.length; i++) {
    const c = l.charCodeAt(i) | 0x20;
    if (!((c >= 0x61 && c <= 0x7a) || isDigit(l.charCodeAt(i)) || l[i] === '-')) return false;
  }
  return true;
};

function hostname(s: string): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  return name.length >= 1 && name.length <= 253 && name.split('.').every(hostLabel);
}

/** An absolute http(s) or ftp URL with a host, as the WHATWG URL parser (linear) reads it. */
function url(s: string): boolean {
  if (/\s/.test(s)) return false;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return false;
  }
  return (u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'ftp:') && u.hostname !== '' && /^[a-z][a-z0-9+.-]*:\/\//i.test(s);
}

function email(s: string): boolean {
  const at = s.indexOf('@');
  if (at < 1 || at !== s.lastIndexOf('@') || s[0] === '"') return false;
  const name = s.slice(0, at);
  const host = s.slice(at + 1);
  if (name.length > 64 || host.length > 253 || name[0] === '.' || name.endsWith('.') || name.includes('..')) return false;
  for (let i = 0; i < name.length; i++) if (!/[a-z0-9.!#$%&'*+/=?^_`{|}~-]/i.test(name[i]!)) return false;
  return host.split('.').every(hostLabel);
}

const NativeRegExp = RegExp;
function regex(s: string): boolean {
  // Compiling (never running) a pattern is linear in its length. \Z is refused as by @cfworker.
  if (/[^\\]\\Z/.test(s)) return false;
  try {
    new NativeRegExp(s, 'u');
    return true;
  } catch {
    return false;
  }
}

function jsonPointer(s: string): boolean {
  if (s !== '' && s[0] !== '/') return false;
  for (let i = 0; i < s.length; i++) if (s[i] === '~' && s[i + 1] !== '0' && s[i + 1] !== '1') return false;
  return true;
}

function relativeJsonPointer(s: string): boolean {
  let i = 0;
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  if (i === 0 || (i > 1 && s[0] === '0')) return false;
  const rest = s.slice(i);
  return rest === '#' || jsonPointer(rest);
}

const CHECKS: Record<FormatName, (s: string) => boolean> = {
  date,
  time: (s) => time(false, s),
  'date-time': dateTime,
  duration,
  uri: (s) => /[/:]/.test(s) && uriPattern(s),
  'uri-reference': uriReference,
  'uri-template': uriTemplate,
  url,
  email,
  hostname,
  ipv4,
  ipv6,
  regex,
  uuid,
  'json-pointer': jsonPointer,
  'json-pointer-uri-fragment': jsonPointerFragment,
  'relative-json-pointer': relativeJsonPointer,
};

/** Every format check, length-capped; `beforeEach` runs first (the validator's deadline check). */
export function linearFormats(beforeEach: () => void): Record<FormatName, (s: string) => boolean> {
  const out = {} as Record<FormatName, (s: string) => boolean>;
  for (const name of Object.keys(CHECKS) as FormatName[]) {
    const check = CHECKS[name];
    const max = FORMAT_MAX_LENGTH[name];
    out[name] = (s) => {
      beforeEach();
      return s.length <= max && check(s);
    };
  }
  return out;
}

/**
 * Replaces @cfworker/json-schema's format table (a module-level object its validator reads on
 * every call) with the checks above; formats it had and we do not are removed, so they are
 * annotations rather than backtracking checks.
 */
export function installLinearFormats(beforeEach: () => void): void {
  const table = format as Record<string, (s: string) => boolean>;
  for (const k of Object.keys(table)) delete table[k];
  Object.assign(table, linearFormats(beforeEach));
}
