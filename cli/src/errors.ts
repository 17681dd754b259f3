import fs from 'node:fs';
import { isCairnError } from '@cairn/sdk';

/** A failure the CLI reports itself (bad flag value, missing login, unreadable file). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: string = 'cli_error',
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** A file's size, or a CliError naming the file (before an upload starts). */
export function readableFileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as Error).message}`, 'file_error');
  }
}

/** One readable line, never a stack trace: `cairn: <message> (<code>)`. */
export function errorLine(e: unknown): { line: string; exitCode: number } {
  if (e instanceof CliError) return { line: `cairn: ${oneLine(e.message)} (${e.code})`, exitCode: e.exitCode };
  if (isCairnError(e)) {
    const hint = hints[e.code];
    return { line: `cairn: ${oneLine(e.message)}${hint ? ` — ${hint}` : ''} (${e.code})`, exitCode: 1 };
  }
  const err = e as { code?: unknown; message?: unknown };
  // The server's ConfigError (a bad PORT, DATABASE_URL...) names the setting in its message.
  const isConfig = (e as object | undefined)?.constructor?.name === 'ConfigError';
  const code = isConfig ? 'invalid_config' : typeof err?.code === 'string' && /^[A-Za-z_]+$/.test(err.code) ? err.code.toLowerCase() : 'unexpected_error';
  const message = typeof err?.message === 'string' && err.message ? err.message : String(e);
  return { line: `cairn: ${oneLine(message)} (${code})`, exitCode: 1 };
}

const hints: Record<string, string> = {
  unauthenticated: 'run `cairn login` or set CAIRN_TOKEN',
  invalid_token: 'run `cairn login` again or check CAIRN_TOKEN',
  token_expired: 'run `cairn login` again',
  totp_enrolment_required: 'enrol a second factor in the web app (Account page) first',
};

export const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
