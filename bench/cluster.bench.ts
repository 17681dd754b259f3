import fs from 'node:fs';
import os from 'node:os';
import { adminToken, processCpuMs, processTreeCpuMs, request, type Figure } from './lib.js';
import { startCluster, type Cluster } from '../scripts/cluster.mjs';

/**
 * Issue 16, "Performance": three nodes behind HAProxy against one node reached directly, in the
 * same run, on the same database, with the same load generator: batched ingest (1,000 events a
 * request) and single-event appends. Phases alternate (one node, three, one, three) so a drift of
 * the machine hits both sides; each figure is the mean of its two phases. The machine has two
 * cores shared by the load generator, HAProxy, PostgreSQL and the nodes, so the CPU time each of
 * them used in each phase is printed too: that is where the time goes.
 */
const PHASE_MS = 4000;
const BATCH_CLIENTS = 6;
const SINGLE_CLIENTS = 48;

const sample = (i: number) => ({ title: `reading ${i}`, value: i % 997, unit: 'bpm', tags: ['bench', i % 2 ? 'odd' : 'even'], note: 'x'.repeat(40) });

interface Phase {
  rate: number;
  cpu: Record<string, number>;
  seconds: number;
}

/** The whole machine's CPU since boot, in ms: busy (anyone's) and waiting for I/O (from /proc/stat). */
function machineCpuMs(): { busy: number; iowait: number } {
  const [user, nice, system, , iowait, irq, softirq, steal] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number) as number[];
  return { busy: ((user! + nice! + system! + irq! + softirq! + (steal ?? 0)) * 1000) / 100, iowait: (iowait! * 1000) / 100 };
}

function cpuNow(cluster: Cluster): Record<string, number> {
  const pids = cluster.pids();
  const nodes = pids.nodes.reduce<number>((sum, pid) => sum + (pid ? processCpuMs(pid) : 0), 0);
  const own = process.cpuUsage();
  const ours = {
    nodes,
    postgres: pids.postgres ? processTreeCpuMs(pids.postgres) : 0,
    haproxy: pids.haproxy ? processCpuMs(pids.haproxy) : 0,
    'load generator': (own.user + own.system) / 1000,
  };
  const machine = machineCpuMs();
  // Whatever else ran meanwhile (other people's work on a shared machine) is the machine's busy time minus ours.
  return { ...ours, 'other processes': machine.busy - Object.values(ours).reduce((a, b) => a + b, 0), 'I/O wait': machine.iowait };
}

/** Runs `clients` loops of `send` against `url` for PHASE_MS; answers units/s and CPU used by each part. */
async function phase(cluster: Cluster, url: string, clients: number, unitsPerRequest: number, body: (i: number) => string, headers: Record<string, string>): Promise<Phase> {
  const before = cpuNow(cluster);
  let units = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; performance.now() - t0 < PHASE_MS; i++) {
      const r = await request(`${url}/api/v1/events`, { method: 'POST', headers, body: body(c * 1_000_000 + i) });
      if (r.status !== 201) throw new Error(`append failed: ${r.status} ${r.body.slice(0, 200)}`);
      units += unitsPerRequest;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  const after = cpuNow(cluster);
  const cpu = Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - before[k]!]));
  return { rate: units / seconds, cpu, seconds };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * CPU used by each part, as a share of one core and per unit of work. The share depends on what
 * else the machine runs; the cost per unit much less, and it is what decides how far more nodes
 * can go once they have cores of their own.
 */
function whereTimeGoes(label: string, unit: string, phases: Phase[]): string {
  const seconds = phases.reduce((s, p) => s + p.seconds, 0);
  const units = phases.reduce((s, p) => s + p.rate * p.seconds, 0);
  const ms = (k: string) => phases.reduce((s, p) => s + p.cpu[k]!, 0);
  const share = Object.keys(phases[0]!.cpu).map((k) => `${k} ${((ms(k) / 1000 / seconds) * 100).toFixed(0)}%`);
  const cost = ['nodes', 'postgres', 'haproxy', 'load generator'].map((k) => `${k} ${(ms(k) / units).toFixed(2)} ms`);
  return `${label}: CPU in % of one core (the machine has ${os.cpus().length * 100}%): ${share.join(', ')}; CPU per ${unit}: ${cost.join(', ')}`;
}

export async function run(): Promise<Array<Figure | string>> {
  const cluster = await startCluster({ nodes: 3, env: { CAIRN_LOGIN_RATE_LIMIT: '100000', LOG_LEVEL: 'warn' } });
  try {
    const token = await adminToken(cluster.url);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const direct = cluster.nodes[0]!.url;
    const batches = Array.from({ length: 8 }, (_, b) => JSON.stringify({ events: Array.from({ length: 1000 }, (_, i) => ({ type: 'bench.cluster', data: sample(b * 1000 + i) })) }));
    const batch = (i: number) => batches[i % batches.length]!;
    const single = (i: number) => JSON.stringify({ events: [{ type: 'bench.cluster.single', data: sample(i) }] });

    // Warm every node (compiled routes, caches, pools) through the balancer and directly.
    for (let i = 0; i < 6; i++) await request(`${cluster.url}/api/v1/events`, { method: 'POST', headers, body: batch(i) });
    for (const n of cluster.nodes) for (let i = 0; i < 20; i++) await request(`${n.url}/api/v1/events`, { method: 'POST', headers, body: single(i) });

    const oneBatch: Phase[] = [];
    const threeBatch: Phase[] = [];
    const oneSingle: Phase[] = [];
    const threeSingle: Phase[] = [];
    for (let round = 0; round < 2; round++) {
      oneBatch.push(await phase(cluster, direct, BATCH_CLIENTS, 1000, batch, headers));
      threeBatch.push(await phase(cluster, cluster.url, BATCH_CLIENTS, 1000, batch, headers));
      oneSingle.push(await phase(cluster, direct, SINGLE_CLIENTS, 1, single, headers));
      threeSingle.push(await phase(cluster, cluster.url, SINGLE_CLIENTS, 1, single, headers));
    }
    const load = os.loadavg()[0]!.toFixed(1);
    return [
      `load average (1 min) at the end: ${load} on ${os.cpus().length} cores`,
      { name: `batched ingest, 3 nodes behind HAProxy (1,000/request, ${BATCH_CLIENTS} clients)`, value: mean(threeBatch.map((p) => p.rate)), unit: 'events/s', baseline: { name: '1 node directly, same run', value: mean(oneBatch.map((p) => p.rate)), unit: 'events/s' } },
      { name: `single-event appends, 3 nodes behind HAProxy (${SINGLE_CLIENTS} clients)`, value: mean(threeSingle.map((p) => p.rate)), unit: 'appends/s', baseline: { name: '1 node directly, same run', value: mean(oneSingle.map((p) => p.rate)), unit: 'appends/s' } },
      whereTimeGoes('batched ingest, 1 node', 'event', oneBatch),
      whereTimeGoes('batched ingest, 3 nodes', 'event', threeBatch),
      whereTimeGoes('single appends, 1 node', 'append', oneSingle),
      whereTimeGoes('single appends, 3 nodes', 'append', threeSingle),
    ];
  } finally {
    await cluster.stop();
  }
}
