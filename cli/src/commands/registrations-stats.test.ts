import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { CairnClient } from '@cairn/sdk';
import { newId } from '../../../server/src/kernel/ids.js';
import { PASSWORD, startCliWorld, type CliWorld } from '../../test/cli-world.js';

/** `cairn registrations stats`: the performance dashboard's figures in a terminal, and its CSV. */
let world: CliWorld;
const month = new Date().toISOString().slice(0, 7);

beforeAll(async () => {
  world = await startCliWorld();
  const db = world.server.services.db;
  world.server.services.registrations.duplicateCheckers.length = 0;
  const country = newId();
  const district = newId();
  const office = newId();
  await sql`INSERT INTO workspaces (id, parent_id, name, path, kind) VALUES (${country}, NULL, 'Country', ${`/${country}/`}, 'area'),
    (${district}, ${country}, 'Gasabo', ${`/${country}/${district}/`}, 'area'), (${office}, ${district}, 'Office', ${`/${country}/${district}/${office}/`}, 'office')`.execute(db);
  const u = await world.admin.users.create({ username: 'registrar', password: PASSWORD, role: 'member' });
  await world.admin.registrations.setUserProfile(u.id, { officeId: office, role: 'national-registrar' });
  const client = new CairnClient({ baseUrl: world.server.url });
  const token = (await client.auth.login({ username: 'registrar', password: PASSWORD })).accessToken;
  client.setToken(token);
  world.env.CAIRN_TOKEN = token;
  // One birth registered within a year of it, one registered three years late.
  for (const dob of [new Date().toISOString().slice(0, 10), '2023-01-15']) {
    const r = await client.registrations.create({ type: 'birth', action: 'declare', data: { 'child.lastName': 'Mugisha', 'child.sex': 'male', 'child.dob': dob, 'child.placeOfBirth': district, 'mother.firstName': 'Aline', 'mother.lastName': 'Uwase' } });
    await client.registrations.action(r.id, 'assign');
    await client.registrations.action(r.id, 'register');
  }
}, 120_000);

afterAll(() => world?.stop());

describe('cairn registrations stats', () => {
  it('prints the figures per month and per place, and the CSV', async () => {
    const byMonth = await world.cairn(['registrations', 'stats']);
    expect(byMonth.stderr).toBe('');
    expect(byMonth.stdout).toMatch(/within Country: 2 registered, completeness 50\.0 %/);
    expect(byMonth.stdout).toMatch(new RegExp(`${month}\\s+2\\s+1\\s+50\\.0 %`));
    const byPlace = await world.cairn(['registrations', 'stats', '--by', 'place', '--type', 'birth']);
    expect(byPlace.stdout).toMatch(/PLACE\s+REGISTERED/);
    expect(byPlace.stdout).toMatch(/Gasabo\s+2\s+1\s+50\.0 %/);
    const csv = await world.cairn(['registrations', 'stats', '--csv']);
    const lines = csv.stdout.trim().split('\r\n');
    expect(lines[0]).toBe('month,location_id,location,registered,registered_within_a_year,completeness');
    expect(lines[1]).toMatch(new RegExp(`^${month},[0-9a-f-]{36},Gasabo,2,1,0\\.5000$`));
    expect(csv.stdout).not.toContain('Mugisha');
    const bad = await world.cairn(['registrations', 'stats', '--by', 'colour']);
    expect(bad.code).toBe(2);
    const badDate = await world.cairn(['registrations', 'stats', '--from', '2026-02-31']);
    expect(badDate.code).toBe(1);
    expect(badDate.stderr).toMatch(/validation_failed/);
  });
});
