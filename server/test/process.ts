import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The real server as a separate process (`node --import tsx server/src/main.ts`), for tests that kill it. */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ServerProcess {
  child: ChildProcess;
  /** Resolves once the server logged that it listens. */
  ready: Promise<void>;
  /** Resolves with the signal or exit code. */
  exited: Promise<NodeJS.Signals | number | null>;
  /** What it wrote to stderr so far. */
  stderr(): string;
}

export function startServerProcess(env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', CAIRN_SERVE_WEB: 'false', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      // Only the start of the log matters; keep memory bounded on a chatty run.
      if (out.length < 100_000) out += c.toString();
      if (/listening on/.test(out)) resolve();
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', () => reject(new Error(`server exited before listening: ${err.slice(-2000)}`)));
  });
  ready.catch(() => {});
  return { child, ready, exited, stderr: () => err };
}

/** A loopback port free right now (kept across restarts so absolute URLs, such as tus upload URLs, stay valid). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A request over real HTTP with an optional bearer token and JSON body: the status, the parsed JSON body (if any) and the headers. */
export async function json(url: string, init: RequestInit & { token?: string } = {}) {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body) headers['content-type'] = 'application/json';
  const r = await fetch(url, { ...init, headers });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers };
}

/** A small seeded generator (mulberry32): the same seed gives the same kill points and workloads. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
