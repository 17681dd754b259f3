import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { TestServer } from '../../server/test/harness.js';
import { DESKTOP, PASSWORD, createStaff, importLocations, launch, openPage, signIn as signInAt, snap, startServerWithAdmin } from './browser.js';

/** A small country: one province, one district with an office and a hospital's ward. */
const LOCATIONS = ['id,name,parentId,type', 'RW,Rwanda,,area', 'KG,Kigali,RW,area', 'GA,Gasabo,KG,area', 'GA-O1,Gasabo Civil Registry,GA,office', 'GA-H1,Kacyiru Hospital,GA,area'].join('\n') + '\n';

/** A 1×1 PNG, the smallest real image. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');

const PEOPLE = [
  ['fiona', 'field-agent'],
  ['remy', 'registration-agent'],
  ['grace', 'local-registrar'],
] as const;

let server: TestServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pages: Record<string, Page> = {};
const pageErrors: string[] = [];
let trackingId = '';
let registrationPath = '';

async function signIn(username: string): Promise<Page> {
  const { context, page } = await openPage(browser, { ...DESKTOP, timezoneId: 'UTC' }, pageErrors, { who: username });
  contexts.push(context);
  await signInAt(page, server.url, username);
  await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Registrations' }).waitFor();
  return page;
}

/** No page of the registrar's app may scroll sideways on a 390 px phone. */
async function fitsPhone(page: Page, path: string, ready: (p: Page) => Promise<unknown>) {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${server.url}${path}`);
  await ready(page);
  const { scroll, client, culprits } = await page.evaluate(() => {
    const client = document.documentElement.clientWidth;
    // The outermost elements reaching past the screen's edge, to name in a failure.
    const culprits = [...document.querySelectorAll('body *')]
      .filter((el) => {
        if (el.getBoundingClientRect().right <= client + 0.5) return false;
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
          if (getComputedStyle(a).overflowX !== 'visible' || a.getBoundingClientRect().right > client + 0.5) return false;
        }
        return true;
      })
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} (${Math.round(el.getBoundingClientRect().right)}px)`);
    const wide = [...document.querySelectorAll('body *')].filter((el) => el.scrollWidth > client + 0.5 || el.getBoundingClientRect().width > client + 0.5).slice(0, 8).map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}[${Math.round(el.getBoundingClientRect().width)}/${el.scrollWidth}]`);
    culprits.push(...wide);
    return { scroll: document.documentElement.scrollWidth, client, culprits };
  });
  if (scroll > client) await snap(page, `phone-overflow${path.replace(/[^a-z0-9]+/gi, '-')}`);
  expect(scroll, `${path} is ${scroll}px wide on a 390px screen: ${culprits.join(', ')}`).toBeLessThanOrEqual(client);
}

beforeAll(async () => {
  const started = await startServerWithAdmin();
  const { admin, token } = started;
  server = started.server;
  await importLocations(server, token, LOCATIONS);
  const office = (await admin.http.get<{ locations: { id: string; name: string }[] }>('/api/v1/locations', { q: 'Gasabo Civil Registry', kind: 'office' })).locations[0]!;
  await createStaff(admin, office.id, PEOPLE);
  browser = await launch();
  for (const [username] of PEOPLE) pages[username] = await signIn(username);
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.stop();
});

describe('civil registration, as the three roles work it', () => {
  it('a field agent declares a birth over several pages, and a reload loses nothing', async () => {
    const page = pages.fiona!;
    await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Registrations' }).click();
    await page.getByRole('heading', { name: 'Registrations' }).waitFor();
    await page.getByText('Field agent · Gasabo Civil Registry').waitFor();
    await page.getByRole('link', { name: 'Declare: Birth' }).click();
    await page.getByRole('heading', { name: 'Declare: Birth' }).waitFor();

    // The child is not named yet: that is allowed.
    await page.getByLabel('Last name').fill('Uwase');
    await page.getByLabel('Female').check();
    await page.getByLabel('Date of birth').fill('2026-11-20');
    await page.getByRole('combobox', { name: 'Place of birth' }).fill('kacyiru');
    await page.getByRole('option', { name: /Kacyiru Hospital/ }).click();
    expect(await page.getByRole('combobox', { name: 'Place of birth' }).inputValue()).toBe('Kacyiru Hospital, Gasabo, Kigali');
    await snap(page, 'registrations-01-declare-child');

    // Everything typed is on the device: a reload (or an expired session) comes back to it.
    await page.reload();
    await page.getByText('Your unsent declaration was restored.').waitFor();
    expect(await page.getByLabel('Last name').inputValue()).toBe('Uwase');
    expect(await page.getByLabel('Female').isChecked()).toBe(true);
    await expect.poll(() => page.getByRole('combobox', { name: 'Place of birth' }).inputValue()).toBe('Kacyiru Hospital, Gasabo, Kigali');

    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: "Mother's details" }).waitFor();
    await page.getByLabel('First name(s)').fill('Aline');
    await page.getByLabel('Last name').fill('Mukamana');
    // Her date of birth is unknown; her age is.
    await page.getByLabel('Give the age instead').check();
    await page.getByLabel('Age in years').fill('27');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: "Father's details" }).waitFor();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Informant and documents' }).waitFor();
    await page.getByLabel('Phone number').fill('+250 788 123 456');
    // A photo of the hospital's notice, checked against the limits shown before it is sent.
    await page.getByText('PNG, JPEG, PDF, at most 5.0 MB each, up to 5 files.').waitFor();
    await page.getByLabel('Kind of document').selectOption('proof-of-birth');
    await page.getByLabel('Supporting documents').setInputFiles({ name: 'notice.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
    await page.getByText('notice.txt is not one of PNG, JPEG, PDF.').waitFor();
    await page.getByLabel('Supporting documents').setInputFiles({ name: 'birth-notice.png', mimeType: 'image/png', buffer: PNG });
    await page.getByText('birth-notice.png').waitFor();
    // The informant signs with a finger (a mouse here).
    const pad = page.locator('canvas.signature-canvas');
    await pad.scrollIntoViewIfNeeded();
    const box = (await pad.boundingBox())!;
    await page.mouse.move(box.x + 20, box.y + 40);
    await page.mouse.down();
    await page.mouse.move(box.x + 120, box.y + 100, { steps: 8 });
    await page.mouse.move(box.x + 220, box.y + 50, { steps: 8 });
    await page.mouse.up();
    await page.getByText('Signature saved.').waitFor();
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByRole('heading', { name: 'Review' }).waitFor();
    await page.getByText('Everything needed to declare is there.').waitFor();
    await page.getByText('27 years old').waitFor();
    await page.getByText(/^birth-notice\.png \(\d+ B\)$/).waitFor();
    await page.getByText('Signed', { exact: true }).waitFor();
    await snap(page, 'registrations-02-review');
    await page.getByRole('button', { name: 'Declare', exact: true }).click();
    await page.getByText(/^Declared\. Tracking ID/).waitFor();
    trackingId = (await page.getByTestId('tracking-id').innerText()).trim();
    expect(trackingId).toMatch(/^[A-Z0-9]{7}$/);

    // Sent: the draft is gone from the device.
    await page.goto(`${server.url}/registrations`);
    await page.getByRole('heading', { name: 'Registrations' }).waitFor();
    expect(await page.getByText('Unsent declarations on this device').count()).toBe(0);
  });

  it('a declaration sent after the session expired is kept, and applied once after signing in again', async () => {
    const page = pages.fiona!;
    await page.goto(`${server.url}/registrations/declare/birth`);
    await page.getByLabel('Last name').fill('Habimana');
    for (let i = 0; i < 4; i++) await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Review' }).waitFor();
    // The session ends (cookies gone) while the form is open; sending it finds out.
    const cookies = await page.context().cookies();
    await page.context().clearCookies();
    await page.getByRole('button', { name: 'Send incomplete' }).click();
    await page.getByText('Your session ended. Please sign in again.').waitFor();
    await page.getByLabel('Username').fill('fiona');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Back on the review page of the same draft, nothing lost.
    await page.getByText('Your unsent declaration was restored.').waitFor();
    await page.getByRole('heading', { name: 'Review' }).waitFor();
    await page.getByText('Habimana').waitFor();
    await page.getByRole('button', { name: 'Send incomplete' }).click();
    await page.getByText(/^Sent as incomplete\. Tracking ID/).waitFor();
    expect(cookies.length).toBeGreaterThan(0);
    await page.goto(`${server.url}/registrations?queue=in-progress`);
    await page.locator('.reg-layout tbody tr').first().waitFor();
    expect(await page.locator('.reg-layout tbody tr').count()).toBe(1);
    await expect.poll(async () => page.locator('[data-queue="in-progress"] .count-badge').innerText()).toBe('1');
  });

  it('a registration agent finds it ready for review, takes it and validates it', async () => {
    const page = pages.remy!;
    await page.goto(`${server.url}/registrations?queue=ready-for-review`);
    const row = page.locator(`tr[data-tracking="${trackingId}"]`);
    await row.waitFor();
    await expect.poll(async () => page.locator('[data-queue="ready-for-review"] .count-badge').innerText()).toBe('1');
    await row.getByRole('button', { name: `Assign ${trackingId} to me` }).click();
    await row.getByText('you').waitFor();
    await row.getByRole('link', { name: `Open ${trackingId}` }).click();
    await page.getByRole('heading', { name: /^Birth: Uwase/ }).waitFor();
    registrationPath = new URL(page.url()).pathname;
    // The document and the signature are the files the field agent sent.
    const doc = page.getByRole('link', { name: 'birth-notice.png' });
    const fetched = await page.request.get(`${server.url}${await doc.getAttribute('href')}`);
    expect(fetched.status()).toBe(200);
    expect(Buffer.from(await fetched.body()).equals(PNG)).toBe(true);
    await expect.poll(async () => page.getByRole('img', { name: "Signature: Informant's signature" }).evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    // What the agent may not do is listed with the reason.
    await page.getByText(/actions unavailable, and why/).click();
    await page.locator('[data-unavailable="register"]').waitFor();
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.getByText('Done: Validate.').waitFor();
    await page.locator('.reg-badges [data-status="validated"]').first().waitFor();
    // Validating releases the assignment: the next step is someone else's.
    await expect.poll(async () => page.getByTestId('assigned').innerText()).toBe('nobody');
    await snap(page, 'registrations-03-validated');
  });

  it('a registrar registers it, records the collector and prints the certificate', async () => {
    const page = pages.grace!;
    await page.goto(`${server.url}${registrationPath}`);
    await page.getByRole('heading', { name: /^Birth: Uwase/ }).waitFor();
    await page.getByRole('button', { name: 'Assign to me' }).click();
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByText('Done: Register.').waitFor();
    const number = (await page.getByTestId('registration-number').innerText()).trim();
    expect(number.length).toBeGreaterThan(0);
    await page.locator('.reg-badges [data-status="registered"]').first().waitFor();
    // Registering releases the assignment too: printing is a new step to take.
    await page.getByRole('button', { name: 'Assign to me' }).click();
    await page.getByText('Done: Assign to me.').waitFor();

    await page.getByRole('button', { name: 'Print certificate' }).click();
    await page.getByLabel('Collected by').selectOption('mother');
    await page.getByLabel('Full name of the collector').fill('Aline Mukamana');
    await page.getByLabel('Identity document shown').fill('National ID');
    await page.getByLabel('Its number').fill('1199880012345678');
    await page.getByRole('button', { name: 'Record and print' }).click();
    await page.getByText('Done: Print certificate.').waitFor();
    await page.locator('[data-flag="printed"]').first().waitFor();
    await page.getByText('Collected by Aline Mukamana (The mother)').waitFor();

    // The preview and the "Open PDF" link are the server's PDF.
    const src = await page.getByRole('link', { name: 'Open PDF' }).getAttribute('href');
    const pdf = await page.request.get(`${server.url}${src}`);
    expect(pdf.status(), await pdf.text()).toBe(200);
    expect(pdf.headers()['content-type']).toContain('application/pdf');

    // The history says who did what, in which role.
    const timeline = page.locator('.reg-timeline');
    await timeline.locator('[data-history="declare"]').getByText(/fiona \(Field agent, Gasabo Civil Registry\)/).waitFor();
    await timeline.locator('[data-history="validate"]').getByText(/remy \(Registration agent/).waitFor();
    await timeline.locator('[data-history="register"]').getByText(/grace \(Local registrar/).waitFor();
    // Every opening is audited; the timeline shows them on request.
    expect(await timeline.locator('[data-history="read"]').count()).toBe(0);
    await page.getByLabel(/^Show who opened it/).check();
    await timeline.locator('[data-history="read"]').getByText(/remy \(Registration agent/).first().waitFor();
    await snap(page, 'registrations-04-registered');
  });

  it('a registrar corrects a registered record: the father named later, requested then approved', async () => {
    const page = pages.grace!;
    await page.goto(`${server.url}${registrationPath}`);
    await page.getByRole('button', { name: 'Request correction' }).click();
    await page.getByLabel('Detail to correct').selectOption({ label: "Father's details · First name(s)" });
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('form', { name: 'Request correction' }).getByLabel('First name(s)').fill('Jean');
    await page.getByRole('form', { name: 'Request correction' }).getByLabel('Reason').fill('The father came with his ID');
    await page.getByRole('form', { name: 'Request correction' }).getByRole('button', { name: 'Request correction' }).click();
    await page.getByText('Done: Request correction.').waitFor();
    await page.locator('[data-flag="correction-requested"]').first().waitFor();
    await page.getByRole('heading', { name: 'Correction requested' }).waitFor();
    await page.getByRole('button', { name: 'Approve correction' }).click();
    await page.getByText('Done: Approve correction.').waitFor();
    await expect.poll(async () => page.locator('.page-head [data-flag="correction-requested"]').count()).toBe(0);
    // The corrected answer is the record's now.
    await page.locator('.reg-review').getByText('Jean', { exact: true }).waitFor();
    await page.locator('.reg-timeline [data-history="approve-correction"]').waitFor();
  });

  it('the performance dashboard counts it and offers the figures as CSV', async () => {
    const page = pages.grace!;
    await page.goto(`${server.url}/registrations/performance`);
    await page.getByRole('heading', { name: 'Registration performance' }).waitFor();
    await expect.poll(async () => page.getByTestId('registered-total').innerText()).toBe('1');
    expect(await page.getByTestId('completeness').innerText()).toBe('100 %');
    await page.locator('.reg-chart canvas').waitFor();
    // The server counts (month of registration, places one level below the registrar's area) and serves the CSV.
    const place = await page.getByRole('table', { name: 'Registrations per place' }).locator('tbody tr td').first().innerText();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
    const csv = await (await download.createReadStream()).toArray();
    const text = Buffer.concat(csv).toString('utf8');
    expect(text.split('\r\n')[0]).toBe('month,location_id,location,registered,registered_within_a_year,completeness');
    const month = new Date().toISOString().slice(0, 7);
    expect(text.split('\r\n').filter((l) => l.startsWith(month)).map((l) => l.split(',').slice(2).join(','))).toEqual([`${place},1,1,1.0000`]);
    // Non-personal: no name leaves in the figures.
    expect(text).not.toContain('Uwase');
  });

  it('every registration page fits a 390 px phone', async () => {
    const page = pages.grace!;
    // Measured once the list is there: a table is what would widen a phone's page.
    const listed = (p: Page) => p.locator('.reg-layout table, .reg-layout .empty').first().waitFor();
    await fitsPhone(page, '/registrations', listed);
    await fitsPhone(page, '/registrations?queue=in-progress', listed);
    await fitsPhone(page, '/registrations/declare/birth', (p) => p.getByRole('heading', { name: 'Declare: Birth' }).waitFor());
    await fitsPhone(page, registrationPath, (p) => p.locator('.reg-timeline').waitFor());
    await fitsPhone(page, '/registrations/performance', (p) => p.getByTestId('registered-total').waitFor());
    await snap(page, 'registrations-05-performance-phone');
  });

  it('French is complete on these pages', async () => {
    const page = pages.grace!;
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${server.url}${registrationPath}`);
    await page.getByRole('combobox', { name: /language|langue/i }).selectOption('fr');
    await page.getByRole('heading', { name: /^Naissance : Uwase/ }).waitFor();
    await page.getByText('Historique').waitFor();
    await page.goto(`${server.url}/registrations`);
    await page.getByRole('heading', { name: 'État civil' }).waitFor();
    await page.getByText('Prêts à imprimer').first().waitFor();
    await page.goto(`${server.url}/registrations/performance`);
    await page.getByRole('heading', { name: "Performance de l'enregistrement" }).waitFor();
    await page.getByRole('link', { name: 'Télécharger le CSV' }).waitFor();
    await page.getByText(/^Du \d{4}-\d\d-\d\d au \d{4}-\d\d-\d\d, par lieu dans /).waitFor();
  });

  it('raised no error in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
