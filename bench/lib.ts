import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../scripts/node-flags.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface BenchServer {
  url: string;
  dataDir: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The real server in its own process (so the load generator does not share its event loop). */
export async function startBenchServer(env: Record<string, string> = {}, dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-'))): Promise<BenchServer> {
  const port = await freePort();
  // BENCH_PROFILE=<dir> writes the server's CPU profile there when it stops (for chasing a figure).
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  // The same built server `npm start` runs, with its flags (scripts/start.mjs rebuilds server/dist first if a source is newer).
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...profile, 'scripts/start.mjs'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', HOST: '127.0.0.1', PORT: String(port), CAIRN_DATA_DIR: dataDir, LOG_LEVEL: 'warn', CAIRN_LOGIN_RATE_LIMIT: '100000', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const died = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`server exited with ${code}`))));
  await Promise.race([waitForHealth(url, 60_000), died]);
  return {
    url,
    dataDir,
    child,
    stop: async () => {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}

export async function waitForHealth(url: string, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    try {
      const r = await fetch(`${url}/api/v1/health`);
      if (r.status === 200) return performance.now() - start;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('server did not become healthy');
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** A minimal keep-alive HTTP client: fetch's overhead would be measured instead of the server. */
export function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (opts.body) req.end(opts.body);
    else req.end();
  });
}

export async function adminToken(url: string): Promise<string> {
  const password = 'correct horse battery staple';
  let r = await request(`${url}/api/v1/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
  if (r.status !== 201) r = await request(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
  const access = JSON.parse(r.body).accessToken as string;
  const scopes = JSON.parse((await request(`${url}/api/v1/auth/scopes`, { headers: { authorization: `Bearer ${access}` } })).body).scopes.map((s: { name: string }) => s.name);
  const t = await request(`${url}/api/v1/auth/tokens`, { method: 'POST', headers: { authorization: `Bearer ${access}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench', scopes, expiresInDays: 1 }) });
  return JSON.parse(t.body).secret as string;
}

/** User + system CPU time a process has used so far, from /proc (Linux), in ms. */
export function processCpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks at USER_HZ = 100
}

/**
 * CPU time of a process and all its direct children, in ms (PostgreSQL's postmaster and its
 * backends): the living children's own time plus, from the parent's cutime/cstime, the time of
 * those that already exited (a backend closed by the pool takes its time with it otherwise).
 */
export function processTreeCpuMs(pid: number): number {
  let total = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (Number(entry) === pid) total += ((Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 1000) / 100;
      else if (Number(fields[1]) === pid) total += ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/**
 * CPU time, in ms, of the PostgreSQL cluster whose data sits under `dataDir` (its postmaster, its
 * live backends and those it has reaped), found by its postmaster.pid file.
 */
export function postgresCpuMs(dataDir: string): number {
  const pidFile = (function find(dir: string): string | undefined {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isFile() && e.name === 'postmaster.pid') return p;
      if (e.isDirectory()) {
        const f = find(p);
        if (f) return f;
      }
    }
    return undefined;
  })(dataDir);
  return pidFile ? processTreeCpuMs(Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0])) : NaN;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** What it is compared against in the same run. */
  baseline?: { name: string; value: number; unit: string };
  target?: string;
  pass?: boolean;
}

export function fmt(f: Figure): string {
  const n = (v: number) => (v >= 100 ? Math.round(v).toLocaleString('en') : v.toFixed(2));
  let s = `${f.name}: ${n(f.value)} ${f.unit}`;
  if (f.baseline) s += ` | baseline ${f.baseline.name}: ${n(f.baseline.value)} ${f.baseline.unit} | ratio ${(f.value / f.baseline.value).toFixed(2)}`;
  if (f.target) s += ` | target ${f.target}: ${f.pass ? 'met' : 'NOT met'}`;
  return s;
}
