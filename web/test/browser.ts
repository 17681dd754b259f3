import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { CairnClient, type RegistrationRole } from '@cairn/sdk';
import { startTestServer, type TestServer } from '../../server/test/harness.js';

const WEB_DIR = fileURLToPath(new URL('..', import.meta.url));
// The same setting scripts/test.mjs checks (and installs) before the suite runs.
export const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium';

/** The password every person the browser tests create signs in with. */
export const PASSWORD = 'correct horse battery staple';

/** A desktop window. */
export const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 900 }, locale: 'en-GB' };
/** A 390 × 844 phone with a touch screen, its clock in UTC. */
export const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, locale: 'en-GB', timezoneId: 'UTC', hasTouch: true };

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

/** A test server serving the built SPA, before anyone exists (first run). */
export async function startServer(env?: Record<string, string>): Promise<TestServer> {
  ensureBuilt();
  return startTestServer(env);
}

/** A test server whose first administrator, ada, exists: `admin` is an SDK client signed in as ada, `token` ada's access token. */
export async function startServerWithAdmin(env?: Record<string, string>): Promise<{ server: TestServer; admin: CairnClient; token: string }> {
  const server = await startServer(env);
  const admin = new CairnClient({ baseUrl: server.url });
  const token = (await admin.setup.create({ username: 'ada', password: PASSWORD })).accessToken;
  admin.setToken(token);
  return { server, admin, token };
}

/** Imports a locations CSV (id,name,parentId,type) as the administrator; the import must succeed. */
export async function importLocations(server: TestServer, token: string, csv: string): Promise<void> {
  const imported = await fetch(`${server.url}/api/v1/workspaces/import`, { method: 'POST', headers: { 'content-type': 'text/csv', authorization: `Bearer ${token}` }, body: csv });
  expect(imported.status).toBe(200);
}

/** Members of one office, each with their registration role, who sign in with PASSWORD; returns their user ids by username. */
export async function createStaff(admin: CairnClient, officeId: string, people: ReadonlyArray<readonly [username: string, role: RegistrationRole]>): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const [username, role] of people) {
    const user = await admin.users.create({ username, password: PASSWORD, role: 'member' });
    await admin.registrations.setUserProfile(user.id, { officeId, role });
    ids[username] = user.id;
  }
  return ids;
}

/** An SDK client signed in with a password (PASSWORD unless given). */
export async function clientFor(server: TestServer, username: string, password = PASSWORD): Promise<CairnClient> {
  const c = new CairnClient({ baseUrl: server.url });
  c.setToken((await c.auth.login({ username, password })).accessToken);
  return c;
}

/**
 * A page in a new browser context: `timeout` is the context's default (Playwright's own when
 * left out); the page's uncaught errors are pushed to `errors`, after `who: ` when given.
 */
export async function openPage(browser: Browser, options: BrowserContextOptions, errors: string[], opts: { timeout?: number; who?: string } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(options);
  if (opts.timeout) context.setDefaultTimeout(opts.timeout);
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(opts.who ? `${opts.who}: ${e.message}` : e.message));
  return { context, page };
}

/** Fills and sends the sign-in form at `${baseUrl}/login`; the caller waits for what shows it worked. */
export async function signIn(page: Page, baseUrl: string, username = 'ada', password = PASSWORD): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs in and waits until the app has left the sign-in page. */
export async function signInAndLeaveLogin(page: Page, baseUrl: string, username = 'ada', password = PASSWORD): Promise<void> {
  await signIn(page, baseUrl, username, password);
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
}

/**
 * A browser with one page signed in as ada, for a suite about the pages an administrator uses:
 * the page is a 390 px phone unless `options` says otherwise, `timeout` its default, and its
 * uncaught errors go to `errors`.
 */
export async function launchSignedIn(server: TestServer, errors: string[], { options = PHONE, timeout = 10_000 }: { options?: BrowserContextOptions; timeout?: number } = {}): Promise<{ browser: Browser; page: Page }> {
  const browser = await launch();
  const { page } = await openPage(browser, options, errors, { timeout });
  await signInAndLeaveLogin(page, server.url);
  return { browser, page };
}

/** Screenshots for people reviewing the UI: written only when CAIRN_SCREENSHOTS names a directory. */
export async function snap(page: Page, name: string): Promise<void> {
  const dir = process.env.CAIRN_SCREENSHOTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

/** For an afterEach: a screenshot of the page as a failed test left it, named after the test. */
export async function snapIfFailed(ctx: { task: { name: string; result?: { state?: string } } }, page: Page | undefined, prefix: string): Promise<void> {
  if (ctx.task.result?.state === 'fail' && page) await snap(page, `${prefix}${ctx.task.name.slice(0, 40).replace(/\W+/g, '-')}`);
}
