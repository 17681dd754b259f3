import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { CairnClient } from '@cairn/sdk';
import { newId } from '../../../server/src/kernel/ids.js';
import { PASSWORD, startCliWorld, type CliWorld } from '../../test/cli-world.js';

let world: CliWorld;
let dir: string;
let district = '';
let adminToken = '';
const cairn = (args: string[], extra: Record<string, string> = {}) => world.cairn(args, extra);

beforeAll(async () => {
  world = await startCliWorld();
  ({ dir, adminToken } = world);
  const admin = world.admin;
  const db = world.server.services.db;
  const country = newId();
  district = newId();
  const office = newId();
  await sql`INSERT INTO workspaces (id, parent_id, name, path, kind) VALUES (${country}, NULL, 'Country', ${`/${country}/`}, 'area'),
    (${district}, ${country}, 'District', ${`/${country}/${district}/`}, 'area'), (${office}, ${district}, 'Office', ${`/${country}/${district}/${office}/`}, 'office')`.execute(db);
  const u = await admin.users.create({ username: 'registrar', password: PASSWORD, role: 'member' });
  await admin.registrations.setUserProfile(u.id, { officeId: office, role: 'local-registrar' });
  const token = (await new CairnClient({ baseUrl: world.server.url }).auth.login({ username: 'registrar', password: PASSWORD })).accessToken;
  // The registrar runs the CLI; the administrator's token is passed per command where needed.
  world.env.CAIRN_TOKEN = token;
});

afterAll(() => world?.stop());

describe('cairn registrations', () => {
  it('declares, acts, lists, shows and traces a registration with readable output', async () => {
    const bad = await cairn(['registrations', 'declare', '--type', 'birth', '--set', 'child.lastName=Diallo']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/child\.dob: an answer is required/);
    expect(bad.stderr).toMatch(/\(invalid_registration_data\)/);

    const d = await cairn(['registrations', 'declare', '--type', 'birth', '--json', '--set', 'child.lastName=Diallo', '--set', 'child.sex=female', '--set', `child.dob=${new Date().toISOString().slice(0, 10)}`, '--set', `child.placeOfBirth=${district}`, '--set', 'mother.firstName=Awa', '--set', 'mother.lastName=Diallo']);
    expect(d.stderr).toBe('');
    const reg = JSON.parse(d.stdout) as { id: string; trackingId: string };
    expect((await cairn(['registrations', 'action', reg.trackingId, 'assign'])).stdout).toMatch(/Done: assign/);
    const registered = await cairn(['registrations', 'action', reg.trackingId, 'register']);
    expect(registered.stdout).toMatch(new RegExp(`register on ${reg.trackingId} → registered, number B\\d{11}`));
    const list = await cairn(['registrations', 'list', '--status', 'registered']);
    expect(list.stdout).toMatch(/TRACKING/);
    expect(list.stdout).toContain(reg.trackingId);
    expect(list.stdout).toContain('Diallo');
    const counts = await cairn(['registrations', 'list', '--counts']);
    expect(counts.stdout).toMatch(/ready-to-print\s+1/);
    const got = await cairn(['registrations', 'get', reg.id]);
    expect(got.stdout).toMatch(/birth .* registered/);
    expect(got.stdout).toMatch(/mother\.firstName\s+Awa/);
    expect(got.stdout).toMatch(/you may now: assign/);
    const history = await cairn(['registrations', 'history', reg.trackingId]);
    expect(history.stdout).toMatch(/declare\s+registrar\s+local-registrar\s+Office\s+declared/);
    expect(history.stdout).toMatch(/register\s+registrar/);
    expect(history.stdout).toMatch(/read\s+registrar/);
    const wrong = await cairn(['registrations', 'action', reg.id, 'archive']);
    expect(wrong.stderr).toMatch(/\(action_not_allowed\)|\(registration_not_assigned\)/);
  });

  it('gets a type document and puts a new version back', async () => {
    const got = await cairn(['registration-types', 'get', 'death']);
    const doc = JSON.parse(got.stdout) as { label: { en: string; fr: string } };
    doc.label = { en: 'Death (civil)', fr: 'Décès (civil)' };
    const file = path.join(dir, 'death.json');
    fs.writeFileSync(file, JSON.stringify(doc));
    // A registrar may read types but not change them.
    const refused = await cairn(['registration-types', 'put', 'death', file]);
    expect(refused.stderr).toMatch(/\(forbidden\)/);
    const saved = await cairn(['registration-types', 'put', 'death', file], { CAIRN_TOKEN: adminToken });
    expect(saved.stdout).toBe('Saved death version 2\n');
    const list = await cairn(['registration-types', 'list']);
    expect(list.stdout).toMatch(/birth\s+1\s+Birth/);
    expect(list.stdout).toMatch(/death\s+2\s+Death \(civil\)/);
  });
});
