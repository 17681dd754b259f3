import type { Db } from '../database/database.js';
import { isUuid } from '../kernel/ids.js';
import type { Logger } from '../kernel/logger.js';
import { canonicalJsonChecked } from '../ledger/ledger.hash.js';
import { isSandboxError, SandboxError, type EventsPage, type EventsQuery } from './sandbox/sandbox.js';
import { viewsStore, type OccurredCursor } from './views.store.js';

// PostgreSQL's timestamptz covers 4713 BC .. 294276 AD, JavaScript dates ±275760 years: dates
// beyond this range are clamped so a silly bound never turns into a database error.
const MIN_DATE_MS = Date.UTC(-4000, 0, 1);
const MAX_DATE_MS = Date.UTC(200000, 0, 1);

function encodeCursor(c: OccurredCursor): string {
  return Buffer.from(`${c.micros}.${c.id}`).toString('base64url');
}

function decodeCursor(s: string): OccurredCursor {
  const m = /^(-?\d{1,19})\.([0-9a-f-]{36})$/.exec(Buffer.from(s, 'base64url').toString('latin1'));
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(s) || !m || !isUuid(m[2]!)) throw new SandboxError('view_query_invalid', 'events.query "after" is not a cursor this server issued');
  return { micros: m[1]!, id: m[2]! };
}

function queryDate(s: string | undefined, what: string): Date | undefined {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new SandboxError('view_query_invalid', `events.query "${what}" must be an ISO 8601 date`);
  return new Date(Math.min(MAX_DATE_MS, Math.max(MIN_DATE_MS, t)));
}

/**
 * The host side of `events.query` for one run: scoped to the view's granted types, current
 * events only. When a page is full, the next one is fetched while the view works on this one
 * (views read page after page), so the database and the sandbox work at the same time; at most
 * one page is read ahead.
 */
export function eventsReader(db: Db, log: Logger, allowed: Set<string>): (q: EventsQuery) => Promise<EventsPage> {
  let ahead: { key: string; page: Promise<EventsPage> } | undefined;
  const keyOf = (q: EventsQuery) => JSON.stringify([q.type, q.from, q.to, q.after, q.limit, q.filter]);
  return async (q) => {
    if (!allowed.has(q.type)) {
      throw new SandboxError('view_query_invalid', `This view may not read ${q.type.slice(0, 200)}: it reads ${[...allowed].join(', ') || 'no event types'}`);
    }
    const key = keyOf(q);
    const page = ahead?.key === key ? ahead.page : readPage(db, log, q);
    ahead = undefined;
    const result = await page;
    if (result.next) {
      const following = { ...q, after: result.next };
      const p = readPage(db, log, following);
      p.catch(() => {}); // a page read ahead and never asked for must not surface as unhandled
      ahead = { key: keyOf(following), page: p };
    }
    return result;
  };
}

async function readPage(db: Db, log: Logger, q: EventsQuery): Promise<EventsPage> {
  let filterJson: string | undefined;
  if (q.filter !== undefined) {
    try {
      filterJson = canonicalJsonChecked(q.filter);
    } catch {
      throw new SandboxError('view_query_invalid', 'events.query "filter" contains a value the database cannot store (NUL, invalid Unicode, too deep)');
    }
  }
  const limit = q.limit ?? 1000;
  const page = await viewsStore
    .eventsPage(db, {
      type: q.type,
      from: queryDate(q.from, 'from'),
      to: queryDate(q.to, 'to'),
      after: q.after !== undefined ? decodeCursor(q.after) : undefined,
      limit,
      filterJson,
    })
    .catch((err: unknown) => {
      if (isSandboxError(err)) throw err;
      log.warn({ err }, 'view events query failed');
      throw new SandboxError('view_unavailable', 'The events could not be read');
    });
  const next = page.n >= limit && page.last_micros !== null && page.last_id !== null ? encodeCursor({ micros: page.last_micros, id: page.last_id }) : null;
  return { eventsJson: page.events, count: page.n, next };
}
