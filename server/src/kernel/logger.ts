import pino, { type Logger } from 'pino';

/**
 * Secrets never reach the logs: these paths are censored wherever they appear in a log object,
 * and request logging never includes bodies.
 */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.token',
  '*.totp',
  '*.clientSecret',
  '*.accessToken',
  '*.refreshToken',
  'password',
  'secret',
];

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: redactPaths, censor: '[redacted]' } });
}
export type { Logger };
