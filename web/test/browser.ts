import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const WEB_DIR = fileURLToPath(new URL('..', import.meta.url));
// The same setting scripts/test.mjs checks (and installs) before the suite runs.
export const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium';

/** The tests drive the built SPA as the server serves it; build once if nobody did. */
export function ensureBuilt(): void {
  if (fs.existsSync(path.join(WEB_DIR, 'dist', 'index.html'))) return;
  execFileSync(process.execPath, [path.join(WEB_DIR, '..', 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], { cwd: WEB_DIR, stdio: 'pipe' });
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Screenshots for people reviewing the UI: written only when CAIRN_SCREENSHOTS names a directory. */
export async function snap(page: Page, name: string): Promise<void> {
  const dir = process.env.CAIRN_SCREENSHOTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}
