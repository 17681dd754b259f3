import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import type { App } from '../app.js';

let app: App;
let stop: () => Promise<void>;
let admin: string;
let member: string;

beforeAll(async () => {
  ({ app, stop } = await createTestApp());
  admin = (await setupAdmin(app)).authorization;
  await app.inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: admin }, payload: { username: 'mia', password: 'mia password 12', role: 'member' } });
  const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'mia', password: 'mia password 12' } });
  member = `Bearer ${login.json().accessToken}`;
}, 60_000);
afterAll(() => stop());

const importCsv = (csv: string, query = '', authorization = admin) =>
  app.inject({ method: 'POST', url: `/api/v1/workspaces/import${query}`, headers: { authorization, 'content-type': 'text/csv' }, payload: csv });
const search = async (query: string, authorization = member) => {
  const r = await app.inject({ url: `/api/v1/locations?${query}`, headers: { authorization } });
  expect(r.statusCode, r.body).toBe(200);
  return r.json().locations as { id: string; name: string; kind: string; externalId: string; parentId: string | null; ancestors: string[] }[];
};
const byExt = async () => {
  const all = (await app.inject({ url: '/api/v1/workspaces', headers: { authorization: admin } })).json().workspaces as { id: string; name: string; parentId: string | null; path: string }[];
  return new Map(all.map((w) => [w.id, w]));
};

// Children listed before their parents on purpose.
const ZAMBIA = `id,name,parentId,type
ibombo,Ibombo District,central,area
central,Central Province,zm,area
zm,Zambia,,area
ibombo-office,Ibombo District Office,ibombo,office
chibombo,Chibombo,central,area
isamba,Isamba,central,area
ilanga,Ilanga,central,area
lusaka,Lusaka Province,zm,area
lusaka-d,Lusaka District,lusaka,area
cote,Côte-d'Ivoire Ward,lusaka-d,area
emb,Embankment,lusaka-d,office
`;

describe('location import', () => {
  it('creates the tree with parents after children, then a re-import changes nothing', async () => {
    const r = await importCsv(ZAMBIA);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ rows: 11, created: 11, updated: 0, moved: 0, unchanged: 0, dryRun: false, ignoredColumns: [] });
    const office = (await search('q=ibombo%20district%20office'))[0]!;
    expect(office).toMatchObject({ name: 'Ibombo District Office', kind: 'office', externalId: 'ibombo-office', ancestors: ['Ibombo District', 'Central Province', 'Zambia'] });
    const tree = await byExt();
    const path = tree.get(office.id)!.path.split('/').filter(Boolean).map((id) => tree.get(id)!.name);
    expect(path).toEqual(['Zambia', 'Central Province', 'Ibombo District', 'Ibombo District Office']);

    const again = await importCsv(ZAMBIA);
    expect(again.json()).toMatchObject({ rows: 11, created: 0, updated: 0, moved: 0, unchanged: 11 });
    expect((await byExt()).size).toBe(tree.size);
  });

  it('renames, retypes and moves, carrying descendants (and plain workspaces beneath) along', async () => {
    const ward = (await search('q=cote'))[0]!;
    // A research workspace created under a location moves with it.
    const plain = await app.inject({ method: 'POST', url: '/api/v1/workspaces', headers: { authorization: admin }, payload: { name: 'Ward survey team', parentId: ward.id } });
    expect(plain.statusCode, plain.body).toBe(201);

    const r = await importCsv('id,name,parentId,type\nlusaka-d,Lusaka City,central,area\nisamba,Isamba Office,central,office\n');
    expect(r.json()).toMatchObject({ rows: 2, created: 0, updated: 1, moved: 1, unchanged: 0 });
    const tree = await byExt();
    const names = (id: string) => tree.get(id)!.path.split('/').filter(Boolean).map((x) => tree.get(x)!.name);
    expect(names(ward.id)).toEqual(['Zambia', 'Central Province', 'Lusaka City', "Côte-d'Ivoire Ward"]);
    expect(names(plain.json().workspace.id)).toEqual(['Zambia', 'Central Province', 'Lusaka City', "Côte-d'Ivoire Ward", 'Ward survey team']);
    expect((await search('q=isamba'))[0]).toMatchObject({ name: 'Isamba Office', kind: 'office' });
    // Plain workspaces never show up in location search.
    expect(await search('q=survey')).toEqual([]);
  });

  it('records each change in the ledger: chunks of changes and a summary per import', async () => {
    const entries = (await app.inject({ url: '/api/v1/events?limit=1000', headers: { authorization: admin } })).json().events as { type: string; stream: string; data: Record<string, unknown> }[];
    const summaries = entries.filter((e) => e.type === 'workspace.locations_imported');
    expect(summaries.map((e) => [e.data.created, e.data.updated, e.data.moved, e.data.unchanged])).toEqual([[11, 0, 0, 0], [0, 0, 0, 11], [0, 1, 1, 0]]);
    const changes = entries.filter((e) => e.type === 'workspace.locations_changed').flatMap((e) => e.data.changes as { change: string; externalId: string; name: string }[]);
    expect(changes.filter((c) => c.change === 'created')).toHaveLength(11);
    expect(changes.filter((c) => c.change !== 'created').map((c) => [c.change, c.externalId, c.name]).sort()).toEqual([['moved', 'lusaka-d', 'Lusaka City'], ['updated', 'isamba', 'Isamba Office']]);
  });

  it('reports every bad row at once, with its line, and writes nothing', async () => {
    const before = (await byExt()).size;
    const csv = [
      'id,name,parentId,type,population',
      'a1,Alpha,zm,area,10', // fine on its own
      'a2,Beta,nowhere,area,1', // unknown parent
      'a3,Gamma,zm,district,1', // bad type
      'a1,Alpha again,zm,area,1', // duplicate id
      'c1,Loop one,c2,area,1', // cycle
      'c2,Loop two,c1,area,1', // cycle
      'o1,Under office,emb,area,1', // parent is an office
      'd1,alpha,zm,area,1', // same name as a1 under the same parent
      ',No id,zm,area,1', // id required
      's1,Self,s1,area,1', // own parent
    ].join('\n');
    const r = await importCsv(csv);
    expect(r.statusCode).toBe(422);
    const body = r.json().error;
    expect(body.code).toBe('invalid_import');
    const got = body.details.errors.map((e: { line: number; code: string }) => `${e.line}:${e.code}`);
    // Row-level problems first; the tree is checked only once every row reads well.
    expect(got).toEqual(['4:invalid_type', '5:duplicate_id', '10:required', '11:cycle']);
    expect((await byExt()).size).toBe(before);

    const tree = await importCsv(['id,name,parentId,type', 'a2,Beta,nowhere,area', 'c1,Loop one,c2,area', 'c2,Loop two,c1,area', 'o1,Under office,emb,area', 'd1,Chibombo,central,area', 'ok,Fine,zm,area'].join('\n'));
    expect(tree.statusCode).toBe(422);
    expect(tree.json().error.details.errors.map((e: { line: number; code: string }) => `${e.line}:${e.code}`)).toEqual(['2:unknown_parent', '3:cycle', '4:cycle', '5:parent_is_office', '6:duplicate_name']);
    expect((await byExt()).size).toBe(before);
    expect(await search('q=fine')).toEqual([]);

    // Lines are the file's lines: a quoted line break (white space in a name becomes one space) and an empty line count.
    const multi = await importCsv('id,name,parentId,type\n"q1","Two\nlines",zm,area\n\nq2,Fine,zm,bogus\n');
    expect(multi.json().error.details.errors.map((e: { line: number; code: string }) => `${e.line}:${e.code}`)).toEqual(['5:invalid_type']);

    // A move that would close a loop through the stored tree is a cycle too.
    const loop = await importCsv('id,name,parentId,type\nzm,Zambia,ibombo,area\n');
    expect(loop.json().error.details.errors.map((e: { line: number; code: string }) => `${e.line}:${e.code}`)).toEqual(['2:cycle']);
    // An office that still has locations under it.
    const office = await importCsv('id,name,parentId,type\ncentral,Central Province,zm,office\n');
    expect(office.json().error.details.errors.map((e: { line: number; code: string }) => `${e.line}:${e.code}`)).toEqual(['2:parent_is_office']);
  });

  it('refuses a file without the right header, an empty file, bad CSV, and other callers', async () => {
    expect((await importCsv('id,label,parent\nx,y,\n')).json().error.details.errors.map((e: { field: string }) => e.field)).toEqual(['name', 'type']);
    expect((await importCsv('')).json().error.code).toBe('invalid_import');
    // A file that is not CSV is a bad request (400 invalid_csv, with the line), as for the data hub's import.
    expect((await importCsv('id,name,parentId,type\n"x,Broken,,area\n')).json().error).toMatchObject({ code: 'invalid_csv', details: { line: 2 } });
    expect((await app.inject({ method: 'POST', url: '/api/v1/workspaces/import', headers: { authorization: admin, 'content-type': 'application/json' }, payload: {} })).json().error.code).toBe('unsupported_media_type');
    expect((await importCsv(ZAMBIA, '', member)).statusCode).toBe(403);
    expect((await app.inject({ url: '/api/v1/locations?q=zam' })).statusCode).toBe(401);
    // A plain workspace already holding a new location's name at the top level.
    await app.inject({ method: 'POST', url: '/api/v1/workspaces', headers: { authorization: admin }, payload: { name: 'Malawi' } });
    const clash = await importCsv('id,name,parentId,type\nmw,Malawi,,area\n');
    expect(clash.json().error.details.errors.map((e: { line: number; code: string }) => `${e.line}:${e.code}`)).toEqual(['2:duplicate_name']);
  });

  it('checks without writing on a dry run', async () => {
    const r = await importCsv('id,name,parentId,type\nnew1,Newtown,zm,area\n', '?dryRun=true');
    expect(r.json()).toMatchObject({ importId: null, dryRun: true, created: 1 });
    expect(await search('q=newtown')).toEqual([]);
  });
});

describe('location search', () => {
  it('ignores accents, case and punctuation, ranks the closest names first and names the ancestors', async () => {
    for (const q of ['cote d ivoire', 'COTE', 'côte-d’ivoire', 'Cote-d-Ivoire']) {
      const hits = await search(`q=${encodeURIComponent(q)}`);
      expect(hits[0]?.name, q).toBe("Côte-d'Ivoire Ward");
    }
    expect((await search('q=ivoire'))[0]!.ancestors).toEqual(['Lusaka City', 'Central Province', 'Zambia']);
    // Prefix of the whole name before prefix of a word before anywhere inside before near misses.
    expect((await search('q=ibombo')).map((h) => h.name)).toEqual(['Ibombo District', 'Ibombo District Office', 'Chibombo']);
    expect((await search('q=bombo')).map((h) => h.name)).toEqual(['Chibombo', 'Ibombo District', 'Ibombo District Office']);
    expect((await search('q=district')).map((h) => h.name)).toEqual(['Ibombo District', 'Ibombo District Office']);
    // One or two letters: prefixes only, shortest first.
    expect((await search('q=i')).map((h) => h.name)).toEqual(['Ilanga', 'Isamba Office', 'Ibombo District', 'Ibombo District Office']);
    // A typo still finds the place.
    expect((await search('q=chibomba')).map((h) => h.name)).toContain('Chibombo');
    expect(await search('q=zzzz')).toEqual([]);
  });

  it('filters by kind and subtree, limits, and browses one level without a query', async () => {
    expect((await search('q=i&kind=office')).map((h) => h.name)).toEqual(['Isamba Office', 'Ibombo District Office']);
    const lusakaProvince = (await search('q=lusaka%20province'))[0]!;
    const central = (await search('q=central'))[0]!;
    expect((await search(`q=e&within=${lusakaProvince.id}`)).map((h) => h.name)).toEqual([]);
    expect((await search(`q=emb&within=${central.id}`)).map((h) => h.name)).toEqual(['Embankment']);
    expect((await search(`q=central&within=${central.id}`)).map((h) => h.name)).toEqual([]);
    expect(await search('q=i&limit=2')).toHaveLength(2);
    expect((await search('')).map((h) => h.name)).toEqual(['Zambia']);
    expect((await search(`within=${central.id}`)).map((h) => h.name)).toEqual(['Chibombo', 'Ibombo District', 'Ilanga', 'Isamba Office', 'Lusaka City']);
    const one = await app.inject({ url: `/api/v1/locations/${central.id}`, headers: { authorization: member } });
    expect(one.json().location).toMatchObject({ name: 'Central Province', ancestors: ['Zambia'] });
    expect((await app.inject({ url: '/api/v1/locations/00000000-0000-0000-0000-000000000000', headers: { authorization: member } })).statusCode).toBe(404);
    expect((await app.inject({ url: '/api/v1/locations?within=00000000-0000-0000-0000-000000000000', headers: { authorization: member } })).json().error.code).toBe('not_found');
    expect((await app.inject({ url: '/api/v1/locations?kind=city', headers: { authorization: member } })).json().error.code).toBe('validation_failed');
  });
});

describe('a country-sized tree (100k)', () => {
  it('imports 100,000 locations, re-imports them unchanged, and finds one by name', async () => {
    const lines = ['id,name,parentId,type', 'xl,Xland,,area'];
    let n = 1;
    for (let p = 0; p < 10; p++) {
      lines.push(`p${p},Province ${p},xl,area`);
      n++;
      for (let d = 0; d < 100; d++) {
        lines.push(`p${p}d${d},District ${p}-${d},p${p},area`);
        n++;
        for (let o = 0; o < 99 && n < 100_000; o++) {
          lines.push(`p${p}d${d}o${o},Ward ${p}-${d}-${o} Nkhàta,p${p}d${d},${o === 0 ? 'office' : 'area'}`);
          n++;
        }
      }
    }
    // Children first: reverse everything but the header.
    const csv = [lines[0], ...lines.slice(1).reverse()].join('\n');
    const r = await importCsv(csv);
    expect(r.statusCode, r.body.slice(0, 500)).toBe(200);
    expect(r.json()).toMatchObject({ rows: 100_000, created: 100_000 });
    expect((await importCsv(csv)).json()).toMatchObject({ created: 0, updated: 0, moved: 0, unchanged: 100_000 });
    const hits = await search('q=ward%207-42-13%20nkhata');
    expect(hits[0]).toMatchObject({ externalId: 'p7d42o13', ancestors: ['District 7-42', 'Province 7', 'Xland'] });
  }, 180_000);
});
