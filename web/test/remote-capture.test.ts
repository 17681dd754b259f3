import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createTestDatabase } from '../../server/test/harness.js';
import { freePort, startServerProcess, type ServerProcess } from '../../server/test/process.js';
import { DESKTOP, PASSWORD, ensureBuilt, launch, signIn, snap } from './browser.js';

/**
 * Remote capture end to end: the core and the gateway as two processes, a real SMTP server for
 * the invitation, Chromium on a 390 px phone as the participant. The core and the gateway are
 * each stopped for a while on the way; nothing is lost.
 */
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const KEY = crypto.randomBytes(32).toString('base64url');
let browser: Browser;
let core: ServerProcess | undefined;
let gateway: ChildProcess | undefined;
let coreEnv: Record<string, string>;
let coreUrl: string;
let gatewayPort: number;
let gatewayDbUrl: string;
let coreDb: Awaited<ReturnType<typeof createTestDatabase>>;
let smtp: SMTPServer;
const mails: string[] = [];
let auth: { authorization: string };
let subjectId: string;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-rc-'));

function startGateway(): Promise<void> {
  gateway = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', GATEWAY_PORT: String(gatewayPort), GATEWAY_HOST: '127.0.0.1', GATEWAY_DATABASE_URL: gatewayDbUrl, GATEWAY_KEY: KEY, GATEWAY_POW_MAX_NUMBER: '3000', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    gateway!.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('listening on')) resolve();
    });
    gateway!.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    gateway!.on('exit', () => reject(new Error(`gateway exited: ${err.slice(-2000)}`)));
  });
}
async function stopGateway() {
  const g = gateway!;
  gateway = undefined;
  const exited = new Promise((r) => g.once('exit', r));
  g.kill('SIGTERM');
  await exited;
}
async function startCore() {
  core = startServerProcess(coreEnv);
  await core.ready;
}
async function stopCore() {
  const c = core!;
  core = undefined;
  c.child.kill('SIGTERM');
  await c.exited;
}

async function api<T>(method: string, url: string, body?: unknown): Promise<T> {
  const r = await fetch(`${coreUrl}${url}`, { method, headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const json = (await r.json()) as T;
  if (!r.ok) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}
async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
const phqRecords = async () => (await api<{ records: { measures: { total: number }; sessionId: string }[] }>('GET', `/api/v1/subjects/${subjectId}/records`)).records;

async function phone(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'fr-FR' });
  const page = await context.newPage();
  return page;
}
async function fillPhq(page: Page, scores: number[]) {
  for (let i = 0; i < 9; i++) await page.locator(`[data-field="symptoms.q${i + 1}"] input[type=radio]`).nth(scores[i]!).check();
  // The difficulty question follows the 9 × 4 grid ("Not difficult at all").
  await page.locator('.instrument input[type=radio]').nth(36).check();
}

beforeAll(async () => {
  ensureBuilt();
  coreDb = await createTestDatabase();
  const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await admin.connect();
  const gwName = `gw_e2e_${process.pid}_${Date.now().toString(36)}`;
  await admin.query(`CREATE DATABASE "${gwName}"`);
  await admin.end();
  gatewayDbUrl = inject('pgAdminUrl').replace('/postgres?', `/${gwName}?`);
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, done) {
      let text = '';
      stream.on('data', (c: Buffer) => (text += c.toString()));
      stream.on('end', () => {
        mails.push(text);
        done();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  const smtpPort = (smtp.server.address() as { port: number }).port;
  gatewayPort = await freePort();
  const corePort = await freePort();
  coreUrl = `http://127.0.0.1:${corePort}`;
  coreEnv = {
    DATABASE_URL: coreDb.url,
    CAIRN_DATA_DIR: dataDir,
    PORT: String(corePort),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    CAIRN_GATEWAY_URL: `http://127.0.0.1:${gatewayPort}`,
    CAIRN_GATEWAY_KEY: KEY,
    CAIRN_GATEWAY_PULL_INTERVAL_MS: '300',
    CAIRN_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    CAIRN_MAIL_FROM: 'Study team <study@example.org>',
    CAIRN_SERVE_WEB: 'true',
  };
  await Promise.all([startGateway(), startCore()]);
  const setup = (await (await fetch(`${coreUrl}/api/v1/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) })).json()) as { accessToken: string };
  auth = { authorization: `Bearer ${setup.accessToken}` };
  const ws = await api<{ workspace: { id: string } }>('POST', '/api/v1/workspaces', { name: 'Home study' });
  subjectId = (await api<{ subject: { id: string } }>('POST', `/api/v1/workspaces/${ws.workspace.id}/subjects`, { identifier: 'HOME-1', identifierKind: 'custom' })).subject.id;
  browser = await launch();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (core) await stopCore();
  if (gateway) await stopGateway();
  await new Promise<void>((r) => smtp?.close(() => r()));
  await coreDb?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('remote capture, two processes and a phone', () => {
  it('sends PHQ-9 from the subject page (link, QR code, email in French); the participant fills it on a phone; it arrives with its score; the link then answers 409', async () => {
    // The study team, in the data hub.
    const staff = await (await browser.newContext(DESKTOP)).newPage();
    await signIn(staff, coreUrl, 'admin');
    await staff.getByRole('link', { name: 'Data hub' }).waitFor();
    await staff.goto(`${coreUrl}/datahub/subjects/${subjectId}`);
    await staff.locator('#remote-instrument option[value="phq-9@1"]').waitFor({ state: 'attached' });
    await staff.locator('#remote-instrument').selectOption('phq-9@1');
    await staff.locator('#remote-language').selectOption('fr');
    await staff.getByLabel('Email the link to (optional)').fill('participant@example.org');
    await staff.getByRole('button', { name: 'Create the link' }).click();
    const shown = staff.locator('[data-testid="assignment-link"]');
    await shown.locator('img.assignment-qr').waitFor();
    const link = (await shown.locator('a').first().textContent())!;
    expect(await shown.textContent()).toContain('emailed');
    await staff.locator('[data-status="sent"]').first().waitFor();
    const assignment = (await api<{ assignments: { id: string; link: string }[] }>('GET', `/api/v1/subjects/${subjectId}/assignments`)).assignments.find((a) => a.link === link)!;
    expect(assignment).toBeDefined();
    const message = await until('the invitation mail', async () => mails.find((m) => m.includes('participant@example.org')));
    // The subject line is MIME-encoded (non-ASCII); the body greets in French.
    expect(message).toMatch(/^Subject: =\?UTF-8\?/m);
    expect(message).toContain('Bonjour');
    // Quoted-printable may fold the long link: unfold before looking for it.
    expect(message.replace(/=\r?\n/g, '')).toContain(assignment.link);

    const page = await phone();
    await page.goto(assignment.link);
    await page.locator('form[data-part="0"]').waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('fr');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    // Sending with nothing filled shows the engine's errors, and nothing leaves the phone.
    await page.locator('.gateway-send').click();
    await page.locator('.alert-error').waitFor();
    await fillPhq(page, [2, 1, 3, 0, 1, 2, 0, 1, 0]);
    await snap(page, 'remote-capture-phone');
    await page.locator('.gateway-send').click();
    await page.locator('[data-state="done"]').waitFor({ timeout: 20_000 });

    const records = await until('the pulled record', async () => {
      const r = await phqRecords();
      return r.length ? r : undefined;
    });
    expect(records[0]!.measures.total).toBe(10);
    const detail = await api<{ assignment: { status: string } }>('GET', `/api/v1/assignments/${assignment.id}`);
    expect(detail.assignment.status).toBe('completed');
    const res = await page.goto(assignment.link);
    expect(res!.status()).toBe(409);
    expect(await page.locator('[data-closed="completed"]').textContent()).toContain('Déjà rempli');
    await page.context().close();
  });

  it('keeps sealed answers in the browser while the gateway is down, and the core catches up after being stopped', async () => {
    const { assignment } = await api<{ assignment: { id: string; link: string } }>('POST', `/api/v1/subjects/${subjectId}/assignments`, { instrument: { name: 'phq-9', edition: 1 }, language: 'en' });
    const page = await phone();
    await page.goto(assignment.link);
    await page.locator('form[data-part="0"]').waitFor({ timeout: 30_000 });
    await fillPhq(page, [3, 3, 3, 3, 3, 3, 3, 3, 3]);

    await stopCore();
    await stopGateway();
    await page.locator('.gateway-send').click();
    await page.locator('[data-state="waiting"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-state="waiting"]').textContent()).toContain('kept, encrypted, in this browser');
    const stored = await page.evaluate(() => Object.entries(localStorage).map(([k, v]) => `${k}=${v}`).join('\n'));
    expect(stored).toContain('cairn.gateway.pending.');
    expect(stored).not.toContain('symptoms');

    await startGateway();
    await page.getByRole('button', { name: 'Send now' }).click();
    await page.locator('[data-state="done"]').waitFor({ timeout: 20_000 });
    // The gateway holds the sealed part, and nothing in the clear, while the core is down.
    const gw = new pg.Client({ connectionString: gatewayDbUrl });
    await gw.connect();
    const dump = (await gw.query(`SELECT string_agg(x::text, ' ') AS t FROM (SELECT s::text AS x FROM gateway_submissions s UNION ALL SELECT a::text FROM gateway_assignments a) y`)).rows[0].t as string;
    await gw.end();
    expect(dump).toMatch(/gateway_submissions|[A-Za-z0-9_-]{100,}/);
    expect(dump).not.toContain('"answers"');
    expect(dump).not.toContain('HOME-1');

    await startCore();
    const records = await until('the record pulled after the restart', async () => {
      const r = await phqRecords();
      return r.length === 2 ? r : undefined;
    });
    expect(records.map((r) => r.measures.total).sort((a, b) => a - b)).toEqual([10, 27]);
    await page.context().close();
  });
});
