import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CairnClient } from '@cairn/sdk';
import type { TestServer } from '../../test/harness.js';
import { registrationWorld, type RegistrationClient, type RegistrationTree } from '../../test/registration-world.js';

/** The performance dashboard's figures over HTTP: counts per month and place, completeness, CSV, jurisdiction. */
const PASSWORD = 'correct horse battery staple';
let server: TestServer;
let admin: CairnClient;
let users: Record<'agent1' | 'agent2' | 'registrar1' | 'registrar2' | 'national' | 'none', RegistrationClient>;
let tree: RegistrationTree;

const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
const month = day(0).slice(0, 7);

async function registered(agent: RegistrationClient, registrar: RegistrationClient, dob: string, place: string, lastName: string) {
  const r = await agent.registrations.create({ type: 'birth', action: 'declare', data: { 'child.lastName': lastName, 'child.sex': 'female', 'child.dob': dob, 'child.placeOfBirth': place, 'mother.firstName': 'Awa', 'mother.lastName': lastName } });
  await registrar.registrations.action(r.id, 'assign');
  await registrar.registrations.action(r.id, 'register');
  return r.id;
}

async function get(u: RegistrationClient, path: string) {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${u.token}` } });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  const world = await registrationWorld(PASSWORD, { district2: '=District Two' });
  ({ server, admin, tree } = world);
  // Every birth here is a different child; the figures, not de-duplication, are under test.
  server.services.registrations.duplicateCheckers.length = 0;
  users = await world.users({
    agent1: ['agent-1', 'field-agent', tree.office1],
    agent2: ['agent-2', 'field-agent', tree.office2],
    registrar1: ['registrar-1', 'local-registrar', tree.office1],
    registrar2: ['registrar-2', 'local-registrar', tree.office2],
    national: ['national', 'national-registrar', tree.office2],
    none: ['no-role', null, null],
  });
  // District one: one birth registered within a year, one two years late, one declared only.
  await registered(users.agent1, users.registrar1, day(-3), tree.district1, 'Diallo');
  await registered(users.agent1, users.registrar1, day(-800), tree.district1, 'Ndiaye');
  await users.agent1.registrations.create({ type: 'birth', action: 'declare', data: { 'child.lastName': 'Sow', 'child.sex': 'male', 'child.dob': day(-1), 'child.placeOfBirth': tree.district1, 'mother.firstName': 'Fatou', 'mother.lastName': 'Sow' } });
  // District two: one registered within a year.
  await registered(users.agent2, users.registrar2, day(-30), tree.district2, 'Ba');
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

describe('registration performance figures', () => {
  it('counts registered records per month and place, and the share registered within a year, for the whole country', async () => {
    const r = await get(users.national, '/api/v1/registrations/stats');
    expect(r.status).toBe(200);
    const s = r.json;
    expect(s.root).toEqual({ id: tree.country, name: 'Country' });
    expect(s.total).toEqual({ registered: 3, withinYear: 2 });
    // The last twelve months, empty ones included, this one last.
    expect(s.months).toHaveLength(12);
    expect(s.months.at(-1)).toEqual({ month, registered: 3, withinYear: 2 });
    expect(s.months.slice(0, -1).every((m: { registered: number }) => m.registered === 0)).toBe(true);
    expect(s.places).toEqual([{ id: tree.province, name: 'Province', registered: 3, withinYear: 2 }]);

    const byProvince = (await get(users.national, `/api/v1/registrations/stats?location=${tree.province}&type=birth`)).json;
    expect(byProvince.places).toEqual([
      { id: tree.district1, name: 'District One', registered: 2, withinYear: 1 },
      { id: tree.district2, name: '=District Two', registered: 1, withinYear: 1 },
    ]);
    expect(byProvince.cells).toEqual([
      { month, placeId: tree.district1, registered: 2, withinYear: 1 },
      { month, placeId: tree.district2, registered: 1, withinYear: 1 },
    ]);
    expect((await get(users.national, '/api/v1/registrations/stats?type=death')).json.total).toEqual({ registered: 0, withinYear: 0 });
    // A period that ended before anything was registered.
    expect((await get(users.national, `/api/v1/registrations/stats?from=${day(-400)}&to=${day(-2)}`)).json.total).toEqual({ registered: 0, withinYear: 0 });
  });

  it('stays within the caller’s jurisdiction', async () => {
    const local = (await get(users.registrar1, '/api/v1/registrations/stats')).json;
    expect(local.root).toEqual({ id: tree.district1, name: 'District One' });
    expect(local.total).toEqual({ registered: 2, withinYear: 1 });
    expect(local.places).toEqual([{ id: tree.district1, name: 'District One', registered: 2, withinYear: 1 }]);
    // Asking for another district's place gives nothing of it.
    expect((await get(users.registrar1, `/api/v1/registrations/stats?location=${tree.district2}`)).json.total).toEqual({ registered: 0, withinYear: 0 });
    expect((await get(users.registrar2, '/api/v1/registrations/stats')).json.total).toEqual({ registered: 1, withinYear: 1 });
  });

  it('downloads the same figures as CSV, counts only', async () => {
    const r = await get(users.national, `/api/v1/registrations/stats.csv?location=${tree.province}`);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/csv/);
    const lines = r.text.trim().split('\r\n');
    expect(lines[0]).toBe('month,location_id,location,registered,registered_within_a_year,completeness');
    expect(lines.slice(1)).toEqual([`${month},${tree.district1},District One,2,1,0.5000`, `${month},${tree.district2},'=District Two,1,1,1.0000`]);
    for (const name of ['Diallo', 'Ndiaye', 'Awa', 'Ba,']) expect(r.text).not.toContain(name);
  });

  it('refuses bad input with a pointer, and callers without a registration role', async () => {
    const bad = async (query: string, pointer: string) => {
      const r = await get(users.national, `/api/v1/registrations/stats?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.json.error.code).toBe('validation_failed');
      expect(r.json.error.details[0].pointer, query).toBe(pointer);
    };
    await bad('from=2026-02-31', '/from');
    await bad('from=yesterday', '/from');
    await bad(`from=${day(0)}&to=${day(-10)}`, '/from');
    await bad('from=1900-01-01&to=2026-01-01', '/from');
    await bad('type=marriage', '/type');
    await bad('type=Bad%20Type', '/type');
    await bad('location=not-a-uuid', '/location');
    await bad('location=00000000-0000-4000-8000-000000000000', '/location');
    await bad('colour=red', '/colour');
    expect((await get(users.none, '/api/v1/registrations/stats')).status).toBe(403);
    expect((await fetch(`${server.url}/api/v1/registrations/stats`)).status).toBe(401);
  });
});
