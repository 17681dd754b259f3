import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import type { App } from '../app.js';

let app: App;
let stop: () => Promise<void>;
let admin: string;

beforeAll(async () => {
  ({ app, stop } = await createTestApp());
  admin = (await setupAdmin(app)).authorization;
});
afterAll(() => stop());

async function user(username: string) {
  const created = await app.inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: admin }, payload: { username, password: `${username} password 1`, role: 'member' } });
  const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password: `${username} password 1` } });
  return { id: created.json().user.id as string, authorization: `Bearer ${login.json().accessToken}` };
}
const create = (authorization: string, name: string, parentId?: string) =>
  app.inject({ method: 'POST', url: '/api/v1/workspaces', headers: { authorization }, payload: { name, ...(parentId ? { parentId } : {}) } });

describe('workspaces', () => {
  it('nest, and a role on a workspace covers its whole subtree but nothing beside it', async () => {
    const country = (await create(admin, 'Country')).json().workspace;
    const north = (await create(admin, 'North', country.id)).json().workspace;
    const south = (await create(admin, 'South', country.id)).json().workspace;
    const office = (await create(admin, 'Office 1', north.id)).json().workspace;
    expect(office.path).toBe(`/${country.id}/${north.id}/${office.id}/`);

    const ana = await user('ana');
    expect((await app.inject({ method: 'PUT', url: `/api/v1/workspaces/${north.id}/members/${ana.id}`, headers: { authorization: admin }, payload: { role: 'manager' } })).statusCode).toBe(204);

    const visible = (await app.inject({ url: '/api/v1/workspaces', headers: { authorization: ana.authorization } })).json().workspaces.map((w: { name: string; role: string }) => [w.name, w.role]);
    expect(visible).toEqual([['North', 'manager'], ['Office 1', 'manager']]);

    // A manager of North can create under North and under its descendants, not under South or at the top.
    expect((await create(ana.authorization, 'Office 2', office.id)).statusCode).toBe(201);
    expect((await create(ana.authorization, 'Sneaky', south.id)).statusCode).toBe(404);
    expect((await create(ana.authorization, 'Top')).statusCode).toBe(403);

    // Membership is managed by managers of the workspace or an ancestor; others see nothing.
    const bo = await user('bo');
    expect((await app.inject({ method: 'PUT', url: `/api/v1/workspaces/${office.id}/members/${bo.id}`, headers: { authorization: ana.authorization }, payload: { role: 'viewer' } })).statusCode).toBe(204);
    expect((await app.inject({ url: `/api/v1/workspaces/${office.id}/members`, headers: { authorization: bo.authorization } })).json().members.map((m: { username: string }) => m.username)).toEqual(['bo']);
    expect((await app.inject({ method: 'PUT', url: `/api/v1/workspaces/${office.id}/members/${ana.id}`, headers: { authorization: bo.authorization }, payload: { role: 'manager' } })).statusCode).toBe(403);
    expect((await app.inject({ url: `/api/v1/workspaces/${south.id}/members`, headers: { authorization: bo.authorization } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/workspaces/${office.id}/members/${bo.id}`, headers: { authorization: ana.authorization } })).statusCode).toBe(204);
    expect((await app.inject({ url: '/api/v1/workspaces', headers: { authorization: bo.authorization } })).json().workspaces).toEqual([]);
  });

  it("a token's scopes bound what it can do on a workspace, whatever its owner's role there (issue 10, item 4)", async () => {
    const top = (await create(admin, 'Scoped')).json().workspace;
    const mona = await user('mona');
    const target = await user('tess');
    expect((await app.inject({ method: 'PUT', url: `/api/v1/workspaces/${top.id}/members/${mona.id}`, headers: { authorization: admin }, payload: { role: 'manager' } })).statusCode).toBe(204);
    const token = async (authorization: string, scopes: string[]) => {
      const r = await app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: { authorization }, payload: { name: scopes.join(' '), scopes, expiresInDays: 1 } });
      expect(r.statusCode, r.body).toBe(201);
      return `Bearer ${r.json().secret as string}`;
    };
    const put = (authorization: string, userId: string, role: string) => app.inject({ method: 'PUT', url: `/api/v1/workspaces/${top.id}/members/${userId}`, headers: { authorization }, payload: { role } });
    const del = (authorization: string, userId: string) => app.inject({ method: 'DELETE', url: `/api/v1/workspaces/${top.id}/members/${userId}`, headers: { authorization } });
    const list = (authorization: string) => app.inject({ url: `/api/v1/workspaces/${top.id}/members`, headers: { authorization } });

    // Narrow tokens of a manager (and of an admin) can do nothing to the workspace.
    for (const scopes of [['events:read'], ['datasets:read'], ['account'], ['records:read', 'records:write']]) {
      for (const owner of [mona.authorization, admin]) {
        const t = await token(owner, scopes);
        for (const r of [await put(t, target.id, 'viewer'), await put(t, mona.id, 'manager'), await del(t, mona.id), await list(t), await create(t, `Sub ${scopes.join('-')}`, top.id)]) {
          expect(r.statusCode, `${scopes.join(',')}: ${r.body}`).toBe(403);
          expect(r.json().error.code).toBe('forbidden');
        }
      }
    }
    expect((await list(mona.authorization)).json().members.map((m: { username: string }) => m.username)).toEqual(['mona']);

    // workspaces:read lists members but changes nothing; workspaces:write does what the role allows.
    const reader = await token(mona.authorization, ['workspaces:read']);
    expect((await list(reader)).statusCode).toBe(200);
    expect((await put(reader, target.id, 'viewer')).statusCode).toBe(403);
    expect((await create(reader, 'Sub by reader', top.id)).statusCode).toBe(403);
    const writer = await token(mona.authorization, ['workspaces:write']);
    expect((await put(writer, target.id, 'viewer')).statusCode).toBe(204);
    expect((await create(writer, 'Sub by writer', top.id)).statusCode).toBe(201);
    expect((await del(writer, target.id)).statusCode).toBe(204);
    // ...and no more than the role: a writer token of a manager still cannot create at the top level.
    expect((await create(writer, 'Top by writer')).statusCode).toBe(403);
  });

  it('renames: managers of the workspace only, sibling names stay unique, the ledger records it', async () => {
    const top = (await create(admin, 'Rename top')).json().workspace;
    const a = (await create(admin, 'Team A', top.id)).json().workspace;
    await create(admin, 'Team B', top.id);
    const mona = await user('rena');
    const vic = await user('vic');
    await app.inject({ method: 'PUT', url: `/api/v1/workspaces/${a.id}/members/${mona.id}`, headers: { authorization: admin }, payload: { role: 'manager' } });
    await app.inject({ method: 'PUT', url: `/api/v1/workspaces/${a.id}/members/${vic.id}`, headers: { authorization: admin }, payload: { role: 'member' } });
    const rename = (authorization: string, id: string, name: string) => app.inject({ method: 'PATCH', url: `/api/v1/workspaces/${id}`, headers: { authorization }, payload: { name } });

    const ok = await rename(mona.authorization, a.id, '  Team Alpha ');
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().workspace).toMatchObject({ id: a.id, name: 'Team Alpha', parentId: top.id, role: 'manager' });
    expect((await rename(vic.authorization, a.id, 'Mine now')).json().error.code).toBe('forbidden');
    // Not a member of the parent: the parent does not exist for them.
    expect((await rename(mona.authorization, top.id, 'Taken over')).json().error.code).toBe('not_found');
    const dup = await rename(admin, a.id, 'team b');
    expect(dup.json().error).toMatchObject({ code: 'conflict', details: [{ pointer: '/name' }] });
    expect((await rename(admin, a.id, '   ')).json().error.code).toBe('validation_failed');
    const entries = (await app.inject({ url: `/api/v1/events?stream=${encodeURIComponent(`workspace:${a.id}`)}&limit=100`, headers: { authorization: admin } })).json();
    expect(JSON.stringify(entries)).toContain('workspace.renamed');
  });

  it('refuses duplicate sibling names, unknown roles and unknown users clearly', async () => {
    const a = (await create(admin, 'Dup')).json().workspace;
    expect((await create(admin, 'dup')).json().error.code).toBe('conflict');
    expect((await app.inject({ method: 'PUT', url: `/api/v1/workspaces/${a.id}/members/00000000-0000-0000-0000-000000000000`, headers: { authorization: admin }, payload: { role: 'owner' } })).json().error.code).toBe('validation_failed');
    expect((await app.inject({ method: 'PUT', url: `/api/v1/workspaces/${a.id}/members/00000000-0000-0000-0000-000000000000`, headers: { authorization: admin }, payload: { role: 'viewer' } })).json().error.code).toBe('not_found');
  });
});
