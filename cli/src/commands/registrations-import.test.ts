import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { CairnClient } from '@cairn/sdk';
import { newId } from '../../../server/src/kernel/ids.js';
import { PASSWORD, startCliWorld, type CliWorld } from '../../test/cli-world.js';

let world: CliWorld;

beforeAll(async () => {
  world = await startCliWorld();
  const db = world.server.services.db;
  const [country, district, office] = [newId(), newId(), newId()];
  await sql`INSERT INTO workspaces (id, parent_id, name, path, kind) VALUES (${country}, NULL, 'Country', ${`/${country}/`}, 'area'),
    (${district}, ${country}, 'Ségou', ${`/${country}/${district}/`}, 'area'), (${office}, ${district}, 'Office', ${`/${country}/${district}/${office}/`}, 'office')`.execute(db);
  const u = await world.admin.users.create({ username: 'importer', password: PASSWORD, role: 'member' });
  await world.admin.registrations.setUserProfile(u.id, { officeId: office, role: 'local-registrar' });
  world.env.CAIRN_TOKEN = (await new CairnClient({ baseUrl: world.server.url }).auth.login({ username: 'importer', password: PASSWORD })).accessToken;
});
afterAll(() => world?.stop());

describe('cairn registrations import', () => {
  it('imports a legacy register and reports created rows, refused rows with their line and field, and duplicates', async () => {
    const file = path.join(world.dir, 'register.csv');
    fs.writeFileSync(file, [
      'legacyId,child.firstName,child.lastName,child.sex,child.dob,child.placeOfBirth,mother.firstName,mother.lastName,mother.nationalId',
      'SG-1,Bakary,Traoré,male,2001-02-03,Segou,Awa,Traoré,1234567890',
      'SG-2,Bakari,Traore,male,2001-02-03,Ségou,Awa,Traoré,1234567890',
      'SG-3,Issa,Cissé,male,2001-13-01,Ségou,Awa,Cissé,',
    ].join('\n'));
    const r = await world.cairn(['registrations', 'import', file, '--type', 'birth']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/ROWS\s+CREATED\s+REFUSED\s+DUPLICATES/);
    expect(r.stdout).toMatch(/\b3\s+2\s+1\s+1\b/);
    expect(r.stdout).toMatch(/possible duplicate: row 2 \w{7} \(SG-2\) of SG-1/);
    expect(r.stderr).toMatch(/line 4 \(SG-3\): \/child\.dob/);
    // Again: rows already there are skipped, and --json gives the whole report.
    const again = await world.cairn(['registrations', 'import', file, '--type', 'birth', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ rows: 3, created: 0, alreadyImported: 2, refusedCount: 1 });
    const bad = await world.cairn(['registrations', 'import', file, '--type', 'birth', '--action', 'register']);
    expect(bad.code).toBe(2);
    fs.writeFileSync(file, 'child.shoeSize\n3\n');
    const header = await world.cairn(['registrations', 'import', file, '--type', 'birth']);
    expect(header.code).not.toBe(0);
    expect(header.stderr).toMatch(/invalid_import/);
  });
});
