import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { TestServer } from '../../server/test/harness.js';
import { launchSignedIn, snap, startServerWithAdmin } from './browser.js';

/**
 * The locations import page and the LocationPicker, on a 390 px phone: a file with a bad row is
 * refused with the line shown, the fixed file imports with its report, and the picker finds a
 * place typed without accents, by keyboard alone.
 */

let server: TestServer;
let browser: Browser;
let page: Page;
let dir: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  ({ server } = await startServerWithAdmin());
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-loc-web-'));
  ({ browser, page } = await launchSignedIn(server, pageErrors));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('locations in the web app', () => {
  it('refuses a file with bad rows (lines shown), then imports the fixed one with its report', async () => {
    await page.goto(`${server.url}/control-centre/locations`);
    await page.getByRole('heading', { name: 'Locations', level: 1 }).waitFor();
    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, 'id,name,parentId,type\nzm,Zambia,,area\nc,Central Province,zm,province\nib,Ibombo,nowhere,area\n');
    await page.getByLabel('CSV file').setInputFiles(bad);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByText('1 of 3 rows have errors').waitFor();
    const errors = page.getByRole('table', { name: 'Rows with errors' });
    await expect(errors.locator('tbody tr').count()).resolves.toBe(1);
    await expect(errors.locator('tbody tr').first().innerText()).resolves.toMatch(/3\s+type\s+invalid_type/);

    const good = path.join(dir, 'good.csv');
    fs.writeFileSync(good, 'id,name,parentId,type\nib,Ibombo District,c,area\nc,Central Province,zm,area\nzm,Zambia,,area\nibo,Ibombo District Office,ib,office\ncote,Côte-d’Ivoire Ward,ib,area\n');
    await page.getByLabel('CSV file').setInputFiles(good);
    await page.getByRole('button', { name: 'Check without importing' }).click();
    await page.getByText('All 5 rows are valid. Nothing was written.').waitFor();
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByText('Imported 5 locations.').waitFor();
    await expect(page.getByTestId('summary-created').innerText()).resolves.toBe('5');
    await snap(page, 'locations-import-390');
    // Nothing spills sideways on a phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  });

  it('finds a place as you type, without accents, and picks it by keyboard', async () => {
    const input = page.getByRole('combobox', { name: 'Location' });
    await input.fill('cote d');
    const list = page.getByRole('listbox', { name: 'Location' });
    await list.getByRole('option').first().waitFor();
    await expect(list.getByRole('option').first().innerText()).resolves.toMatch(/Côte-d’Ivoire Ward\s+Ibombo District, Central Province, Zambia/);
    // The list opens below the field, as wide as it, never over it.
    const field = (await input.boundingBox())!;
    const popup = (await list.boundingBox())!;
    expect(popup.y).toBeGreaterThanOrEqual(field.y + field.height - 1);
    expect(popup.x + popup.width).toBeLessThanOrEqual(390);
    await snap(page, 'location-picker-390');
    await input.press('Enter');
    await expect(page.getByTestId('picked').innerText()).resolves.toBe('Chosen: Côte-d’Ivoire Ward, Ibombo District, Central Province, Zambia');
    await expect(input.inputValue()).resolves.toBe('Côte-d’Ivoire Ward, Ibombo District, Central Province');

    // Arrows move through the choices; Escape closes the list; the chosen option is announced.
    await input.fill('ibombo');
    await list.getByRole('option', { name: /Ibombo District Office/ }).waitFor();
    await input.press('ArrowDown');
    await expect(list.getByRole('option', { selected: true }).innerText()).resolves.toMatch(/^Ibombo District Office/);
    await expect(input.getAttribute('aria-activedescendant')).resolves.toMatch(/-1$/);
    await input.press('Escape');
    await expect(input.getAttribute('aria-expanded')).resolves.toBe('false');
    await input.press('ArrowDown');
    await list.getByRole('option').first().waitFor();
    await input.press('ArrowDown');
    await input.press('Enter');
    await expect(page.getByTestId('picked').innerText()).resolves.toContain('Ibombo District Office');

    await input.fill('zzzz');
    await page.getByText('No place matches “zzzz”').waitFor();
    expect(pageErrors).toEqual([]);
  });
});
