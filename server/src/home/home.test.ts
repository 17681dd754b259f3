import { describe, expect, it } from 'vitest';
import { addUser, useAdminApp } from '../../test/accounts.js';
import { HOME_WEEKS } from './home.service.js';

const t = useAdminApp();
const inject = (method: string, url: string, authorization: string, payload?: unknown) =>
  t.app.inject({ method: method as 'GET', url, headers: { authorization }, ...(payload !== undefined ? { payload: payload as string } : {}) });
const user = (username: string) => addUser(t.app, t.admin, username);
const home = async (authorization: string) => {
  const r = await inject('GET', '/api/v1/home', authorization);
  expect(r.statusCode, r.body).toBe(200);
  return r.json();
};

describe('the home page summary', () => {
  it('counts with weekly trends, recent changes and attention, each within the caller’s reach', async () => {
    const admin = t.admin;
    const ana = await user('ana');
    const bob = await user('bob');
    const a = (await inject('POST', '/api/v1/workspaces', admin, { name: 'A' })).json().workspace.id;
    const b = (await inject('POST', '/api/v1/workspaces', admin, { name: 'B' })).json().workspace.id;
    await inject('PUT', `/api/v1/workspaces/${a}/members/${ana.id}`, admin, { role: 'member' });
    for (const [auth, ws, id] of [[ana.authorization, a, 'S-1'], [ana.authorization, a, 'S-2'], [admin, b, 'S-3']] as const) {
      const r = await inject('POST', `/api/v1/workspaces/${ws}/subjects`, auth, { identifier: id, identifierKind: 'custom' });
      expect(r.statusCode, r.body).toBe(201);
    }
    const ds = await inject('POST', '/api/v1/datasets', ana.authorization, { title: 'Ana sleep study' });
    expect(ds.statusCode, ds.body).toBe(201);

    const mine = await home(ana.authorization);
    expect(mine.weekStarts).toHaveLength(HOME_WEEKS);
    expect(mine.counts.subjects).toEqual({ total: 2, weekly: [...Array(HOME_WEEKS - 1).fill(0), 2] });
    expect(mine.counts.records.total).toBe(0);
    expect(mine.counts.datasets.total).toBe(1);
    // No apps:manage, no registration role: those parts are absent, not zero.
    expect(mine.counts.pendingRequests).toBeUndefined();
    expect(mine.counts.registrations).toBeUndefined();
    expect(mine.attention).toEqual([{ kind: 'enrol_totp' }]);
    expect(mine.recent).toEqual([expect.objectContaining({ kind: 'dataset', id: ds.json().dataset.accession, label: 'Ana sleep study' })]);

    // Someone else's workspace and dataset are not counted for bob; the admin sees everything.
    const his = await home(bob.authorization);
    expect(his.counts.subjects.total).toBe(0);
    expect(his.counts.datasets.total).toBe(0);
    expect(his.recent).toEqual([]);
    const all = await home(admin);
    expect(all.counts.subjects.total).toBe(3);
    expect(all.counts.datasets.total).toBe(1);
    expect(all.counts.pendingRequests).toBe(0);

    // A token narrowed to events:read reaches no domain; anonymous callers are refused.
    const token = (await inject('POST', '/api/v1/auth/tokens', ana.authorization, { name: 'narrow', scopes: ['events:read'], expiresInDays: 1 })).json().secret;
    const narrow = await home(`Bearer ${token}`);
    expect(narrow.counts).toEqual({});
    expect(narrow.recent).toEqual([]);
    expect((await t.app.inject({ url: '/api/v1/home' })).statusCode).toBe(401);
  });
});
