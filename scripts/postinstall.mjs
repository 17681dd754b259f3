// Builds what `npm start` serves right after install, so the first start is as fast as the next:
// the server's JavaScript (server/dist) and the web app (web/dist).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

if (fs.existsSync('server/src/main.ts')) {
  try {
    const { buildServer } = await import('./build-server.mjs');
    await buildServer();
  } catch (e) {
    // Not fatal: `npm start` rebuilds a missing or stale server/dist and reports the error itself.
    console.error(`cairn: building the server failed; \`npm start\` will retry.\n${e.message}`);
  }
}

if (fs.existsSync('web/index.html') && !process.env.CAIRN_SKIP_WEB_BUILD) {
  const r = spawnSync('npm', ['run', 'build', '-w', 'web', '--silent'], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('cairn: building the web app failed; the API still works. Run `npm run build:web` to retry.');
  }
}
