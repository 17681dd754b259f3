import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient } from '@cairn/sdk';
import { startTestServer, type TestServer } from '../../test/harness.js';
import { place, registrationUser, type RegistrationClient } from '../../test/registration-world.js';

const PASSWORD = 'correct horse battery staple';

/**
 * A hospital's system notifies births: an app with OAuth2 client credentials, over real HTTP,
 * made a notifier for one office by an administrator.
 */
describe('inbound notifications', () => {
  let server: TestServer;
  let admin: CairnClient;
  let adminAuth: string;
  const tree = {} as Record<'country' | 'district1' | 'office1' | 'district2' | 'office2', string>;
  let agent1: RegistrationClient;
  let agent2: RegistrationClient;

  const http = async (method: string, path: string, auth: string | null, body?: unknown, contentType = 'application/json') => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...(auth ? { authorization: auth } : {}), ...(body !== undefined ? { 'content-type': contentType } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, any> };
  };

  /** Registers an app, associates it, and signs it in with client credentials: a real bearer token. */
  async function hospitalApp(name: string) {
    const created = await http('POST', '/api/v1/apps', adminAuth, { name, description: 'Hospital birth notifications' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const assoc = await http('POST', '/api/v1/apps/associate', null, { associationCode: created.body.associationCode });
    expect(assoc.status).toBe(200);
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: assoc.body.clientId, client_secret: assoc.body.clientSecret }).toString();
    const tok = await http('POST', '/api/v1/oauth/token', null, form, 'application/x-www-form-urlencoded');
    expect(tok.status, JSON.stringify(tok.body)).toBe(200);
    return { id: created.body.id as string, auth: `Bearer ${tok.body.access_token}` };
  }

  const today = () => new Date().toISOString().slice(0, 10);

  beforeAll(async () => {
    server = await startTestServer();
    admin = new CairnClient({ baseUrl: server.url });
    const setup = await admin.setup.create({ username: 'admin', password: PASSWORD });
    admin.setToken(setup.accessToken);
    adminAuth = `Bearer ${setup.accessToken}`;
    const db = server.services.db;
    tree.country = await place(db, 'Country', 'area');
    tree.district1 = await place(db, 'District One', 'area', tree.country);
    tree.office1 = await place(db, 'Office One', 'office', tree.district1);
    tree.district2 = await place(db, 'District Two', 'area', tree.country);
    tree.office2 = await place(db, 'Office Two', 'office', tree.district2);
    agent1 = await registrationUser(server.url, admin, 'agent1', PASSWORD, 'registration-agent', tree.office1);
    agent2 = await registrationUser(server.url, admin, 'agent2', PASSWORD, 'registration-agent', tree.office2);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("a notifier app's partial declaration arrives flagged incomplete in its office's workqueue, and nowhere else", async () => {
    const hospital = await hospitalApp('District One Hospital');
    const notification = { type: 'birth', data: { 'child.lastName': 'Diallo', 'child.dob': today(), 'child.placeOfBirth': tree.district1 }, transactionId: 'hosp-001' };

    // Not yet a notifier: refused, and nothing written.
    const before = await http('POST', '/api/v1/registration-notifications', hospital.auth, notification);
    expect(before.status).toBe(403);
    expect(before.body.error.code).toBe('forbidden');

    const set = await http('PUT', `/api/v1/registration-notifiers/${hospital.id}`, adminAuth, { officeId: tree.office1 });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.notifier).toMatchObject({ appId: hospital.id, officeId: tree.office1, officeName: 'Office One' });
    expect((await http('GET', '/api/v1/registration-notifications/office', hospital.auth)).body.notifier.officeId).toBe(tree.office1);

    const sent = await http('POST', '/api/v1/registration-notifications', hospital.auth, notification);
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body).toMatchObject({ type: 'birth', status: 'notified', officeId: tree.office1, replayed: false });
    expect(sent.body.flags).toContain('incomplete');
    expect(sent.body).not.toHaveProperty('data');
    // A retry with the same transactionId answers the original.
    const retry = await http('POST', '/api/v1/registration-notifications', hospital.auth, notification);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ id: sent.body.id, replayed: true });

    const queue1 = await agent1.registrations.list({ queue: 'in-progress' });
    const mine = queue1.items.find((r) => r.id === sent.body.id);
    expect(mine).toMatchObject({ status: 'notified', officeId: tree.office1, trackingId: sent.body.trackingId });
    expect(mine!.flags).toContain('incomplete');
    expect(queue1.items.filter((r) => r.id === sent.body.id)).toHaveLength(1);
    const queue2 = await agent2.registrations.list({ queue: 'in-progress' });
    expect(queue2.items.map((r) => r.id)).not.toContain(sent.body.id);

    // The app took one action, notify, and can do nothing else with registrations.
    expect((await http('GET', '/api/v1/registrations', hospital.auth)).status).toBe(403);
    expect((await http('POST', '/api/v1/registrations', hospital.auth, { ...notification, action: 'declare', transactionId: 'x' })).status).toBe(403);
    // The agent completes it the usual way.
    const history = await agent1.registrations.history(sent.body.id);
    expect(history.map((h: { action: string }) => h.action)).toEqual(['notify']);
  });

  it('refuses bad notifications with pointers, users, and a withdrawn or revoked notifier at once', async () => {
    const hospital = await hospitalApp('District Two Clinic');
    expect((await http('PUT', `/api/v1/registration-notifiers/${hospital.id}`, adminAuth, { officeId: tree.district2 })).body.error.code).toBe('validation_failed');
    expect((await http('PUT', `/api/v1/registration-notifiers/${hospital.id}`, adminAuth, { officeId: tree.office2 })).status).toBe(200);

    const badType = await http('POST', '/api/v1/registration-notifications', hospital.auth, { type: 'no-such-type', data: {} });
    expect(badType.status).toBe(400);
    const badDate = await http('POST', '/api/v1/registration-notifications', hospital.auth, { type: 'birth', data: { 'child.dob': 'yesterday' } });
    expect(badDate.status).toBe(422);
    expect(JSON.stringify(badDate.body.error.details)).toContain('/child.dob');
    const extra = await http('POST', '/api/v1/registration-notifications', hospital.auth, { type: 'birth', data: {}, action: 'declare' });
    expect(extra.status).toBe(400);
    // A user, even an administrator, declares through /registrations instead.
    expect((await http('POST', '/api/v1/registration-notifications', adminAuth, { type: 'birth', data: {} })).status).toBe(403);
    // Only administrators with registrations:manage name notifiers.
    const member = await http('PUT', `/api/v1/registration-notifiers/${hospital.id}`, `Bearer ${agent1.token}`, { officeId: tree.office1 });
    expect(member.status).toBe(403);

    const ok = await http('POST', '/api/v1/registration-notifications', hospital.auth, { type: 'birth', data: { 'child.lastName': 'Sow' } });
    expect(ok.status).toBe(201);
    expect((await http('DELETE', `/api/v1/registration-notifiers/${hospital.id}`, adminAuth)).status).toBe(204);
    expect((await http('POST', '/api/v1/registration-notifications', hospital.auth, { type: 'birth', data: {} })).status).toBe(403);
    expect((await http('DELETE', `/api/v1/registration-notifiers/${hospital.id}`, adminAuth)).status).toBe(404);

    const listed = await http('GET', '/api/v1/registration-notifiers', adminAuth);
    expect(listed.body.notifiers.map((n: { appName: string }) => n.appName)).toEqual(['District One Hospital']);
  });
});
