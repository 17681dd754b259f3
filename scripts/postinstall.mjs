// Builds the web app after install so `npm start` serves it at once.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

if (fs.existsSync('web/index.html') && !process.env.CAIRN_SKIP_WEB_BUILD) {
  const r = spawnSync('npm', ['run', 'build', '-w', 'web', '--silent'], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('cairn: building the web app failed; the API still works. Run `npm run build:web` to retry.');
  }
}
