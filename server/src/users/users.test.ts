import { describe, expect, it } from 'vitest';
import { addUser, useAdminApp } from '../../test/accounts.js';

const t = useAdminApp();
const user = (username: string, displayName?: string) => addUser(t.app, t.admin, username, { displayName });
const search = async (authorization: string, q: string) => {
  const r = await t.app.inject({ url: `/api/v1/users/search?q=${encodeURIComponent(q)}`, headers: { authorization } });
  expect(r.statusCode, r.body).toBe(200);
  return (r.json().users as { username: string; displayName: string | null }[]).map((u) => u.username);
};
const ws = async (name: string, parentId?: string) => (await t.app.inject({ method: 'POST', url: '/api/v1/workspaces', headers: { authorization: t.admin }, payload: { name, ...(parentId ? { parentId } : {}) } })).json().workspace as { id: string };
const member = (w: string, userId: string, role = 'member') => t.app.inject({ method: 'PUT', url: `/api/v1/workspaces/${w}/members/${userId}`, headers: { authorization: t.admin }, payload: { role } });

describe('finding people by name (the user picker)', () => {
  it('finds by username or name anywhere in either, within the workspace trees the caller shares', async () => {
    const ada = await user('ada.l', 'Ada Lovelace');
    const grace = await user('ghopper', 'Grace Hopper');
    const alan = await user('aturing', 'Alan Turing');
    const outsider = await user('zed', 'Zed Outsider');
    const lab = await ws('Lab');
    const sub = await ws('Sub team', lab.id);
    const other = await ws('Other');
    await member(lab.id, ada.id, 'manager');
    await member(sub.id, grace.id);
    await member(other.id, alan.id);

    // Admins find every enabled account, by name or username, anywhere in the text.
    expect(await search(t.admin, 'hopper')).toEqual(['ghopper']);
    expect(await search(t.admin, 'LOVE')).toEqual(['ada.l']);
    expect(await search(t.admin, 'tur')).toEqual(['aturing']);
    // A member finds people at, above or below their workspaces (and themselves) ...
    expect(await search(grace.authorization, 'a')).toEqual(expect.arrayContaining(['ada.l', 'ghopper']));
    expect(await search(grace.authorization, 'a')).not.toContain('aturing');
    expect(await search(ada.authorization, 'grace')).toEqual(['ghopper']);
    // ... nobody else by a fragment, but anyone by their exact username.
    expect(await search(ada.authorization, 'outsider')).toEqual([]);
    expect(await search(ada.authorization, 'Zed')).toEqual(['zed']);
    expect(await search(outsider.authorization, 'ada')).toEqual([]);
    // LIKE wildcards are plain text.
    expect(await search(t.admin, '%')).toEqual([]);
    expect(await search(t.admin, '_')).toEqual([]);

    // A disabled account is never offered.
    await t.app.inject({ method: 'POST', url: `/api/v1/users/${alan.id}/disable`, headers: { authorization: t.admin } });
    expect(await search(t.admin, 'turing')).toEqual([]);

    // Apps and anonymous callers cannot list people; bad input is a 400 with a pointer.
    expect((await t.app.inject({ url: '/api/v1/users/search?q=a' })).statusCode).toBe(401);
    const long = await t.app.inject({ url: `/api/v1/users/search?q=${'a'.repeat(121)}`, headers: { authorization: t.admin } });
    expect(long.statusCode).toBe(400);
    expect(long.json().error.code).toBe('validation_failed');
  });

  it('names: set by admins for anyone, by a user for themselves only; members list shows them', async () => {
    const bob = await user('bob');
    const carol = await user('carol');
    const set = (authorization: string, id: string, displayName: string | null) => t.app.inject({ method: 'PATCH', url: `/api/v1/users/${id}`, headers: { authorization }, payload: { displayName } });
    expect((await set(bob.authorization, bob.id, '  Bob Builder ')).json().user.displayName).toBe('Bob Builder');
    expect((await set(bob.authorization, carol.id, 'Not me')).statusCode).toBe(403);
    expect((await set(t.admin, carol.id, 'Carol C')).json().user.displayName).toBe('Carol C');
    expect((await set(t.admin, carol.id, 'x'.repeat(121))).statusCode).toBe(400);
    expect((await set(t.admin, '00000000-0000-0000-0000-000000000000', 'Nobody')).statusCode).toBe(404);
    const w = await ws('Named');
    await member(w.id, bob.id);
    const members = (await t.app.inject({ url: `/api/v1/workspaces/${w.id}/members`, headers: { authorization: t.admin } })).json().members;
    expect(members).toEqual([{ userId: bob.id, username: 'bob', displayName: 'Bob Builder', role: 'member' }]);
    expect((await set(t.admin, bob.id, null)).json().user.displayName).toBeNull();
  });
});
