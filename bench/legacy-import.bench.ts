/**
 * Importing a legacy register (issue 13): LEGACY_IMPORT_BENCH_ROWS rows (default 100,000) of a
 * synthetic birth register with the phenomena real ones hold (duplicates with typos, swapped
 * names, nicknames, transliterations, day/month swaps, missing IDs and first names; twins and
 * siblings that must not be merged; server/test/fixtures/births.ts), posted as one
 * CSV to `POST /api/v1/registrations/import?type=birth&action=declare` on the built server in its
 * own process, places given by name. Beside it, in the same run:
 *
 * - the same file imported again into the same server with de-duplication switched off in the
 *   type (a new version with `deduplication.enabled: false`, fresh legacy ids): what the
 *   de-duplication itself costs;
 * - the physical floor: `COPY` of the same CSV into an unlogged table of text columns (no
 *   validation, no ledger, no index), in-process on the same database.
 *
 * Also printed: how many of the true duplicates were flagged, and how many flagged rows were not
 * duplicates (twins, siblings or strangers), from the fixture's answers.
 * Run: `node --import tsx bench/legacy-import.bench.ts` (or `npm run bench -- legacy-import`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import copyStreams from 'pg-copy-streams';
import { withServices } from '../server/src/main.js';
import { generateBirths, type BirthRow } from '../server/test/fixtures/births.js';
import { adminToken, postgresCpuMs, processCpuMs, request, startBenchServer, type Figure } from './lib.js';

const ROWS = Number(process.env.LEGACY_IMPORT_BENCH_ROWS ?? 100_000);
const PASSWORD = 'correct horse battery staple';
const COLUMNS = ['legacyId', 'child.firstName', 'child.lastName', 'child.sex', 'child.dob', 'child.placeOfBirth', 'mother.firstName', 'mother.lastName', 'mother.dob', 'mother.nationalId', 'father.firstName', 'father.lastName', 'informant.phone'] as const;

const quote = (v: string | null) => (v === null ? '' : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

function csvOf(rows: BirthRow[], prefix: string): string {
  const lines = [COLUMNS.join(',')];
  rows.forEach((r, i) => lines.push(COLUMNS.map((c) => quote(c === 'legacyId' ? `${prefix}${i + 1}` : (r[c] ?? null))).join(',')));
  return lines.join('\n') + '\n';
}

interface Report {
  rows: number;
  created: number;
  refusedCount: number;
  duplicatesCount: number;
  refused: Array<{ errors: Array<{ code: string; field: string }> }>;
}

export async function run(): Promise<Array<Figure | string>> {
  const out: Array<Figure | string> = [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-import-'));
  // About 1.3 records per original person at these rates: generate enough, keep ROWS.
  const rows = generateBirths({ originals: Math.ceil(ROWS / 1.25), seed: 11 }).slice(0, ROWS);
  const csv = csvOf(rows, 'L-');
  const csvPath = path.join(dataDir, 'legacy.csv');
  fs.writeFileSync(csvPath, csv);
  const kinds = rows.reduce<Record<string, number>>((m, r) => ({ ...m, [r.kind]: (m[r.kind] ?? 0) + 1 }), {});
  out.push(`generated ${ROWS.toLocaleString('en')} rows (${(csv.length / 1024 / 1024).toFixed(1)} MiB): ${Object.entries(kinds).map(([k, n]) => `${n.toLocaleString('en')} ${k}`).join(', ')}`);
  let withDedup = 0;
  let withoutDedup = 0;
  try {
    const server = await startBenchServer({}, dataDir);
    try {
      const url = server.url;
      const admin = await adminToken(url);
      const call = (token: string, method: string, p: string, body?: string, type = 'application/json') => request(`${url}${p}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': type }) }, body });
      const ok = (r: { status: number; body: string }) => {
        if (r.status >= 300) throw new Error(`HTTP ${r.status}: ${r.body.slice(0, 300)}`);
        return JSON.parse(r.body) as Record<string, unknown>;
      };
      // The administrative tree: a country, the fixture's 40 places, one office.
      const tree = ['id,name,parentId,type', 'country,Country,,area', ...Array.from({ length: 40 }, (_, i) => `loc-${i + 1},loc-${i + 1},country,area`), 'office,Central office,loc-1,office'].join('\n');
      ok(await call(admin, 'POST', '/api/v1/workspaces/import', tree, 'text/csv'));
      const office = (JSON.parse((await call(admin, 'GET', '/api/v1/locations?q=Central%20office&kind=office')).body) as { locations: Array<{ id: string }> }).locations[0]!.id;
      const u = ok(await call(admin, 'POST', '/api/v1/users', JSON.stringify({ username: 'bench-registrar', password: PASSWORD, role: 'member' }))) as { user: { id: string } };
      ok(await call(admin, 'PUT', `/api/v1/registration-users/${u.user.id}`, JSON.stringify({ officeId: office, role: 'national-registrar' })));
      const token = (ok(await request(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench-registrar', password: PASSWORD }) })) as { accessToken: string }).accessToken;

      const cpu = () => ({ server: processCpuMs(server.child.pid!), pg: postgresCpuMs(server.dataDir) });
      const importFile = async (body: string) => {
        const t0 = performance.now();
        const c0 = cpu();
        const r = ok(await call(token, 'POST', '/api/v1/registrations/import?type=birth&action=declare', body, 'text/csv')) as unknown as Report;
        const c1 = cpu();
        return { seconds: (performance.now() - t0) / 1000, report: r, cpu: { server: c1.server - c0.server, pg: c1.pg - c0.pg } };
      };
      const first = await importFile(csv);
      withDedup = first.seconds;
      const r = first.report;
      const refusedBy = r.refused.flatMap((x) => x.errors.map((e) => `${e.field} ${e.code}`)).reduce<Record<string, number>>((m, k) => ({ ...m, [k]: (m[k] ?? 0) + 1 }), {});
      out.push(`report: ${r.created.toLocaleString('en')} created, ${r.refusedCount} refused (${Object.entries(refusedBy).slice(0, 5).map(([k, n]) => `${n} ${k}`).join(', ') || 'none'}), ${r.duplicatesCount.toLocaleString('en')} flagged as potential duplicates`);
      out.push(`CPU during the import: server (Node) ${(first.cpu.server / 1000).toFixed(1)} s, PostgreSQL ${(first.cpu.pg / 1000).toFixed(1)} s, in ${first.seconds.toFixed(1)} s of wall time: ${(((first.cpu.server + first.cpu.pg) / 1000 / first.seconds) * 100).toFixed(0)} % of one core (this machine has ${os.cpus().length}); the two processes' CPU time over ${os.cpus().length} cores is the floor this code can reach here: ${((first.cpu.server + first.cpu.pg) / 1000 / os.cpus().length).toFixed(1)} s`);
      out.push(`where the time went (server, seconds): ${Object.entries((r as unknown as { seconds: Record<string, number> }).seconds).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}; reading and parsing the upload is the rest`);

      // The same rows again, fresh legacy ids, with de-duplication switched off in a new type version.
      const birth = ok(await call(token, 'GET', '/api/v1/registration-types/birth')) as { document: Record<string, unknown> };
      ok(await call(admin, 'PUT', '/api/v1/registration-types/birth', JSON.stringify({ ...birth.document, deduplication: { enabled: false } })));
      const second = await importFile(csvOf(rows, 'M-'));
      withoutDedup = second.seconds;
      out.push({ name: `import of ${ROWS.toLocaleString('en')} legacy rows with de-duplication (HTTP, one CSV)`, value: withDedup, unit: 's', baseline: { name: 'the same rows with de-duplication off (into a register that already holds them)', value: withoutDedup, unit: 's' }, target: '100,000 rows under 60 s', pass: (withDedup * 100_000) / ROWS < 60 });
      out.push(`rate: ${Math.round(ROWS / withDedup).toLocaleString('en')} rows/s with de-duplication, ${Math.round(ROWS / withoutDedup).toLocaleString('en')} rows/s without`);
    } finally {
      await server.stop();
    }

    // The physical floor: the same bytes into PostgreSQL with COPY, nothing checked, nothing indexed.
    await withServices(async (s) => {
      const client = await s.pool.connect();
      try {
        await client.query(`CREATE UNLOGGED TABLE bench_legacy_copy (${COLUMNS.map((c) => `"${c}" text`).join(', ')})`);
        const t0 = performance.now();
        await pipeline(fs.createReadStream(csvPath), client.query(copyStreams.from('COPY bench_legacy_copy FROM STDIN WITH (FORMAT csv, HEADER true)')));
        const copySeconds = (performance.now() - t0) / 1000;
        const n = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM bench_legacy_copy`.execute(s.db)).rows[0]!.n;
        if (n !== ROWS) throw new Error(`copied ${n} rows, expected ${ROWS}`);
        await client.query('DROP TABLE bench_legacy_copy');
        // Quality, from the register itself (the report lists at most 10,000 flags): a row should be
        // flagged when its person appeared on an earlier row (the first one cannot know); a flag is
        // right when one of its matches is the same person (legacy ids L-n are row n).
        const flagged = (await sql<{ row: string; matches: string[] }>`SELECT s.legacy_id AS row, array_agg(m.legacy_id) AS matches
          FROM registrations r JOIN registration_search s ON s.id = r.id JOIN registration_search m ON m.id = ANY (r.duplicate_of)
          WHERE s.legacy_id LIKE 'L-%' AND 'potential-duplicate' = ANY (r.flags) GROUP BY s.legacy_id`.execute(s.db)).rows;
        const rowOf = (legacy: string | null) => (legacy?.startsWith('L-') ? Number(legacy.slice(2)) - 1 : -1);
        const seen = new Set<string>();
        const shouldFlag = new Set<number>();
        rows.forEach((x, i) => (seen.has(x.person) ? shouldFlag.add(i) : seen.add(x.person)));
        const flags = new Map(flagged.map((f) => [rowOf(f.row), f.matches.map(rowOf)]));
        const right = new Set([...flags].filter(([i, ms]) => ms.some((m) => m >= 0 && rows[m]!.person === rows[i]!.person)).map(([i]) => i));
        const caught = [...shouldFlag].filter((i) => flags.has(i)).length;
        const wrong = [...flags.keys()].filter((i) => !right.has(i));
        out.push(`de-duplication on import: ${caught.toLocaleString('en')} of ${shouldFlag.size.toLocaleString('en')} rows whose person is on an earlier row flagged (recall ${(caught / Math.max(1, shouldFlag.size)).toFixed(4)}); ${right.size.toLocaleString('en')} of ${flags.size.toLocaleString('en')} flags name the same person (precision ${(right.size / Math.max(1, flags.size)).toFixed(4)}); wrong flags: ${wrong.filter((i) => rows[i]!.kind === 'twin').length} on twins, ${wrong.filter((i) => rows[i]!.kind === 'sibling').length} on siblings`);
        const entries = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM ledger_entries WHERE type LIKE 'registration.%'`.execute(s.db)).rows[0]!.n;
        out.push({ name: `import of ${ROWS.toLocaleString('en')} legacy rows with de-duplication`, value: withDedup, unit: 's', baseline: { name: 'COPY of the same CSV into an unlogged text table (the physical floor)', value: copySeconds, unit: 's' } });
        out.push(`ledger: ${entries.toLocaleString('en')} registration entries written by the two imports; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')}`);
      } finally {
        client.release();
      }
    }, { PATH: process.env.PATH, HOME: process.env.HOME, CAIRN_DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { fmt } = await import('./lib.js');
  for (const f of await run()) console.log('- ' + (typeof f === 'string' ? f : fmt(f)));
}
