import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, setupAdmin } from '../../test/harness.js';

let app: Awaited<ReturnType<typeof createTestApp>>['app'];
let stop: () => Promise<void>;
let admin: string;
let ws: string;
let other: string;

const call = (method: 'GET' | 'POST', url: string, payload?: unknown, auth = admin) => app.inject({ method, url, headers: { authorization: auth }, ...(payload !== undefined ? { payload: payload as string } : {}) });
const create = async (workspace: string, identifier: string, extra: Record<string, unknown> = {}) => {
  const r = await call('POST', `/api/v1/workspaces/${workspace}/subjects`, { identifier, identifierKind: 'custom', ...extra });
  expect(r.statusCode, r.body).toBe(201);
  return r.json().subject.id as string;
};
const similar = async (workspace: string, q: Record<string, string>) => {
  const r = await call('GET', `/api/v1/workspaces/${workspace}/subjects/similar?${new URLSearchParams(q).toString()}`);
  expect(r.statusCode, r.body).toBe(200);
  return r.json().subjects as Array<{ id: string; identifier: string; score: number }>;
};

beforeAll(async () => {
  ({ app, stop } = await createTestApp());
  admin = (await setupAdmin(app)).authorization;
  ws = (await call('POST', '/api/v1/workspaces', { name: 'Clinic S' })).json().workspace.id;
  other = (await call('POST', '/api/v1/workspaces', { name: 'Clinic T' })).json().workspace.id;
});
afterAll(async () => {
  await stop?.();
});

describe('data hub subject search (the registrations search engine)', () => {
  it('"005" finds DEMO-005: a query matches anywhere in the identifier, wildcards taken literally', async () => {
    await create(ws, 'DEMO-005');
    await create(ws, 'DEMO-050');
    await create(ws, 'X.5');
    const list = async (q: string) => (await call('GET', `/api/v1/workspaces/${ws}/subjects?q=${encodeURIComponent(q)}`)).json().subjects.map((s: { identifier: string }) => s.identifier);
    expect(await list('005')).toEqual(['DEMO-005']);
    expect(await list('demo-0')).toEqual(['DEMO-005', 'DEMO-050']);
    expect(await list('.5')).toEqual(['X.5']);
    // LIKE's wildcards are plain characters here: no identifier holds them.
    expect(await list('_5')).toEqual([]);
    expect(await list('%')).toEqual([]);
  });

  it('finds an existing subject whose name, date of birth and sex resemble a new one, and not others', async () => {
    const curie = await create(ws, 'Curie Dupont', { dateOfBirth: '1990-04-02', sex: 'female' });
    await create(ws, 'Curie Dupond', { dateOfBirth: '1985-01-01', sex: 'female' });
    await create(ws, 'Marie Curie', { dateOfBirth: '1990-04-02', sex: 'female' });
    await create(other, 'Curie-Dupont', { dateOfBirth: '1990-04-02', sex: 'female' });
    for (const identifier of ['Curie-Dupont', 'DUPONT Curie', 'curie dupont', 'Curie Dupond']) {
      const found = await similar(ws, { identifier, dateOfBirth: '1990-04-02', sex: 'female' });
      expect(found.map((s) => s.id), identifier).toEqual([curie]);
      expect(found[0]!.score).toBeGreaterThanOrEqual(0.9);
    }
    // Without a date of birth the name alone is enough to ask.
    expect((await similar(ws, { identifier: 'Curie-Dupont' })).map((s) => s.identifier).sort()).toEqual(['Curie Dupond', 'Curie Dupont']);
    // Another sex or date of birth: a different person. Another name: nothing.
    expect(await similar(ws, { identifier: 'Curie-Dupont', dateOfBirth: '1990-04-02', sex: 'male' })).toEqual([]);
    expect(await similar(ws, { identifier: 'Curie-Dupont', dateOfBirth: '2001-09-09', sex: 'female' })).toEqual([]);
    expect(await similar(ws, { identifier: 'Ada Lovelace', dateOfBirth: '1990-04-02', sex: 'female' })).toEqual([]);
    // A derived identifier is a digest: nothing to compare.
    expect(await similar(ws, { identifier: 'a'.repeat(64) })).toEqual([]);
  });

  it('checks input and access', async () => {
    expect((await call('GET', `/api/v1/workspaces/${ws}/subjects/similar`)).statusCode).toBe(400);
    expect((await call('GET', `/api/v1/workspaces/${ws}/subjects/similar?identifier=x&sex=robot`)).statusCode).toBe(400);
    const r = await app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}/subjects/similar?identifier=Curie` });
    expect(r.statusCode).toBe(401);
  });
});
