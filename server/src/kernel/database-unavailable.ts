/**
 * Recognises "PostgreSQL cannot be reached right now" among the errors a query can fail with, so
 * the central error handler answers 503 `database_unavailable` (retry later) instead of a 500
 * (our fault). It happens during a database restart, a fail-over, or when the server is out of
 * connections; the pool reconnects by itself once PostgreSQL is back, so the right answer for the
 * caller is the same in each case: wait a moment and retry.
 */

/** SQLSTATEs meaning the connection, not the statement, failed. */
const UNAVAILABLE_SQLSTATE = new Set([
  '57P01', // admin_shutdown: the server is stopping and ended our session
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, shutting down, or in recovery
  '53300', // too_many_connections
  '53400', // configuration_limit_exceeded (per-role connection limit)
]);

/** Socket errors on connecting (TCP or the Unix socket of a stopped server). */
const CONNECT_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOENT', 'EAI_AGAIN']);

/** pg's own messages for a connection that ended or never came (it gives them no code). */
const PG_CONNECTION_MESSAGE = /^(Connection terminated|Client has encountered a connection error and is not queryable|timeout exceeded when trying to connect|Client was closed and is not queryable)/;

function matches(e: unknown): boolean {
  if (!e || typeof e !== 'object') return false;
  const err = e as { code?: unknown; message?: unknown; syscall?: unknown; address?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  if (/^08[0-9A-Z]{3}$/.test(code) || UNAVAILABLE_SQLSTATE.has(code)) return true;
  if (CONNECT_ERRNO.has(code)) {
    // ENOENT is a missing file everywhere else: only a Unix socket connect to PostgreSQL counts.
    if (code === 'ENOENT') return err.syscall === 'connect' && typeof err.address === 'string' && err.address.includes('.s.PGSQL.');
    return err.syscall === 'connect' || err.syscall === 'read' || err.syscall === 'write' || code === 'ECONNRESET' || code === 'EPIPE';
  }
  return typeof err.message === 'string' && PG_CONNECTION_MESSAGE.test(err.message);
}

/** True when `e` (or what it wraps) says the database could not be reached. */
export function isDatabaseUnavailable(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur && depth < 4; cur = (cur as { cause?: unknown }).cause, depth++) {
    if (matches(cur)) return true;
    // AggregateError: pg connecting to "localhost" tries ::1 and 127.0.0.1 and fails with both.
    if (cur instanceof AggregateError && cur.errors.some(matches)) return true;
  }
  return false;
}

/** Seconds a client should wait before retrying (a restart takes a few). */
export const DATABASE_RETRY_AFTER_SECONDS = 1;
