import { describe, expect, it } from 'vitest';
import { addUser, useAdminApp } from '../../test/accounts.js';

const t = useAdminApp();

const schema = { type: 'object', required: ['title'], properties: { title: { type: 'string' } } };

describe('event identity: one id for an event that gets modified', () => {
  it('GET /events/{anyVersionId}?current=true answers the current version; deleted events are not found', async () => {
    const { app, admin } = t;
    expect((await app.inject({ method: 'POST', url: '/api/v1/event-types', headers: { authorization: admin }, payload: { name: 'calendar.example/entry', schema } })).statusCode).toBe(201);
    const appended = await app.inject({ method: 'POST', url: '/api/v1/events', headers: { authorization: admin }, payload: { events: [{ type: 'calendar.example/entry', stream: 'cal:1', data: { title: 'v1' } }] } });
    const rootId = appended.json().events[0].id as string;
    const current = (id: string) => app.inject({ url: `/api/v1/events/${id}?current=true`, headers: { authorization: admin } });

    // Never modified: the root is current.
    expect((await current(rootId)).json()).toMatchObject({ id: rootId, data: { title: 'v1' } });
    const v2 = await app.inject({ method: 'PATCH', url: `/api/v1/events/${rootId}`, headers: { authorization: admin }, payload: { data: { title: 'v2' } } });
    expect(v2.statusCode, v2.body).toBe(200);
    const v3 = await app.inject({ method: 'PATCH', url: `/api/v1/events/${v2.json().id}`, headers: { authorization: admin }, payload: { data: { title: 'v3' } } });
    const v3Id = v3.json().id as string;
    // From the root, a middle version or the current one: the current version.
    for (const id of [rootId, v2.json().id as string, v3Id]) expect((await current(id)).json()).toMatchObject({ id: v3Id, data: { title: 'v3' } });
    // Without the flag, the version asked for (unchanged behaviour).
    expect((await app.inject({ url: `/api/v1/events/${rootId}`, headers: { authorization: admin } })).json()).toMatchObject({ id: rootId, data: { title: 'v1' } });
    expect((await app.inject({ url: `/api/v1/events/${rootId}?current=maybe`, headers: { authorization: admin } })).statusCode).toBe(400);
    expect((await current('not-a-uuid')).json().error.code).toBe('not_found');

    // Another user who cannot read the event does not learn that it exists.
    const eve = (await addUser(app, admin, 'eve')).authorization;
    expect((await app.inject({ url: `/api/v1/events/${rootId}?current=true`, headers: { authorization: eve } })).json().error.code).toBe('not_found');

    expect((await app.inject({ method: 'DELETE', url: `/api/v1/events/${v3Id}`, headers: { authorization: admin } })).statusCode).toBe(204);
    const gone = await current(rootId);
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error.code).toBe('not_found');
  });
});
