import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CairnClient, RegistrationImportReport } from '@cairn/sdk';
import type { TestServer } from '../../test/harness.js';
import { createLogger } from '../kernel/logger.js';
import { newId } from '../kernel/ids.js';
import { DedupWorker } from './search.dedup.host.js';
import { place, registrationWorld, type RegistrationClient, type RegistrationTree } from '../../test/registration-world.js';

const PASSWORD = 'correct horse battery staple';
let server: TestServer;
let admin: CairnClient;
let users: Record<'agent' | 'registrar' | 'other' | 'nobody', RegistrationClient>;
let tree: RegistrationTree & Record<'twin1' | 'twin2', string>;

async function post(who: RegistrationClient, query: string, body: string, contentType = 'text/csv'): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}/api/v1/registrations/import?${query}`, { method: 'POST', headers: { authorization: `Bearer ${who.token}`, 'content-type': contentType }, body });
  return { status: res.status, json: await res.json() };
}

const HEADER = 'legacyId,child.firstName,child.lastName,child.sex,child.dob,child.placeOfBirth,mother.firstName,mother.lastName,mother.dob,mother.nationalId';

beforeAll(async () => {
  const world = await registrationWorld(PASSWORD, { district1: 'Kayes Cercle', office1: 'Kayes Office', district2: 'Sikasso Cercle', office2: 'Sikasso Office' });
  ({ server, admin } = world);
  const db = server.services.db;
  // Two places with one name (accents aside): a cell naming it is ambiguous.
  tree = { ...world.tree, twin1: await place(db, 'Bamako', 'area', world.tree.district1), twin2: await place(db, 'Bamakó', 'area', world.tree.district2) };
  await sql`UPDATE workspaces SET external_id = 'ML-' || right(id::text, 12) WHERE id IN (${tree.twin1}, ${tree.twin2})`.execute(db);
  users = await world.users({
    agent: ['agent', 'registration-agent', tree.office1],
    registrar: ['registrar', 'local-registrar', tree.office1],
    other: ['other', 'local-registrar', tree.office2],
    nobody: ['nobody', null, null],
  });
});
afterAll(async () => {
  await server?.stop();
});

describe('legacy register import', () => {
  let report: RegistrationImportReport;
  let existing: { id: string };
  const csv = [
    HEADER,
    // 1: a child with every field, place by name (accents and case ignored)
    'KY-1987-001,Moussa,Konaté,male,1987-03-02,kayes cercle,Awa,Diarra,1965-01-01,1111111111',
    // 2: no first name (not named yet), no national ID, the mother's age instead of her date of birth
    `KY-1987-002,,Traoré,female,1987-04-10,${'{district1}'},Kadiatou,Sylla,22,`,
    // 3: refused: a date that does not exist and a place nobody knows
    'KY-1987-003,Issa,Camara,male,1987-02-30,Atlantis,Rokia,Camara,,',
    // 4: the same child as row 1, spelt otherwise (a duplicate of an earlier row)
    'KY-1987-004,Mousa,Konate,male,1987-03-02,Kayes Cercle,Awa,Diarra,,1111111111',
    // 5: the twin of row 1 (same mother, same day, another first name): not a duplicate
    'KY-1987-005,Fanta,Konaté,female,1987-03-02,Kayes Cercle,Awa,Diarra,1965-01-01,1111111111',
    // 6: the same child as one already in the register
    'KY-1987-006,Youssouf,Coulibaly,male,1987-06-11,KAYES CERCLE,Mariam,Sangaré,,',
    // 7: refused: a name two places share, and row 1's legacyId again
    'KY-1987-001,Ali,Ba,male,1987-01-01,Bamako,Oumou,Ba,,',
  ].join('\n');

  beforeAll(async () => {
    existing = await users.agent.registrations.create({ type: 'birth', action: 'declare', data: { 'child.firstName': 'Yusuf', 'child.lastName': 'Coulibaly', 'child.sex': 'male', 'child.dob': '1987-06-11', 'child.placeOfBirth': tree.district1, 'mother.firstName': 'Maryam', 'mother.lastName': 'Sangare' } });
    report = await users.agent.registrations.importCsv(csv.replace('{district1}', tree.district1), { type: 'birth', action: 'declare' });
  });

  it('creates one registration per valid row and refuses the others with their field errors', async () => {
    expect(report).toMatchObject({ type: 'birth', action: 'declare', rows: 7, created: 5, refusedCount: 2, duplicatesCount: 2, alreadyImported: 0, truncated: false });
    const [three, seven] = report.refused;
    expect(three).toMatchObject({ row: 3, line: 4, legacyId: 'KY-1987-003' });
    expect(three!.errors.map((e) => [e.pointer, e.code]).sort()).toEqual([['/child.dob', 'invalid_date'], ['/child.placeOfBirth', 'unknown_location']]);
    expect(seven!.errors.map((e) => e.code).sort()).toEqual(['ambiguous_location', 'duplicate_legacy_id']);
    // Rows missing a first name, a national ID or a date of birth are imported as paper registers have them.
    const two = (await users.registrar.registrations.search('KY-1987-002')).results[0]!;
    expect(two).toMatchObject({ legacyId: 'KY-1987-002', matched: [{ field: 'legacyId', how: 'identifier' }] });
    const full = await users.registrar.registrations.get(two.id);
    expect(full.status).toBe('declared');
    expect(full.data['child.firstName']).toBeUndefined();
    expect(full.data['mother.dob']).toEqual({ age: 22 });
    expect(full.data.legacyId).toBe('KY-1987-002');
  });

  it('finds duplicates against the rows before it and the register, not twins', async () => {
    const byRow = new Map(report.duplicates.map((d) => [d.row, d]));
    expect([...byRow.keys()].sort()).toEqual([4, 6]);
    const first = (await users.registrar.registrations.search('KY-1987-001')).results[0]!;
    expect(byRow.get(4)!.matches).toEqual([expect.objectContaining({ id: first.id, legacyId: 'KY-1987-001' })]);
    expect(byRow.get(6)!.matches).toEqual([expect.objectContaining({ id: existing.id, legacyId: null })]);
    expect(byRow.get(6)!.matches[0]!.score).toBeGreaterThan(0.5);
    const four = await users.registrar.registrations.get(byRow.get(4)!.id);
    expect(four.flags).toContain('potential-duplicate');
    // Every open pair, with both legacy ids.
    const pairs = await users.registrar.registrations.duplicates('birth');
    expect(pairs).toContainEqual(expect.objectContaining({ a: expect.objectContaining({ legacyId: 'KY-1987-004' }), b: expect.objectContaining({ legacyId: 'KY-1987-001' }) }));
    expect(pairs).toContainEqual(expect.objectContaining({ a: expect.objectContaining({ legacyId: 'KY-1987-006' }), b: expect.objectContaining({ id: existing.id, legacyId: null }) }));
    expect(pairs.some((p) => p.a.legacyId === 'KY-1987-005' || p.b.legacyId === 'KY-1987-005')).toBe(false);
  });

  it('skips rows already imported when the same file comes again', async () => {
    const again = await users.agent.registrations.importCsv(csv.replace('{district1}', tree.district1), { type: 'birth', action: 'declare' });
    expect(again).toMatchObject({ rows: 7, created: 0, alreadyImported: 5, refusedCount: 2 });
  });

  it('refuses a bad header, a missing role, another content type, and keeps imports within the jurisdiction', async () => {
    const bad = await post(users.agent, 'type=birth&action=declare', 'legacyId,child.shoeSize,documents\nx,1,2');
    expect(bad.status).toBe(422);
    expect(bad.json.error.code).toBe('invalid_import');
    expect(bad.json.error.details.errors.map((e: { pointer: string; code: string }) => [e.pointer, e.code])).toEqual([['/header/1', 'unknown_field'], ['/header/2', 'unsupported_field']]);
    expect((await post(users.nobody, 'type=birth&action=declare', HEADER)).json.error.code).toBe('registration_role_required');
    expect((await post(users.agent, 'type=birth&action=declare', '{}', 'application/json')).status).toBe(415);
    expect((await post(users.agent, 'type=birth&action=register', HEADER)).status).toBe(400);
    expect((await post(users.agent, 'type=nosuchtype&action=declare', HEADER)).status).toBe(400);
    const broken = await post(users.agent, 'type=birth&action=declare', `${HEADER}\n"unterminated,quote`);
    expect(broken.status).toBe(400);
    expect(broken.json.error.code).toBe('invalid_csv');
    // Imported by an office in district 1: another district's registrar does not see them.
    expect((await users.other.registrations.search('KY-1987-001')).results).toEqual([]);
  });

  it('finds duplicates across batches: in the batch being written, in batches written before, and earlier in its own batch', async () => {
    // Rows are checked 1,000 at a time, each batch while the one before it is written: three
    // planted duplicates, one for each place the earlier record can be at that moment.
    // Strangers: names of random syllables, distinct dates and national IDs (a seeded generator).
    const letters = (n: number) => {
      let x = (n * 2654435761) >>> 0;
      return Array.from({ length: 3 }, () => {
        x = (x * 1103515245 + 12345) >>> 0;
        return 'bdfgklmnprstvz'[(x >>> 8) % 14]! + 'aeiou'[(x >>> 20) % 5]!;
      }).join('');
    };
    const day = (n: number, from = 1990) => new Date(Date.UTC(from, 0, 1) + ((n * 7919) % 7000) * 86_400_000).toISOString().slice(0, 10);
    const row = (i: number, firstName = `${letters(i)}`) =>
      `BX-${i},${firstName},${letters(i + 50_000)},${i % 2 ? 'male' : 'female'},${day(i)},Kayes Cercle,${letters(i + 90_000)},${letters(i + 130_000)},${day(i + 3000, 1955)},${String(3_000_000_000 + i)}`;
    const lines = [HEADER];
    for (let i = 1; i <= 2600; i++) lines.push(row(i));
    const typo = (i: number) => row(i).replace(/^BX-\d+,(\w)(\w)/, (_m, a: string, b: string) => `BX-DUP,${b}${a}`);
    lines[1001] = typo(1000).replace('BX-DUP', 'BX-1001'); // batch 2 against batch 1, still being written
    lines[2500] = typo(10).replace('BX-DUP', 'BX-2500'); // batch 3 against batch 1, written
    lines[1500] = typo(1200).replace('BX-DUP', 'BX-1500'); // batch 2 against its own row 1200
    const r = await users.registrar.registrations.importCsv(lines.join('\n'), { type: 'birth', action: 'declare' });
    expect(r.refused).toEqual([]);
    expect(r).toMatchObject({ rows: 2600, created: 2600, refusedCount: 0 });
    const flagged = new Map(r.duplicates.map((d) => [d.legacyId, d.matches.map((m) => m.legacyId)]));
    expect(Object.fromEntries(flagged)).toEqual({ 'BX-1001': ['BX-1000'], 'BX-2500': ['BX-10'], 'BX-1500': ['BX-1200'] });
  });

  it('reads an option by its value or label in any language, or by the one letter paper registers use', async () => {
    const rows = ['F', 'Masculin', 'MALE', 'féminin', 'x'].map((sex, i) => `SX-${i + 1},Ami${'abcde'[i]}ta,Sidibé${'abcde'[i]},${sex},2001-0${i + 1}-15,Kayes Cercle,Nana${'abcde'[i]},Keita${'abcde'[i]},,`);
    const r = await users.registrar.registrations.importCsv([HEADER, ...rows].join('\n'), { type: 'birth', action: 'declare' });
    expect(r).toMatchObject({ rows: 5, created: 4, refusedCount: 1 });
    expect(r.refused[0]).toMatchObject({ row: 5, legacyId: 'SX-5' });
    expect(r.refused[0]!.errors.map((e) => [e.pointer, e.code])).toEqual([['/child.sex', 'not_an_option']]);
    const sexes = [];
    for (const legacyId of ['SX-1', 'SX-2', 'SX-3', 'SX-4']) {
      const hit = (await users.registrar.registrations.search(legacyId)).results[0]!;
      sexes.push((await users.registrar.registrations.get(hit.id)).data['child.sex']);
    }
    expect(sexes).toEqual(['female', 'male', 'male', 'female']);
  });

  it('a de-duplication worker that stops fails the check it had, and the next check starts another', async () => {
    const { db } = server.services;
    const { version, document } = await server.services.registrations.typeDocument('birth');
    const yusuf = { 'child.firstName': 'Youssouf', 'child.lastName': 'Coulibaly', 'child.sex': 'male', 'child.dob': '1987-06-11', 'mother.firstName': 'Mariam', 'mother.lastName': 'Sangaré' };
    const worker = new DedupWorker(db, createLogger('silent'));
    const pending = worker.check(newId(), 1, 'birth', version, document, [{ id: newId(), data: yusuf }], 'declare');
    const failed = expect(pending).rejects.toThrow(/stopped/);
    await worker.close();
    await failed;
    // Reads the register through this process: the registration declared before the imports.
    const [found] = await worker.check(newId(), 1, 'birth', version, document, [{ id: newId(), data: yusuf }], 'declare');
    expect(found!.matches).toContain(existing.id);
    await worker.close();
  });
});

