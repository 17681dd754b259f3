import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factories } from '../../test/factories.js';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import type { App } from '../app.js';
import type { Services } from '../services.js';

/**
 * Issue 10, item 7: a transactionId the caller already used for one kind of entry, sent with
 * another (an event, then a record, or the reverse), answered 500 on the records route and
 * replayed the wrong entry on the events route. Both routes that take a transactionId are here.
 */
let app: App;
let services: Services;
let stop: () => Promise<void>;
let admin: string;
let sessionId: string;

const json = (method: string, url: string, body: unknown) => app.inject({ method: method as 'POST', url, headers: { authorization: admin }, payload: body as object });
const ledgerCount = async () => (await services.pool.query('SELECT count(*)::int AS n FROM ledger_entries')).rows[0].n as number;

beforeAll(async () => {
  ({ app, services, stop } = await createTestApp());
  admin = (await setupAdmin(app)).authorization;
  ({ sessionId } = await factories(app, admin).recordingSession());
}, 60_000);
afterAll(() => stop());

describe('transactionId reused for another kind of entry (item 7)', () => {
  it('answers 409 idempotency_conflict on the records route, and writes nothing', async () => {
    const ev = await json('POST', '/api/v1/events', { events: [{ type: 'note.example', transactionId: 'shared-1', data: {} }] });
    expect(ev.statusCode, ev.body).toBe(201);
    const before = await ledgerCount();
    const r = await json('POST', `/api/v1/sessions/${sessionId}/records`, { instrument: { name: 'tiny', edition: 1 }, data: { n: 1 }, transactionId: 'shared-1' });
    expect(r.statusCode, r.body).toBe(409);
    expect(r.json().error.code).toBe('idempotency_conflict');
    expect(r.json().error.details).toEqual([{ pointer: '/transactionId', message: expect.any(String) }]);
    expect(await ledgerCount()).toBe(before);
    const records = await services.pool.query('SELECT count(*)::int AS n FROM records WHERE session_id = $1', [sessionId]);
    expect(records.rows[0].n).toBe(0);
  });

  it('answers 409 the other way round, and for a different event type or stream', async () => {
    const rec = await json('POST', `/api/v1/sessions/${sessionId}/records`, { instrument: { name: 'tiny', edition: 1 }, data: { n: 2 }, transactionId: 'shared-2' });
    expect(rec.statusCode, rec.body).toBe(201);
    const before = await ledgerCount();
    const ev = await json('POST', '/api/v1/events', { events: [{ type: 'note.example', transactionId: 'shared-2', data: {} }] });
    expect(ev.statusCode, ev.body).toBe(409);
    expect(ev.json().error.code).toBe('idempotency_conflict');
    expect(ev.json().error.details[0].pointer).toBe('/events/0/transactionId');
    await json('POST', '/api/v1/events', { events: [{ type: 'note.example', transactionId: 'shared-3', data: {} }] });
    const otherType = await json('POST', '/api/v1/events', { events: [{ type: 'other.example', transactionId: 'shared-3', data: {} }] });
    expect(otherType.statusCode).toBe(409);
    expect(await ledgerCount()).toBe(before + 1);
    // The same record again is still a replay answering the original.
    const again = await json('POST', `/api/v1/sessions/${sessionId}/records`, { instrument: { name: 'tiny', edition: 1 }, data: { n: 2 }, transactionId: 'shared-2' });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().record.id).toBe(rec.json().record.id);
  });
});

