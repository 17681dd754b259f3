import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { CairnClient, isCairnError, type AppendEvent, type LedgerEntry } from '@cairn/sdk';
import type { TestServer } from '../../server/test/harness.js';
import { CALENDAR_EVENT_SCHEMA, CALENDAR_EVENT_TYPE } from '../../server/test/fixtures/calendar.js';
import { DESKTOP, launch, openPage, signIn, snap, snapIfFailed, startServerWithAdmin } from './browser.js';

/**
 * The Control Centre, used as a person would, with the test playing the third-party app over
 * HTTP (the SDK) between the admin's clicks: register → association code read off the screen →
 * associate → token → event type → permission request → approve in the UI → the app writes →
 * the admin sees activity and events → revoke in the UI → the app is refused.
 */

const TYPE = CALENDAR_EVENT_TYPE;
const OTHER = 'contacts.example/person';
const SCHEMA = CALENDAR_EVENT_SCHEMA;

let server: TestServer;
let browser: Browser;
let page: Page;
let admin: CairnClient;
/** The third-party app, as it would talk to Cairn. */
let calendar: CairnClient;
let associationCode = '';
let appId = '';
let credentials: { clientId: string; clientSecret: string };
const pageErrors: string[] = [];

/** Six days (2-7 March 2026), five events a day; mornings on the work stream, the rest at home. */
function week(): AppendEvent[] {
  const events: AppendEvent[] = [];
  for (let d = 2; d <= 7; d++) {
    for (const h of [8, 10, 12, 14, 16]) {
      const at = `2026-03-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00Z`;
      events.push({
        type: TYPE,
        stream: h < 12 ? 'calendar:work' : 'calendar:home',
        occurredAt: at,
        data: { startTime: at, endTime: at.replace(':00:00Z', ':45:00Z'), title: `Meeting ${d}/${h}`, description: `day ${d}`, color: '#3366cc' },
      });
    }
  }
  return events;
}

async function refused(p: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await p;
  } catch (e) {
    if (isCairnError(e)) return { status: e.status, code: e.code };
    throw e;
  }
  throw new Error('expected the call to be refused');
}

const eventRows = () => page.locator('table[aria-label="Event browser"] tbody tr');
const pagerStatus = () => page.locator('.cc-pager-head [role="status"]');

beforeAll(async () => {
  ({ server, admin } = await startServerWithAdmin());
  calendar = new CairnClient({ baseUrl: server.url });
  browser = await launch();
  // UTC in the browser: the occurredAt range typed into the form means what the test says.
  ({ page } = await openPage(browser, { ...DESKTOP, timezoneId: 'UTC' }, pageErrors, { timeout: 10_000 }));
  await signIn(page, server.url);
  await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Control Centre' }).waitFor();
});

afterEach((ctx) => snapIfFailed(ctx, page, 'cc-failed-'));

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('the Control Centre, through the whole approval flow', () => {
  it('registers an app and shows its one-time association code as text and QR, with its expiry', async () => {
    await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Control Centre' }).click();
    await page.getByRole('heading', { name: 'Apps', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/control-centre/apps');
    await page.getByText('No apps yet. Register one to get its association code.').waitFor();

    // An empty name is refused by the form before anything is sent.
    await page.getByRole('button', { name: 'Register', exact: true }).click();
    expect(await page.getByLabel('Name').evaluate((el: HTMLInputElement) => el.validity.valueMissing)).toBe(true);

    await page.getByLabel('Name').fill('Family calendar');
    await page.getByLabel('Description').fill('Keeps the family’s appointments');
    await page.getByRole('button', { name: 'Register', exact: true }).click();
    const box = page.getByRole('region', { name: 'Association code for Family calendar' });
    await box.waitFor();
    associationCode = (await box.getByTestId('association-code').textContent())!.trim();
    expect(associationCode).toMatch(/^cairn_assoc_\S{16,}$/);

    // The QR code is rendered in the browser (a data: URL, no third-party service) and shown.
    const qr = box.getByRole('img', { name: 'QR code of the association code for Family calendar' });
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);

    // It expires in about a day (the server's default), and says so on screen.
    const expires = await box.locator('time').getAttribute('datetime');
    const hours = (new Date(expires!).getTime() - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(23);
    expect(hours).toBeLessThanOrEqual(24);
    await expect(box.getByText(/^Expires:/).textContent()).resolves.toContain('2');

    const row = page.locator('tr[data-app="Family calendar"]');
    await row.getByText('Waiting for association').waitFor();
    appId = new URL((await row.getByRole('link', { name: 'Family calendar' }).getAttribute('href'))!, server.url).pathname.split('/').pop()!;
    expect(appId).toMatch(/^[0-9a-f-]{36}$/);
    await snap(page, 'cc-01-registered');

    await box.getByRole('button', { name: 'Done' }).click();
    await expect(box.count()).resolves.toBe(0);
  });

  it('the app associates with the code from the screen (once), gets a token, registers its type and asks for permissions', async () => {
    credentials = await calendar.apps.associate(associationCode);
    expect(credentials.clientSecret).toMatch(/^cairn_cs_/);
    // The code works once.
    await expect(refused(calendar.apps.associate(associationCode))).resolves.toMatchObject({ status: 400, code: 'invalid_grant' });

    // The client-credentials grant, form-encoded as RFC 6749 says.
    const res = await fetch(`${server.url}/api/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret }),
    });
    expect(res.status).toBe(200);
    const token = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
    expect(token.token_type).toBe('Bearer');
    calendar.setToken(token.access_token);

    await calendar.eventTypes.register({ name: TYPE, schema: SCHEMA, description: 'A calendar event' });
    // Without a grant the app cannot write its own type.
    await expect(refused(calendar.events.append(week().slice(0, 1)))).resolves.toMatchObject({ status: 403 });
    const ask = await calendar.apps.askPermission({ eventType: TYPE, read: true, create: true, modify: true, delete: true, message: 'To keep your calendar in sync with your phone' });
    expect(ask.status).toBe('pending');

    // A second request, for a type an administrator registered, which will be declined.
    await admin.eventTypes.register({ name: OTHER, schema: { type: 'object' }, description: 'A contact' });
    await calendar.apps.askPermission({ eventType: OTHER, read: true, message: 'To show birthdays' });

    // The admin's list shows the app associated, with two requests waiting.
    await page.reload();
    const row = page.locator('tr[data-app="Family calendar"]');
    await row.getByText('Associated').waitFor();
    await expect(row.locator('td').nth(1).textContent()).resolves.toBe('2');
  });

  it('the admin sees the requests pending (with a count on the tab) and approves one, declines the other', async () => {
    const tab = page.getByRole('navigation', { name: 'Control Centre sections' }).getByRole('link', { name: /Permission requests/ });
    await tab.getByText('2 pending requests').waitFor();
    await tab.click();
    await page.getByRole('heading', { name: 'Permission requests', level: 1 }).waitFor();

    const pendingList = page.getByRole('list', { name: 'Awaiting a decision' });
    const calendarRequest = pendingList.locator(`li[data-request="${TYPE}"]`);
    await expect(calendarRequest.locator('.cc-request-head').textContent()).resolves.toBe(`Family calendar asks to read, create, modify, and delete ${TYPE}`);
    await expect(calendarRequest.locator('blockquote').textContent()).resolves.toBe('To keep your calendar in sync with your phone');
    await expect(pendingList.locator(`li[data-request="${OTHER}"] .cc-request-head`).textContent()).resolves.toBe(`Family calendar asks to read ${OTHER}`);
    await snap(page, 'cc-02-pending');

    await page.getByRole('button', { name: `Approve Family calendar on ${TYPE}` }).click();
    await page.getByText(`Approved: Family calendar may now read, create, modify, and delete ${TYPE}.`).waitFor();
    await page.getByRole('button', { name: `Decline Family calendar on ${OTHER}` }).click();
    await page.getByText(`Declined: Family calendar on ${OTHER}.`).waitFor();
    await page.getByText('No requests are waiting.').waitFor();
    // The badge goes once nothing waits.
    await page.getByTestId('pending-count').waitFor({ state: 'detached' });

    const decided = page.getByRole('table', { name: 'Decided recently' });
    await expect(decided.locator(`tr[data-request="${TYPE}"]`).getAttribute('data-status')).resolves.toBe('approved');
    // Declined, not "revoked" (issue 17): the app and the page tell a refusal from a grant taken back.
    await expect(decided.locator(`tr[data-request="${OTHER}"]`).getAttribute('data-status')).resolves.toBe('declined');
    await expect(decided.locator(`tr[data-request="${OTHER}"] .status`).textContent()).resolves.toBe('Declined');
    await snap(page, 'cc-03-decided');

    // The app sees the outcome when it polls.
    const mine = await calendar.apps.myRequests();
    expect(Object.fromEntries(mine.map((r) => [r.eventType, r.status]))).toEqual({ [TYPE]: 'approved', [OTHER]: 'declined' });
  });

  it('the app can now write, modify and delete, but still not the declined type; the app page shows grants and activity', async () => {
    const appended = await calendar.events.append(week());
    expect(appended).toHaveLength(30);
    await expect(refused(calendar.events.append([{ type: OTHER, data: {} }]))).resolves.toMatchObject({ status: 403 });

    // Modify the 10:00 meeting of 4 March, delete its 16:00 one.
    const day = await calendar.events.list<{ title: string }>({ type: TYPE, from: '2026-03-04T00:00:00Z', to: '2026-03-05T00:00:00Z' });
    const byTitle = new Map(day.events.map((e) => [e.data.title, e] as const));
    const moved = byTitle.get('Meeting 4/10')!;
    await calendar.eventTypes.modifyEvent(moved.id, { ...(moved.data as object), title: 'Moved stand-up' });
    await calendar.eventTypes.deleteEvent(byTitle.get('Meeting 4/16')!.id);

    await page.goto(`${server.url}/control-centre/apps/${appId}`);
    await page.getByRole('heading', { name: 'Family calendar', level: 1 }).waitFor();
    const grants = page.getByRole('table', { name: 'Grants' });
    const grant = grants.locator(`tr[data-grant="${TYPE}"]`);
    for (const right of ['read', 'create', 'modify', 'delete']) {
      await expect(grant.locator(`td[data-right="${right}"]`).textContent()).resolves.toContain(`${right}: Yes`);
    }
    await expect(grants.locator(`tr[data-grant="${OTHER}"]`).count()).resolves.toBe(0);

    const activity = page.getByRole('table', { name: 'Recent activity' });
    await activity.getByRole('button', { name: 'Deleted an event' }).waitFor();
    await expect(activity.getByRole('button', { name: 'Modified an event' }).count()).resolves.toBe(1);
    // The batch reads as one line with a count, not a wall of identical rows.
    const writes = activity.locator('tr', { has: page.getByRole('button', { name: `Wrote ${TYPE}` }) });
    const counts = (await writes.evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-count'))))).sort((x, y) => y - x);
    expect(counts[0]).toBeGreaterThanOrEqual(15);
    await expect(writes.filter({ hasText: `${counts[0]} times` }).count()).resolves.toBe(1);

    // The request history keeps both decisions.
    const requests = page.getByRole('table', { name: 'Permission requests' });
    await expect(requests.locator(`tr[data-request="${OTHER}"]`).getAttribute('data-status')).resolves.toBe('declined');

    // An activity entry opens with its data.
    await activity.getByRole('button', { name: 'Deleted an event' }).click();
    const drawer = page.getByRole('dialog');
    await expect(drawer.locator('pre').textContent()).resolves.toContain('"reason": "deleted"');
    await snap(page, 'cc-04-app-page');
    await page.keyboard.press('Escape');
    await expect(drawer.count()).resolves.toBe(0);
  });

  it('shows event types with their schema versions', async () => {
    // The app adds a version: an optional location.
    const v2 = { ...SCHEMA, properties: { ...SCHEMA.properties, location: { type: 'string', maxLength: 200 } } };
    expect((await calendar.eventTypes.register({ name: TYPE, schema: v2 })).version).toBe(2);

    await page.getByRole('navigation', { name: 'Control Centre sections' }).getByRole('link', { name: 'Event types' }).click();
    await page.getByRole('heading', { name: 'Event types', level: 1 }).waitFor();
    const row = page.locator(`tr[data-type="${TYPE}"]`);
    await expect(row.locator('td.num').textContent()).resolves.toBe('v2');
    await expect(row.getByRole('link', { name: 'an app' }).getAttribute('href')).resolves.toBe(`/control-centre/apps/${appId}`);
    await expect(page.locator(`tr[data-type="${OTHER}"]`).getByText('an administrator').count()).resolves.toBe(1);

    await row.getByRole('link', { name: TYPE }).click();
    await page.getByRole('heading', { name: TYPE, level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/control-centre/event-types/${TYPE}`);
    const schema = page.getByRole('region', { name: 'Schema of version 2' });
    await expect(schema.locator('pre').textContent()).resolves.toContain('"location"');
    // Highlighted, not a raw dump.
    expect(await schema.locator('.hljs-attr').count()).toBeGreaterThan(5);
    await snap(page, 'cc-05-event-type');

    await page.getByRole('button', { name: 'View version 1' }).click();
    const v1 = page.getByRole('region', { name: 'Schema of version 1' });
    await expect(v1.locator('pre').textContent()).resolves.toContain('"additionalProperties": false');
    await expect(v1.locator('pre').textContent()).resolves.not.toContain('location');
    await expect(page.getByRole('button', { name: 'View version 1' }).getAttribute('aria-pressed')).resolves.toBe('true');
  });

  it('browses the events by type, occurrence range and stream, pages with the cursor and opens an entry with its history', async () => {
    await page.getByRole('link', { name: 'Browse its events' }).click();
    await page.getByRole('heading', { name: 'Event browser', level: 1 }).waitFor();
    await expect(page.getByLabel('Event type').inputValue()).resolves.toBe(TYPE);
    // 30 written, one deleted, one replaced by its new version: 29 current events.
    await page.getByLabel('Per page').selectOption('25');
    await page.getByRole('button', { name: 'Apply' }).click();
    await pagerStatus().getByText('Page 1 · 25 events').waitFor();
    await expect(eventRows().count()).resolves.toBe(25);
    const firstPage = await eventRows().evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    await page.getByRole('button', { name: 'Next page' }).click();
    await pagerStatus().getByText('Page 2 · 4 events').waitFor();
    const secondPage = await eventRows().evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    expect(secondPage.filter((id) => firstPage.includes(id))).toEqual([]);
    // The new version of the modified event comes last: it is the newest entry.
    await expect(eventRows().last().textContent()).resolves.toContain('Moved stand-up');
    await expect(page.getByRole('button', { name: 'Next page' }).isDisabled()).resolves.toBe(true);
    await snap(page, 'cc-06-events-page-2');
    await page.getByRole('button', { name: 'Previous page' }).click();
    await pagerStatus().getByText('Page 1 · 25 events').waitFor();
    expect(await eventRows().evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')))).toEqual(firstPage);

    // One day, by occurrence time: 5 written, one modified (its new version counts), one deleted.
    await page.getByLabel('Occurred from').fill('2026-03-04T00:00');
    await page.getByLabel('Occurred before').fill('2026-03-05T00:00');
    await page.getByRole('button', { name: 'Apply' }).click();
    await pagerStatus().getByText('Page 1 · 4 events').waitFor();
    const titles = await eventRows().locator('td.data-cell').allTextContents();
    expect(titles.map((t) => (JSON.parse(t) as { title: string }).title).sort()).toEqual(['Meeting 4/12', 'Meeting 4/14', 'Meeting 4/8', 'Moved stand-up']);
    expect(new URL(page.url()).searchParams.get('from')).toBe('2026-03-04T00:00:00.000Z');

    // And one stream of that day.
    await page.getByLabel('Stream').fill('calendar:work');
    await page.getByRole('button', { name: 'Apply' }).click();
    await pagerStatus().getByText('Page 1 · 2 events').waitFor();
    await expect(eventRows().locator('td.data-cell').allTextContents()).resolves.toEqual([expect.stringContaining('Meeting 4/8'), expect.stringContaining('Moved stand-up')]);

    // Every version: the replaced one and the erased one come back, the erased without data.
    await page.getByLabel('Stream').fill('');
    await page.getByLabel('Current versions only').uncheck();
    await page.getByRole('button', { name: 'Apply' }).click();
    await pagerStatus().getByText('Page 1 · 6 events').waitFor();
    await expect(eventRows().locator('td.data-cell', { hasText: 'Data erased' }).count()).resolves.toBe(1);
    await snap(page, 'cc-07-events-all-versions');

    // The modified event's detail shows both versions, the new one current.
    const moved = eventRows().filter({ hasText: 'Moved stand-up' });
    await moved.locator('td.num button').click();
    const drawer = page.getByRole('dialog');
    await drawer.getByRole('heading', { name: 'Versions' }).waitFor();
    const versions = drawer.locator('.cc-history > li');
    await expect(versions.count()).resolves.toBe(2);
    await expect(versions.nth(0).textContent()).resolves.toContain('Meeting 4/10');
    await expect(versions.nth(1).textContent()).resolves.toContain('Moved stand-up');
    await expect(versions.nth(1).getByText('current', { exact: true }).count()).resolves.toBe(1);
    await snap(page, 'cc-08-event-detail');
    await drawer.getByRole('button', { name: 'Close' }).click();

    // A backwards range is refused in the form.
    await page.getByLabel('Occurred from').fill('2026-03-06T00:00');
    await page.getByLabel('Occurred before').fill('2026-03-05T00:00');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('alert').getByText('The start must be before the end.').waitFor();
  });

  it('revokes the grant, then the app, from its page; the app is refused on its next request', async () => {
    // Still allowed just before.
    expect((await calendar.events.list({ type: TYPE, limit: 1 })).events).toHaveLength(1);

    await page.goto(`${server.url}/control-centre/apps/${appId}`);
    await page.getByRole('heading', { name: 'Family calendar', level: 1 }).waitFor();
    await page.getByRole('button', { name: `Revoke the grant on ${TYPE}` }).click();
    await page.getByText(`Revoke the grant on ${TYPE}? The app loses it on its next request.`).waitFor();
    await page.getByRole('table', { name: 'Grants' }).getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.getByText(`Revoked: Family calendar on ${TYPE}.`).waitFor();
    await page.getByText('This app holds no grants.').waitFor();
    await expect(refused(calendar.events.list({ type: TYPE }))).resolves.toMatchObject({ status: 403, code: 'forbidden' });
    await expect(refused(calendar.events.append(week().slice(0, 1)))).resolves.toMatchObject({ status: 403 });

    await page.getByRole('button', { name: 'Revoke app' }).click();
    await page.getByText('Revoke Family calendar? Its tokens stop working on its next request, and it cannot be undone.').waitFor();
    await page.getByRole('group', { name: 'Revoke app' }).getByRole('button', { name: 'Revoke app' }).click();
    await page.getByText('Family calendar is revoked: its tokens no longer work.').waitFor();
    await expect(page.locator('.page-head').getByText('Revoked', { exact: true }).count()).resolves.toBe(1);
    await expect(page.getByRole('button', { name: 'New association code' }).count()).resolves.toBe(0);
    const activity = page.getByRole('table', { name: 'Recent activity' });
    await expect(activity.getByRole('button', { name: 'App revoked' }).count()).resolves.toBe(1);
    await expect(activity.getByRole('button', { name: `Revoked: read, create, modify, and delete ${TYPE}` }).count()).resolves.toBe(1);
    await expect(activity.getByRole('button', { name: `Registered ${TYPE} version 2` }).count()).resolves.toBe(1);
    await snap(page, 'cc-09-revoked');

    await expect(refused(calendar.apps.me())).resolves.toMatchObject({ status: 401 });
    await expect(refused(calendar.apps.token(credentials))).resolves.toMatchObject({ status: 401, code: 'invalid_client' });
    // The events it wrote stay, readable by the admin.
    expect((await admin.events.list<unknown>({ type: TYPE, limit: 100 })).events.filter((e: LedgerEntry) => e.actor.kind === 'app').length).toBeGreaterThan(29);
  });

  it('issues a fresh association code for a lost secret, and speaks French', async () => {
    const app = await admin.apps.register({ name: 'Notebook' });
    await page.goto(`${server.url}/control-centre/apps/${app.id}`);
    await page.getByRole('heading', { name: 'Notebook', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'New association code' }).click();
    const box = page.getByRole('region', { name: 'Association code for Notebook' });
    const fresh = (await box.getByTestId('association-code').textContent())!.trim();
    expect(fresh).not.toBe(app.associationCode);
    // The first code stopped working; the fresh one works.
    await expect(refused(new CairnClient({ baseUrl: server.url }).apps.associate(app.associationCode))).resolves.toMatchObject({ code: 'invalid_grant' });
    await new CairnClient({ baseUrl: server.url }).apps.associate(fresh);

    await page.getByLabel('Language').selectOption('fr');
    await page.getByRole('navigation', { name: 'Sections du Centre de contrôle' }).getByRole('link', { name: 'Applications' }).click();
    await page.getByRole('heading', { name: 'Applications', level: 1 }).waitFor();
    await page.locator('tr[data-app="Family calendar"]').getByText('Révoquée').waitFor();
    await page.locator('tr[data-app="Notebook"]').getByText('Associée').waitFor();
    await page.getByRole('button', { name: 'Enregistrer', exact: true }).waitFor();
    await snap(page, 'cc-10-french');
    await page.getByLabel('Langue').selectOption('en');
    await page.getByRole('heading', { name: 'Apps', level: 1 }).waitFor();
  });

  it('approves part of a request (read, not modify), test-runs a view template on samples, and links to the ledger verification', async () => {
    const reg = await admin.apps.register({ name: 'Reader' });
    const reader = new CairnClient({ baseUrl: server.url });
    const creds = await reader.apps.associate(reg.associationCode);
    reader.setToken((await reader.apps.token(creds)).access_token);
    await reader.apps.askPermission({ eventType: TYPE, read: true, modify: true, message: 'To show your week' });
    await page.goto(`${server.url}/control-centre/requests`);
    const item = page.getByRole('list', { name: 'Awaiting a decision' }).locator(`li[data-app="Reader"]`);
    await item.getByRole('checkbox', { name: `Grant modify on ${TYPE}` }).uncheck();
    await item.getByRole('button', { name: `Approve the ticked rights of Reader on ${TYPE}` }).click();
    await page.getByText(`Approved: Reader may now read ${TYPE}.`).waitFor();
    const [mine] = await reader.apps.myRequests();
    expect(mine).toMatchObject({ status: 'approved', read: true, modify: false, requested: { read: true, modify: true } });

    const template = await admin.views.registerTemplate({ name: 'Count', runtime: 'javascript', eventTypes: [TYPE], files: { 'main.js': `export default async ({ input, events }) => { const p = await events.query({ type: '${TYPE}' }); return { n: p.events.length, hello: input.name }; };` } });
    await page.goto(`${server.url}/views/templates/${template.id}`);
    await page.getByLabel('Input (JSON)').fill('{"name": "Ada"}');
    await page.getByRole('button', { name: 'Run test' }).click();
    const result = page.getByTestId('test-run-result');
    await result.waitFor();
    // The one prefilled sample of the template's type, never the stored events.
    expect(JSON.parse((await result.locator('pre').textContent())!)).toEqual({ n: 1, hello: 'Ada' });

    await page.goto(`${server.url}/control-centre/apps`);
    await page.getByRole('navigation', { name: 'Control Centre sections' }).getByRole('link', { name: 'Ledger verification' }).click();
    await page.getByRole('region', { name: 'Ledger verification' }).waitFor();
  });

  it('keeps the Control Centre from people without the scope', async () => {
    await admin.users.create({ username: 'bob', password: 'another long passphrase', role: 'member' });
    const other = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB' });
    try {
      const p = await other.newPage();
      await p.goto(`${server.url}/login`);
      await p.getByLabel('Username').fill('bob');
      await p.getByLabel('Password').fill('another long passphrase');
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.getByRole('navigation', { name: 'Main navigation' }).waitFor();
      await expect(p.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Control Centre' }).count()).resolves.toBe(0);
      await p.goto(`${server.url}/control-centre/requests`);
      await p.getByRole('heading', { name: 'Page not found' }).waitFor();
    } finally {
      await other.close();
    }
  });

  it('raised no errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
