import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { TestServer } from '../../server/test/harness.js';
import { launchSignedIn, snap, startServerWithAdmin } from './browser.js';

/**
 * The admin System page on a 390 px phone: this node is listed, the queue and storage show, and
 * the verify button runs a ledger verification whose result then shows as the last one, in
 * English and in French.
 */

let server: TestServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  ({ server } = await startServerWithAdmin());
  ({ browser, page } = await launchSignedIn(server, pageErrors));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('the System page', () => {
  it('lists this node, the queue and storage, and runs a ledger verification', async () => {
    // The navigation offers it to an administrator.
    await page.locator('nav a[href="/system"]').waitFor({ state: 'attached' });
    await page.goto(`${server.url}/system`);
    await page.getByRole('heading', { name: 'System', level: 1 }).waitFor();
    const nodes = page.getByRole('table', { name: 'Nodes seen recently' });
    await nodes.locator('tbody tr').first().waitFor();
    await expect(nodes.locator('tbody tr').count()).resolves.toBe(1);
    await expect(nodes.locator('tbody tr').first().innerText()).resolves.toContain('this node');
    await expect(page.getByTestId('jobs-failed').innerText()).resolves.toBe('0');
    await expect(page.getByTestId('storage').innerText()).resolves.toBe('0 distinct file contents, 0 B');
    await expect(page.getByTestId('last-verification').innerText()).resolves.toBe('The ledger has not been verified yet.');

    await page.getByRole('button', { name: 'Verify the ledger now' }).click();
    await page.getByText(/^No tampering found: \d+ entries and \d+ checkpoints checked in \d+ ms\.$/).waitFor();
    await expect(page.getByTestId('last-verification').innerText()).resolves.toContain('by ada');
    await snap(page, 'system-390');
    // Nothing spills sideways on a phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    await page.evaluate(() => localStorage.setItem('cairn.lang', 'fr'));
    await page.reload();
    await page.getByRole('heading', { name: 'Système', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Vérifier le registre maintenant' }).waitFor();
    await expect(page.getByTestId('last-verification').innerText()).resolves.toMatch(/Aucune altération trouvée/);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(pageErrors).toEqual([]);
  });
});
