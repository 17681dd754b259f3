/**
 * Personal event store benchmarks (issue 3):
 *
 * 1. Listing 1,000 events of one type in a one-week window out of 1,000,000 stored events of 100
 *    types, as an app holding a read grant, over HTTP: p50/p95 with a warm database
 *    (target p95 < 20 ms). The SQL alone is timed too, to show where the time goes.
 * 2. Validated vs unvalidated batched ingest over HTTP (1,000 events a request, 4 concurrent
 *    clients), interleaved in the same run: the ratio must stay >= 0.7.
 *
 * The server is the real one in its own process (so the client's parsing does not share its event
 * loop) on a throwaway embedded PostgreSQL; the million rows are generated inside PostgreSQL
 * (INSERT ... SELECT generate_series), not sent over HTTP.
 * Run: `node --import tsx bench/event-store.bench.ts` (or through the bench runner, via run()).
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { CALENDAR_EVENT_SCHEMA } from '../server/test/fixtures/calendar.js';
import { request, startBenchServer, type BenchServer } from './lib.js';

const TOTAL = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const TYPES = 100;
const WEEKS = Math.max(1, Math.round(TOTAL / TYPES / 1000)); // 1,000 events of each type per week
const LIST_REQUESTS = 200;
const INGEST_ROUNDS = 3;
const INGEST_REQUESTS = 24; // per round and kind: 24,000 events
const CLIENTS = 4;
const BATCH = 1000;
const BASE = Date.UTC(2026, 0, 5);
const WEEK_MS = 7 * 86_400_000;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

/** One request on a keep-alive connection; answers the raw body (parse only what you need). */
async function raw(server: BenchServer, method: string, url: string, body: unknown, authorization?: string, form = false): Promise<string> {
  const headers: Record<string, string> = {};
  if (authorization) headers.authorization = authorization;
  if (body !== undefined) headers['content-type'] = form ? 'application/x-www-form-urlencoded' : 'application/json';
  const res = await request(`${server.url}${url}`, {
    method,
    headers,
    body: body === undefined ? undefined : form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body),
  });
  if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status} ${res.body.slice(0, 300)}`);
  return res.body;
}

async function http(server: BenchServer, method: string, url: string, body: unknown, authorization?: string, form = false) {
  const text = await raw(server, method, url, body, authorization, form);
  return text ? JSON.parse(text) : undefined;
}

function event(type: string, i: number) {
  const start = new Date(BASE + (i % 10_000) * 60_000);
  return {
    type,
    occurredAt: start.toISOString(),
    data: { startTime: start.toISOString(), endTime: new Date(start.getTime() + 3_600_000).toISOString(), title: `Meeting ${i}`, description: 'Weekly sync with the team about the roadmap', color: '#3366cc' },
  };
}

export async function run(): Promise<string[]> {
  const lines: string[] = [];
  const say = (s: string) => {
    lines.push(s);
    console.log(s);
  };
  const server = await startBenchServer({
    CAIRN_SERVE_WEB: 'false',
    CAIRN_WORKERS: 'false',
    // Sealing checkpoints over a freshly loaded million rows would compete with the measurements.
    CAIRN_CHECKPOINT_INTERVAL_MS: '3600000',
  });
  // The bench's own connection to the server's embedded PostgreSQL, to load rows and time the query.
  const pool = new pg.Pool({ host: path.join(server.dataDir, 'run'), user: 'cairn', database: 'cairn', max: 2 });
  try {
    const admin = `Bearer ${(await http(server, 'POST', '/api/v1/setup', { username: 'bench', password: 'bench password 123' })).accessToken}`;

    // --- load -----------------------------------------------------------------------------
    let t = performance.now();
    const chunk = 250_000;
    for (let from = 0; from < TOTAL; from += chunk) {
      const to = Math.min(TOTAL, from + chunk) - 1;
      // Event i is of type i % 100; each type's events are spread evenly over WEEKS weeks.
      await pool.query(
        `INSERT INTO ledger_entries (id, stream, stream_seq, type, type_version, data, data_hash, actor_kind, actor_id, occurred_at, recorded_at, transaction_id, prev_hash, hash)
         SELECT gen_random_uuid(), NULL, NULL, 'bench.t' || (i % ${TYPES}) || '/event', 1,
                jsonb_build_object('startTime', ts, 'endTime', ts + interval '1 hour', 'title', 'Event ' || i, 'description', 'generated', 'color', '#3366cc'),
                sha256(i::text::bytea), 'app', NULL, ts, now(), NULL, NULL, sha256(('h' || i)::bytea)
         FROM (SELECT i, to_timestamp(${BASE / 1000} + (i / ${TYPES}) * (${(WEEKS * WEEK_MS) / 1000}::float8 / ${TOTAL / TYPES})) AS ts
               FROM generate_series(${from}, ${to}) AS i) AS g`,
      );
    }
    await pool.query('VACUUM ANALYZE ledger_entries');
    say(`event-store: loaded ${TOTAL.toLocaleString('en')} events of ${TYPES} types over ${WEEKS} weeks in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // --- an app with a read grant on one type ----------------------------------------------
    const type = 'bench.t42/event';
    await http(server, 'POST', '/api/v1/event-types', { name: type, schema: { type: 'object' } }, admin);
    const reg = await http(server, 'POST', '/api/v1/apps', { name: 'Bench', rateLimitPerMinute: 1_000_000 }, admin);
    const creds = await http(server, 'POST', '/api/v1/apps/associate', { associationCode: reg.associationCode });
    const tok = await http(server, 'POST', '/api/v1/oauth/token', { grant_type: 'client_credentials', client_id: creds.clientId, client_secret: creds.clientSecret }, undefined, true);
    const app = `Bearer ${tok.access_token}`;
    const ask = await http(server, 'POST', '/api/v1/apps/me/permission-requests', { eventType: type, read: true }, app);
    await http(server, 'POST', `/api/v1/permission-requests/${ask.id}/approve`, undefined, admin);

    // --- listing one week of one type --------------------------------------------------------
    const week = Math.floor(WEEKS / 2);
    const from = new Date(BASE + week * WEEK_MS).toISOString();
    const to = new Date(BASE + (week + 1) * WEEK_MS).toISOString();
    const url = `/api/v1/events?type=${encodeURIComponent(type)}&from=${from}&to=${to}&limit=1000`;
    let count = 0;
    for (let i = 0; i < 20; i++) count = (await http(server, 'GET', url, undefined, app)).events.length; // warm-up
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < LIST_REQUESTS; i++) {
      t = performance.now();
      // Timed to the last byte received; the client's JSON parsing is not the server's latency.
      bytes = (await raw(server, 'GET', url, undefined, app)).length;
      times.push(performance.now() - t);
    }
    say(`event-store: list ${count} events of 1 type in a 1-week window (HTTP, app with read grant, ${Math.round(bytes / 1024)} KiB): p50 ${pct(times, 50).toFixed(1)} ms, p95 ${pct(times, 95).toFixed(1)} ms (target p95 < 20 ms)`);
    // The same query as the ledger store runs, timed inside PostgreSQL: what the index costs,
    // apart from moving and parsing a thousand rows.
    const execTimes: number[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await pool.query(
        `EXPLAIN (ANALYZE, FORMAT JSON) SELECT position, tx::text AS tx, id, stream, stream_seq, type, type_version, data, actor_kind, actor_id, occurred_at, recorded_at, transaction_id, hash
         FROM ledger_entries WHERE tx < pg_snapshot_xmin(pg_current_snapshot()) AND type = $1 AND occurred_at >= $2 AND occurred_at < $3
           AND data IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ledger_superseded s WHERE s.entry_id = ledger_entries.id) AND type = ANY($4::text[])
         ORDER BY ledger_entries.tx, ledger_entries.position LIMIT 1000`,
        [type, from, to, [type]],
      );
      execTimes.push((r.rows[0]['QUERY PLAN'] as { 'Execution Time': number }[])[0]!['Execution Time']);
    }
    say(`event-store: same query's execution inside PostgreSQL: p50 ${pct(execTimes, 50).toFixed(1)} ms, p95 ${pct(execTimes, 95).toFixed(1)} ms`);

    // --- validated vs unvalidated ingest -----------------------------------------------------
    await http(server, 'POST', '/api/v1/event-types', { name: 'bench.typed/event', schema: CALENDAR_EVENT_SCHEMA }, admin);
    const ingest = async (kind: string) => {
      let next = 0;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          for (;;) {
            const r = next++;
            if (r >= INGEST_REQUESTS) return;
            await http(server, 'POST', '/api/v1/events', { events: Array.from({ length: BATCH }, (_, i) => event(kind, r * BATCH + i)) }, admin);
          }
        }),
      );
      return (INGEST_REQUESTS * BATCH) / ((performance.now() - start) / 1000);
    };
    await ingest('bench.plain/event'); // warm-up both paths
    await ingest('bench.typed/event');
    const plain: number[] = [];
    const typed: number[] = [];
    for (let round = 0; round < INGEST_ROUNDS; round++) {
      // Alternate the order so neither kind always runs on a warmer (or more bloated) table.
      if (round % 2 === 0) {
        plain.push(await ingest('bench.plain/event'));
        typed.push(await ingest('bench.typed/event'));
      } else {
        typed.push(await ingest('bench.typed/event'));
        plain.push(await ingest('bench.plain/event'));
      }
    }
    const median = (xs: number[]) => pct(xs, 50);
    const ratio = median(typed) / median(plain);
    say(`event-store: batched ingest over HTTP (${BATCH}/request, ${CLIENTS} clients), median of ${INGEST_ROUNDS} rounds: unvalidated ${Math.round(median(plain)).toLocaleString('en')} events/s, validated ${Math.round(median(typed)).toLocaleString('en')} events/s`);
    say(`event-store: validated/unvalidated ingest ratio ${ratio.toFixed(2)} (target >= 0.70)`);
    return lines;
  } finally {
    await pool.end();
    await server.stop();
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
