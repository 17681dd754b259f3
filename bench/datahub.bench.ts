import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { adminToken, fmt, percentile, request, startBenchServer, type Figure } from './lib.js';

const RECORDS = Number(process.env.DATAHUB_BENCH_RECORDS ?? 1_000_000);
const SUBJECTS = 10_000;
const IMPORT_ROWS = Number(process.env.DATAHUB_BENCH_IMPORT_ROWS ?? 100_000);
const SUBMISSIONS = Number(process.env.DATAHUB_BENCH_SUBMISSIONS ?? 1_000);

/** A 20-field instrument: 14 numbers, 4 texts (one a select), 2 booleans. */
const FIELDS = Array.from({ length: 20 }, (_, i) => {
  const name = `f${i + 1}`;
  if (i < 14) return { kind: 'number', name, label: `Number ${i + 1}`, min: 0, max: 1000, required: true };
  if (i < 17) return { kind: 'text', name, label: `Text ${i + 1}`, maxLength: 200 };
  if (i === 17) return { kind: 'text', variant: 'select', name, label: 'Choice', options: [{ value: 'a', label: 'A' }, { value: 'b', label: 'B' }, { value: 'c', label: 'C' }] };
  return { kind: 'boolean', name, label: `Flag ${i + 1}` };
});
const INSTRUMENT = {
  kind: 'form',
  name: 'bench-twenty',
  edition: 1,
  languages: ['en'],
  details: { title: 'Twenty fields', license: 'CC0-1.0' },
  content: FIELDS,
  measures: { total: { kind: 'computed', label: 'Total', expression: { '+': FIELDS.slice(0, 14).map((f) => ({ var: f.name })) } } },
};
const answers = (i: number) => {
  const a: Record<string, unknown> = {};
  for (let k = 0; k < 14; k++) a[`f${k + 1}`] = (i * (k + 7)) % 1000;
  a.f15 = `note ${i}`;
  a.f16 = 'some free text, with a comma';
  a.f17 = `x${i % 97}`;
  a.f18 = 'abc'[i % 3];
  a.f19 = i % 2 === 0;
  a.f20 = i % 5 === 0;
  return a;
};

function peakRssMb(pid: number, field: 'VmHWM' | 'VmRSS' = 'VmHWM'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) / 1024;
}

/** Resets VmHWM to the current RSS (Linux: "5" > clear_refs), so a later read is the peak of what follows. */
function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Streams a GET to the end, counting bytes and newlines, without keeping the body. */
function drain(url: string, headers: Record<string, string>): Promise<{ status: number; bytes: number; lines: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let bytes = 0;
        let lines = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) lines++;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, lines }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** Issue 5's figures: streamed export of 1M records, submission latency at 1M records, CSV import. */
export async function run(): Promise<Figure[]> {
  const figures: Figure[] = [];
  // The periodic ledger seal would hash the million bulk-loaded entries during the measurements;
  // it is a background job unrelated to the figures measured here, so it is pushed out of the run.
  const server = await startBenchServer({ CAIRN_CHECKPOINT_INTERVAL_MS: '3600000', CAIRN_WORKERS: 'false' });
  const db = new pg.Client({ host: path.join(server.dataDir, 'run'), user: 'cairn', database: 'cairn' });
  try {
    const token = await adminToken(server.url);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const call = async (method: string, p: string, body?: unknown) => {
      const r = await request(`${server.url}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${r.body.slice(0, 300)}`);
      return JSON.parse(r.body);
    };
    await call('POST', '/api/v1/instruments', INSTRUMENT);
    const ws = (await call('POST', '/api/v1/workspaces', { name: 'Bench' })).workspace.id as string;

    // --- bulk load with SQL: subjects, ended sessions, 1M records and their ledger entries ---
    await db.connect();
    let t0 = performance.now();
    await db.query(`INSERT INTO subjects (id, workspace_id, identifier, identifier_kind, created_at)
      SELECT gen_random_uuid(), $1, 'S' || lpad(i::text, 6, '0'), 'custom', now() FROM generate_series(1, ${SUBJECTS}) i`, [ws]);
    await db.query(`INSERT INTO datahub_sessions (id, workspace_id, subject_id, kind, date, started_at, ended_at, created_by_kind)
      SELECT gen_random_uuid(), workspace_id, id, 'retrospective', now() - interval '1 year', now(), now(), 'system' FROM subjects WHERE workspace_id = $1`, [ws]);
    const data = FIELDS.map((f, k) => (k < 14 ? `'${f.name}', (i * ${k + 7}) % 1000` : k === 14 ? `'f15', 'note ' || i` : k === 15 ? `'f16', 'some free text, with a comma'` : k === 16 ? `'f17', 'x' || (i % 97)` : k === 17 ? `'f18', substr('abc', i % 3 + 1, 1)` : `'${f.name}', i % ${k === 18 ? 2 : 5} = 0`)).join(', ');
    await db.query(`CREATE TEMP TABLE bench_sessions AS SELECT row_number() OVER () AS n, id, subject_id FROM datahub_sessions WHERE workspace_id = $1`, [ws]);
    await db.query(`INSERT INTO records (id, workspace_id, subject_id, session_id, instrument_name, instrument_edition, date, data, measures, created_at, updated_at, created_by_kind)
      SELECT gen_random_uuid(), $1, s.subject_id, s.id, 'bench-twenty', 1, timestamptz '2020-01-01' + i * interval '1 minute',
             jsonb_build_object(${data}), jsonb_build_object('total', i % 9000), now(), now(), 'system'
      FROM generate_series(1, ${RECORDS}) i JOIN bench_sessions s ON s.n = (i % ${SUBJECTS}) + 1`, [ws]);
    await db.query(`INSERT INTO ledger_entries (id, stream, stream_seq, type, data, data_hash, actor_kind, occurred_at, recorded_at, hash)
      SELECT gen_random_uuid(), 'record:' || id, 1, 'record.created', jsonb_build_object('recordId', id), '\\x00', 'system', created_at, created_at, '\\x00' FROM records WHERE workspace_id = $1`, [ws]);
    await db.query(`INSERT INTO ledger_streams (stream, seq, hash) SELECT 'record:' || id, 1, '\\x00' FROM records WHERE workspace_id = $1`, [ws]);
    await db.query('VACUUM ANALYZE records');
    await db.query('VACUUM ANALYZE ledger_entries');
    const loadSeconds = (performance.now() - t0) / 1000;
    console.error(`datahub bench: loaded ${RECORDS.toLocaleString('en')} records in ${loadSeconds.toFixed(1)} s`);

    // --- streamed CSV export over HTTP, against a raw COPY of the same query ---
    const exportUrl = `${server.url}/api/v1/workspaces/${ws}/exports?format=csv&instrument=bench-twenty&edition=1`;
    await drain(`${exportUrl.replace('bench-twenty', 'bench-twenty')}`, { authorization: headers.authorization }); // warm caches
    const startupPeak = peakRssMb(server.child.pid!);
    const before = peakRssMb(server.child.pid!, 'VmRSS');
    const reset = resetPeak(server.child.pid!);
    t0 = performance.now();
    const exported = await drain(exportUrl, { authorization: headers.authorization });
    const exportSeconds = (performance.now() - t0) / 1000;
    if (exported.status !== 200 || exported.lines !== RECORDS + 1) throw new Error(`export answered ${exported.status} with ${exported.lines} lines`);
    const exportRate = RECORDS / exportSeconds;
    const rss = peakRssMb(server.child.pid!);

    const cols = FIELDS.map((f) => `r.data->>'${f.name}' AS "${f.name}"`).join(', ');
    const copySql = `COPY (SELECT r.id AS record_id, s.identifier AS subject, r.session_id, to_char(r.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS date, r.instrument_name AS instrument, r.instrument_edition AS edition, ${cols}, r.measures->>'total' AS "measure:total"
      FROM records r JOIN subjects s ON s.id = r.subject_id WHERE r.workspace_id = '${ws}' AND r.deleted_at IS NULL AND r.instrument_name = 'bench-twenty' AND r.instrument_edition = 1 ORDER BY r.instrument_edition, r.date, r.id) TO STDOUT WITH (FORMAT csv, HEADER true)`;
    t0 = performance.now();
    const copyRows = await new Promise<number>((resolve, reject) => {
      let lines = 0;
      const s = db.query(copyTo(copySql));
      s.on('data', (c: Buffer) => {
        for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) lines++;
      });
      s.on('end', () => resolve(lines - 1));
      s.on('error', reject);
    });
    const copyRate = copyRows / ((performance.now() - t0) / 1000);
    figures.push({ name: `streamed CSV export over HTTP, ${RECORDS.toLocaleString('en')} records x 20 fields`, value: exportRate, unit: 'rows/s', baseline: { name: 'raw COPY (SELECT ...) TO STDOUT of the same rows', value: copyRate, unit: 'rows/s' }, target: '>= 100,000 rows/s', pass: exportRate >= 100_000 });
    figures.push({ name: reset ? 'server peak RSS during the export (VmHWM reset just before)' : 'server peak RSS since start (VmHWM)', value: rss, unit: 'MB', baseline: { name: 'RSS just before the export', value: before, unit: 'MB' }, target: '< 300 MB', pass: rss < 300 });
    figures.push({ name: 'server peak RSS from start to before the export (boot, library install, warm-up export)', value: startupPeak, unit: 'MB' });

    // --- submitting a record with 1M stored ---
    const subject = (await call('POST', `/api/v1/workspaces/${ws}/subjects`, { identifier: 'SUBMIT-1', identifierKind: 'custom' })).subject.id as string;
    const session = (await call('POST', `/api/v1/subjects/${subject}/sessions`, { kind: 'in_person' })).session.id as string;
    const body = (i: number) => JSON.stringify({ instrument: { name: 'bench-twenty', edition: 1 }, data: answers(i) });
    for (let i = 0; i < 50; i++) await request(`${server.url}/api/v1/sessions/${session}/records`, { method: 'POST', headers, body: body(i) });
    const latencies: number[] = [];
    for (let i = 0; i < SUBMISSIONS; i++) {
      const s = performance.now();
      const r = await request(`${server.url}/api/v1/sessions/${session}/records`, { method: 'POST', headers, body: body(i) });
      latencies.push(performance.now() - s);
      if (r.status !== 201) throw new Error(`submit failed: ${r.status} ${r.body.slice(0, 200)}`);
    }
    latencies.sort((a, b) => a - b);
    figures.push({ name: `record submission latency p95 (20 fields, ${RECORDS.toLocaleString('en')} records stored)`, value: percentile(latencies, 95), unit: 'ms', baseline: { name: 'p50', value: percentile(latencies, 50), unit: 'ms' }, target: '< 30 ms', pass: percentile(latencies, 95) < 30 });

    // --- importing 100,000 CSV rows with validation ---
    const header = (await request(`${server.url}/api/v1/workspaces/${ws}/imports/template?instrument=bench-twenty&edition=1`, { headers })).body.trim();
    const csvEscape = (v: unknown) => (typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v));
    const lines = [header];
    const names = header.split(',').slice(2);
    for (let i = 0; i < IMPORT_ROWS; i++) {
      const a = answers(i);
      lines.push([`IMP${i % 10_000}`, `2023-${String(1 + (i % 12)).padStart(2, '0')}-15`, ...names.map((n) => csvEscape(a[n]))].join(','));
    }
    const csv = lines.join('\n') + '\n';
    t0 = performance.now();
    const imported = await request(`${server.url}/api/v1/workspaces/${ws}/imports?instrument=bench-twenty&edition=1`, { method: 'POST', headers: { authorization: headers.authorization, 'content-type': 'text/csv' }, body: csv });
    const importSeconds = (performance.now() - t0) / 1000;
    if (imported.status !== 201) throw new Error(`import failed: ${imported.status} ${imported.body.slice(0, 300)}`);
    const got = JSON.parse(imported.body) as { imported: number };
    if (got.imported !== IMPORT_ROWS) throw new Error(`imported ${got.imported}`);
    figures.push({ name: `CSV import with validation, ${IMPORT_ROWS.toLocaleString('en')} rows (${(csv.length / 1024 / 1024).toFixed(1)} MiB, 10,000 new subjects)`, value: importSeconds, unit: 's', baseline: { name: 'rows/s', value: IMPORT_ROWS / importSeconds, unit: 'rows/s' }, target: '< 20 s', pass: importSeconds < 20 });
    figures.push({ name: 'server peak RSS (VmHWM) at the end', value: peakRssMb(server.child.pid!), unit: 'MB' });
  } finally {
    await db.end().catch(() => {});
    await server.stop();
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  }
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await run()) console.log(fmt(f));
}
