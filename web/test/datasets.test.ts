import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { CairnClient } from '@cairn/sdk';
import type { TestServer } from '../../server/test/harness.js';
import { DESKTOP, launch, openPage, signIn, snap, startServerWithAdmin } from './browser.js';

let server: TestServer;
let browser: Browser;
let page: Page;
let sdk: CairnClient;
const pageErrors: string[] = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-web-ds-'));

beforeAll(async () => {
  ({ server, admin: sdk } = await startServerWithAdmin());
  browser = await launch();
  ({ page } = await openPage(browser, DESKTOP, pageErrors, { timeout: 15_000 }));
  await signIn(page, server.url);
  await page.getByRole('link', { name: 'Datasets', exact: true }).waitFor();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function upload(files: Record<string, string>) {
  const paths = Object.entries(files).map(([name, content]) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  });
  await page.getByRole('tab', { name: 'Upload' }).click();
  await page.getByTestId('upload-input').setInputFiles(paths);
  await page.getByRole('button', { name: /^Upload \d+ files?$/ }).click();
  await page.getByText('Uploaded and committed to the draft.').waitFor();
}

describe('datasets in the browser', () => {
  it('create → upload → snapshot → upload a change → snapshot → diff', async () => {
    await page.getByRole('link', { name: 'Datasets', exact: true }).click();
    await page.getByLabel('Title', { exact: true }).fill('Reaction times');
    await page.getByRole('button', { name: 'Create dataset' }).click();
    await page.getByRole('heading', { name: /Reaction times/ }).waitFor();
    const accession = /\/datasets\/(ds\d{6})/.exec(page.url())![1]!;

    await upload({ 'README.md': '# Reaction times\n', 'participants.tsv': 'participant_id\tage\nsub-01\t31\n' });
    await page.getByRole('tab', { name: 'Files' }).click();
    await page.getByRole('button', { name: 'participants.tsv', exact: true }).click();
    await page.getByRole('cell', { name: 'participant_id' }).waitFor();

    await page.getByRole('tab', { name: 'Snapshots' }).click();
    await page.getByLabel('Changelog').fill('First release');
    await page.getByRole('button', { name: 'Create snapshot' }).click();
    await page.getByText(/0\.1\.0/).waitFor();
    await snap(page, 'datasets-snapshot');

    await upload({ 'participants.tsv': 'participant_id\tage\nsub-01\t31\nsub-02\t45\n' });
    await page.getByRole('tab', { name: 'Snapshots' }).click();
    await page.getByLabel('Changelog').fill('Second participant');
    await page.getByRole('button', { name: 'Create snapshot' }).click();
    await page.getByText(/0\.2\.0/).waitFor();

    await page.reload();
    await page.getByRole('tab', { name: 'Compare' }).click();
    await page.getByLabel('From').selectOption('0.1.0');
    await page.getByLabel('To').selectOption('0.2.0');
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.getByText(/0 added, 0 removed, 1 modified/).waitFor();
    await page.getByRole('button', { name: 'participants.tsv' }).click();
    await page.locator('pre.line-diff').waitFor();
    expect(await page.locator('pre.line-diff').textContent()).toContain('+sub-02\t45');
    await snap(page, 'datasets-diff');

    const d = await sdk.datasets.get(accession);
    expect(d.snapshots.map((s) => s.tag)).toEqual(['0.2.0', '0.1.0']);
    expect(pageErrors).toEqual([]);
  });

  it('a large upload interrupted by leaving the page resumes at the byte when the file is chosen again', async () => {
    const { accession } = await sdk.datasets.create({ title: 'Big scans' });
    const big = path.join(dir, 'scan.bin');
    const content = crypto.randomBytes(6 * 1024 * 1024);
    fs.writeFileSync(big, content);
    await page.goto(`${server.url}/datasets/${accession}`);
    await page.getByRole('tab', { name: 'Upload' }).click();

    // A slow link, so the upload is still under way when the page goes away.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 512 * 1024 });
    await page.getByTestId('upload-input').setInputFiles([big]);
    await page.getByRole('button', { name: /^Upload 1 file$/ }).click();
    await page.waitForFunction(() => Number(document.querySelector('progress')?.getAttribute('value') ?? 0) > 2 * 1024 * 1024, undefined, { timeout: 30_000 });
    await page.reload();
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

    const offsets: number[] = [];
    page.on('request', (r) => {
      if (r.method() === 'PATCH' && r.url().includes('/api/v1/uploads/tus/')) offsets.push(Number(r.headers()['upload-offset']));
    });
    await page.getByRole('tab', { name: 'Upload' }).click();
    await page.getByTestId('upload-input').setInputFiles([big]);
    await page.getByRole('button', { name: /^Upload 1 file$/ }).click();
    await page.getByText('Uploaded and committed to the draft.').waitFor({ timeout: 30_000 });
    // The second attempt started where the server's copy ended (told by tus's HEAD), not at byte
    // 0. That can be short of what the page had sent: bytes still in flight when it went away, or
    // not yet written, are sent again.
    expect(offsets.length).toBeGreaterThan(0);
    expect(offsets[0]).toBeGreaterThan(0);
    expect(offsets[0]).toBeLessThan(content.length);
    const stored = await sdk.datasets.download(accession, 'draft', 'scan.bin');
    expect(crypto.createHash('sha256').update(Buffer.from(await stored.arrayBuffer())).digest('hex')).toBe(crypto.createHash('sha256').update(content).digest('hex'));
    expect(pageErrors).toEqual([]);
  });

  it('authoring in the browser (details, README, folder and dropped files, rename, delete, grouped validation), then shared: a reviewer link and the public list without an account', async () => {
    const { accession } = await sdk.datasets.create({ title: 'Flanker study' });
    await page.goto(`${server.url}/datasets/${accession}`);

    // Details and README, written from the page.
    await page.getByRole('tab', { name: 'Details' }).click();
    await page.getByLabel('Description').fill('Attention in adolescents');
    await page.getByLabel('License').fill('CC0');
    await page.getByLabel('Authors').fill('Grace Hopper\nAlan Turing');
    await page.getByLabel('Modalities').fill('EEG');
    await page.getByLabel('README (README.md)').fill('# Flanker study\n');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();

    // A folder keeps its tree; a dropped file lands at the root.
    const folder = path.join(dir, 'sub-01');
    fs.mkdirSync(path.join(folder, 'eeg'), { recursive: true });
    fs.writeFileSync(path.join(folder, 'eeg', 'events.tsv'), 'onset\tduration\n1\t2\n');
    fs.writeFileSync(path.join(folder, 'eeg', 'broken.json'), '{"a": 1,}');
    fs.writeFileSync(path.join(folder, 'notes.txt'), 'pilot');
    await page.getByRole('tab', { name: 'Upload' }).click();
    await page.getByTestId('upload-folder').setInputFiles(folder);
    await page.getByText('sub-01/eeg/events.tsv').waitFor();
    await page.getByRole('button', { name: 'Upload 3 files' }).click();
    await page.getByText('Uploaded and committed to the draft.').waitFor();
    await page.getByTestId('dropzone').evaluate((zone) => {
      const dt = new DataTransfer();
      dt.items.add(new File(['participant_id\n'], 'participants.tsv'));
      dt.items.add(new File(['{"Name": "Flanker", "BIDSVersion": "1.9.0"}'], 'dataset_description.json'));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.getByRole('button', { name: 'Upload 2 files' }).click();
    await page.getByText('Uploaded and committed to the draft.').waitFor();
    const paths = (await sdk.datasets.files(accession, 'draft')).files.map((f) => f.path).sort();
    expect(paths).toEqual(['README.md', 'dataset_description.json', 'participants.tsv', 'sub-01/eeg/broken.json', 'sub-01/eeg/events.tsv', 'sub-01/notes.txt']);

    // Validation: one group per rule, each file listed, a link to the rule.
    await page.getByRole('tab', { name: 'Validation' }).click();
    const group = page.locator('details.issue-error', { hasText: 'json_invalid' });
    await group.getByRole('cell', { name: 'sub-01/eeg/broken.json' }).waitFor();
    expect(await group.getByRole('link', { name: 'About json_invalid' }).getAttribute('href')).toBe('/datasets/rules#json_invalid');

    // Rename and delete in the draft.
    await page.getByRole('tab', { name: 'Files' }).click();
    await page.getByRole('button', { name: '📁 sub-01' }).click();
    await page.getByRole('button', { name: 'Rename notes.txt' }).click();
    await page.getByLabel('New name').fill('pilot-notes.txt');
    await page.getByRole('button', { name: 'Rename', exact: true }).click();
    await page.getByRole('button', { name: 'pilot-notes.txt', exact: true }).waitFor();
    await page.getByRole('button', { name: '📁 eeg' }).click();
    await page.getByRole('button', { name: 'Delete broken.json' }).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('button', { name: 'broken.json', exact: true }).waitFor({ state: 'detached' });
    await snap(page, 'datasets-authoring');
    expect((await sdk.datasets.files(accession, 'draft')).files.map((f) => f.path).sort()).toEqual(['README.md', 'dataset_description.json', 'participants.tsv', 'sub-01/eeg/events.tsv', 'sub-01/pilot-notes.txt']);
    const d = await sdk.datasets.get(accession);
    expect([d.description, d.license, d.authors, d.modalities]).toEqual(['Attention in adolescents', 'CC0', ['Grace Hopper', 'Alan Turing'], ['eeg']]);
    await sdk.datasets.snapshot(accession, { bump: 'major', changelog: 'for review' });

    // A reviewer link opens the read-only page, in a browser that never signed in.
    await page.reload();
    await page.getByRole('tab', { name: 'Access' }).click();
    await page.getByRole('button', { name: 'New reviewer link (30 days)' }).click();
    const link = (await page.locator('.alert code').textContent())!;
    expect(link).toMatch(new RegExp(`^${server.url}/datasets/${accession}\\?review=cairn_rev_`));
    const outsider = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-GB' });
    const guest = await outsider.newPage();
    guest.on('pageerror', (e) => pageErrors.push(e.message));
    await guest.goto(link);
    await guest.getByRole('heading', { name: /Flanker study/ }).waitFor();
    await guest.getByText('You are viewing this dataset through a reviewer link').waitFor();
    expect(await guest.getByRole('tab').allTextContents()).toEqual(['Files', 'Snapshots', 'Compare', 'Validation']);
    await guest.getByRole('button', { name: 'README.md' }).click();
    await guest.locator('.preview pre').getByText('# Flanker study').waitFor();
    const zip = await guest.getByRole('link', { name: 'Download .zip' }).getAttribute('href');
    expect(zip).toContain('review=cairn_rev_');
    expect((await guest.request.get(new URL(zip!, server.url).toString())).status()).toBe(200);
    expect(await guest.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    // Public: listed and found by author without an account.
    await sdk.datasets.update(accession, { public: true });
    await guest.goto(`${server.url}/datasets`);
    await guest.getByRole('heading', { name: 'Public datasets' }).waitFor();
    await guest.getByLabel('Author').fill('turing');
    await guest.getByRole('button', { name: 'Search' }).click();
    await guest.getByRole('link', { name: accession }).click();
    await guest.getByRole('heading', { name: /Flanker study/ }).waitFor();
    await guest.getByText('Grace Hopper, Alan Turing').waitFor();
    await snap(guest, 'datasets-public');
    await outsider.close();
    expect(pageErrors).toEqual([]);
  });
});
