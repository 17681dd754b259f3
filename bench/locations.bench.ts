import path from 'node:path';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { adminToken, percentile, request, startBenchServer, type Figure } from './lib.js';

const ROWS = Number(process.env.LOCATIONS_BENCH_ROWS ?? 100_000);
const QUERIES = Number(process.env.LOCATIONS_BENCH_QUERIES ?? 500);

const SYLLABLES = ['ka', 'lu', 'mbo', 'chi', 'ndo', 'sa', 'we', 'zi', 'ta', 'mpa', 'ngo', 'ri', 'bé', 'lé', 'ko', 'mu', 'nya', 'so', 'kwa', 'ye'];
/** Deterministic place-like names ("Chimbolé", "Kwasaye"), some with accents, some sharing words. */
function placeName(i: number): string {
  let x = (i * 2654435761) >>> 0;
  const word = () => {
    let w = '';
    for (let k = 0; k < 2 + (x % 2); k++) {
      w += SYLLABLES[x % SYLLABLES.length];
      x = Math.imul(x, 1103515245) + 12345 >>> 0;
    }
    return w[0]!.toUpperCase() + w.slice(1);
  };
  return x % 5 === 0 ? `${word()} ${word()}` : word();
}

/** A country of ROWS locations: 10 provinces, 100 districts each, the rest wards and offices; children first in the file. */
function locations(): { csv: string; names: string[]; ids: string[] } {
  const rows: string[] = ['zz,Benchland,,area'];
  const names: string[] = [];
  for (let p = 0; p < 10; p++) rows.push(`p${p},Province ${placeName(p)} ${p},zz,area`);
  for (let p = 0; p < 10; p++) for (let d = 0; d < 100; d++) rows.push(`p${p}d${d},${placeName(1000 + p * 100 + d)} District ${p}-${d},p${p},area`);
  for (let i = rows.length; i < ROWS; i++) {
    const parent = `p${i % 10}d${Math.floor(i / 10) % 100}`;
    const name = `${placeName(i)} ${i}`;
    names.push(name);
    rows.push(`w${i},${name},${parent},${i % 20 === 0 ? 'office' : 'area'}`);
  }
  return { csv: ['id,name,parentId,type', ...rows.reverse()].join('\n') + '\n', names, ids: [] };
}

export async function run(): Promise<Array<Figure | string>> {
  const server = await startBenchServer();
  try {
    const token = await adminToken(server.url);
    const auth = { authorization: `Bearer ${token}` };
    const { csv, names } = locations();

    // Baseline: COPY of the same rows into a plain table, the floor any import stands on.
    const db = new pg.Client({ host: path.join(server.dataDir, 'run'), user: 'cairn', database: 'cairn' });
    db.on('error', () => {}); // the server stopping ends this connection; the figures are already taken
    await db.connect();
    await db.query('CREATE TEMP TABLE raw_locations (id text, name text, parent_id text, type text)');
    let t = performance.now();
    await pipeline(Readable.from([csv.slice(csv.indexOf('\n') + 1)]), db.query(copyFrom('COPY raw_locations FROM STDIN WITH (FORMAT csv)')));
    const copyMs = performance.now() - t;

    t = performance.now();
    const first = await request(`${server.url}/api/v1/workspaces/import`, { method: 'POST', headers: { ...auth, 'content-type': 'text/csv' }, body: csv });
    const importMs = performance.now() - t;
    if (first.status !== 200) throw new Error(`import answered ${first.status}: ${first.body.slice(0, 300)}`);
    t = performance.now();
    const again = await request(`${server.url}/api/v1/workspaces/import`, { method: 'POST', headers: { ...auth, 'content-type': 'text/csv' }, body: csv });
    const reimportMs = performance.now() - t;
    if (JSON.parse(again.body).unchanged !== ROWS) throw new Error(`re-import changed something: ${again.body}`);
    await db.query('VACUUM ANALYZE workspaces');
    // Second baseline: the same rows written into a copy of the workspaces table with all its
    // indexes (trigram, prefix, path, names) and generated column: the database's share of an import.
    await db.query('CREATE TEMP TABLE workspaces_copy (LIKE workspaces INCLUDING ALL)');
    t = performance.now();
    await db.query('INSERT INTO workspaces_copy (id, parent_id, name, path, created_at, kind, external_id) SELECT id, parent_id, name, path, created_at, kind, external_id FROM workspaces WHERE kind IS NOT NULL');
    const tableMs = performance.now() - t;

    // What people type: the start of a name, a word inside it, a misspelling, one or two letters.
    const queries: string[] = [];
    for (let k = 0; k < QUERIES; k++) {
      const name = names[(k * 7919) % names.length]!;
      const word = name.split(' ')[0]!;
      const q = [word.slice(0, 4), word.slice(1, 6), `${word.slice(0, 3)}x${word.slice(4, 7)}`, word.slice(0, 2), name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()][k % 5]!;
      queries.push(q);
    }
    const ids = (JSON.parse((await request(`${server.url}/api/v1/locations?q=${encodeURIComponent(queries[0]!)}&limit=50`, { headers: auth })).body).locations as { id: string }[]).map((l) => l.id);
    // Warm both paths.
    for (let k = 0; k < 20; k++) {
      await request(`${server.url}/api/v1/locations?q=${encodeURIComponent(queries[k]!)}`, { headers: auth });
      await request(`${server.url}/api/v1/locations/${ids[k % ids.length]}`, { headers: auth });
    }
    const searchMs: number[] = [];
    const lookupMs: number[] = [];
    let empty = 0;
    for (let k = 0; k < queries.length; k++) {
      let s = performance.now();
      const r = await request(`${server.url}/api/v1/locations?q=${encodeURIComponent(queries[k]!)}`, { headers: auth });
      searchMs.push(performance.now() - s);
      if (!JSON.parse(r.body).locations.length) empty++;
      s = performance.now();
      await request(`${server.url}/api/v1/locations/${ids[k % ids.length]}`, { headers: auth });
      lookupMs.push(performance.now() - s);
    }
    searchMs.sort((a, b) => a - b);
    lookupMs.sort((a, b) => a - b);
    await db.end();
    return [
      { name: `import ${ROWS.toLocaleString('en')} locations (HTTP, checked, ledger entries)`, value: importMs / 1000, unit: 's', baseline: { name: 'COPY of the same rows into a bare table', value: copyMs / 1000, unit: 's' } },
      { name: `import ${ROWS.toLocaleString('en')} locations`, value: importMs / 1000, unit: 's', baseline: { name: 'INSERT of the same rows into a copy of the table with its indexes', value: tableMs / 1000, unit: 's' } },
      { name: 're-import unchanged', value: reimportMs / 1000, unit: 's', baseline: { name: 'first import', value: importMs / 1000, unit: 's' } },
      { name: `location search p95 (${QUERIES} typed queries at ${ROWS.toLocaleString('en')})`, value: percentile(searchMs, 95), unit: 'ms', baseline: { name: 'GET one location by id p95', value: percentile(lookupMs, 95), unit: 'ms' } },
      { name: 'location search p50', value: percentile(searchMs, 50), unit: 'ms', baseline: { name: 'GET one location by id p50', value: percentile(lookupMs, 50), unit: 'ms' } },
      `queries with no result: ${empty} of ${QUERIES} (misspellings beyond the similarity threshold)`,
    ];
  } finally {
    await server.stop();
  }
}
