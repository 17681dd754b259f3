import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { CairnClient, DatahubApi } from '@cairn/sdk';
import type { TestServer } from '../../server/test/harness.js';
import { SLEEP_DIARY } from '../../sdk/test/instruments.js';
import { DESKTOP, PASSWORD, PHONE, clientFor, launch, openPage, signIn, signInAndLeaveLogin, snap, startServerWithAdmin } from './browser.js';

const DEFINITION = SLEEP_DIARY;

let server: TestServer;
let browser: Browser;
let page: Page;
let workspaceId: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  const started = await startServerWithAdmin();
  server = started.server;
  workspaceId = (await started.admin.workspaces.create({ name: 'Sleep clinic' })).id;
  browser = await launch();
  ({ page } = await openPage(browser, { ...DESKTOP, acceptDownloads: true }, pageErrors));
  await signIn(page, server.url);
  await page.getByRole('link', { name: 'Data hub' }).waitFor();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('the data hub, used as a person would', () => {
  it('defines an instrument in the playground, with its errors pointed out first', async () => {
    await page.goto(`${server.url}/datahub/playground`);
    await page.getByRole('heading', { name: 'Instrument playground' }).waitFor();
    const editor = page.getByRole('textbox', { name: 'Definition (JSON)' });
    const broken = { ...DEFINITION, content: [DEFINITION.content[0], { ...DEFINITION.content[1], visiblewhen: true }, DEFINITION.content[2]] };
    await editor.fill(JSON.stringify(broken, null, 2));
    await page.getByText('One error in the definition').waitFor();
    const pointer = page.getByRole('button', { name: /\/content\/1\/visiblewhen/ });
    await pointer.click();
    // The error selects the offending property in the editor.
    const selected = await editor.evaluate((el: HTMLTextAreaElement) => el.value.slice(el.selectionStart, el.selectionEnd));
    expect(selected).toBe('"visiblewhen": true');
    await snap(page, 'datahub-01-playground-error');

    await editor.fill(JSON.stringify(DEFINITION, null, 2));
    await page.getByText('The definition is valid.').waitFor();
    // The preview renders live, conditional included.
    await expect(page.getByLabel('How many times?').count()).resolves.toBe(0);
    await page.getByLabel('Woke during the night').check();
    await page.getByLabel('How many times?').waitFor();
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.getByText('Published sleep-diary edition 1.').waitFor();
    await snap(page, 'datahub-02-playground');
  });

  it('captures a record with a conditional field, keeping a draft across a reload', async () => {
    await page.goto(`${server.url}/datahub/w/${workspaceId}/subjects`);
    await page.getByRole('heading', { name: 'Subjects', level: 1 }).waitFor();
    await page.getByLabel('Identifier', { exact: true }).fill('SLEEP-001');
    await page.getByRole('button', { name: 'Add subject' }).click();
    await page.getByRole('heading', { name: 'Subject SLEEP-001' }).waitFor();
    await page.getByRole('button', { name: 'Start a session' }).click();
    await page.getByRole('heading', { name: 'Fill an instrument' }).waitFor();
    await page.getByLabel('Instrument').selectOption({ label: 'Sleep diary (edition 1)' });
    await page.getByLabel('Hours slept').fill('5');
    await page.getByLabel('Woke during the night').check();
    await page.getByLabel('How many times?').waitFor();

    // A reload (or an expired login and a new sign-in) loses nothing: the draft is restored.
    await page.reload();
    await page.getByText('Your unsaved answers were restored.').waitFor();
    expect(await page.getByLabel('Hours slept').inputValue()).toBe('5');
    expect(await page.getByLabel('Woke during the night').isChecked()).toBe(true);

    // The conditional question is required once shown.
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.getByText('This answer is required.').waitFor();
    await snap(page, 'datahub-03-capture-errors');
    // In French, the same form speaks French.
    await page.getByLabel('Language of the form').selectOption('fr');
    await page.getByLabel('Combien de fois ?').fill('2');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.getByText('Record saved.').waitFor();
    await snap(page, 'datahub-04-saved');

    // A second night, without waking: the conditional answer is not asked and not stored.
    await page.getByRole('link', { name: 'Back to the subject', exact: true }).click();
    await page.getByRole('link', { name: 'Fill an instrument' }).click();
    await page.getByLabel('Instrument').selectOption({ label: 'Sleep diary (edition 1)' });
    await expect(page.getByText('Your unsaved answers were restored.').count()).resolves.toBe(0);
    await page.getByLabel('Hours slept').fill('7.5');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.getByText('Record saved.').waitFor();
  });

  it("shows the records in the subject's table and graph with a trend line", async () => {
    await page.getByRole('link', { name: 'Back to the subject', exact: true }).click();
    const table = page.locator('table[data-instrument="sleep-diary@1"]');
    await table.waitFor();
    expect(await table.locator('tbody tr').count()).toBe(2);
    expect(await table.locator('tbody').innerText()).toMatch(/5[\s\S]*7\.5/);
    const chart = page.locator('.trend-chart');
    await chart.waitFor();
    expect(await chart.getAttribute('data-points')).toBe('2');
    expect(await chart.locator('canvas').count()).toBeGreaterThan(0);
    await page.getByTestId('trend-slope').waitFor();
    await snap(page, 'datahub-05-subject');

    // The record detail renders with its edition, with its history.
    await table.getByRole('link', { name: 'View' }).first().click();
    await page.getByRole('heading', { name: 'History' }).waitFor();
    await page.getByText('Created').waitFor();
    expect(await page.locator('[data-measure="sleep"]').innerText()).toBe('5');
  });

  it('PHQ-9 on the subject page: measures by their labels, the total score graphed by default, item 9 flagged, French labels and axes', async () => {
    const client = new CairnClient({ baseUrl: server.url });
    client.setToken((await client.auth.login({ username: 'ada', password: PASSWORD })).accessToken);
    const hub = new DatahubApi(client.http);
    const subject = await hub.createSubject(workspaceId, { identifier: 'PHQ-001', identifierKind: 'custom' });
    const session = await hub.startSession(subject.id, { kind: 'in_person' });
    const answers = (q9: number, base: number) => ({ symptoms: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`q${i + 1}`, i === 8 ? q9 : base])), difficulty: 1 });
    await hub.submit(session.id, { instrument: { name: 'phq-9', edition: 1 }, data: answers(0, 1), occurredAt: '2026-01-05T10:00:00Z' });
    await hub.submit(session.id, { instrument: { name: 'phq-9', edition: 1 }, data: answers(2, 2), occurredAt: '2026-02-05T10:00:00Z' });

    await page.goto(`${server.url}/datahub/subjects/${subject.id}`);
    const table = page.locator('table[data-instrument="phq-9@1"]');
    await table.waitFor();
    await table.locator('thead th', { hasText: 'Total score' }).waitFor();
    await table.locator('thead th', { hasText: 'Item 9 endorsed (needs clinical follow-up)' }).waitFor();
    expect(await table.locator('[data-flag="item9Positive"]').count()).toBe(1);
    expect(await page.locator('#graph-measure option:checked').innerText()).toMatch(/Total score$/);
    expect(await page.locator('.trend-chart').getAttribute('aria-label')).toBe('Total score');

    await page.evaluate(() => localStorage.setItem('cairn.lang', 'fr'));
    await page.reload();
    await table.locator('thead th', { hasText: 'Score total' }).waitFor();
    expect(await page.locator('#graph-measure option:checked').innerText()).toMatch(/Score total$/);
    // The legend names the series in French (the axes are drawn on the canvas with Intl dates).
    expect(await page.locator('.trend-chart .u-legend').innerText()).toContain('Score total');
    await snap(page, 'datahub-phq9-fr');
    await page.evaluate(() => localStorage.setItem('cairn.lang', 'en'));
    await page.reload();
    await table.locator('thead th', { hasText: 'Total score' }).waitFor();
  });

  it('capture shows the score as the form is filled: "—" until the engine has every answer it needs, then the total (phone)', async () => {
    const hub = new DatahubApi((await clientFor(server, 'ada')).http);
    const subject = await hub.createSubject(workspaceId, { identifier: 'LIVE-001', identifierKind: 'custom' });
    const session = await hub.startSession(subject.id, { kind: 'in_person' });
    const { context, page: phone } = await openPage(browser, PHONE, pageErrors);
    try {
      await signInAndLeaveLogin(phone, server.url);
      await phone.goto(`${server.url}/datahub/sessions/${session.id}/capture?instrument=phq-9@1`);
      const live = phone.getByTestId('live-measures');
      await live.getByRole('heading', { name: 'Scores so far' }).waitFor();
      const total = live.locator('[data-measure="total"]');
      expect(await total.innerText()).toBe('—');
      // Eight of nine items: still no total (a partial sum would be a wrong score).
      for (let i = 1; i <= 8; i++) await phone.getByRole('radio', { name: /: More than half the days$/ }).nth(i - 1).check();
      expect(await total.innerText()).toBe('—');
      expect(await live.locator('[data-measure="item9"]').innerText()).toBe('—');
      await phone.getByRole('radio', { name: /: Several days$/ }).nth(8).check();
      await expect.poll(() => total.innerText()).toBe('17');
      expect(await live.locator('[data-measure="severity"]').innerText()).toBe('moderately_severe');
      expect(await live.locator('[data-measure="item9Positive"]').innerText()).toBe('Yes');
      // A changed answer changes the score at once.
      await phone.getByRole('radio', { name: /: Not at all$/ }).nth(0).check();
      await expect.poll(() => total.innerText()).toBe('15');
      // No horizontal scrolling at 390 px.
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await snap(phone, 'datahub-live-score-phone');
      // Saved: the server's measures agree with what the page showed.
      await phone.getByRole('radio', { name: 'Somewhat difficult', exact: true }).check();
      await phone.getByRole('button', { name: 'Submit' }).click();
      await phone.getByText('Record saved.').waitFor();
      expect(await phone.locator('[data-measure="total"]').innerText()).toBe('15');
      expect(await phone.getByTestId('live-measures').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('exports the records as CSV with progress, and the file holds them', async () => {
    await page.goto(`${server.url}/datahub/w/${workspaceId}/export`);
    // Issue 17: the page opens with Download disabled; it says why, and the button points at the reason.
    const button = page.getByRole('button', { name: 'Download' });
    await page.getByTestId('export-why').waitFor();
    expect(await button.isDisabled()).toBe(true);
    expect(await page.getByTestId('export-why').innerText()).toContain('choose an instrument first');
    expect(await button.getAttribute('aria-describedby')).toBe('export-why');
    await page.getByLabel('Format').selectOption('json');
    await page.getByTestId('export-why').waitFor({ state: 'detached' });
    expect(await button.isDisabled()).toBe(false);
    await page.getByLabel('Instrument').selectOption({ label: 'Sleep diary' });
    await page.getByLabel('Format').selectOption('csv');
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('workspace-sleep-diary-wide.csv');
    const text = fs.readFileSync((await file.path())!, 'utf8');
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe('record_id,subject,session_id,date,instrument,edition,hours,woke,wakings,measure:sleep');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/,SLEEP-001,.*,sleep-diary,1,5,true,2,5$/);
    expect(lines[2]).toMatch(/,SLEEP-001,.*,sleep-diary,1,7\.5,,,7\.5$/);
    await page.getByText(/^Done: /).waitFor();
  });

  it('export filters: a date range and subjects picked by identifier; the file holds exactly those rows (phone)', async () => {
    const admin = await clientFor(server, 'ada');
    const hub = new DatahubApi(admin.http);
    const ws = (await admin.workspaces.create({ name: 'Filter clinic' })).id;
    // Published by the playground test; this test also runs alone.
    if (!(await hub.instruments.list()).some((i) => i.name === 'sleep-diary')) await hub.instruments.upload(DEFINITION);
    const night = async (identifier: string, date: string, hours: number) => {
      const found = (await hub.subjects(ws, { q: identifier })).subjects.find((x) => x.identifier === identifier);
      const s = found ?? (await hub.createSubject(ws, { identifier, identifierKind: 'custom' }));
      const session = await hub.startSession(s.id, { kind: 'retrospective', date });
      await hub.submit(session.id, { instrument: { name: 'sleep-diary', edition: 1 }, data: { hours } });
      await hub.endSession(session.id);
    };
    await night('F-001', '2024-03-01', 1);
    await night('F-001', '2024-03-10', 2);
    await night('F-002', '2024-03-05', 3);
    await night('F-003', '2024-03-10T23:00:00Z', 4);
    await night('F-003', '2024-03-11', 5);

    const { context, page: phone } = await openPage(browser, { ...PHONE, acceptDownloads: true }, pageErrors);
    try {
      await signInAndLeaveLogin(phone, server.url);
      await phone.goto(`${server.url}/datahub/w/${ws}/export`);
      await phone.getByLabel('Instrument').selectOption({ label: 'Sleep diary' });
      await phone.getByLabel('From').fill('2024-03-05');
      await phone.getByLabel('To').fill('2024-03-10');
      const find = phone.getByLabel('Find a subject by identifier or label');
      await find.fill('F-00');
      await phone.getByRole('button', { name: 'Add F-001' }).click();
      await find.fill('003');
      await phone.getByRole('button', { name: 'Add F-003' }).click();
      await phone.getByText('Only these 2 subjects:').waitFor();
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await snap(phone, 'datahub-export-filters-phone');
      const download = phone.waitForEvent('download');
      await phone.getByRole('button', { name: 'Download' }).click();
      const lines = fs.readFileSync((await (await download).path())!, 'utf8').trim().split('\n').slice(1);
      // F-002 is not chosen; F-001's 1 March and F-003's 11 March are outside; 23:00 on the 10th is the 10th.
      expect(lines.map((l) => l.split(',')).map((c) => `${c[1]}@${c[3]!.slice(0, 10)}:${c[6]}`)).toEqual(['F-001@2024-03-10:2', 'F-003@2024-03-10:4']);

      // A subject removed is no longer exported; reversed dates are said, and block the download.
      await phone.getByRole('button', { name: 'Remove F-001' }).click();
      await phone.getByText('Only this subject:').waitFor();
      await phone.getByLabel('From').fill('2024-03-11');
      await phone.getByText('The end is before the start.').waitFor();
      expect(await phone.getByRole('button', { name: 'Download' }).isDisabled()).toBe(true);
    } finally {
      await context.close();
    }
  });

  it('labels: a derived identifier gets a readable label, shown in place of the hash, searchable, changed on the subject page; a taken label is refused (phone)', async () => {
    const hub = new DatahubApi((await clientFor(server, 'ada')).http);
    const ws = (await (await clientFor(server, 'ada')).workspaces.create({ name: 'Label clinic' })).id;
    await hub.createSubject(ws, { identifier: 'OTHER-1', identifierKind: 'custom', label: 'P-020' });
    const { context, page: phone } = await openPage(browser, PHONE, pageErrors);
    try {
      await signInAndLeaveLogin(phone, server.url);
      await phone.goto(`${server.url}/datahub/w/${ws}/subjects`);
      await phone.getByText('Derived from name, date of birth and sex').click();
      await phone.getByLabel('First name').fill('Marie');
      await phone.getByLabel('Last name').fill('Curie');
      await phone.getByRole('textbox', { name: 'Date of birth' }).fill('1967-11-07');
      await phone.getByRole('combobox', { name: 'Sex' }).selectOption('female');
      await phone.getByLabel('Label (optional)').fill('P-017');
      await phone.getByRole('button', { name: 'Add subject' }).click();
      await phone.getByRole('heading', { name: 'Subject P-017' }).waitFor();
      const subjectUrl = phone.url();
      // The hash is still there, shortened, under the label.
      expect(await phone.locator('.subject-identifier').innerText()).toMatch(/^Identifier: [0-9a-f]{12}…$/);
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await snap(phone, 'datahub-label-phone');

      // Found by the subjects search, and listed by its label.
      await phone.goto(`${server.url}/datahub/w/${ws}/subjects`);
      await phone.getByLabel('Search by identifier or label').fill('017');
      await phone.getByRole('link', { name: 'P-017', exact: true }).waitFor();
      await expect.poll(() => phone.locator('tbody tr').count()).toBe(1);

      // Changed on the subject page; a label another subject has is refused, and nothing changes.
      await phone.goto(subjectUrl);
      const field = phone.getByLabel('Label', { exact: true });
      await field.fill('P-020');
      await phone.getByRole('button', { name: 'Save the label' }).click();
      await phone.getByText('Another subject of this workspace already has this label.').waitFor();
      await field.fill('P-018');
      await phone.getByRole('button', { name: 'Save the label' }).click();
      await phone.getByRole('heading', { name: 'Subject P-018' }).waitFor();
      expect(await phone.getByLabel('Label', { exact: true }).inputValue()).toBe('P-018');
      const mine = (await hub.subjects(ws, { q: 'P-01' })).subjects;
      expect(mine.map((x) => [x.identifierKind, x.label])).toEqual([['derived', 'P-018']]);
      // The export page's subject picker finds it by its label too.
      await phone.goto(`${server.url}/datahub/w/${ws}/export`);
      await phone.getByLabel('Find a subject by identifier or label').fill('p-018');
      await phone.getByRole('button', { name: 'Add P-018' }).waitFor();
    } finally {
      await context.close();
    }
  });

  it('import: a valid date in the future is named as such, not "Enter a real date."', async () => {
    await page.goto(`${server.url}/datahub/w/${workspaceId}/import`);
    await page.getByLabel('Instrument').selectOption({ index: 1 });
    const chosen = await page.getByLabel('Instrument').inputValue();
    expect(chosen).toMatch(/@\d+$/);
    await page.getByLabel('CSV file').setInputFiles({ name: 'future.csv', mimeType: 'text/csv', buffer: Buffer.from('subject,date\nFUT-1,2999-01-01\nFUT-2,2021-13-01\n') });
    await page.getByRole('button', { name: 'Check the file' }).click();
    await page.getByText('This date is in the future: a record is dated when it was collected.').waitFor();
    // A date that does not exist is still "not a real date".
    await page.getByText('Enter a real date.').waitFor();
    expect(await page.getByText('Enter a real date.').count()).toBe(1);
  });

  it('offers demo data on an empty workspace and shows a living dashboard', async () => {
    const sdk = new CairnClient({ baseUrl: server.url });
    sdk.setToken((await sdk.auth.login({ username: 'ada', password: PASSWORD })).accessToken);
    const demo = await sdk.workspaces.create({ name: 'Demo' });
    await page.goto(`${server.url}/datahub`);
    await page.getByLabel('Workspace').selectOption({ label: 'Demo' });
    await page.getByRole('button', { name: 'Load demo data' }).click();
    await page.getByText(/Demo data loaded: 24 subjects/).waitFor();
    expect(await page.locator('[data-stat="subjects"] .stat-value').innerText()).toBe('24');
    await snap(page, 'datahub-06-dashboard');
    const summary = await new DatahubApi(sdk.http).summary(demo.id);
    expect(summary.subjects).toBe(24);
    expect(pageErrors).toEqual([]);
  });
});
