import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CairnClient } from '@cairn/sdk';
import type { TestServer } from '../../test/harness.js';
import { registrationWorld, type RegistrationClient, type RegistrationTree } from '../../test/registration-world.js';

const PASSWORD = 'correct horse battery staple';
let server: TestServer;
let admin: CairnClient;
type Client = RegistrationClient;
let users: Record<'agent' | 'registrar' | 'other' | 'national', Client>;
let tree: RegistrationTree;
let user: (name: string, role: string, office: string) => Promise<Client>;

async function call(who: Client, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${who.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json() };
}
const quick = (who: Client, q: string) => call(who, 'GET', `/api/v1/registrations/search?q=${encodeURIComponent(q)}`);

let n = 0;
/** A birth with its own mother, so unrelated test births are not duplicates of each other. */
function birth(over: Record<string, unknown> = {}, office = tree.district1) {
  n++;
  return {
    'child.firstName': 'Amina',
    'child.lastName': 'Traoré',
    'child.sex': 'female',
    'child.dob': '2024-03-07',
    'child.placeOfBirth': office,
    'mother.firstName': 'Fatoumata',
    'mother.lastName': 'Keïta',
    'mother.dob': '1995-06-21',
    'mother.nationalId': String(1_000_000_000 + n * 7919),
    'informant.phone': `+22370${String(100000 + n).padStart(6, '0')}`,
    ...over,
  };
}
const declare = (who: Client, data: Record<string, unknown>) => who.registrations.create({ type: 'birth', action: 'declare', data });

beforeAll(async () => {
  const world = await registrationWorld(PASSWORD);
  ({ server, admin, tree, user } = world);
  users = await world.users({
    agent: ['agent', 'field-agent', tree.office1],
    registrar: ['registrar', 'local-registrar', tree.office1],
    other: ['other', 'local-registrar', tree.office2],
    national: ['national', 'national-registrar', tree.office2],
  });
});
afterAll(async () => {
  await server?.stop();
});

describe('quick search', () => {
  let mohammed: { id: string; trackingId: string };
  beforeAll(async () => {
    mohammed = await declare(users.agent, birth({ 'child.firstName': 'Mohammed', 'child.lastName': 'Diallo', 'child.sex': 'male', 'child.dob': '2023-11-02', 'mother.firstName': 'Aïssatou', 'mother.lastName': 'Bâ', 'mother.nationalId': '4455667788', 'informant.phone': '+223 70 12 34 56' }));
    await declare(users.agent, birth({ 'child.firstName': 'Philippe', 'child.lastName': 'Dupont', 'child.sex': 'male', 'child.dob': '2022-01-15', 'mother.firstName': 'Hélène', 'mother.lastName': 'Martin' }));
  });

  it('finds by tracking ID, national ID and phone, exact identifiers first', async () => {
    const byTracking = await quick(users.registrar, mohammed.trackingId.toLowerCase());
    expect(byTracking.status).toBe(200);
    expect(byTracking.json.results[0]).toMatchObject({ id: mohammed.id, matched: [{ field: 'trackingId', how: 'identifier' }] });
    const byNid = await quick(users.registrar, '4455 667 788');
    expect(byNid.json.results[0]?.id).toBe(mohammed.id);
    expect(byNid.json.results[0].matched[0]).toMatchObject({ field: 'mother.nationalId', how: 'identifier' });
    const byPhone = await quick(users.registrar, '70123456');
    expect(byPhone.json.results.map((r: { id: string }) => r.id)).toContain(mohammed.id);
  });

  it('finds names in any order, with typos, accents and transliterations, and says why', async () => {
    // 'Diallp' is a typo its spelling key does not forgive: found through the register's name words like it.
    for (const q of ['Muhammad Diallo', 'diallo mohamed', 'Mohammed Dialo', 'MOHAMED DIALLO', 'aissatou ba', 'Mohamed Diallp']) {
      const r = await quick(users.registrar, q);
      expect(r.status, q).toBe(200);
      expect(r.json.results.map((x: { id: string }) => x.id), q).toContain(mohammed.id);
      expect(r.json.results[0].matched.length, q).toBeGreaterThan(0);
    }
    // The SDK's client answers the same.
    const viaSdk = await users.registrar.registrations.search('Muhammad Diallo');
    expect(viaSdk.results[0]?.id).toBe(mohammed.id);
    expect(viaSdk.results[0]?.matched.map((m) => m.how)).toContain('spelling');
    const ph = await quick(users.registrar, 'Filippe Dupont');
    expect(ph.json.results[0]?.summary['child.firstName']).toBe('Philippe');
    // A name being typed: the words so far, the last one a prefix.
    const typing = await quick(users.registrar, 'Philippe Dupo');
    expect(typing.json.results[0]?.summary['child.lastName']).toBe('Dupont');
    // Two edits away: no look-up of forms places it, the lexicon's trigram similarity does.
    const further = await quick(users.registrar, 'Philippe Dupontel');
    expect(further.json.results[0]?.summary['child.lastName']).toBe('Dupont');
    // Every word must match: another family name brings nothing.
    const none = await quick(users.registrar, 'Mohammed Okafor');
    expect(none.json.results.map((x: { id: string }) => x.id)).not.toContain(mohammed.id);
  });

  it('never finds outside the caller’s jurisdiction; a national registrar finds everywhere', async () => {
    const r = await quick(users.other, 'Mohammed Diallo');
    expect(r.status).toBe(200);
    expect(r.json.results).toEqual([]);
    const national = await quick(users.national, 'Mohammed Diallo');
    expect(national.json.results.map((x: { id: string }) => x.id)).toContain(mohammed.id);
  });

  it('answers odd input with a result or a 4xx, never a 500', async () => {
    for (const q of ['%', '_', "' OR 1=1 --", '.*', '(((', '\\', 'a'.repeat(200), '日本語の名前', '🙂', '*', ' ', 'NULL']) {
      const r = await quick(users.registrar, q);
      expect([200, 400], q).toContain(r.status);
      if (r.status === 400) expect(r.json.error.code).toBe('validation_failed');
    }
    expect((await quick(users.registrar, 'a'.repeat(201))).status).toBe(400);
    expect((await call(users.registrar, 'GET', '/api/v1/registrations/search?q=x&cursor=nonsense')).json.error.code).toBe('invalid_cursor');
  });
});

describe('advanced search', () => {
  it('combines fuzzy names, exact values, date ranges and locations', async () => {
    const a = await declare(users.agent, birth({ 'child.firstName': 'Kwame', 'child.lastName': 'Mensah', 'child.sex': 'male', 'child.dob': '2021-05-10', 'mother.firstName': 'Efua', 'mother.lastName': 'Owusu' }));
    const r = await call(users.registrar, 'POST', '/api/v1/registrations/search', {
      type: 'birth',
      filters: [
        { field: 'child.lastName', op: 'fuzzy', value: 'Mensa' },
        { field: 'child.dob', op: 'range', from: '2021-01-01', to: '2021-12-31' },
        { field: 'child.placeOfBirth', op: 'within', value: tree.province },
        { field: 'child.sex', op: 'exact', value: 'male' },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.json.results.map((x: { id: string }) => x.id)).toEqual([a.id]);
    const outside = await call(users.registrar, 'POST', '/api/v1/registrations/search', { type: 'birth', filters: [{ field: 'child.dob', op: 'range', from: '2021-01-01', to: '2021-12-31' }, { field: 'child.placeOfBirth', op: 'within', value: tree.district2 }] });
    expect(outside.json.results).toEqual([]);
  });

  it('refuses unknown fields, bad dates and empty filters with a pointer', async () => {
    const bad = await call(users.registrar, 'POST', '/api/v1/registrations/search', { type: 'birth', filters: [{ field: 'child.shoeSize', op: 'exact', value: '3' }] });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details[0].pointer).toBe('/filters/0/field');
    const date = await call(users.registrar, 'POST', '/api/v1/registrations/search', { type: 'birth', filters: [{ field: 'child.dob', op: 'range', from: '99999-01-01' }] });
    expect(date.status).toBe(400);
    expect((await call(users.registrar, 'POST', '/api/v1/registrations/search', { type: 'birth', filters: [] })).status).toBe(400);
  });
});

describe('de-duplication on declare', () => {
  it('flags a second declaration of the same child, whatever the spelling, and blocks validation until resolved', async () => {
    const first = await declare(users.agent, birth({ 'child.firstName': 'Youssef', 'child.lastName': 'Coulibaly', 'child.sex': 'male', 'child.dob': '2024-02-11', 'mother.firstName': 'Mariam', 'mother.lastName': 'Sangaré', 'mother.nationalId': '9988776655' }));
    expect(first.flags).not.toContain('potential-duplicate');
    // Transliterated first name, swapped day and month, no national ID this time.
    const second = await declare(users.agent, birth({ 'child.firstName': 'Yusuf', 'child.lastName': 'COULIBALY', 'child.sex': 'male', 'child.dob': '2024-11-02', 'mother.firstName': 'Maryam', 'mother.lastName': 'Sangare', 'mother.nationalId': null }));
    expect(second.flags).toContain('potential-duplicate');
    expect(second.duplicateOf).toEqual([first.id]);
    const history = await users.registrar.registrations.history(second.id);
    const detected = history.find((h) => h.action === 'duplicate-detected');
    expect(detected).toBeTruthy();
    expect(JSON.stringify(detected!.details)).toContain('child.lastName');
    const pairs = { json: await users.registrar.registrations.duplicates('birth') };
    expect(pairs.json).toContainEqual(expect.objectContaining({ a: expect.objectContaining({ id: second.id }), b: expect.objectContaining({ id: first.id }) }));
    // Validation waits for a registrar's decision; "not a duplicate" clears the flag and is in the history.
    await users.registrar.registrations.action(second.id, 'assign');
    await expect(users.registrar.registrations.action(second.id, 'validate')).rejects.toMatchObject({ status: 409, code: 'potential_duplicate_unresolved' });
    const cleared = await users.registrar.registrations.action(second.id, 'mark-not-duplicate', { reason: 'Different child: checked the mother’s card' });
    expect(cleared.registration.flags).not.toContain('potential-duplicate');
    await users.registrar.registrations.action(second.id, 'validate');
    const after = await users.registrar.registrations.history(second.id);
    expect(after.map((h) => h.action)).toEqual(expect.arrayContaining(['duplicate-detected', 'mark-not-duplicate', 'validate']));
  });

  it('does not flag twins or siblings', async () => {
    const mother = { 'mother.firstName': 'Awa', 'mother.lastName': 'Touré', 'mother.nationalId': '1231231231', 'mother.dob': '1990-01-01', 'child.lastName': 'Touré', 'informant.phone': '+22375000001' };
    const a = await declare(users.agent, birth({ ...mother, 'child.firstName': 'Hassan', 'child.sex': 'male', 'child.dob': '2024-06-01' }));
    const twin = await declare(users.agent, birth({ ...mother, 'child.firstName': 'Aminata', 'child.sex': 'female', 'child.dob': '2024-06-01' }));
    const sibling = await declare(users.agent, birth({ ...mother, 'child.firstName': 'Oumar', 'child.sex': 'male', 'child.dob': '2021-09-14' }));
    expect(a.flags).not.toContain('potential-duplicate');
    expect(twin.flags).not.toContain('potential-duplicate');
    expect(sibling.flags).not.toContain('potential-duplicate');
  });
});

describe('quick search name fields', () => {
  it('compares query words with the type’s personName fields, whatever their ids, and not with other fields named "name"', async () => {
    await admin.registrationTypes.put('adoption', {
      id: 'adoption',
      label: { en: 'Adoption', fr: 'Adoption' },
      languages: ['en', 'fr'],
      eventDateField: 'adoption.date',
      eventLocationField: 'adoption.place',
      form: {
        pages: [{
          id: 'p',
          title: { en: 'Adoption', fr: 'Adoption' },
          fields: [
            { kind: 'personName', name: 'child.given', label: { en: 'Given', fr: 'Prénom' }, required: true },
            { kind: 'personName', name: 'child.family', label: { en: 'Family', fr: 'Nom' }, required: true },
            { kind: 'text', name: 'agency.name', label: { en: 'Agency', fr: 'Agence' } },
            { kind: 'date', name: 'adoption.date', label: { en: 'Date', fr: 'Date' }, required: true },
            { kind: 'location', name: 'adoption.place', label: { en: 'Place', fr: 'Lieu' }, required: true },
          ],
        }],
      },
    });
    const a = await users.agent.registrations.create({ type: 'adoption', action: 'declare', data: { 'child.given': 'Ousmane', 'child.family': 'Sissoko', 'agency.name': 'Kadiatou Sissoko Foundation', 'adoption.date': '2024-01-05', 'adoption.place': tree.district1 } });
    const found = await users.registrar.registrations.search('Sissoko Ousmane');
    expect(found.results.map((r) => r.id)).toContain(a.id);
    expect(found.results.find((r) => r.id === a.id)!.matched.map((m) => m.field).sort()).toEqual(['child.family', 'child.given']);
    // "Kadiatou" is in the agency's name, a text field: no person on the record is called that.
    const agency = await users.registrar.registrations.search('Kadiatou Sissoko');
    expect(agency.results.map((r) => r.id)).not.toContain(a.id);
  });
});

describe('duplicate review', () => {
  it('shows the matches side by side, even from another jurisdiction; "duplicate of" archives with the reason and the link in the history', async () => {
    const first = await declare(users.agent, birth({ 'child.firstName': 'Seydou', 'child.lastName': 'Keita', 'child.sex': 'male', 'child.dob': '2023-08-19', 'mother.firstName': 'Salimata', 'mother.lastName': 'Doumbia', 'mother.nationalId': '5566778899' }));
    const agent2 = await user('agent2', 'registration-agent', tree.office2);
    const second = await declare(agent2, birth({ 'child.firstName': 'Seidou', 'child.lastName': 'Keïta', 'child.sex': 'male', 'child.dob': '2023-08-19', 'mother.firstName': 'Salimata', 'mother.lastName': 'Doumbia', 'mother.nationalId': '5566778899' }, tree.district2));
    expect(second.duplicateOf).toEqual([first.id]);
    // The other district's registrar cannot open the first record, but reviews it here.
    await expect(users.other.registrations.get(first.id)).rejects.toMatchObject({ status: 404 });
    const review = await users.other.registrations.matches(second.id);
    expect(review.matches).toHaveLength(1);
    const m = review.matches[0]!;
    expect(m).toMatchObject({ id: first.id, trackingId: first.trackingId, status: 'declared' });
    expect(m.data['child.firstName']).toBe('Seydou');
    expect(m.score).toBeGreaterThan(0.5);
    expect(m.fields.find((f) => f.field === 'mother.nationalId')).toMatchObject({ level: 'exact' });
    expect(m.fields.find((f) => f.field === 'mother.nationalId')!.weight).toBeGreaterThan(0);
    // Only within reach for the flagged record itself.
    await expect(users.registrar.registrations.matches(second.id)).rejects.toMatchObject({ status: 404 });
    await users.other.registrations.action(second.id, 'assign');
    const done = await users.other.registrations.action(second.id, 'mark-as-duplicate', { reason: 'Same child, same mother’s card', data: { duplicateOf: first.id } });
    expect(done.registration.status).toBe('archived');
    const history = await users.other.registrations.history(second.id);
    const decision = history.find((h) => h.action === 'mark-as-duplicate')!;
    expect(decision).toMatchObject({ reason: 'Same child, same mother’s card', details: { duplicateOf: first.id }, statusAfter: 'archived' });
    const pairs = await users.national.registrations.duplicates('birth');
    expect(pairs.some((p) => p.a.id === second.id)).toBe(false);
  });
});
