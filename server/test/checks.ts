import type { Secret, RoleName } from './world.js';

/**
 * What every answer must look like, whoever asked and whatever they sent: never a 5xx, never a
 * stack trace, an error body in the documented shape, the security headers, and no secret the
 * caller may not read. Shared by the fuzz, the authorisation matrix and the crash test.
 */

export const SECURITY_HEADERS = ['content-security-policy', 'x-content-type-options', 'x-frame-options', 'referrer-policy', 'strict-transport-security'] as const;

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/** Problems with one answer; empty when it is fine. */
export function answerProblems(r: Answer, opts: { head?: boolean; requireHeaders?: readonly string[] } = {}): string[] {
  const problems: string[] = [];
  if (r.status >= 500) problems.push(`status ${r.status}`);
  if (/\n\s+at .+\(.+:\d+:\d+\)/.test(r.body) || /node_modules\/|\/server\/src\//.test(r.body)) problems.push('stack trace or source path in the body');
  for (const h of opts.requireHeaders ?? SECURITY_HEADERS) if (r.headers[h] === undefined) problems.push(`missing header ${h}`);
  if (r.status >= 400 && !opts.head) {
    const type = String(r.headers['content-type'] ?? '');
    let parsed: unknown;
    try {
      parsed = JSON.parse(r.body);
    } catch {
      parsed = undefined;
    }
    const err = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    if (!/^application\/json/.test(type)) problems.push(`error answer with content-type ${type || '(none)'}`);
    if (!err || typeof err.code !== 'string' || !/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(err.code) || typeof err.message !== 'string') {
      problems.push(`error body not {"error":{"code":snake_case,"message"}}: ${r.body.slice(0, 160)}`);
    }
  }
  return problems;
}

/** Secrets in `body` that `role` may not read (ignoring ones the request itself carried). */
export function leakedSecrets(body: string, role: RoleName, secrets: readonly Secret[], sent = ''): Secret[] {
  return secrets.filter((s) => !s.readers.includes(role) && body.includes(s.value) && !sent.includes(s.value));
}

/** A short printable form of a request for failure reports. */
export function describeRequest(method: string, url: string, contentType: string | undefined, payload: string | undefined): string {
  const body = payload === undefined ? '' : ` ${contentType ?? ''} ${payload.length > 200 ? `${JSON.stringify(payload.slice(0, 200))}… (${payload.length} chars)` : JSON.stringify(payload)}`;
  return `${method} ${url.length > 300 ? url.slice(0, 300) + '…' : url}${body}`;
}
