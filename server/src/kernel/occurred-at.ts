import { Type } from 'typebox';
import { fail } from './errors.js';

/**
 * When the person confirmed an action on their device, sent by a client that captured it offline
 * and synced it later (docs/offline.md, "Times"). The ledger records it as the entry's occurredAt;
 * recordedAt stays the server's time, so both are kept.
 */
export const OccurredAt = Type.String({ minLength: 20, maxLength: 40, pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d', description: 'When the person confirmed it (RFC 3339), for work captured offline; at most 5 minutes ahead of the server and 1 year old' });

/** A device clock may run a little fast; more than this is a wrong clock, not skew. */
const MAX_AHEAD_MS = 5 * 60_000;
/** An outbox is drained within days; a year-old timestamp is a wrong clock or a replayed request. */
const MAX_AGE_MS = 366 * 86_400_000;

/** The client's occurredAt, checked against the server's clock, or `now` when none was sent. */
export function clientOccurredAt(raw: string | undefined, now: Date, pointer = '/occurredAt'): Date {
  if (raw === undefined) return now;
  const d = new Date(raw);
  if (Number.isNaN(d.getTime())) throw fail('validation_failed', 'occurredAt must be an RFC 3339 date-time', [{ pointer, message: 'invalid date-time' }]);
  if (d.getTime() > now.getTime() + MAX_AHEAD_MS) throw fail('validation_failed', 'occurredAt is in the future: check the device clock', [{ pointer, message: 'in the future' }]);
  if (d.getTime() < now.getTime() - MAX_AGE_MS) throw fail('validation_failed', 'occurredAt is more than a year old', [{ pointer, message: 'too old' }]);
  return d;
}
