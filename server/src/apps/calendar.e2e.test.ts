import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/harness.js';
import { CALENDAR_EVENT_SCHEMA, CALENDAR_EVENT_TYPE } from '../../test/fixtures/calendar.js';

/**
 * The compatibility scenario of the personal event store, over real HTTP: a calendar app from
 * registration to revocation, exactly as docs/apps.md walks through it.
 */
let server: TestServer;
let adminAuth: string;

beforeAll(async () => {
  // No background workers: nothing here needs them.
  server = await startTestServer({ CAIRN_WORKERS: 'false' });
  const r = await call('POST', '/api/v1/setup', { username: 'admin', password: 'correct horse battery staple' });
  expect(r.status).toBe(201);
  adminAuth = `Bearer ${r.body.accessToken}`;
});
afterAll(() => server?.stop());

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(method: string, path: string, body?: unknown, authorization?: string, form = false): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (authorization) headers.authorization = authorization;
  let payload: string | undefined;
  if (body !== undefined) {
    headers['content-type'] = form ? 'application/x-www-form-urlencoded' : 'application/json';
    payload = form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body);
  }
  const res = await fetch(`${server.url}${path}`, { method, headers, body: payload });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const TYPE = CALENDAR_EVENT_TYPE;
const schema = { $schema: 'https://json-schema.org/draft/2020-12/schema', ...CALENDAR_EVENT_SCHEMA };

describe('the calendar app', () => {
  it('registers, asks, is approved, stores a week, reads a day, edits, deletes, and is stopped', async () => {
    // An administrator registers the app and hands it the one-time code.
    const reg = await call('POST', '/api/v1/apps', { name: 'Calendar', description: 'A calendar' }, adminAuth);
    expect(reg.status).toBe(201);
    const assoc = await call('POST', '/api/v1/apps/associate', { associationCode: reg.body.associationCode });
    expect(assoc.status).toBe(200);
    const { clientId, clientSecret } = assoc.body;
    const tok = await call('POST', '/api/v1/oauth/token', { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }, undefined, true);
    expect(tok.status).toBe(200);
    expect(tok.body.token_type).toBe('Bearer');
    const app = `Bearer ${tok.body.access_token}`;

    // The app registers its event type and asks for all four rights.
    const type = await call('POST', '/api/v1/event-types', { name: TYPE, schema, description: 'A calendar event' }, app);
    expect(type.status).toBe(201);
    expect(type.body.version).toBe(1);
    const ask = await call('POST', '/api/v1/apps/me/permission-requests', { eventType: TYPE, read: true, create: true, modify: true, delete: true, message: 'To keep your calendar' }, app);
    expect(ask.status).toBe(201);
    expect((await call('GET', '/api/v1/apps/me/permission-requests', undefined, app)).body.requests[0].status).toBe('pending');
    // Before approval nothing works.
    expect((await call('GET', `/api/v1/events?type=${TYPE}`, undefined, app)).status).toBe(403);

    // The administrator sees it pending and approves it.
    const pending = await call('GET', '/api/v1/permission-requests?status=pending', undefined, adminAuth);
    expect(pending.body.requests.map((r: { id: string }) => r.id)).toEqual([ask.body.id]);
    expect((await call('POST', `/api/v1/permission-requests/${ask.body.id}/approve`, undefined, adminAuth)).status).toBe(200);
    expect((await call('GET', '/api/v1/apps/me/permission-requests', undefined, app)).body.requests[0].status).toBe('approved');

    // A week of events (three a day) in one atomic batch.
    const week = [];
    for (let day = 0; day < 7; day++) {
      for (const [hour, title] of [[9, 'Stand-up'], [13, 'Lunch'], [16, 'Review']] as const) {
        const start = new Date(Date.UTC(2026, 2, 2 + day, hour));
        const end = new Date(start.getTime() + 3600_000);
        week.push({ type: TYPE, occurredAt: start.toISOString(), data: { startTime: start.toISOString(), endTime: end.toISOString(), title, description: `day ${day}`, color: '#3366cc' } });
      }
    }
    const bad = await call('POST', '/api/v1/events', { events: [...week.slice(0, 3), { type: TYPE, data: { ...week[0]!.data, color: 'blue', extra: true } }] }, app);
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.map((d: { pointer: string }) => d.pointer).sort()).toEqual(['/events/3/data/color', '/events/3/data/extra']);
    const up = await call('POST', '/api/v1/events', { events: week }, app);
    expect(up.status).toBe(201);
    expect(up.body.events).toHaveLength(21);

    // One day by time range, paged two at a time with the cursor.
    const day = '/api/v1/events?type=calendar.example%2Fevent&from=2026-03-04T00:00:00Z&to=2026-03-05T00:00:00Z&limit=2';
    const p1 = await call('GET', day, undefined, app);
    const p2 = await call('GET', `${day}&after=${p1.body.next}`, undefined, app);
    const p3 = await call('GET', `${day}&after=${p2.body.next}`, undefined, app);
    const dayEvents = [...p1.body.events, ...p2.body.events, ...p3.body.events];
    expect(dayEvents.map((e: { data: { title: string } }) => e.data.title)).toEqual(['Stand-up', 'Lunch', 'Review']);
    expect(dayEvents.every((e: { typeVersion: number; data: { description: string } }) => e.typeVersion === 1 && e.data.description === 'day 2')).toBe(true);

    // Modify one: a new version; the day now shows it, the old one stays readable.
    const lunch = dayEvents[1];
    const edited = await call('PATCH', `/api/v1/events/${lunch.id}`, { data: { ...lunch.data, title: 'Lunch with Ana' } }, app);
    expect(edited.status).toBe(200);
    expect(edited.body.previousId).toBe(lunch.id);
    const again = await call('GET', day.replace('&limit=2', ''), undefined, app);
    expect(again.body.events.map((e: { data: { title: string } }) => e.data.title).sort()).toEqual(['Lunch with Ana', 'Review', 'Stand-up']);
    const history = await call('GET', `/api/v1/events/${edited.body.id}/versions`, undefined, app);
    expect(history.body.versions.map((e: { data: { title: string } }) => e.data.title)).toEqual(['Lunch', 'Lunch with Ana']);

    // Delete one: gone from reads.
    const review = dayEvents[2];
    expect((await call('DELETE', `/api/v1/events/${review.id}`, undefined, app)).status).toBe(204);
    const after = await call('GET', day.replace('&limit=2', ''), undefined, app);
    expect(after.body.events.map((e: { data: { title: string } }) => e.data.title).sort()).toEqual(['Lunch with Ana', 'Stand-up']);
    expect((await call('GET', `/api/v1/events/${review.id}`, undefined, app)).body.data).toBeNull();

    // The live stream carries new events of the granted type.
    const ctrl = new AbortController();
    const stream = await fetch(`${server.url}/api/v1/events/stream?type=${encodeURIComponent(TYPE)}`, { headers: { authorization: app }, signal: ctrl.signal });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    const late = { ...week[0]!, occurredAt: '2026-03-09T09:00:00Z', data: { ...week[0]!.data, title: 'Late addition' } };
    expect((await call('POST', '/api/v1/events', { events: [late] }, app)).status).toBe(201);
    let text = '';
    while (!text.includes('Late addition')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    ctrl.abort();
    expect(text).toContain('event: entry');

    // Refused on a type it was never granted.
    expect((await call('POST', '/api/v1/event-types', { name: 'contacts.example/person', schema: { type: 'object' } }, adminAuth)).status).toBe(201);
    const other = await call('POST', '/api/v1/events', { events: [{ type: 'contacts.example/person', data: { name: 'Ana' } }] }, app);
    expect(other.status).toBe(403);
    expect((await call('GET', '/api/v1/events?type=contacts.example%2Fperson', undefined, app)).status).toBe(403);

    // Refused after its grant is revoked; an open live stream ends too.
    const open = await fetch(`${server.url}/api/v1/events/stream?type=${encodeURIComponent(TYPE)}`, { headers: { authorization: app } });
    const openReader = open.body!.getReader();
    expect((await call('POST', `/api/v1/permission-requests/${ask.body.id}/revoke`, undefined, adminAuth)).status).toBe(200);
    for (;;) {
      const { done } = await openReader.read();
      if (done) break;
    }
    expect((await call('POST', '/api/v1/events', { events: [week[0]] }, app)).status).toBe(403);
    expect((await call('GET', `/api/v1/events?type=${encodeURIComponent(TYPE)}`, undefined, app)).status).toBe(403);
    expect((await call('PATCH', `/api/v1/events/${edited.body.id}`, { data: lunch.data }, app)).status).toBe(404);

    // The ledger still verifies after edits and deletions.
    const verify = await call('POST', '/api/v1/ledger/verify', undefined, adminAuth);
    expect(verify.body.ok).toBe(true);
  });
});
