/**
 * Civil registration at scale (issue 12): with REGISTRATIONS_BENCH_COUNT registrations stored
 * (default 50,000 so the suite runs in a few minutes; 1000000 for the issue's figure), over HTTP
 * against the built server in its own process:
 *
 * - declare p95 and register p95 (one client, one request at a time), against the same-run
 *   baseline of a plain ledger append to a stream (POST /api/v1/events, one event of the same size);
 * - a registration page's data (GET /registrations/{id}, which also appends its audit entry) p95,
 *   against GET /api/v1/auth/me (an authenticated request that reads one row);
 * - workqueue counts p95 for a local registrar (one district) and a national registrar (the
 *   country), against the same baseline;
 * - rebuilding the projection of all of them from the ledger (shadow table + swap), in-process.
 *
 * The stored registrations are generated inside PostgreSQL as ledger entries (a declaration, and
 * for most a registration and a print, like a real register where few records are in a workqueue),
 * then folded into the table by the projection's own rebuild; their hashes are placeholders.
 * Run: `node --import tsx bench/registrations.bench.ts` (or `npm run bench -- registrations`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { withServices } from '../server/src/main.js';
import { adminToken, percentile, request, startBenchServer, type Figure } from './lib.js';

const COUNT = Number(process.env.REGISTRATIONS_BENCH_COUNT ?? 50_000);
const SAMPLES = Number(process.env.REGISTRATIONS_BENCH_SAMPLES ?? 200);
const CHUNK = 50_000;
const DISTRICTS = 10;
const PASSWORD = 'correct horse battery staple';
const ALPHABET = 'ACDEFGHJKMNPQRTUVWXY34679';

const SYLLABLES = ['ba', 'ko', 'mi', 'ru', 'se', 'ta', 'ne', 'lo', 'di', 'fa', 'gu', 'he', 'ji', 'ka', 'po', 'su', 'vi', 'wo', 'ya', 'zu'];
/** Letters-only names that differ a lot between neighbours (a scrambled index spelt in syllables). */
const letters = (n: number) => {
  let x = (n * 2654435761) % 3_200_000;
  let s = '';
  for (let k = 0; k < 5; k++, x = Math.floor(x / 20)) s += SYLLABLES[x % 20];
  return s.charAt(0).toUpperCase() + s.slice(1);
};
const p95 = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 95);

async function timed(n: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

export async function run(): Promise<Array<Figure | string>> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-reg-'));
  const out: Array<Figure | string> = [];
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, CAIRN_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  const country = randomUUID();
  const districts = Array.from({ length: DISTRICTS }, () => ({ id: randomUUID(), office: randomUUID() }));
  try {
    // --- phase 1, in-process: the tree, the stored registrations, the rebuild ------------------
    await withServices(async (s) => {
      await s.registrations.typeDocument('birth');
      await sql`INSERT INTO workspaces (id, parent_id, name, path, kind) VALUES (${country}, NULL, 'Bench country', ${`/${country}/`}, 'area')`.execute(s.db);
      for (const [k, d] of districts.entries()) {
        await sql`INSERT INTO workspaces (id, parent_id, name, path, kind) VALUES (${d.id}, ${country}, ${`District ${k}`}, ${`/${country}/${d.id}/`}, 'area'),
          (${d.office}, ${d.id}, ${`Office ${k}`}, ${`/${country}/${d.id}/${d.office}/`}, 'office')`.execute(s.db);
      }
      const offices = districts.map((d) => d.office);
      const paths = districts.map((d) => `/${country}/${d.id}/${d.office}/`);
      const places = districts.map((d) => d.id);
      const placePaths = districts.map((d) => `/${country}/${d.id}/`);
      const t0 = performance.now();
      for (let from = 0; from < COUNT; from += CHUNK) {
        const to = Math.min(COUNT, from + CHUNK) - 1;
        // i % 10: 0 declared (ready for review), 1 notified (in progress), otherwise registered and (but 2) printed.
        await sql`
          WITH g AS (
            SELECT i, gen_random_uuid() AS id, (i % ${DISTRICTS}) + 1 AS d,
                   (SELECT string_agg(substr(${ALPHABET}, ((i::bigint / (25::bigint ^ k)::bigint) % 25)::int + 1, 1), '' ORDER BY k DESC) FROM generate_series(0, 6) k) AS tracking,
                   (date '2025-01-01' + (i % 700))::text AS dob
            FROM generate_series(${from}::int, ${to}::int) i),
          e AS (
            SELECT g.*, x.seq, x.type, x.at FROM g CROSS JOIN LATERAL (VALUES
              (1, CASE WHEN i % 10 = 1 THEN 'registration.notify' ELSE 'registration.declare' END, now() - interval '30 days' + (i || ' seconds')::interval),
              (2, 'registration.register', now() - interval '20 days' + (i || ' seconds')::interval),
              (3, 'registration.print-certificate', now() - interval '10 days' + (i || ' seconds')::interval)) x(seq, type, at)
            WHERE x.seq = 1 OR (g.i % 10 >= 2 AND (x.seq = 2 OR g.i % 10 <> 2)))
          INSERT INTO ledger_entries (id, stream, stream_seq, type, data, data_hash, actor_kind, actor_id, occurred_at, recorded_at, hash)
          SELECT gen_random_uuid(), 'registration:' || id, seq, type,
                 CASE seq
                   WHEN 1 THEN jsonb_build_object('registrationId', id,
                     'create', jsonb_build_object('trackingId', tracking, 'type', 'birth', 'typeVersion', 1, 'officeId', (${offices}::text[])[d], 'officePath', (${paths}::text[])[d]),
                     'data', jsonb_build_object('child.firstName', 'Child' || i, 'child.lastName', 'Family' || (i % 5000), 'child.sex', CASE WHEN i % 2 = 0 THEN 'female' ELSE 'male' END,
                                                'child.dob', dob, 'child.placeOfBirth', (${places}::text[])[d], 'mother.firstName', 'Mother' || i, 'mother.lastName', 'Family' || (i % 5000),
                                                'mother.nationalId', lpad(i::text, 10, '0'), 'informant.phone', '+2217' || lpad(i::text, 8, '0')),
                     'derived', '{}'::jsonb, 'eventDate', dob, 'eventLocationId', (${places}::text[])[d], 'eventLocationPath', (${placePaths}::text[])[d],
                     'ruleFlags', '[]'::jsonb, 'actorRole', 'field-agent', 'actorOfficeId', (${offices}::text[])[d])
                   WHEN 2 THEN jsonb_build_object('registrationId', id, 'registrationNumber', 'B' || lpad(i::text, 11, '0'), 'actorRole', 'local-registrar', 'actorOfficeId', (${offices}::text[])[d])
                   ELSE jsonb_build_object('registrationId', id, 'copies', 1, 'details', jsonb_build_object('collector', jsonb_build_object('relation', 'mother', 'name', 'Mother' || i)), 'actorRole', 'local-registrar', 'actorOfficeId', (${offices}::text[])[d])
                 END,
                 '\\x00'::bytea, 'system', NULL, at, at, '\\x00'::bytea
          FROM e ORDER BY id, seq`.execute(s.db);
      }
      await sql`INSERT INTO ledger_streams (stream, seq, hash)
        SELECT stream, max(stream_seq), '\\x00'::bytea FROM ledger_entries WHERE stream LIKE 'registration:%' GROUP BY stream
        ON CONFLICT (stream) DO UPDATE SET seq = EXCLUDED.seq`.execute(s.db);
      out.push(`generated ${COUNT.toLocaleString('en')} registrations as ledger entries in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const r0 = performance.now();
      await s.projector.rebuildNow('registrations');
      const rebuildSeconds = (performance.now() - r0) / 1000;
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM registrations`.execute(s.db);
      if (rows[0]!.n !== COUNT) throw new Error(`rebuilt ${rows[0]!.n} registrations, expected ${COUNT}`);
      // Same-run baseline: only reading the same entries through the projector's read path.
      const s0 = performance.now();
      for (let after: { tx: string; position: number } | undefined; ; ) {
        const page = await s.ledger.readAfter(s.db, after, { typePrefixes: ['registration.'] }, 5000);
        if (page.entries.length < 5000) break;
        after = page.entries[page.entries.length - 1]!.cursor;
      }
      const readSeconds = (performance.now() - s0) / 1000;
      out.push({ name: `registrations projection rebuild (${COUNT.toLocaleString('en')} registrations)`, value: rebuildSeconds, unit: 's', baseline: { name: 'reading the same entries (projector read path, nothing applied)', value: readSeconds, unit: 's' }, target: '1,000,000 under 5 minutes (extrapolated linearly)', pass: (rebuildSeconds * 1_000_000) / COUNT < 300 });
      await sql`ANALYZE registrations`.execute(s.db);
    }, env);

    // --- phase 2, over HTTP against the built server ---------------------------------------------
    const server = await startBenchServer({}, dataDir);
    try {
      const url = server.url;
      const admin = await adminToken(url);
      const json = (token: string, method: string, p: string, body?: unknown) =>
        request(`${url}${p}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
      const login = async (username: string, role: string, office: string) => {
        const u = await json(admin, 'POST', '/api/v1/users', { username, password: PASSWORD, role: 'member' });
        const id = (JSON.parse(u.body) as { user: { id: string } }).user.id;
        const p = await json(admin, 'PUT', `/api/v1/registration-users/${id}`, { officeId: office, role });
        if (p.status !== 200) throw new Error(`profile: ${p.status} ${p.body}`);
        const l = await request(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: PASSWORD }) });
        return (JSON.parse(l.body) as { accessToken: string }).accessToken;
      };
      const d0 = districts[0]!;
      const agent = await login('bench-agent', 'field-agent', d0.office);
      const registrar = await login('bench-registrar', 'local-registrar', d0.office);
      const national = await login('bench-national', 'national-registrar', d0.office);
      const data = (i: number) => ({
        'child.firstName': letters(i + 100), 'child.lastName': letters(i + 5000), 'child.sex': i % 2 ? 'female' : 'male', 'child.dob': new Date(Date.now() - ((i + 400) % 300) * 86_400_000).toISOString().slice(0, 10), 'child.placeOfBirth': d0.id,
        'mother.firstName': letters(i + 9000), 'mother.lastName': letters(i + 5000), 'mother.nationalId': String(2_000_000_000 + i + 100), 'informant.phone': `+22177${String(1_000_000 + i * 7919).slice(-7)}`,
      });
      const expect = (r: { status: number; body: string }, status: number) => {
        if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${r.body.slice(0, 300)}`);
        return r;
      };
      // Warm-up: compile schemas, fill caches.
      for (let i = 0; i < 20; i++) {
        expect(await json(agent, 'POST', '/api/v1/registrations', { type: 'birth', action: 'declare', data: data(-i - 1) }), 201);
        expect(await json(agent, 'POST', '/api/v1/events', { events: [{ type: 'bench.append', stream: `bench:${i}`, data: data(i) }] }), 201);
      }

      const baselineAppend = await timed(SAMPLES, async (i) => void expect(await json(agent, 'POST', '/api/v1/events', { events: [{ type: 'bench.append', stream: `bench:${randomUUID()}`, data: data(i) }] }), 201));
      const ids: string[] = [];
      const declare = await timed(SAMPLES, async (i) => void ids.push((JSON.parse(expect(await json(agent, 'POST', '/api/v1/registrations', { type: 'birth', action: 'declare', data: data(i) }), 201).body) as { id: string }).id));
      for (const id of ids) expect(await json(registrar, 'POST', `/api/v1/registrations/${id}/actions/assign`, {}), 200);
      const register = await timed(SAMPLES, async (i) => void expect(await json(registrar, 'POST', `/api/v1/registrations/${ids[i]}/actions/register`, {}), 200));
      const baselineMe = await timed(SAMPLES, async () => void expect(await json(registrar, 'GET', '/api/v1/auth/me'), 200));
      const stored = (JSON.parse(expect(await json(national, 'GET', '/api/v1/registrations?limit=200'), 200).body) as { items: { id: string }[] }).items.map((r) => r.id);
      const get = await timed(SAMPLES, async (i) => void expect(await json(national, 'GET', `/api/v1/registrations/${stored[i % stored.length]}`), 200));
      const countsLocal = await timed(SAMPLES, async () => void expect(await json(registrar, 'GET', '/api/v1/registrations/workqueues'), 200));
      const countsNational = await timed(SAMPLES, async () => void expect(await json(national, 'GET', '/api/v1/registrations/workqueues'), 200));
      const counts = JSON.parse((await json(national, 'GET', '/api/v1/registrations/workqueues')).body) as Record<string, number>;

      const append = { name: 'ledger append to a stream (POST /events) p95', value: p95(baselineAppend), unit: 'ms' };
      const me = { name: 'GET /auth/me p95', value: p95(baselineMe), unit: 'ms' };
      out.push(`national workqueues over ${COUNT.toLocaleString('en')}: ${Object.entries(counts).map(([k, v]) => `${k} ${v.toLocaleString('en')}`).join(', ')}`);
      out.push({ name: 'declare p95', value: p95(declare), unit: 'ms', baseline: append, target: 'under 50 ms', pass: p95(declare) < 50 });
      out.push({ name: 'register p95 (pattern number)', value: p95(register), unit: 'ms', baseline: append, target: 'under 50 ms', pass: p95(register) < 50 });
      out.push({ name: 'registration page data p95 (GET, audited)', value: p95(get), unit: 'ms', baseline: me, target: 'under 20 ms', pass: p95(get) < 20 });
      out.push({ name: `workqueue counts p95, local registrar (1 of ${DISTRICTS} districts)`, value: p95(countsLocal), unit: 'ms', baseline: me, target: 'under 50 ms', pass: p95(countsLocal) < 50 });
      out.push({ name: 'workqueue counts p95, national registrar (whole country)', value: p95(countsNational), unit: 'ms', baseline: me, target: 'under 50 ms', pass: p95(countsNational) < 50 });
    } finally {
      await server.stop();
    }
    return out;
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { fmt } = await import('./lib.js');
  for (const f of await run()) console.log('- ' + (typeof f === 'string' ? f : fmt(f)));
}
