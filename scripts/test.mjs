// `npm test`: makes sure what the suite needs is present (Chromium for the browser tests, a fresh
// web build), then runs every test once with Vitest against real PostgreSQL, HTTP and Chromium.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium';

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  return r.status ?? 1;
}

// Debian packages the suite drives: Chromium (browser tests) and HAProxy (the cluster fault tests,
// scripts/cluster.mjs). Installed when missing and we may; otherwise a clear line says how.
const HAPROXY = process.env.CAIRN_HAPROXY ?? '/usr/sbin/haproxy';
const missing = [
  [CHROMIUM, 'chromium', 'the browser tests', 'CAIRN_CHROMIUM'],
  [HAPROXY, 'haproxy', 'the cluster tests', 'CAIRN_HAPROXY'],
].filter(([file]) => !fs.existsSync(file));
if (missing.length) {
  const pkgs = missing.map((m) => m[1]);
  if (process.getuid?.() === 0) {
    console.log(`cairn: installing Debian ${pkgs.join(' and ')} for ${missing.map((m) => m[2]).join(' and ')} (apt-get install -y ${pkgs.join(' ')})`);
    if (run('apt-get', ['update', '-qq']) !== 0 || run('apt-get', ['install', '-y', '-qq', ...pkgs], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }) !== 0) {
      console.error(`cairn: could not install ${pkgs.join(' ')}; install them yourself (sudo apt-get install -y ${pkgs.join(' ')}) and run npm test again`);
      process.exit(1);
    }
  } else {
    for (const [file, pkg, what, env] of missing) console.error(`cairn: ${what} need ${pkg} at ${file}. Install it with: sudo apt-get install -y ${pkg} (or set ${env} to its path), then run npm test again.`);
    process.exit(1);
  }
}

if (fs.existsSync('web/index.html')) {
  if (run('npm', ['run', 'build', '-w', 'web', '--silent']) !== 0) process.exit(1);
}

process.exit(run('npx', ['vitest', 'run', ...process.argv.slice(2)]));
