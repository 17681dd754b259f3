import { randomUUID, createHash } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { adminToken, postgresCpuMs, processCpuMs, request, startBenchServer, type Figure } from './lib.js';

/**
 * Platform issue 11: batched ingest into streams (1,000 events a request spread over 500 streams,
 * 4 clients sharing those streams) against a COPY of the same rows — stream, sequence and chained
 * hashes included — into the ledger's own table with all its indexes, same run. The streams
 * path costs more than plain ingest: each batch takes the streams' advisory locks, reads their
 * heads, chains hashes and upserts the heads.
 */
const STREAMS = 500;
const PER_REQUEST = 1000;
const CLIENTS = 4;
const BATCHES = Number(process.env.STREAMS_BENCH_BATCHES ?? 25);

const sampleData = (i: number) => ({ title: `reading ${i}`, value: i % 997, unit: 'bpm', tags: ['bench', i % 2 ? 'odd' : 'even'], note: 'x'.repeat(40) });

export async function run(): Promise<Array<Figure | string>> {
  const server = await startBenchServer();
  // Where the time goes: CPU of the server process, of PostgreSQL (every backend) and of this load
  // generator, read from /proc around each phase, per 1,000 rows.
  const snap = () => ({ t: performance.now(), server: processCpuMs(server.child.pid!), pg: postgresCpuMs(server.dataDir), gen: (process.cpuUsage().user + process.cpuUsage().system) / 1000 });
  const cpu = (phase: string, a: ReturnType<typeof snap>, n: number) => {
    const b = snap();
    const per = (ms: number) => ((ms * 1000) / n).toFixed(0);
    return `${phase}, per 1,000 rows: wall ${per(b.t - a.t)} ms; CPU: server ${per(b.server - a.server)} ms, PostgreSQL ${per(b.pg - a.pg)} ms, load generator ${per(b.gen - a.gen)} ms`;
  };
  try {
    const token = await adminToken(server.url);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const run = randomUUID().slice(0, 8);
    const body = (b: number) => JSON.stringify({ events: Array.from({ length: PER_REQUEST }, (_, i) => ({ type: 'bench.reading', stream: `device-${run}-${i % STREAMS}`, data: sampleData(b * PER_REQUEST + i) })) });
    const bodies = Array.from({ length: 8 }, (_, b) => body(b));
    for (let i = 0; i < 2; i++) await request(`${server.url}/api/v1/events`, { method: 'POST', headers, body: bodies[i]! });
    let t0 = performance.now();
    let at = snap();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = 0; i < BATCHES; i++) {
          const r = await request(`${server.url}/api/v1/events`, { method: 'POST', headers, body: bodies[(c + i) % bodies.length]! });
          if (r.status !== 201) throw new Error(`ingest failed: ${r.status} ${r.body.slice(0, 200)}`);
        }
      }),
    );
    const httpRate = (CLIENTS * BATCHES * PER_REQUEST) / ((performance.now() - t0) / 1000);
    const httpCpu = cpu('HTTP ingest', at, CLIENTS * BATCHES * PER_REQUEST);

    const client = new pg.Client({ host: path.join(server.dataDir, 'run'), user: 'cairn', database: 'cairn' });
    await client.connect();
    const total = CLIENTS * BATCHES * PER_REQUEST;
    const now = new Date().toISOString();
    const actor = randomUUID();
    const seqs = new Map<number, { seq: number; hash: string }>();
    function* rows() {
      let chunk = '';
      for (let i = 0; i < total; i++) {
        const data = JSON.stringify(sampleData(i));
        const s = i % STREAMS;
        const head = seqs.get(s) ?? { seq: 0, hash: '' };
        const h = createHash('sha256').update(head.hash).update(data).digest('hex');
        seqs.set(s, { seq: head.seq + 1, hash: h });
        const prev = head.hash ? `\\\\x${head.hash}` : '\\N';
        chunk += `${randomUUID()}\tcopy-${run}-${s}\t${head.seq + 1}\tbench.copy\t${data.replace(/\\/g, '\\\\')}\t\\\\x${h}\tuser\t${actor}\t${now}\t${now}\t${prev}\t\\\\x${h}\n`;
        if (chunk.length > 256 * 1024) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk) yield chunk;
    }
    t0 = performance.now();
    at = snap();
    await pipeline(Readable.from(rows()), client.query(copyFrom('COPY ledger_entries (id, stream, stream_seq, type, data, data_hash, actor_kind, actor_id, occurred_at, recorded_at, prev_hash, hash) FROM STDIN')));
    const copyRate = total / ((performance.now() - t0) / 1000);
    const copyCpu = cpu('COPY', at, total);
    await client.end();
    return [httpCpu, copyCpu, { name: `batched HTTP ingest into ${STREAMS} streams (1,000/request, ${CLIENTS} clients)`, value: httpRate, unit: 'events/s', baseline: { name: 'COPY of the same rows (streams, sequences, chained hashes) into the ledger table', value: copyRate, unit: 'rows/s' }, target: 'ratio >= 0.5', pass: httpRate / copyRate >= 0.5 }];
  } finally {
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { fmt } = await import('./lib.js');
  for (const f of await run()) console.log(typeof f === 'string' ? f : fmt(f));
}
