import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import type { App } from '../app.js';

/**
 * Issue 17: an administrator approves part of a permission request (read and create, not modify
 * or delete); the app holds exactly that, and can still tell what it asked for.
 */
let app: App;
let stop: () => Promise<void>;
let admin: string;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const call = async (method: string, url: string, authorization?: string, payload?: unknown): Promise<{ status: number; body: any }> => {
  const r = await app.inject({ method: method as 'GET', url, headers: authorization ? { authorization } : {}, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: r.statusCode, body: r.body ? r.json() : undefined };
};

const TYPE = 'notes.example/note';

beforeAll(async () => {
  ({ app, stop } = await createTestApp());
  admin = (await setupAdmin(app)).authorization;
});
afterAll(() => stop());

async function newApp(name: string): Promise<string> {
  const reg = await call('POST', '/api/v1/apps', admin, { name, description: name });
  const assoc = await call('POST', '/api/v1/apps/associate', undefined, { associationCode: reg.body.associationCode });
  const tok = await call('POST', '/api/v1/oauth/token', undefined, { grant_type: 'client_credentials', client_id: assoc.body.clientId, client_secret: assoc.body.clientSecret });
  expect(tok.status).toBe(200);
  return `Bearer ${tok.body.access_token}`;
}

describe('approving part of a permission request', () => {
  it('grants read and create but not modify or delete, and the app is held to it', async () => {
    const notes = await newApp('Notes');
    const schema = { type: 'object', additionalProperties: false, required: ['text'], properties: { text: { type: 'string', maxLength: 100 } } };
    expect((await call('POST', '/api/v1/event-types', notes, { name: TYPE, schema, description: 'A note' })).status).toBe(201);
    const ask = await call('POST', '/api/v1/apps/me/permission-requests', notes, { eventType: TYPE, read: true, create: true, modify: true, delete: true });
    expect(ask.status).toBe(201);
    const id = ask.body.id as string;

    // Granting nothing is a decline, not an approval; an unknown right is a bad body.
    const none = await call('POST', `/api/v1/permission-requests/${id}/approve`, admin, { read: false, create: false, modify: false, delete: false });
    expect(none.status).toBe(400);
    expect(none.body.error.code).toBe('validation_failed');
    const unknown = await call('POST', `/api/v1/permission-requests/${id}/approve`, admin, { read: true, share: true });
    expect(unknown.status).toBe(400);
    expect((await call('GET', `/api/v1/permission-requests?status=pending`, admin)).body.requests.map((r: { id: string }) => r.id)).toContain(id);

    const approved = await call('POST', `/api/v1/permission-requests/${id}/approve`, admin, { modify: false, delete: false });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', read: true, create: true, modify: false, delete: false, requested: { read: true, create: true, modify: true, delete: true } });

    const created = await call('POST', '/api/v1/events', notes, { events: [{ type: TYPE, data: { text: 'milk' } }] });
    expect(created.status).toBe(201);
    const eventId = created.body.events[0].id as string;
    expect((await call('GET', `/api/v1/events?type=${encodeURIComponent(TYPE)}`, notes)).body.events).toHaveLength(1);
    expect((await call('PATCH', `/api/v1/events/${eventId}`, notes, { data: { text: 'oat milk' } })).status).toBe(403);
    expect((await call('DELETE', `/api/v1/events/${eventId}`, notes)).status).toBe(403);

    // The app sees what it holds and what it asked for.
    const mine = (await call('GET', '/api/v1/apps/me/permission-requests', notes)).body.requests[0];
    expect(mine).toMatchObject({ status: 'approved', modify: false, requested: { modify: true } });
  });

  it('refuses to grant a right the app did not ask for, and a plain approval grants the request as asked', async () => {
    const reader = await newApp('Reader');
    const ask = await call('POST', '/api/v1/apps/me/permission-requests', reader, { eventType: TYPE, read: true });
    const more = await call('POST', `/api/v1/permission-requests/${ask.body.id as string}/approve`, admin, { create: true });
    expect(more.status).toBe(400);
    expect(more.body.error.details[0].pointer).toBe('/create');
    const plain = await call('POST', `/api/v1/permission-requests/${ask.body.id as string}/approve`, admin);
    expect(plain.body).toMatchObject({ status: 'approved', read: true, create: false, requested: { read: true, create: false } });
    // Only an approval takes rights.
    const decline = await call('POST', `/api/v1/permission-requests/${ask.body.id as string}/revoke`, admin, { read: false });
    expect(decline.status).toBe(200);
  });
});
