import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CairnClient, DatahubApi, type Registration } from '@cairn/sdk';
import type { TestServer } from '../../server/test/harness.js';
import { CHROMIUM, clientFor, createStaff, importLocations, launch, openPage, signIn as signInAt, snap, startServerWithAdmin } from './browser.js';

const DIST = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'dist');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.webmanifest': 'application/manifest+json' };

/** Serves a copy of the build from `root.dir` (switched to deploy another build); the API is down. */
async function staticSite(root: { dir: string }): Promise<{ url: string; close(): void }> {
  const srv = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    let file = path.join(root.dir, p === '/' ? 'index.html' : p);
    if (p.startsWith('/api/')) return res.writeHead(503).end();
    if (!file.startsWith(root.dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(root.dir, 'index.html');
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' }).end(fs.readFileSync(file));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, close: () => srv.close() };
}

/**
 * Offline-first capture (issue 14, docs/offline.md), in a real Chromium whose network is cut with
 * the browser's offline mode. One field agent's device (a persistent profile, closed and reopened
 * like a phone's browser) and one registrar's.
 */
const LOCATIONS = ['id,name,parentId,type', 'RW,Rwanda,,area', 'KG,Kigali,RW,area', 'GA,Gasabo,KG,area', 'GA-O1,Gasabo Civil Registry,GA,office', 'GA-H1,Kacyiru Hospital,GA,area'].join('\n') + '\n';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const BIRTHS = ['Offline-Uwase', 'Offline-Habimana', 'Offline-Ishimwe'];

let server: TestServer;
let admin: CairnClient;
/** A registrar of the office, through the API: what the server holds. */
let reader: CairnClient;
let henri: CairnClient;
let profileDir: string;
let phone: BrowserContext;
let browser: Browser;
const pageErrors: string[] = [];
const ids = {} as Record<'fiona' | 'ben' | 'grace' | 'henri' | 'subject' | 'session' | 'hospital', string>;
/** When the agent confirmed the offline work: each item must arrive dated inside this window. */
const confirmed = { from: 0, to: 0 };
let draftUrl = '';

async function openPhone(): Promise<Page> {
  phone = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 390, height: 844 }, locale: 'en-GB', timezoneId: 'UTC' });
  const page = phone.pages()[0] ?? (await phone.newPage());
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return page;
}

async function signIn(page: Page, username: string) {
  await signInAt(page, server.url, username);
  await page.getByRole('link', { name: /^Outbox/ }).waitFor();
}

/** The service worker has precached the app and controls the page: it now opens without a network. */
async function workerReady(page: Page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
  });
}

async function download(page: Page) {
  await page.goto(`${server.url}/outbox`);
  await page.getByRole('button', { name: 'Download for offline use' }).click();
  await page.getByText(/^Ready for offline use:/).waitFor();
}

/** A real 4 × 3 PNG (red, green, blue stripes), so the page can draw its thumbnail. */
function tinyPng(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(4, 0);
  header.writeUInt32BE(3, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows = [[255, 0, 0], [0, 255, 0], [0, 0, 255]].map((rgb) => Buffer.from([0, ...rgb, ...rgb, ...rgb, ...rgb]));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

/** Registrations fiona created, as the server holds them. */
async function fionasRegistrations(): Promise<Registration[]> {
  const list = await reader.registrations.list({ limit: 200 });
  return list.items.filter((r) => r.createdBy?.id === ids.fiona);
}

/** What IndexedDB holds for the app, decoded as text: no answer may be readable in it. */
function storedText(page: Page): Promise<string> {
  return page.evaluate(
    () =>
      new Promise<string>((resolve, reject) => {
        const open = indexedDB.open('cairn-offline');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const all = open.result.transaction('rows').objectStore('rows').getAll();
          all.onsuccess = () => {
            const rows = all.result as Array<{ id: string; data: ArrayBuffer }>;
            resolve(rows.map((r) => `${r.id} ${new TextDecoder('latin1').decode(r.data)}`).join('\n'));
            open.result.close();
          };
        };
      }),
  );
}

beforeAll(async () => {
  let token: string;
  ({ server, admin, token } = await startServerWithAdmin({ CAIRN_LOGIN_RATE_LIMIT: '1000' }));
  // These births are different children; the real de-duplication has its own tests (search/).
  server.services.registrations.duplicateCheckers.length = 0;
  await importLocations(server, token, LOCATIONS);
  const office = (await admin.locations.search({ q: 'Gasabo Civil Registry', kind: 'office' }))[0]!;
  ids.hospital = (await admin.locations.search({ q: 'Kacyiru Hospital' }))[0]!.id;
  Object.assign(ids, await createStaff(admin, office.id, [['fiona', 'field-agent'], ['ben', 'field-agent'], ['grace', 'local-registrar'], ['henri', 'local-registrar']]));
  // A clinic where fiona captures instruments: one subject, a session started for today.
  const clinic = await admin.workspaces.create({ name: 'Clinic' });
  await admin.workspaces.setMember(clinic.id, ids.fiona, 'member');
  const hub = new DatahubApi(admin.http);
  const subject = await hub.createSubject(clinic.id, { identifier: 'PT-014', identifierKind: 'custom' });
  ids.subject = subject.id;
  ids.session = (await hub.startSession(subject.id, { kind: 'in_person' })).id;
  henri = await clientFor(server, 'henri');
  reader = henri;
  profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-phone-'));
  browser = await launch();
});

afterAll(async () => {
  await phone?.close().catch(() => {});
  await browser?.close();
  await server?.stop();
  fs.rmSync(profileDir, { recursive: true, force: true });
});

describe('offline-first capture on a field agent’s phone', () => {
  it('installs, and with the network cut keeps three declarations, a PHQ-9 and a draft across a reload and a browser restart, encrypted', { timeout: 120_000 }, async () => {
    let page = await openPhone();
    await signIn(page, 'fiona');
    await workerReady(page);
    const manifest = await (await fetch(`${server.url}/manifest.webmanifest`)).json();
    expect(manifest).toMatchObject({ name: 'Cairn', display: 'standalone', start_url: '/' });
    await download(page);
    // The capture page read once online: the session and the instrument are kept for offline use.
    await page.goto(`${server.url}/datahub/sessions/${ids.session}/capture?instrument=phq-9@1`);
    await page.getByText('Little interest or pleasure in doing things').waitFor();

    await phone.setOffline(true);
    confirmed.from = Date.now();
    for (const [i, name] of BIRTHS.entries()) {
      await page.goto(`${server.url}/registrations/declare/birth`);
      await page.getByLabel('Last name').fill(name);
      if (i === 0) {
        // Places come from the tree downloaded beforehand.
        await page.getByRole('combobox', { name: 'Place of birth' }).fill('kacyiru');
        await page.getByRole('option', { name: /Kacyiru Hospital/ }).click();
      }
      for (let p = 0; p < 4; p++) await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: 'Review' }).waitFor();
      await page.getByRole('button', { name: 'Send incomplete' }).click();
      await page.getByText('Kept on this device', { exact: true }).waitFor();
    }
    await page.goto(`${server.url}/datahub/sessions/${ids.session}/capture?instrument=phq-9@1`);
    for (let q = 1; q <= 9; q++) await page.locator(`tr[data-field="symptoms.q${q}"] input[type=radio]`).nth(q % 4).check();
    await page.getByLabel('Somewhat difficult').check();
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.getByText('Kept on this device', { exact: true }).waitFor();
    confirmed.to = Date.now();
    // A fourth declaration is only begun: it stays a draft.
    await page.goto(`${server.url}/registrations/declare/birth`);
    await page.getByLabel('Last name').fill('Kagabo');
    await expect.poll(() => page.url()).toContain('draft=');
    draftUrl = page.url();
    // Each change is encrypted and written within milliseconds (docs/offline.md); a person does not reload faster.
    await expect.poll(async () => (await storedText(page)).includes(`${ids.fiona}|draft|registration.`)).toBe(true);
    await snap(page, 'offline-01-draft-offline');

    await page.reload();
    await page.getByText('Your unsent declaration was restored.').waitFor();
    expect(await page.getByLabel('Last name').inputValue()).toBe('Kagabo');
    await page.goto(`${server.url}/outbox`);
    await expect.poll(() => page.getByTestId('outbox-item').count()).toBe(4);
    await page.getByText('4 items waiting').waitFor();
    const text = await storedText(page);
    expect(text).toContain(`${ids.fiona}|outbox|`);
    for (const secret of [...BIRTHS, 'Kagabo', 'symptoms']) expect(text).not.toContain(secret);

    // The browser is closed and opened again, still without a network.
    await phone.close();
    page = await openPhone();
    await phone.setOffline(true);
    await page.goto(`${server.url}/outbox`);
    await page.getByText('Opened without a network, as fiona.').waitFor();
    await expect.poll(() => page.getByTestId('outbox-item').count()).toBe(4);
    expect(await page.getByTestId('outbox-item').allInnerTexts()).toEqual([
      expect.stringMatching(/^Declaration · Birth · Offline-Uwase[\s\S]*Waiting/),
      expect.stringMatching(/Offline-Habimana/),
      expect.stringMatching(/Offline-Ishimwe/),
      expect.stringMatching(/^Record · Patient Health Questionnaire \(PHQ-9\)/),
    ]);
    await snap(page, 'offline-02-outbox');
    await page.goto(draftUrl);
    await page.getByText('Your unsent declaration was restored.').waitFor();
    expect(await fionasRegistrations()).toHaveLength(0);
  });

  it('shows another person on the same browser none of it', async () => {
    const page = phone.pages()[0]!;
    // fiona's session ends on this browser (as an expiry would); ben signs in on it.
    await phone.clearCookies();
    await phone.setOffline(false);
    await signIn(page, 'ben');
    await page.goto(`${server.url}/outbox`);
    await page.getByTestId('outbox-empty').waitFor();
    await page.goto(draftUrl);
    await page.getByRole('heading', { name: 'Declare: Birth' }).waitFor();
    expect(await page.getByText('Your unsent declaration was restored.').count()).toBe(0);
    expect(await page.getByLabel('Last name').inputValue()).toBe('');
    // ben has nothing unsent: he signs out at once, without a warning.
    await page.goto(`${server.url}/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').waitFor();
    expect(await fionasRegistrations()).toHaveLength(0);
  });

  it('sends everything once after fiona signs in again, though the network dies in the middle of the sync, dated when she confirmed it', async () => {
    const page = phone.pages()[0]!;
    // The second declaration reaches the server, but its answer is lost as the network dies.
    let cut = false;
    await phone.route('**/api/v1/registrations', async (route) => {
      const body = route.request().postDataJSON() as { data?: Record<string, unknown> } | null;
      if (cut || route.request().method() !== 'POST' || body?.data?.['child.lastName'] !== 'Offline-Habimana') return route.continue();
      cut = true;
      const answer = await route.fetch();
      expect(answer.status()).toBe(201);
      await phone.setOffline(true);
      await route.abort('internetdisconnected');
    });
    await signIn(page, 'fiona');
    await page.getByRole('link', { name: /^Outbox/ }).click();
    await expect.poll(() => cut, { timeout: 20_000 }).toBe(true);
    await page.getByText(/last try: Cannot reach the server/).waitFor();
    expect((await fionasRegistrations()).map((r) => r.data['child.lastName']).sort()).toEqual(['Offline-Habimana', 'Offline-Uwase']);
    await phone.setOffline(false);
    await page.getByTestId('outbox-empty').waitFor({ timeout: 30_000 });
    await phone.unroute('**/api/v1/registrations');

    const regs = await fionasRegistrations();
    expect(regs.map((r) => r.data['child.lastName']).sort()).toEqual([...BIRTHS].sort());
    for (const r of regs) {
      expect(r.status).toBe('notified');
      const at = Date.parse(r.createdAt);
      expect(at).toBeGreaterThanOrEqual(confirmed.from - 1000);
      expect(at).toBeLessThanOrEqual(confirmed.to + 1000);
    }
    expect(regs.find((r) => r.data['child.lastName'] === 'Offline-Uwase')!.eventLocationId).toBe(ids.hospital);
    const records = await new DatahubApi(admin.http).records(ids.subject);
    expect(records).toHaveLength(1);
    expect(records[0]!.instrument).toEqual({ name: 'phq-9', edition: 1 });
    expect(Date.parse(records[0]!.date)).toBeGreaterThanOrEqual(confirmed.from - 1000);
    expect(Date.parse(records[0]!.date)).toBeLessThanOrEqual(confirmed.to + 1000);
  });

  it('keeps the begun draft through all of it, and warns before signing out with unsent work, then leaves nothing readable', async () => {
    // The form-level case (a session ending while a form is open, sent after signing in again
    // without retyping) is registrations.test.ts, "a declaration sent after the session expired".
    const page = phone.pages()[0]!;
    await page.goto(draftUrl);
    await page.getByText('Your unsent declaration was restored.').waitFor();
    expect(await page.getByLabel('Last name').inputValue()).toBe('Kagabo');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('1 item on this device has not reached the server').waitFor();
    await page.getByRole('button', { name: 'Stay signed in' }).click();
    expect(await page.getByLabel('Last name').inputValue()).toBe('Kagabo');
    // A signature pad's redraw preview (personal data) as an earlier build left it in either storage.
    await page.evaluate(() => {
      localStorage.setItem('cairn.signature-preview.old', 'data:image/png;base64,c2lnbmF0dXJl');
      sessionStorage.setItem('cairn.signature-preview.tab', 'data:image/png;base64,c2lnbmF0dXJl');
    });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign out and delete them' }).click();
    await page.getByLabel('Username').waitFor();
    expect(await storedText(page)).not.toContain(ids.fiona);
    const previews = await page.evaluate(() => [...Object.keys(localStorage), ...Object.keys(sessionStorage)].filter((k) => k.startsWith('cairn.signature-preview.')));
    expect(previews).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('keeps a photo of a document and a PDF picked offline, and uploads each once before the declaration, though the network dies between them', { timeout: 120_000 }, async () => {
    const page = phone.pages()[0]!;
    const png = tinyPng();
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n', 'latin1');
    await signIn(page, 'fiona');
    await download(page);
    await phone.setOffline(true);
    await page.goto(`${server.url}/registrations/declare/birth`);
    await page.getByLabel('Last name').fill('Offline-Kamali');
    for (let p = 0; p < 3; p++) await page.getByRole('button', { name: 'Continue' }).click();
    const files = page.getByLabel('Supporting documents');
    // Checked when picked, with the server's rules: a file whose content is not its type, a file too large.
    await files.setInputFiles({ name: 'fake.png', mimeType: 'image/png', buffer: Buffer.from('not a picture') });
    await page.getByText('fake.png is not a real PNG file').waitFor();
    await files.setInputFiles({ name: 'huge.pdf', mimeType: 'application/pdf', buffer: Buffer.concat([pdf, Buffer.alloc(6 * 1024 * 1024)]) });
    await page.getByText('huge.pdf is larger than 5.0 MB.').waitFor();
    await files.setInputFiles([
      { name: 'birth-notice.png', mimeType: 'image/png', buffer: png },
      { name: 'letter.pdf', mimeType: 'application/pdf', buffer: pdf },
    ]);
    await expect.poll(() => page.getByTestId('document-waiting').count()).toBe(2);
    expect(await page.getByTestId('document-waiting').allInnerTexts()).toEqual([expect.stringMatching(/birth-notice\.png[\s\S]*waiting to upload/), expect.stringMatching(/letter\.pdf[\s\S]*waiting to upload/)]);
    await expect.poll(() => storedText(page).then((t) => t.split(`${ids.fiona}|file|`).length - 1)).toBe(2);

    // A reload without a network: the draft still holds both, the photo drawn from the device's copy.
    await page.reload();
    await page.getByText('Your unsent declaration was restored.').waitFor();
    await expect.poll(() => page.getByTestId('document-waiting').count()).toBe(2);
    const thumb = page.getByRole('img', { name: 'Preview of birth-notice.png' });
    await thumb.waitFor();
    expect(await thumb.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    await snap(page, 'offline-04-documents-waiting');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Review' }).waitFor();
    await page.getByText(/birth-notice\.png \(.*waiting to upload\)/).waitFor();
    await page.getByRole('button', { name: 'Send incomplete' }).click();
    await page.getByText('Kept on this device', { exact: true }).waitFor();

    await page.goto(`${server.url}/outbox`);
    await page.reload();
    const item = page.getByTestId('outbox-item');
    await expect.poll(() => item.count()).toBe(1);
    await item.getByText('Attachments: 0 of 2 uploaded').waitFor();
    const text = await storedText(page);
    for (const secret of ['Offline-Kamali', 'birth-notice', '%PDF-', 'IHDR']) expect(text).not.toContain(secret);

    // Online again: the photo is acknowledged, then the network dies while the PDF is being sent
    // (before it reaches the server). Every upload that reaches the server is counted.
    const reached: Buffer[] = [];
    const declared: string[] = [];
    let cut = false;
    let offline = true;
    const network = async (on: boolean) => {
      offline = !on;
      await phone.setOffline(!on);
    };
    let release = () => {};
    const released = new Promise<void>((r) => (release = r));
    await phone.route('**/api/v1/registrations/documents', async (route) => {
      if (offline) return route.abort('internetdisconnected');
      if (!cut && reached.length === 1) {
        cut = true;
        await released;
        await network(false);
        return route.abort('internetdisconnected');
      }
      reached.push(route.request().postDataBuffer()!);
      return route.continue();
    });
    await phone.route('**/api/v1/registrations', async (route) => {
      if (offline) return route.abort('internetdisconnected');
      if (route.request().method() === 'POST') declared.push(route.request().postData() ?? '');
      return route.continue();
    });
    await network(true);
    await item.getByText('Uploading attachment 2 of 2…').waitFor({ timeout: 20_000 });
    release();
    await item.getByText(/last try: letter\.pdf: Cannot reach the server/).waitFor({ timeout: 20_000 });
    await item.getByText('Attachments: 1 of 2 uploaded').waitFor();
    expect(reached).toHaveLength(1);
    expect(declared).toEqual([]);
    // Not yet acknowledged as a declaration: both files are still on the device.
    expect((await storedText(page)).split(`${ids.fiona}|file|`).length - 1).toBe(2);
    await page.reload();
    await item.getByText('Attachments: 1 of 2 uploaded').waitFor();

    await network(true);
    await page.getByTestId('outbox-empty').waitFor({ timeout: 30_000 });
    await phone.unroute('**/api/v1/registrations/documents');
    await phone.unroute('**/api/v1/registrations');

    // Each file reached the server once, the photo before the PDF, and the declaration once, after them.
    expect(reached.map((b) => b.equals(png) || b.equals(pdf))).toEqual([true, true]);
    expect(reached[0]!.equals(png)).toBe(true);
    expect(reached[1]!.equals(pdf)).toBe(true);
    expect(declared).toHaveLength(1);
    const mine = (await fionasRegistrations()).filter((r) => r.data['child.lastName'] === 'Offline-Kamali');
    expect(mine).toHaveLength(1);
    const docs = mine[0]!.data['documents'] as Array<{ documentId: string; name: string; mediaType: string; size: number; documentType?: string }>;
    expect(docs.map((d) => [d.name, d.mediaType, d.size])).toEqual([
      ['birth-notice.png', 'image/png', png.length],
      ['letter.pdf', 'application/pdf', pdf.length],
    ]);
    expect(new Set(docs.map((d) => d.documentId)).size).toBe(2);
    for (const [d, bytes] of [
      [docs[0]!, png],
      [docs[1]!, pdf],
    ] as const) {
      const res = await fetch(reader.registrations.documentUrl(mine[0]!.id, d.documentId), { headers: { authorization: `Bearer ${reader.http.getToken()}` } });
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    }
    // Acknowledged: the files have left the device.
    await expect.poll(async () => (await storedText(page)).includes(`${ids.fiona}|file|`)).toBe(false);
    expect(pageErrors).toEqual([]);
  });
});

describe('a registrar’s offline review', () => {
  it('keeps a validation made offline whose registration was unassigned meanwhile: a 409 shown, the data kept to copy out', async () => {
    const fiona = await clientFor(server, 'fiona');
    const today = new Date().toISOString().slice(0, 10);
    const reg = await fiona.registrations.create({ type: 'birth', action: 'declare', data: { 'child.lastName': 'Mugisha', 'child.sex': 'male', 'child.dob': today, 'child.placeOfBirth': ids.hospital, 'mother.firstName': 'Alice', 'mother.lastName': 'Mugisha' } });

    const { context, page } = await openPage(browser, { viewport: { width: 390, height: 844 }, locale: 'en-GB', timezoneId: 'UTC' }, pageErrors, { who: 'grace' });
    await signIn(page, 'grace');
    await workerReady(page);
    const grace = await clientFor(server, 'grace');
    await grace.registrations.action(reg.id, 'assign');
    await download(page);
    await page.getByText(/1 assigned registrations/).waitFor();

    await context.setOffline(true);
    await page.goto(`${server.url}/registrations/${reg.id}/update?action=validate`);
    await page.getByLabel('First name(s)').first().fill('Keza');
    for (let p = 0; p < 4; p++) await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Review' }).waitFor();
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.getByText('Kept on this device', { exact: true }).waitFor();

    // Meanwhile, at the office, another registrar releases it.
    await henri.registrations.action(reg.id, 'unassign');
    await context.setOffline(false);
    await page.goto(`${server.url}/outbox`);
    const item = page.getByTestId('outbox-item');
    await item.getByText(/^Conflict: /).waitFor({ timeout: 20_000 });
    await item.getByText('The server refused this because the registration changed hands').waitFor();
    await item.getByRole('button', { name: 'Copy its data' }).waitFor();
    await item.getByText('Copy its data', { exact: true }).last().click();
    expect(JSON.parse(await item.getByTestId('outbox-data').innerText())).toEqual({ 'child.firstName': 'Keza' });
    await snap(page, 'offline-03-conflict');
    // Nothing was merged, and the item stays until grace decides.
    expect((await reader.registrations.get(reg.id)).data['child.firstName']).toBeUndefined();
    await page.reload();
    await item.getByText(/^Conflict: /).waitFor();
    await context.close();
    expect(pageErrors).toEqual([]);
  });
});

describe('updates', () => {
  it('replaces the cached shell when a new build is deployed', async () => {
    // Two builds: the second has another index.html, so its worker's precache list differs (as any rebuild's does).
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-builds-'));
    const v1 = path.join(tmp, 'v1');
    const v2 = path.join(tmp, 'v2');
    fs.cpSync(DIST, v1, { recursive: true });
    fs.cpSync(DIST, v2, { recursive: true });
    fs.writeFileSync(path.join(v2, 'index.html'), fs.readFileSync(path.join(v2, 'index.html'), 'utf8').replace('<title>', '<meta name="cairn-build" content="2" /><title>'));
    const sw = fs.readFileSync(path.join(v2, 'sw.js'), 'utf8');
    expect(sw).toMatch(/url:"index\.html",revision:"[0-9a-f]+"/);
    fs.writeFileSync(path.join(v2, 'sw.js'), sw.replace(/url:"index\.html",revision:"[0-9a-f]+"/, 'url:"index.html",revision:"second-build"'));
    const root = { dir: v1 };
    const site = await staticSite(root);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${site.url}/`);
      await workerReady(page);
      await page.reload();
      expect(await page.locator('meta[name="cairn-build"]').count()).toBe(0);
      root.dir = v2;
      // A navigation makes the browser look for a new worker once the page has loaded (Chromium
      // waits for a quiet moment: reloading in a loop would keep postponing it). The new worker
      // installs, takes over at once (skipWaiting, clientsClaim), and the next load is the new shell.
      await page.addInitScript(() => navigator.serviceWorker?.addEventListener('controllerchange', () => ((window as unknown as { tookOver: boolean }).tookOver = true)));
      await page.reload();
      const changed = await page.waitForFunction(() => (window as unknown as { tookOver?: boolean }).tookOver === true, undefined, { timeout: 25_000 }).then(() => true, () => false);
      expect(changed).toBe(true);
      await page.reload();
      expect(await page.locator('meta[name="cairn-build"]').count()).toBe(1);
      // And offline, the new shell is the one kept.
      await context.setOffline(true);
      await page.reload();
      expect(await page.locator('meta[name="cairn-build"]').getAttribute('content')).toBe('2');
    } finally {
      await context.close();
      site.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
