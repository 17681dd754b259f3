// Measures only issue 2's start-up figure, without the rest of `npm run bench -- foundation`:
// `npm start` on an existing data directory until the first 200 from /api/v1/health.
//   node scripts/measure-start.mjs [runs=5] [-- command...]   (default command: npm start --silent)
// Prints each run's wall time and the server process's CPU time at that moment (steadier than
// wall time on a shared machine), then the median and spread. CAIRN_DATA_DIR reuses a data
// directory; otherwise a temporary one is created by a first, untimed start and removed after.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureServerBuilt } from './build-server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sep = process.argv.indexOf('--');
const runs = Number(process.argv[2] && process.argv[2] !== '--' ? process.argv[2] : 5);
const command = sep > 0 ? process.argv.slice(sep + 1) : ['npm', 'start', '--silent'];
const ownDir = !process.env.CAIRN_DATA_DIR;
const dataDir = process.env.CAIRN_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-start-'));

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** CPU milliseconds (user + system) a process has used so far, from /proc; NaN elsewhere. */
function cpuMs(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/** The node process serving: npm starts `sh -c node scripts/start.mjs` or node directly. */
function serverPid(pid) {
  for (let depth = 0; depth < 3; depth++) {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('start.mjs')) return pid;
      const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      if (!kids.length) return pid;
      pid = Number(kids[0]);
    } catch {
      return pid;
    }
  }
  return pid;
}

async function startOnce() {
  const port = await freePort();
  const t0 = performance.now();
  const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', CAIRN_DATA_DIR: dataDir, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
  // Its own process group, so stopping it stops npm and everything npm started.
  const out = process.env.MEASURE_LOG ? fs.openSync(process.env.MEASURE_LOG, 'a') : 'ignore';
  const child = spawn(command[0], command.slice(1), { cwd: ROOT, env, stdio: ['ignore', out, 'inherit'], detached: true });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  let died = false;
  exited.then(() => (died = true));
  let wall = NaN;
  let cpu = NaN;
  while (!died && performance.now() - t0 < 60_000) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/api/v1/health`)).status === 200) {
        wall = performance.now() - t0;
        cpu = cpuMs(serverPid(child.pid));
        break;
      }
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  await exited;
  // The server finishes its shutdown (PostgreSQL included) after npm has gone.
  for (let i = 0; i < 400 && fs.existsSync(path.join(dataDir, 'pg', 'postmaster.pid')); i++) await new Promise((r) => setTimeout(r, 50));
  if (Number.isNaN(wall)) throw new Error(`${command.join(' ')} never answered 200 from /api/v1/health`);
  return { wall, cpu };
}

const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${Math.round(s[Math.floor(s.length / 2)])} ms (min ${Math.round(s[0])}, max ${Math.round(s.at(-1))})`;
};

try {
  await ensureServerBuilt({ quiet: true }); // a stale build is a development cost, not a start's
  if (!fs.existsSync(path.join(dataDir, 'pg', 'PG_VERSION'))) await startOnce(); // creates the data directory
  const results = [];
  for (let i = 0; i < runs; i++) {
    const r = await startOnce();
    results.push(r);
    console.log(`start ${i + 1}: ${Math.round(r.wall)} ms to healthy, ${Math.round(r.cpu)} ms CPU`);
  }
  console.log(`${command.join(' ')}: wall ${summary(results.map((r) => r.wall))}; CPU ${summary(results.map((r) => r.cpu))}`);
} finally {
  if (ownDir) fs.rmSync(dataDir, { recursive: true, force: true });
}
