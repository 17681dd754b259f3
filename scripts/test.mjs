// `npm test`: makes sure what the suite needs is present (Chromium for the browser tests, a fresh
// web build), then runs every test once with Vitest against real PostgreSQL, HTTP and Chromium.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium';

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  return r.status ?? 1;
}

if (!fs.existsSync(CHROMIUM)) {
  if (process.getuid?.() === 0) {
    console.log('cairn: installing Debian chromium for the browser tests (apt-get install -y chromium)');
    if (run('apt-get', ['update', '-qq']) !== 0 || run('apt-get', ['install', '-y', '-qq', 'chromium'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }) !== 0) {
      console.error('cairn: could not install chromium; install it yourself (sudo apt-get install -y chromium) and run npm test again');
      process.exit(1);
    }
  } else {
    console.error(`cairn: the browser tests need Chromium at ${CHROMIUM}. Install it with: sudo apt-get install -y chromium (or set CAIRN_CHROMIUM to its path), then run npm test again.`);
    process.exit(1);
  }
}

if (fs.existsSync('web/index.html')) {
  if (run('npm', ['run', 'build', '-w', 'web', '--silent']) !== 0) process.exit(1);
}

process.exit(run('npx', ['vitest', 'run', ...process.argv.slice(2)]));
