import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { CairnClient } from '@cairn/sdk';
import type { TestServer } from '../../server/test/harness.js';
import { launchSignedIn, snap, startServerWithAdmin } from './browser.js';

/**
 * The admin Webhooks page on a 390 px phone: create a subscription by picking an event type by
 * name, copy the secret shown once, see a signed delivery arrive at a real receiver and in the
 * log, send it again; in English and in French.
 */

let server: TestServer;
let browser: Browser;
let page: Page;
let admin: CairnClient;
let receiver: http.Server;
const received: Array<{ body: string; headers: http.IncomingHttpHeaders }> = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  ({ server, admin } = await startServerWithAdmin());
  await admin.eventTypes.register({ name: 'clinic.example/visit', description: 'A clinic visit', schema: { type: 'object' } });
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ body, headers: req.headers });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  ({ browser, page } = await launchSignedIn(server, pageErrors, { timeout: 15_000 }));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await new Promise((r) => receiver?.close(r));
});

describe('the Webhooks page', () => {
  it('creates a subscription, shows the secret once, logs the signed delivery and replays it', async () => {
    await page.locator('nav a[href="/webhooks"]').waitFor({ state: 'attached' });
    await page.goto(`${server.url}/webhooks`);
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await page.getByText('No subscription yet.').waitFor();

    // Nothing chosen: refused before it is sent.
    await page.getByLabel('Name').fill('Clinic system');
    await page.getByLabel('Receiver URL').fill(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`);
    await page.getByRole('button', { name: 'Create the subscription' }).click();
    await page.getByText('Choose at least one event type or registration action.').waitFor();

    await page.getByLabel('clinic.example/visit').check();
    await page.getByRole('button', { name: 'Create the subscription' }).click();
    const secret = await page.getByTestId('webhook-secret').innerText();
    expect(secret).toMatch(/^whsec_/);
    const table = page.getByRole('table', { name: 'Subscriptions' });
    await table.getByRole('link', { name: 'Clinic system' }).waitFor();
    await snap(page, 'webhooks-390');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    await expect(page.getByTestId('webhook-secret').count()).resolves.toBe(0);

    const [appended] = await admin.events.append([{ type: 'clinic.example/visit', data: { room: 3 } }]);
    await table.getByRole('link', { name: 'Clinic system' }).click();
    await page.getByRole('heading', { name: 'Clinic system', level: 1 }).waitFor();
    const log = page.getByRole('table', { name: 'Deliveries' });
    // The log shows what the receiver answered once it has been delivered.
    for (let i = 0; i < 60 && !(await log.locator('tbody tr[data-status="delivered"]').count()); i++) {
      await page.waitForTimeout(250);
      await page.reload();
    }
    await expect(log.locator('tbody tr').first().innerText()).resolves.toContain('HTTP 200');
    const first = received[0]!;
    expect((new Webhook(secret).verify(first.body, first.headers as Record<string, string>) as { data: { id: string } }).data.id).toBe(appended!.id);

    await log.getByRole('button', { name: 'Send again' }).click();
    await page.getByText('Queued again.').waitFor();
    for (let i = 0; i < 60 && received.length < 2; i++) await page.waitForTimeout(250);
    expect(received[1]!.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    await page.evaluate(() => localStorage.setItem('cairn.lang', 'fr'));
    await page.goto(`${server.url}/webhooks`);
    await page.getByRole('heading', { name: 'Abonnements' }).waitFor();
    await page.getByRole('button', { name: "Créer l'abonnement" }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(pageErrors).toEqual([]);
  });
});
