import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../test/harness.js';
import { freePort, seededRandom, startServerProcess, type ServerProcess } from '../test/process.js';

/**
 * A real server process killed with SIGKILL at a random moment while it takes batch appends with
 * transactionIds, record submissions with transactionIds, a tus upload and a CSV import, all at
 * once; then restarted on the same database and data directory, several rounds in a row. After
 * each restart:
 *  - every acknowledged append and record is there exactly once, and retrying any request with
 *    the same transactionIds replays it (acknowledged ones with the ids first answered), never
 *    writes it twice;
 *  - the upload resumes at or past every byte the server acknowledged, and its bytes arrive whole;
 *  - an acknowledged import has all its records; any import (even a killed one) has exactly the
 *    records its ledger entries list, no more, no fewer;
 *  - `ledger verify` passes.
 * The kill points and workloads come from a seed printed first (`CRASH_SEED=<n>` or the run's `FUZZ_SEED` replays them; the
 * moment a kill lands in the server's work still depends on the machine's speed).
 */
const SEED = Number(process.env.CRASH_SEED ?? process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 3);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Batch {
  body: { events: { type: string; stream: string; data: { n: number }; transactionId: string }[] };
  acked?: string[];
}
interface RecordSubmission {
  transactionId: string;
  acked?: string;
}
interface Upload {
  session: string;
  data: Buffer;
  url: string | null;
  acceptedOffset: number;
}
interface Import {
  rows: number;
  acked?: { importId: string; imported: number };
}

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let dataDir: string;
let base: string;
let env: Record<string, string>;
let server: ServerProcess | undefined;
let token: string;
let ids: { workspace: string; session: string; dataset: string };
const TYPE = 'crash.example/item';
const INSTRUMENT = { name: 'crash-note', edition: 1 };

async function api(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, body: json as Record<string, any>, text }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function start() {
  server = startServerProcess(env);
  await server.ready;
}

async function kill() {
  server!.child.kill('SIGKILL');
  await server!.exited;
}

function tusUpload(u: Upload, onUrl: (url: string) => void, onAccepted: () => void = () => {}): Promise<boolean> {
  return new Promise((resolve) => {
    const up: tus.Upload = new tus.Upload(u.data as never, {
      endpoint: `${base}/api/v1/uploads/tus`,
      ...(u.url ? { uploadUrl: u.url } : {}),
      headers: { authorization: `Bearer ${token}` },
      metadata: { sessionId: u.session, sha256: sha(u.data) },
      chunkSize: 256 * 1024,
      retryDelays: [],
      onUploadUrlAvailable: () => onUrl(up.url!),
      // What the server acknowledged (its Upload-Offset answer), not what the client sent.
      onChunkComplete: (_chunk, accepted) => {
        if (up.url) onUrl(up.url);
        u.acceptedOffset = Math.max(u.acceptedOffset, accepted);
        onAccepted();
      },
      onSuccess: () => resolve(true),
      onError: () => resolve(false),
    });
    up.start();
  });
}

beforeAll(async () => {
  console.log(`CRASH_SEED=${SEED} CRASH_ROUNDS=${ROUNDS}  (replay: CRASH_SEED=${SEED} npx vitest run server/src/main.crash.test.ts)`);
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-crash-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  env = { DATABASE_URL: db.url, CAIRN_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', CAIRN_WORKERS: 'false', CAIRN_CHECKPOINT_INTERVAL_MS: '200' };
  await start();
  const setup = await fetch(`${base}/api/v1/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'correct horse battery staple' }) });
  token = ((await setup.json()) as { accessToken: string }).accessToken;
  const scopes = (await api('GET', '/api/v1/auth/scopes')).body.scopes.map((s: { name: string }) => s.name);
  token = (await api('POST', '/api/v1/auth/tokens', { name: 'crash', scopes, expiresInDays: 1 })).body.secret;
  expect((await api('POST', '/api/v1/event-types', { name: TYPE, schema: { type: 'object', properties: { n: { type: 'integer' } } } })).status).toBe(201);
  expect((await api('POST', '/api/v1/instruments', { kind: 'form', ...INSTRUMENT, languages: ['en'], details: { title: { en: 'Crash note' }, license: 'CC0-1.0' }, content: [{ kind: 'text', name: 'note', label: 'Note' }] })).status).toBe(201);
  const workspace = (await api('POST', '/api/v1/workspaces', { name: 'Crash' })).body.workspace.id;
  const subject = (await api('POST', `/api/v1/workspaces/${workspace}/subjects`, { identifier: 'crash-subject', identifierKind: 'custom' })).body.subject.id;
  const session = (await api('POST', `/api/v1/subjects/${subject}/sessions`, { kind: 'in_person' })).body.session.id;
  const dataset = (await api('POST', '/api/v1/datasets', { title: 'Crash uploads' })).body.dataset.accession;
  ids = { workspace, session, dataset };
}, 120_000);

afterAll(async () => {
  if (server && server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  await pool?.end();
  await db?.drop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('kill -9 at random points of appends, uploads and imports', () => {
  it(`loses nothing acknowledged, duplicates nothing, and the ledger verifies (${ROUNDS} rounds)`, async () => {
    const header = (await api('GET', `/api/v1/workspaces/${ids.workspace}/imports/template?instrument=${INSTRUMENT.name}&edition=1`)).text.trim().split(/\r?\n/)[0]!;
    const columns = header.split(',');
    const log: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const rnd = seededRandom(SEED + round);
      const killAfter = Math.round(50 + rnd() * 1200);

      // --- the workload, all at once ------------------------------------------------------
      // The upload first, and the clock starts once the server acknowledged its first chunk, so the kill can land in its bytes.
      const upSession = (await api('POST', `/api/v1/datasets/${ids.dataset}/uploads`)).body.session.id as string;
      const upload: Upload = { session: upSession, data: randomBytes(Math.floor((2 + rnd() * 14) * 1024 * 1024)), url: null, acceptedOffset: 0 };
      let accepted: () => void = () => {};
      const firstChunk = new Promise<void>((resolve) => (accepted = resolve));
      const uploading = tusUpload(upload, (url) => (upload.url = url), () => accepted());
      await Promise.race([firstChunk, uploading]);
      const t0 = Date.now();
      const batches: Batch[] = [];
      const appenders = Array.from({ length: 4 }, async (_, loop) => {
        for (let b = 0; ; b++) {
          const size = 1 + Math.floor(rnd() * 20);
          const batch: Batch = { body: { events: Array.from({ length: size }, (_, e) => ({ type: TYPE, stream: `crash-${loop}`, data: { n: e }, transactionId: `r${round}-l${loop}-b${b}-e${e}` })) } };
          batches.push(batch);
          const r = await api('POST', '/api/v1/events', batch.body).catch(() => undefined);
          if (!r) return;
          expect([200, 201], r.text).toContain(r.status);
          batch.acked = r.body.events.map((e: { id: string }) => e.id);
        }
      });
      const records: RecordSubmission[] = [];
      const recorder = (async () => {
        for (let i = 0; ; i++) {
          const rec: RecordSubmission = { transactionId: `r${round}-rec${i}` };
          records.push(rec);
          const r = await api('POST', `/api/v1/sessions/${ids.session}/records`, { instrument: INSTRUMENT, data: { note: `round ${round} #${i}` }, transactionId: rec.transactionId }).catch(() => undefined);
          if (!r) return;
          expect([200, 201], r.text).toContain(r.status);
          rec.acked = (r.body.record?.id ?? r.body.id) as string;
        }
      })();
      const imp: Import = { rows: 1000 + Math.floor(rnd() * 5000) };
      const csv = [header, ...Array.from({ length: imp.rows }, (_, i) => columns.map((c) => (c === 'subject' ? `r${round}-s${i}` : c === 'date' ? '2026-01-02' : c === 'note' ? `import ${round}/${i}` : '')).join(','))].join('\n');
      const importing = api('POST', `/api/v1/workspaces/${ids.workspace}/imports?instrument=${INSTRUMENT.name}&edition=1`, csv, { 'content-type': 'text/csv' })
        .then((r) => {
          if (r.status === 200 || r.status === 201) imp.acked = { importId: r.body.importId, imported: r.body.imported };
          else throw new Error(`import answered ${r.status} ${r.text.slice(0, 300)}`);
        })
        .catch((e: Error) => {
          if (/answered/.test(e.message)) throw e;
        });

      await new Promise((r) => setTimeout(r, killAfter));
      await kill();
      await Promise.all([...appenders, recorder, uploading, importing]);
      const ackedAtKill = upload.acceptedOffset;
      const t1 = Date.now();
      await start();
      const t2 = Date.now();

      // --- after the restart ---------------------------------------------------------------
      // Appends: a retry of every batch replays what was acknowledged (same ids) and applies the rest once.
      let ackedEvents = 0;
      for (const batch of batches) {
        const r = await api('POST', '/api/v1/events', batch.body);
        expect([200, 201], `retry after restart: ${r.text.slice(0, 300)}`).toContain(r.status);
        if (batch.acked) {
          ackedEvents += batch.acked.length;
          expect(r.status).toBe(200);
          expect(r.body.events.map((e: { id: string; replayed: boolean }) => [e.id, e.replayed])).toEqual(batch.acked.map((id) => [id, true]));
        }
      }
      const txids = batches.flatMap((b) => b.body.events.map((e) => e.transactionId));
      const counts = await pool.query<{ transaction_id: string; n: string | number }>(`SELECT transaction_id, count(*) AS n FROM ledger_entries WHERE transaction_id = ANY($1) GROUP BY 1`, [txids]);
      expect(counts.rows.filter((c) => Number(c.n) !== 1)).toEqual([]);
      expect(counts.rows.length).toBe(txids.length);

      // Records: the same, one submission at a time.
      let ackedRecords = 0;
      for (const rec of records) {
        const r = await api('POST', `/api/v1/sessions/${ids.session}/records`, { instrument: INSTRUMENT, data: { note: 'a retry' }, transactionId: rec.transactionId });
        expect([200, 201], `record retry after restart: ${r.text.slice(0, 300)}`).toContain(r.status);
        if (rec.acked) {
          ackedRecords++;
          expect(r.body.record?.id ?? r.body.id).toBe(rec.acked);
        }
      }
      const recCounts = await pool.query<{ n: string | number }>(`SELECT count(*) AS n FROM ledger_entries WHERE transaction_id = ANY($1) GROUP BY transaction_id HAVING count(*) <> 1`, [records.map((r) => r.transactionId)]);
      expect(recCounts.rows).toEqual([]);

      // The upload: nothing acknowledged is lost; it resumes and arrives whole.
      let resumedAt = -1;
      if (upload.url) {
        const head = await fetch(upload.url, { method: 'HEAD', headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0' } });
        expect(head.status, `HEAD after restart (acknowledged ${upload.acceptedOffset} of ${upload.data.length})`).toBe(200);
        resumedAt = Number(head.headers.get('upload-offset'));
        expect(resumedAt).toBeGreaterThanOrEqual(upload.acceptedOffset);
        expect(await tusUpload(upload, () => {})).toBe(true);
      } else {
        // The creation was never answered: start again (a new upload in the same session).
        expect(await tusUpload(upload, (url) => (upload.url = url))).toBe(true);
      }
      const commit = await api('POST', `/api/v1/datasets/${ids.dataset}/uploads/${upload.session}/commit`, { changes: [{ op: 'put', path: `round-${round}.bin`, sha256: sha(upload.data), size: upload.data.length }] });
      expect(commit.status, commit.text.slice(0, 300)).toBe(200);
      const file = await fetch(`${base}/api/v1/datasets/${ids.dataset}/versions/draft/file?path=round-${round}.bin`, { headers: { authorization: `Bearer ${token}` } });
      expect(sha(Buffer.from(await file.arrayBuffer()))).toBe(sha(upload.data));

      // Imports: an acknowledged one is complete; every one (even killed) matches its ledger entries row for row.
      if (imp.acked) {
        const n = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM records WHERE import_id = $1`, [imp.acked.importId]);
        expect(Number(n.rows[0]!.n)).toBe(imp.acked.imported);
        expect(imp.acked.imported).toBe(imp.rows);
      }
      const ledgerSide = await pool.query<{ id: string; n: number }>(`SELECT data->>'importId' AS id, sum(jsonb_array_length(data->'records'))::int AS n FROM ledger_entries WHERE type = 'record.imported' GROUP BY 1 ORDER BY 1`);
      const stateSide = await pool.query<{ id: string; n: number }>(`SELECT import_id::text AS id, count(*)::int AS n FROM records WHERE import_id IS NOT NULL GROUP BY 1 ORDER BY 1`);
      expect(stateSide.rows).toEqual(ledgerSide.rows);

      // The ledger verifies after every crash.
      const verify = await api('POST', '/api/v1/ledger/verify');
      expect(verify.status).toBe(200);
      expect(verify.body.problems).toEqual([]);
      expect(verify.body.ok).toBe(true);

      log.push(`round ${round}: killed after ${killAfter} ms; ${batches.length} batches sent (${batches.filter((b) => b.acked).length} acknowledged, ${ackedEvents} events), ${records.length} records sent (${ackedRecords} acknowledged), upload of ${upload.data.length} B acknowledged to ${ackedAtKill}${resumedAt >= 0 ? `, resumed at ${resumedAt}` : ', its creation unanswered'}, import of ${imp.rows} rows ${imp.acked ? 'acknowledged' : 'cut off'}; ledger verified (${verify.body.checked} entries); workload ${t1 - t0} ms, restart ${t2 - t1} ms, checks ${Date.now() - t2} ms`);
    }
    console.log(log.join('\n'));
  }, 300_000);
});
