// A whole multi-node topology on loopback, for developers, fault tests and benchmarks:
// PostgreSQL (embedded, its own data directory), s3rver (the blob store), N Cairn nodes (default 3)
// sharing both plus a staging directory for resumable uploads, and Debian's HAProxy in front.
//
//   node scripts/cluster.mjs [--nodes 3] [--dir /tmp/cairn-cluster] [--port 8080]
//
// prints the URLs and runs until Ctrl-C, which stops everything. Tests and benches import
// `startCluster` instead and get handles to kill, restart and stop each part (docs/operations.md,
// "Several nodes").
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ensureServerBuilt } from './build-server.mjs';
import { SERVER_NODE_FLAGS } from './node-flags.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const HAPROXY = process.env.CAIRN_HAPROXY ?? '/usr/sbin/haproxy';
export const BUCKET = 'cairn-cluster';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Loaded into each node before the server: when this script dies without stopping the node (a
 * test runner killed, a terminal closed), the node's stdin ends and it stops itself cleanly
 * instead of lingering on a shared machine.
 */
const ORPHAN_GUARD = `data:text/javascript,process.stdin.on('end',()=>process.kill(process.pid,'SIGTERM')).resume()`;

/** Polls `url` until it answers `status`, or throws after `timeoutMs` (or when `dead()` says the process is gone). */
async function waitFor(url, { status = 200, timeoutMs = 90_000, dead = () => undefined } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = dead();
    if (why) throw new Error(why);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (r.status === status) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** A child whose stderr is kept (the last 20 kB) for error messages; `exited` resolves with signal or code. */
function track(child, name, verbose) {
  let err = '';
  const keep = (d) => {
    err = (err + d.toString()).slice(-20_000);
    if (verbose) process.stderr.write(`[${name}] ${d}`);
  };
  child.stderr?.on('data', keep);
  child.stdout?.on('data', (d) => verbose && process.stdout.write(`[${name}] ${d}`));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  return { child, exited, stderr: () => err, alive: () => child.exitCode === null && child.signalCode === null };
}

async function stopChild(t, signal = 'SIGTERM', graceMs = 20_000) {
  if (!t?.alive()) return;
  t.child.kill(signal);
  const timer = setTimeout(() => t.alive() && t.child.kill('SIGKILL'), graceMs);
  await t.exited;
  clearTimeout(timer);
}

/** s3rver in its own process, keeping its objects in `dir` across restarts. */
async function startS3rver(dir, port, verbose) {
  const s3rverPath = createRequire(path.join(ROOT, 'server', 'package.json')).resolve('s3rver');
  const script = `
    const S3rver = require(${JSON.stringify(s3rverPath)});
    const server = new S3rver({ address: '127.0.0.1', port: ${port}, silent: true, directory: ${JSON.stringify(dir)},
      configureBuckets: [{ name: ${JSON.stringify(BUCKET)} }] });
    server.run().then(() => process.stdout.write('READY\\n'), (e) => { console.error(e); process.exit(1); });
    process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));
    process.stdin.on('end', () => process.exit(0)).resume();
  `;
  const t = track(spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] }), 's3', verbose);
  await new Promise((resolve, reject) => {
    t.child.stdout.on('data', (d) => d.toString().includes('READY') && resolve());
    t.exited.then(() => reject(new Error(`s3rver exited: ${t.stderr()}`)));
  });
  return t;
}

function haproxyConfig({ port, nodes, errorFile }) {
  return `# Written by scripts/cluster.mjs; the production example is in docs/operations.md.
global
  maxconn 4096

defaults
  mode http
  option forwardfor
  timeout connect 1s
  timeout http-request 30s
  # Idle limits. Live tails (SSE) send a comment every 15 s and tus PATCHes stream their body,
  # so neither is cut while alive.
  timeout client 60s
  timeout server 60s
  timeout queue 10s
  # A connection refused by a node that just died is tried on another one; a request that
  # reached a node is never replayed by the proxy (the client retries, with its transactionId).
  retries 2
  option redispatch 1
  errorfile 503 ${errorFile}

frontend cairn
  bind 127.0.0.1:${port}
  default_backend nodes

backend nodes
  balance roundrobin
  option httpchk GET /api/v1/health/ready
  http-check expect status 200
  default-server check inter 1s fastinter 250ms downinter 500ms fall 2 rise 2
${nodes.map((n, i) => `  server node${i + 1} 127.0.0.1:${n.port}`).join('\n')}
`;
}

const ERROR_503 = `HTTP/1.1 503 Service Unavailable\r
Content-Type: application/json; charset=utf-8\r
Cache-Control: no-store\r
Retry-After: 1\r
Connection: close\r
\r
{"error":{"code":"unavailable","message":"No Cairn node is ready to answer; retry in a moment"}}
`;

/**
 * Starts the topology. Options: `nodes` (3), `dir` (a new temp directory, removed on stop unless
 * given), `port` for HAProxy (free), `env` added to every node's environment, `verbose` (children's
 * output on this terminal), `haproxy` (false: nodes only, for a one-node baseline).
 */
export async function startCluster(options = {}) {
  const count = options.nodes ?? 3;
  const ownDir = !options.dir;
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-cluster-'));
  const verbose = options.verbose ?? false;
  fs.mkdirSync(dir, { recursive: true });
  const entry = await ensureServerBuilt({ quiet: !verbose }); // once, before any node checks it
  const { openDatabase } = await import(entry);

  // PostgreSQL: the embedded one, in its own data directory, reached by every node through its socket.
  const pgDir = path.join(dir, 'postgres');
  // As root, PostgreSQL runs as its own OS user (see embedded-postgres.ts), which must reach its directory.
  fs.mkdirSync(pgDir, { recursive: true });
  fs.chmodSync(dir, 0o711);
  fs.chmodSync(pgDir, 0o711);
  const quiet = { fatal() {}, error() {}, warn() {}, info() {}, debug() {}, trace() {}, child() { return quiet; } };
  const pgLog = verbose ? { ...quiet, warn: (...a) => console.warn('[pg]', ...a), error: (...a) => console.error('[pg]', ...a) } : quiet;
  let database = await openDatabase({ dataDir: pgDir, dbPoolSize: 1 }, pgLog);
  const databaseUrl = database.connectionString;

  const s3Dir = path.join(dir, 's3');
  fs.mkdirSync(s3Dir, { recursive: true });
  const s3Port = await freePort();
  let s3 = await startS3rver(s3Dir, s3Port, verbose);
  const s3Endpoint = `http://127.0.0.1:${s3Port}`;

  // Shared by every node: the secret, the database, the blob store, the staging directory.
  const secretFile = path.join(dir, 'secret');
  if (!fs.existsSync(secretFile)) fs.writeFileSync(secretFile, randomBytes(36).toString('base64url'), { mode: 0o600 });
  const shared = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? '/tmp',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    CAIRN_SECRET: fs.readFileSync(secretFile, 'utf8').trim(),
    CAIRN_BLOB_STORE: 's3',
    CAIRN_S3_BUCKET: BUCKET,
    CAIRN_S3_ENDPOINT: s3Endpoint,
    CAIRN_S3_ACCESS_KEY_ID: 'S3RVER',
    CAIRN_S3_SECRET_ACCESS_KEY: 'S3RVER',
    CAIRN_UPLOAD_DIR: path.join(dir, 'uploads'),
    CAIRN_TRUST_PROXY: 'true',
    CAIRN_DB_POOL_SIZE: '10',
    CAIRN_SERVE_WEB: 'false',
    LOG_LEVEL: 'warn',
    ...(options.env ?? {}),
  };

  const nodes = [];
  for (let i = 0; i < count; i++) nodes.push({ name: `node${i + 1}`, port: await freePort(), dataDir: path.join(dir, `node${i + 1}`), proc: undefined });
  for (const n of nodes) n.url = `http://127.0.0.1:${n.port}`;

  const startNode = async (i) => {
    const n = nodes[i];
    const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, '--import', ORPHAN_GUARD, 'scripts/start.mjs'], {
      cwd: ROOT,
      env: { ...shared, PORT: String(n.port), CAIRN_DATA_DIR: n.dataDir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    n.proc = track(child, n.name, verbose);
    const proc = n.proc;
    await waitFor(`${n.url}/api/v1/health/ready`, { dead: () => (proc.alive() ? undefined : `${n.name} exited: ${proc.stderr()}`) });
  };
  // The first node alone applies the migrations, so the others start against a migrated database.
  await startNode(0);
  await Promise.all(nodes.slice(1).map((_, i) => startNode(i + 1)));

  let haproxy;
  let url = nodes[0].url;
  if (options.haproxy !== false) {
    const port = options.port ?? (await freePort());
    const errorFile = path.join(dir, 'haproxy-503.http');
    fs.writeFileSync(errorFile, ERROR_503);
    const cfg = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(cfg, haproxyConfig({ port, nodes, errorFile }));
    haproxy = track(spawn(HAPROXY, ['-f', cfg, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] }), 'haproxy', verbose);
    url = `http://127.0.0.1:${port}`;
    await waitFor(`${url}/api/v1/health/ready`, { dead: () => (haproxy.alive() ? undefined : `haproxy exited: ${haproxy.stderr()}`) });
  }

  // If this process dies without stopping the topology, its end of the watchdog's stdin closes and
  // the watchdog stops HAProxy and PostgreSQL (whose pid it reads then: a restart changes it). The
  // nodes and s3rver watch their own stdin.
  const watchdog = spawn('/bin/sh', ['-c', `read _; kill -TERM ${haproxy?.child.pid ?? ''} 2>/dev/null; p=$(head -1 "$0" 2>/dev/null) && kill -INT "$p" 2>/dev/null`, path.join(pgDir, 'pg', 'postmaster.pid')], { stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.unref();

  let stopped = false;
  return {
    /** HAProxy's address (the first node's when started without it). */
    url,
    nodes: nodes.map((n) => ({ name: n.name, url: n.url, port: n.port })),
    databaseUrl,
    s3Endpoint,
    dir,
    /** Process ids, for CPU accounting: each node, HAProxy, PostgreSQL's postmaster (its backends are its children). */
    pids() {
      let postgres;
      try {
        postgres = Number(fs.readFileSync(path.join(pgDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
      } catch {
        postgres = undefined;
      }
      return { nodes: nodes.map((n) => n.proc?.child.pid), haproxy: haproxy?.child.pid, s3: s3.child.pid, postgres };
    },
    /** What a node wrote to stderr lately (for failure messages). */
    stderr: (i) => nodes[i].proc?.stderr() ?? '',
    /** SIGKILL node i: no shutdown, no goodbye; resolves once it is gone. */
    async kill(i) {
      const p = nodes[i].proc;
      if (!p?.alive()) return;
      p.child.kill('SIGKILL');
      await p.exited;
    },
    /** Starts node i again (same port and data directory) and waits until it is ready. */
    async restart(i) {
      await this.kill(i);
      await startNode(i);
    },
    /** Stops PostgreSQL (fast shutdown: sessions are cut), waits `downMs`, starts it again on the same data. */
    async restartDatabase({ downMs = 1000 } = {}) {
      await database.close();
      await sleep(downMs);
      database = await openDatabase({ dataDir: pgDir, dbPoolSize: 1 }, pgLog);
    },
    /** Restarts s3rver on the same port and directory. */
    async restartS3() {
      await stopChild(s3);
      s3 = await startS3rver(s3Dir, s3Port, verbose);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      watchdog.kill('SIGKILL'); // an orderly stop follows
      await stopChild(haproxy, 'SIGUSR1', 5000); // soft stop: lets open requests finish
      await Promise.all(nodes.map((n) => stopChild(n.proc)));
      await stopChild(s3);
      await database.close();
      if (ownDir && !options.keep) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = arg('dir', undefined);
  const cluster = await startCluster({
    nodes: Number(arg('nodes', '3')),
    dir: dir && path.resolve(dir),
    port: arg('port', undefined) ? Number(arg('port')) : undefined,
    verbose: process.argv.includes('--verbose'),
    env: { CAIRN_SERVE_WEB: fs.existsSync(path.join(ROOT, 'web', 'dist', 'index.html')) ? 'true' : 'false' },
  });
  console.log(`Cairn cluster in ${cluster.dir}
  load balancer (HAProxy): ${cluster.url}
${cluster.nodes.map((n) => `  ${n.name}: ${n.url}`).join('\n')}
  PostgreSQL: ${cluster.databaseUrl}
  S3 (s3rver): ${cluster.s3Endpoint} bucket ${BUCKET} (keys S3RVER / S3RVER)
Ctrl-C stops everything${dir ? ' (the directory is kept)' : ' and removes the directory'}.`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping…');
    cluster.stop().then(() => process.exit(0), (e) => {
      console.error(e);
      process.exit(1);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
