import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { CairnClient } from '@cairn/sdk';
import type { TestServer } from '../../server/test/harness.js';
import { PASSWORD, clientFor, createStaff, importLocations, launch, openPage, snap, startServerWithAdmin } from './browser.js';

const LOCATIONS = ['id,name,parentId,type', 'ML,Mali,,area', 'KY,Kayes,ML,area', 'KY-O1,Kayes Civil Registry,KY,office', 'SK,Sikasso,ML,area'].join('\n') + '\n';

let server: TestServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];
let agent: CairnClient;
let adminClient: CairnClient;
let registrar: CairnClient;
const place: Record<string, string> = {};

async function signIn(username: string, opts: { viewport?: { width: number; height: number }; lang?: 'en' | 'fr' } = {}): Promise<Page> {
  const { context, page } = await openPage(browser, { viewport: opts.viewport ?? { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' }, pageErrors, { who: username });
  contexts.push(context);
  if (opts.lang) await context.addInitScript((lang) => localStorage.setItem('cairn.lang', lang), opts.lang);
  await page.goto(`${server.url}/login`);
  // The first visit may wait for the app's chunks on a busy machine.
  await page.locator('input[name="username"]').waitFor({ timeout: 90_000 });
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[autocomplete="current-password"]').fill(PASSWORD);
  await page.locator('form button[type="submit"]').first().click();
  await page.locator('form[role="search"].quicksearch').waitFor();
  return page;
}

const birth = (over: Record<string, unknown>) => ({
  'child.lastName': 'Diallo', 'child.sex': 'male', 'child.dob': '2024-02-11', 'child.placeOfBirth': place.KY, 'mother.firstName': 'Aminata', 'mother.lastName': 'Diallo', ...over,
});

beforeAll(async () => {
  const started = await startServerWithAdmin({ CAIRN_LOGIN_RATE_LIMIT: '1000' });
  const { admin, token } = started;
  server = started.server;
  adminClient = admin;
  await importLocations(server, token, LOCATIONS);
  for (const [name, kind] of [['Kayes', 'area'], ['Kayes Civil Registry', 'office'], ['Sikasso', 'area']] as const) {
    place[name === 'Kayes' ? 'KY' : name === 'Sikasso' ? 'SK' : 'office'] = (await admin.http.get<{ locations: { id: string }[] }>('/api/v1/locations', { q: name, kind })).locations[0]!.id;
  }
  await createStaff(admin, place.office!, [['fanta', 'registration-agent'], ['grace', 'local-registrar']]);
  agent = await clientFor(server, 'fanta');
  registrar = await clientFor(server, 'grace');
  browser = await launch();
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.stop();
});

describe('finding people in the web app', () => {
  it('quick search from the header on every page shows why each result matched; advanced search combines a name and a place; both fit a phone and speak French', async () => {
    const mohammed = await agent.registrations.create({ type: 'birth', action: 'declare', data: birth({ 'child.firstName': 'Mohammed', 'mother.nationalId': '4455667788' }) });
    await agent.registrations.create({ type: 'birth', action: 'declare', data: birth({ 'child.firstName': 'Kadiatou', 'child.lastName': 'Sangaré', 'child.sex': 'female', 'child.dob': '2023-05-02', 'child.placeOfBirth': place.SK, 'mother.lastName': 'Sangaré', 'mother.firstName': 'Oumou' }) });
    const page = await signIn('grace');
    await page.goto(`${server.url}/registrations/performance`);
    const box = page.locator('header form.quicksearch').getByRole('searchbox', { name: 'Search registrations' });
    await box.fill('Muhamad Dialo');
    await box.press('Enter');
    await page.waitForURL(/\/registrations\/search\?q=/);
    const hit = page.locator(`li.search-item[data-id="${mohammed.id}"]`);
    await hit.waitFor();
    await expect.poll(() => hit.locator('.search-why').innerText()).toMatch(/First name\(s\): Mohammed \((same sound|similar spelling)\)/);
    // Advanced: a name that sounds alike, within a place picked by name.
    await page.getByRole('tab', { name: 'Advanced search' }).click();
    await page.getByLabel('Field to search on').selectOption({ label: 'Last name' });
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('fieldset.search-filter[data-field="child.lastName"]').getByLabel('Sounds like').fill('Sangare');
    await page.getByLabel('Field to search on').selectOption({ label: 'Place of birth' });
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const within = page.locator('fieldset.search-filter[data-field="child.placeOfBirth"]').getByRole('combobox', { name: 'Within' });
    await within.fill('Sikas');
    await page.getByRole('option', { name: /Sikasso/ }).first().click();
    await page.getByRole('button', { name: 'Search', exact: true }).last().click();
    await expect.poll(() => page.locator('li.search-item').count()).toBe(1);
    await expect(page.locator('li.search-item').innerText()).resolves.toContain('Kadiatou Sangaré');
    // Nothing to search on: said so, no request.
    await page.locator('fieldset.search-filter button').first().click();
    await page.locator('fieldset.search-filter button').first().click();
    await page.getByRole('button', { name: 'Search', exact: true }).last().click();
    await page.getByText('Add at least one field to search on.').waitFor();

    // A 390 px phone, in French: the box is there, full width, and nothing scrolls sideways.
    const phone = await signIn('grace', { viewport: { width: 390, height: 844 }, lang: 'fr' });
    const small = phone.locator('header form.quicksearch').getByRole('searchbox', { name: 'Rechercher un enregistrement' });
    await small.fill('4455667788');
    await small.press('Enter');
    await phone.locator(`li.search-item[data-id="${mohammed.id}"]`).waitFor();
    await expect(phone.locator('.search-why').first().innerText()).resolves.toContain('identifiant');
    const { scroll, client, wide } = await phone.evaluate(() => {
      const client = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > client + 0.5).slice(-6).map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}`);
      return { scroll: document.documentElement.scrollWidth, client, wide };
    });
    if (scroll > client) await snap(phone, 'search-phone-overflow');
    expect(scroll, wide.join(', ')).toBeLessThanOrEqual(client);
    const boxWidth = (await small.boundingBox())!.width;
    expect(boxWidth).toBeGreaterThan(200);
  });

  it('reviews a possible duplicate side by side and archives it as a duplicate, with the reason in the history; imports a register with progress and a report', async () => {
    const first = await agent.registrations.create({ type: 'birth', action: 'declare', data: birth({ 'child.firstName': 'Youssouf', 'child.lastName': 'Coulibaly', 'mother.lastName': 'Coulibaly', 'mother.firstName': 'Mariam', 'mother.nationalId': '9988776655', 'child.dob': '2024-06-03' }) });
    const second = await agent.registrations.create({ type: 'birth', action: 'declare', data: birth({ 'child.firstName': 'Yusuf', 'child.lastName': 'Coulibaly', 'mother.lastName': 'Coulibaly', 'mother.firstName': 'Maryam', 'mother.nationalId': '9988776655', 'child.dob': '2024-06-03' }) });
    expect(second.duplicateOf).toEqual([first.id]);
    const page = await signIn('grace');
    await page.goto(`${server.url}/registrations?queue=potential-duplicates`);
    await page.getByRole('link', { name: `Compare ${second.trackingId} side by side` }).click();
    await page.waitForURL(new RegExp(`/registrations/${second.id}/duplicates$`));
    await page.getByRole('tab', { name: `Match 1: ${first.trackingId}` }).waitFor();
    const firstName = page.locator('tr[data-field="child.firstName"]');
    await expect(firstName.getAttribute('data-differs')).resolves.toBe('true');
    await expect(firstName.innerText()).resolves.toMatch(/Yusuf\s+Youssouf/);
    await expect(page.locator('tr[data-field="mother.nationalId"]').getAttribute('data-differs')).resolves.toBe('false');
    // A decision needs a reason.
    await page.getByRole('button', { name: `Duplicate of ${first.trackingId}` }).click();
    await page.getByText('Give a reason.').waitFor();
    await page.getByLabel('Reason (kept in the history)').fill('Same child: same mother’s card');
    await page.getByRole('button', { name: `Duplicate of ${first.trackingId}` }).click();
    await page.getByText(`Archived as a duplicate of ${first.trackingId}.`).waitFor();
    const after = await registrar.registrations.get(second.id);
    expect(after.status).toBe('archived');
    const history = await registrar.registrations.history(second.id);
    expect(history.find((h) => h.action === 'mark-as-duplicate')).toMatchObject({ reason: 'Same child: same mother’s card', details: { duplicateOf: first.id } });

    // Import: two rows, one of them the same child as an earlier registration.
    await page.goto(`${server.url}/registrations/import`);
    const csv = ['legacyId,child.firstName,child.lastName,child.sex,child.dob,child.placeOfBirth,mother.firstName,mother.lastName,mother.nationalId',
      'KY-1999-1,Awa,Keïta,female,1999-03-04,Kayes,Salimata,Keïta,',
      'KY-1999-2,Yousouf,Coulibaly,male,2024-06-03,Kayes,Mariam,Coulibaly,9988776655'].join('\n');
    await page.getByLabel('CSV file').setInputFiles({ name: 'register.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByTestId('import-report').waitFor();
    await expect(page.getByTestId('import-created').innerText()).resolves.toBe('2');
    await expect(page.getByTestId('import-duplicates').innerText()).resolves.toBe('1');
    await page.getByRole('link', { name: /Row 2 · .* \(KY-1999-2\)/ }).click();
    await page.getByRole('tab', { name: `Match 1: ${first.trackingId}` }).waitFor();
    expect(pageErrors).toEqual([]);
  });

  it('data hub: "005" finds DEMO-005, and adding "Curie-Dupont" warns that "Curie Dupont" exists before creating a second', async () => {
    const ws = (await adminClient.http.post<{ workspace: { id: string } }>('/api/v1/workspaces', { name: 'Clinic' })).workspace.id;
    for (const s of [{ identifier: 'DEMO-005' }, { identifier: 'DEMO-050' }, { identifier: 'Curie Dupont', dateOfBirth: '1990-04-02', sex: 'female' }]) {
      await adminClient.http.post(`/api/v1/workspaces/${ws}/subjects`, { identifierKind: 'custom', ...s });
    }
    const page = await signIn('ada');
    await page.goto(`${server.url}/datahub/w/${ws}/subjects`);
    await page.getByLabel('Search by identifier').fill('005');
    await expect.poll(async () => (await page.locator('table tbody tr').allInnerTexts()).map((r) => r.split('\t')[0]!.trim())).toEqual(['DEMO-005']);
    const add = page.locator('form').filter({ has: page.getByRole('button', { name: 'Add subject' }) });
    await add.getByLabel('Identifier', { exact: true }).fill('Curie-Dupont');
    await add.locator('input[type="date"]').fill('1990-04-02');
    await add.locator('#subject-sex').selectOption('female');
    await add.getByRole('button', { name: 'Add subject' }).click();
    await page.getByTestId('similar-subjects').getByRole('link', { name: /Curie Dupont, 1990-04-02/ }).waitFor({ timeout: 20_000 }).catch(async (e) => {
      await snap(page, 'similar-subjects');
      throw new Error(`${e}: ${(await page.locator('form').allInnerTexts()).join(' / ').slice(0, 800)}`);
    });
    await page.getByRole('button', { name: 'Create anyway' }).click();
    await page.waitForURL(/\/datahub\/subjects\//);
    expect(pageErrors).toEqual([]);
  });
});
