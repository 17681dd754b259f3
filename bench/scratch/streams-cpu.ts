// Where the CPU goes in the streams bench: the same load as bench/streams.bench.ts, with the CPU
// time of the server process, of PostgreSQL (all its processes) and of this load generator read
// from /proc before and after each phase. Run: cd bench && node --import tsx scratch/streams-cpu.ts
import { randomUUID, createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { adminToken, request, startBenchServer, processCpuMs } from '../lib.js';

const STREAMS = 500, PER_REQUEST = 1000, CLIENTS = 4, BATCHES = 25;
const sampleData = (i: number) => ({ title: `reading ${i}`, value: i % 997, unit: 'bpm', tags: ['bench', i % 2 ? 'odd' : 'even'], note: 'x'.repeat(40) });

const server = await startBenchServer();
function pgCpuMs(): number {
  // this server's PostgreSQL: the postmaster (its data dir on the command line) and its children
  const procs = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).flatMap((e) => {
    try {
      return [{ pid: Number(e), cmd: fs.readFileSync(`/proc/${e}/cmdline`, 'utf8'), stat: fs.readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1]!.split(' ') }];
    } catch { return []; }
  });
  const master = procs.find((p) => p.cmd.startsWith('/') && p.cmd.includes('postgres') && p.cmd.includes(server.dataDir));
  if (!master) throw new Error('postmaster not found');
  let total = 0;
  for (const p of procs) if (p.pid === master.pid || Number(p.stat[1]) === master.pid) total += ((Number(p.stat[11]) + Number(p.stat[12])) * 1000) / 100;
  return total;
}
const self = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const snap = () => ({ t: performance.now(), node: processCpuMs(server.child.pid!), pg: pgCpuMs(), gen: self() });
const diff = (a: ReturnType<typeof snap>, b: ReturnType<typeof snap>, n: number) => {
  const s = (b.t - a.t) / 1000;
  return `${Math.round(n / s)} /s; per 1,000 rows, ms: wall ${((b.t - a.t) * 1000 / n).toFixed(0)}, server ${((b.node - a.node) * 1000 / n).toFixed(0)}, postgres ${((b.pg - a.pg) * 1000 / n).toFixed(0)}, generator ${((b.gen - a.gen) * 1000 / n).toFixed(0)}`;
};
try {
  const token = await adminToken(server.url);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const run = randomUUID().slice(0, 8);
  const body = (b: number) => JSON.stringify({ events: Array.from({ length: PER_REQUEST }, (_, i) => ({ type: 'bench.reading', stream: `device-${run}-${i % STREAMS}`, data: sampleData(b * PER_REQUEST + i) })) });
  const bodies = Array.from({ length: 8 }, (_, b) => body(b));
  for (let i = 0; i < 2; i++) await request(`${server.url}/api/v1/events`, { method: 'POST', headers, body: bodies[i]! });
  let a = snap();
  await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    for (let i = 0; i < BATCHES; i++) {
      const r = await request(`${server.url}/api/v1/events`, { method: 'POST', headers, body: bodies[(c + i) % bodies.length]! });
      if (r.status !== 201) throw new Error(`ingest failed: ${r.status} ${r.body.slice(0, 200)}`);
    }
  }));
  const total = CLIENTS * BATCHES * PER_REQUEST;
  console.log('http ', diff(a, snap(), total));
  const client = new pg.Client({ host: path.join(server.dataDir, 'run'), user: 'cairn', database: 'cairn' });
  await client.connect();
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
      if (chunk.length > 256 * 1024) { yield chunk; chunk = ''; }
    }
    if (chunk) yield chunk;
  }
  a = snap();
  await pipeline(Readable.from(rows()), client.query(copyFrom('COPY ledger_entries (id, stream, stream_seq, type, data, data_hash, actor_kind, actor_id, occurred_at, recorded_at, prev_hash, hash) FROM STDIN')));
  console.log('copy ', diff(a, snap(), total));
  await client.end();
} finally {
  await server.stop();
}
