import { isUtf8 } from 'node:buffer';
import type { Duplex, Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, fail } from './errors.js';

/**
 * Every JSON request body goes through here before any route sees it, so three rules hold for
 * all of them at once (issue 10, items 8 and 10):
 *
 * - The bytes are UTF-8. Node would otherwise turn a bad sequence into U+FFFD silently.
 * - Every string, key or value, is well-formed Unicode: a lone surrogate (`"\ud83d"`) is legal
 *   JSON, but PostgreSQL cannot store it, so it came back as U+FFFD, and a ledger entry hashed
 *   over the original then failed `ledger verify`. Refused with 400 `invalid_unicode` and a
 *   pointer to the field.
 * - Nesting is at most MAX_JSON_DEPTH levels (400 `json_too_deep`): code further on (canonical
 *   JSON, schema walks, validators) may recurse over a body, and 8,000 levels overflowed the stack.
 *   The check itself is a loop over an explicit stack, never recursion.
 *
 * Cost: JSON.parse as before; a UTF-8 check of the bytes (simdutf); one search of the text for a
 * surrogate escape (the only way JSON text decoded strictly can produce a lone surrogate); a walk
 * of the parsed containers (not the scalars) for depth. About 7% of JSON.parse on an ingest batch
 * (bench/schemas.bench.ts).
 */
export const MAX_JSON_DEPTH = 128;

/** `\uD800`-`\uDFFF` written as an escape; paired ones are fine, the walk tells them apart. */
const SURROGATE_ESCAPE = /\\u[dD][89abcdefABCDEF]/;
const escapePointer = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');

export interface JsonProblem {
  code: 'invalid_unicode' | 'json_too_deep';
  pointer: string;
  message: string;
}

/**
 * The first problem in a parsed JSON value: a container deeper than `maxDepth` (the root is
 * level 1) or, with `strings`, a string or key that is not well-formed Unicode. No recursion.
 */
export function jsonProblem(value: unknown, opts: { maxDepth?: number; strings?: boolean } = {}): JsonProblem | undefined {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  const strings = opts.strings ?? true;
  if (typeof value === 'string') return strings && !value.isWellFormed() ? { code: 'invalid_unicode', pointer: '/', message: 'is not well-formed Unicode (a lone surrogate)' } : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  // Pointers are built from the parent chain only when a problem is found.
  type Frame = { v: object; depth: number; parent: Frame | undefined; key: string };
  const pointerOf = (f: Frame | undefined, last?: string) => {
    const parts: string[] = last === undefined ? [] : [last];
    for (let x = f; x && x.parent; x = x.parent) parts.push(x.key);
    return parts.length ? '/' + parts.reverse().map(escapePointer).join('/') : '/';
  };
  const stack: Frame[] = [{ v: value, depth: 1, parent: undefined, key: '' }];
  while (stack.length) {
    const f = stack.pop()!;
    if (f.depth > maxDepth) return { code: 'json_too_deep', pointer: pointerOf(f), message: `nests deeper than ${maxDepth} levels` };
    if (Array.isArray(f.v)) {
      const a = f.v as unknown[];
      for (let i = 0; i < a.length; i++) {
        const x = a[i];
        if (typeof x === 'object' && x !== null) stack.push({ v: x, depth: f.depth + 1, parent: f, key: String(i) });
        else if (strings && typeof x === 'string' && !x.isWellFormed()) return { code: 'invalid_unicode', pointer: pointerOf(f, String(i)), message: 'is not well-formed Unicode (a lone surrogate)' };
      }
    } else {
      const o = f.v as Record<string, unknown>;
      for (const k in o) {
        if (strings && !k.isWellFormed()) return { code: 'invalid_unicode', pointer: pointerOf(f, k), message: 'has a key that is not well-formed Unicode (a lone surrogate)' };
        const x = o[k];
        if (typeof x === 'object' && x !== null) stack.push({ v: x, depth: f.depth + 1, parent: f, key: k });
        else if (strings && typeof x === 'string' && !x.isWellFormed()) return { code: 'invalid_unicode', pointer: pointerOf(f, k), message: 'is not well-formed Unicode (a lone surrogate)' };
      }
    }
  }
  return undefined;
}

/** The checks of this module on JSON text already parsed into `value` (used by the body parser). */
export function jsonTextProblem(text: string, value: unknown, maxDepth = MAX_JSON_DEPTH): JsonProblem | undefined {
  // Strings are only looked at when the text has a surrogate escape: strictly decoded UTF-8
  // cannot hold a lone surrogate any other way. Containers are always walked (not scalars).
  return jsonProblem(value, { maxDepth, strings: SURROGATE_ESCAPE.test(text) });
}

const problemError = (p: JsonProblem) =>
  new AppError(p.code, p.code === 'json_too_deep' ? `The request body nests deeper than ${MAX_JSON_DEPTH} levels (at ${p.pointer})` : `The request body has a string that is not well-formed Unicode (at ${p.pointer})`, [{ in: 'body', pointer: p.pointer, message: p.message }]);

/**
 * A URL's percent-encoded bytes must decode as UTF-8 (`%ED%A0%BD`, a surrogate in CESU-8, or
 * `%E9`, Latin-1, are not): the query-string decoder would otherwise keep or replace them
 * silently. Answers where the first bad byte is: the path, or the query parameter by name.
 */
export function urlTextProblem(url: string): { in: 'params' | 'querystring'; pointer: string } | undefined {
  // Only bytes >= 0x80 can be ill-formed; most URLs have none and stop here.
  if (!/%[89a-fA-F][0-9a-fA-F]/.test(url)) return undefined;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (!percentBytesAreUtf8(path)) return { in: 'params', pointer: '/' };
  if (q === -1) return undefined;
  for (const part of url.slice(q + 1).split('&')) {
    if (percentBytesAreUtf8(part)) continue;
    const eq = part.indexOf('=');
    const rawKey = (eq === -1 ? part : part.slice(0, eq)).replace(/\+/g, ' ');
    let key: string;
    try {
      key = decodeURIComponent(rawKey);
    } catch {
      key = rawKey;
    }
    return { in: 'querystring', pointer: `/${escapePointer(key)}` };
  }
  return undefined;
}

function percentBytesAreUtf8(s: string): boolean {
  // Each run of consecutive %XX escapes is one byte sequence; other characters are ASCII here.
  const runs = s.match(/(?:%[0-9a-fA-F]{2})+/g);
  if (!runs) return true;
  for (const run of runs) {
    if (!isUtf8(Buffer.from(run.replace(/%/g, ''), 'hex'))) return false;
  }
  return true;
}

/**
 * Installs the rules above: the JSON parser (replacing Fastify's, keeping its prototype-poisoning
 * protection) and the URL check, which runs before any body is read.
 */
export function installRequestTextChecks(app: FastifyInstance): void {
  app.addHook('preParsing', async (request) => {
    const p = urlTextProblem(request.url);
    if (p) throw new AppError('invalid_unicode', `The ${p.in === 'params' ? 'path' : 'query string'} has percent-encoded bytes that are not UTF-8`, [{ ...p, message: 'not valid UTF-8' }]);
  });
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req: FastifyRequest, body: Buffer, done: (err: Error | null, value?: unknown) => void) => {
    // isUtf8 (simdutf) costs about 1% of the decode that follows; a fatal TextDecoder, as much again.
    if (!isUtf8(body)) return done(new AppError('invalid_unicode', 'The request body is not valid UTF-8', [{ in: 'body', pointer: '/', message: 'not valid UTF-8' }]));
    const text = body.toString('utf8');
    parseJson(req, text, (err, value) => {
      if (err) return done(err);
      const p = jsonTextProblem(text, value);
      if (p) return done(problemError(p));
      done(null, value);
    });
  });
}

/** Raised by utf8Lines when the bytes stop being UTF-8; `line` counts from 1. */
export class Utf8Error extends Error {
  override readonly name = 'Utf8Error';
  constructor(readonly line: number) {
    super(`line ${line} is not valid UTF-8`);
  }
}

/** How many bytes at the end of `buf` start a UTF-8 sequence the buffer does not finish (0-3). */
function incompleteTail(buf: Buffer): number {
  for (let i = 1; i <= Math.min(3, buf.length); i++) {
    const b = buf[buf.length - i]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back for its lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > i ? i : 0;
  }
  return 0;
}

/**
 * A pass-through check that a byte stream (a CSV upload) is UTF-8, for text parsers that would
 * otherwise decode bad bytes as U+FFFD. Linear: one streaming fatal decode; only on failure are
 * the chunk's lines searched, to name the line.
 */
export function utf8Checker(): { check(chunk: Buffer): void; end(): void } {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let lines = 0;
  let pending = Buffer.alloc(0);
  const locate = (data: Buffer): never => {
    let start = 0;
    for (let n = 0; ; n++) {
      const nl = data.indexOf(0x0a, start);
      const line = data.subarray(start, nl === -1 ? data.length : nl);
      const whole = nl === -1 ? line.subarray(0, line.length - incompleteTail(line)) : line;
      if (!isUtf8(whole) || nl === -1) throw new Utf8Error(lines + 1 + n);
      start = nl + 1;
    }
  };
  return {
    check(chunk) {
      try {
        decoder.decode(chunk, { stream: true });
      } catch {
        locate(Buffer.concat([pending, chunk]));
      }
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
      const tail = incompleteTail(chunk);
      pending = tail ? Buffer.from(chunk.subarray(chunk.length - tail)) : Buffer.alloc(0);
    },
    end() {
      try {
        decoder.decode();
      } catch {
        throw new Utf8Error(lines + 1);
      }
    },
  };
}



/**
 * Feeds a CSV upload into `parser`: at most `maxBytes` (beyond, the body is destroyed with an
 * error marked `tooLarge`, for the caller's 413), every byte checked as UTF-8 on its way
 * (csv-parse would decode bad bytes as U+FFFD and import them), the body's errors passed on.
 */
export function pipeCsvUpload(body: Readable, parser: Duplex, maxBytes: number): void {
  let bytes = 0;
  body.on('data', (c: Buffer) => {
    bytes += c.length;
    if (bytes > maxBytes) body.destroy(Object.assign(new Error('too large'), { tooLarge: true }));
  });
  body.once('error', (e) => parser.destroy(e));
  checkCsvUtf8(body, parser);
  body.pipe(parser);
}

/**
 * A CSV upload's records as they arrive, each with the line it starts on, empty lines skipped:
 * at most `maxBytes` (beyond: 413 payload_too_large with `tooLarge` as its message), UTF-8
 * checked, and a file that is not CSV answered 400 with its line (csvInputError). Lines are
 * counted here rather than with csv-parse's `info`, which builds an object per record and
 * doubled the parse of 100,000 rows: a record ends its line, plus any line breaks quoted inside it.
 * Leaving the loop early drains the rest of the body, so the connection can carry the answer.
 */
export async function* csvUploadRecords(body: Readable, maxBytes: number, tooLarge: string): AsyncGenerator<{ record: string[]; line: number }> {
  const parser = parse({ bom: true, relax_column_count: true, max_record_size: 1 << 16 });
  let nextLine = 1;
  pipeCsvUpload(body, parser, maxBytes);
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      const line = nextLine++;
      for (const f of record) if (f.includes('\n')) nextLine += f.split('\n').length - 1;
      if (record.length === 1 && record[0] === '') continue;
      yield { record, line };
    }
  } catch (e) {
    if ((e as { tooLarge?: boolean }).tooLarge) throw fail('payload_too_large', tooLarge);
    throw csvInputError(e, parser.info.lines) ?? e;
  } finally {
    body.unpipe(parser);
    body.resume();
  }
}

/**
 * Streams a CSV upload's bytes through utf8Checker on their way into `parser`: a failure destroys
 * the parser (not the request, whose connection must carry the answer) with a Utf8Error.
 */
export function checkCsvUtf8(body: Readable, parser: Duplex): void {
  const utf8 = utf8Checker();
  body.on('data', (c: Buffer) => {
    if (parser.destroyed) return;
    try {
      utf8.check(c);
    } catch (e) {
      parser.destroy(e as Error);
    }
  });
  body.once('end', () => {
    try {
      utf8.end();
    } catch (e) {
      parser.destroy(e as Error);
    }
  });
}

/**
 * The answer for a CSV upload that is not UTF-8 (400 invalid_unicode) or not CSV at all (400
 * invalid_csv: a stray quote in an unquoted field, an unclosed quote, JSON sent as text/csv),
 * with the line; undefined for any other error. `line` is the parser's line count at the failure.
 */
export function csvInputError(e: unknown, line: number): AppError | undefined {
  if (e instanceof Utf8Error) return new AppError('invalid_unicode', `The file is not UTF-8 text (line ${e.line}); save it as CSV UTF-8`, { line: e.line });
  if (e instanceof CsvError) return new AppError('invalid_csv', `The file is not valid CSV at line ${line}: ${e.message.slice(0, 200)}`, { line, reason: e.code, message: e.message.slice(0, 200) });
  return undefined;
}
