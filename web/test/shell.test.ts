import { generate } from 'otplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CairnClient, isCairnError } from '@cairn/sdk';
import type { TestServer } from '../../server/test/harness.js';
import { freshTotpCode } from '../../server/test/totp.js';
import { DESKTOP, PASSWORD, launch, openPage, snap, snapIfFailed, startServer } from './browser.js';

const BOB_PASSWORD = 'another long passphrase';

let server: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let totpSecret = '';
const pageErrors: string[] = [];

/** A code for a TOTP secret, as an authenticator app would show it: a fresh one each time (a code works once). */
function code(secret: string): Promise<string> {
  return freshTotpCode(secret);
}

/** An SDK client signed in as ada (who has a second factor by then). */
function adaClient(): Promise<CairnClient> {
  return adaClientWith(PASSWORD);
}

beforeAll(async () => {
  server = await startServer();
  browser = await launch();
  ({ context, page } = await openPage(browser, DESKTOP, pageErrors, { timeout: 10_000 }));
});

afterEach((ctx) => snapIfFailed(ctx, page, 'failed-'));

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('the web app, used as a person would', () => {
  it('serves the SPA with history fallback and keeps unknown API paths as JSON 404s', async () => {
    const html = await fetch(`${server.url}/account`, { headers: { accept: 'text/html' } });
    expect(html.status).toBe(200);
    expect(await html.text()).toContain('<div id="root">');
    const api = await fetch(`${server.url}/api/v1/nope`);
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('route_not_found');
  });

  it('first run: sends any path to setup, refuses mismatched passwords, creates the admin and signs in', async () => {
    await page.goto(`${server.url}/ledger`);
    await page.getByRole('heading', { name: 'Welcome to Cairn' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/setup');
    await snap(page, '01-setup');

    await page.getByLabel('Username').fill('ada');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill('something else entirely');
    await page.getByRole('button', { name: 'Create administrator' }).click();
    await page.getByText('The two passwords are different.').waitFor();

    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create administrator' }).click();
    await page.getByRole('heading', { name: 'Welcome, ada' }).waitFor();
    await page.getByText(/Server and database are healthy/).waitFor();
    await expect(page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Users' }).isVisible()).resolves.toBe(true);
    await snap(page, '02-home');

    // The session lives in an httpOnly cookie, never in storage a script could read.
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'cairn_session');
    expect(session?.httpOnly).toBe(true);
    expect(await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage))).not.toMatch(/ey[A-Za-z0-9_-]{20,}|cairn_pat/);
    expect(await page.evaluate(() => document.cookie)).not.toContain('cairn_session');
  });

  it('enrols a second factor from the QR code page, rejecting a wrong code first', async () => {
    await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Account' }).click();
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    await page.getByText('Off: anyone with your password can sign in.').waitFor();
    await page.getByRole('button', { name: 'Set up two-step verification' }).click();

    const qr = page.getByRole('img', { name: 'QR code for your authenticator app' });
    await qr.waitFor();
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    totpSecret = (await page.getByTestId('totp-secret').innerText()).replace(/\s+/g, '');
    expect(totpSecret).toMatch(/^[A-Z2-7]{16,}$/);
    await snap(page, '03-totp-enrol');

    const good = await generate({ secret: totpSecret });
    const wrong = String((Number(good) + 500_000) % 1_000_000).padStart(6, '0');
    await page.getByLabel('Code shown by the app').fill(wrong);
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').innerText()).toMatch(/code/i);

    await page.getByLabel('Code shown by the app').fill(await code(totpSecret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByText('Two-step verification is on.').waitFor();
    // The recovery codes come first, once: ten of them, to be saved before going on.
    await page.getByTestId('recovery-codes').waitFor();
    expect(await page.getByTestId('recovery-codes').locator('li').count()).toBe(10);
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByText('On: signing in asks for a code from your authenticator app.').waitFor();
    expect((await (await adaClient()).auth.me()).user.totpEnabled).toBe(true);
  });

  it('signs out, then signs in again with the password and the TOTP step', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/login');

    await page.getByLabel('Username').fill('ada');
    await page.getByLabel('Password').fill('wrong password here');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong username or password.').waitFor();

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
    await snap(page, '04-login-totp');
    // The code field has focus: a person just types.
    await page.keyboard.type('000000');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').waitFor();
    expect(await page.getByLabel('Authentication code').inputValue()).toBe('');

    await page.getByLabel('Authentication code').fill(await code(totpSecret));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Welcome, ada' }).waitFor();
  });

  it('returns to the page asked for after signing in', async () => {
    const other = await browser.newContext();
    const p = await other.newPage();
    await p.goto(`${server.url}/account`);
    await p.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(new URL(p.url()).search).toBe(`?next=${encodeURIComponent('/account')}`);
    await p.getByLabel('Username').fill('ada');
    await p.getByLabel('Password').fill(PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByLabel('Authentication code').fill(await code(totpSecret));
    await p.getByRole('button', { name: 'Verify' }).click();
    await p.getByRole('heading', { name: 'Your account' }).waitFor();
    await other.close();
  });

  it('creates an API token, shows the secret once, lists it, and revokes it', async () => {
    await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Account' }).click();
    await page.getByRole('heading', { name: 'API tokens' }).waitFor();
    await page.getByText('You have no API tokens.').waitFor();

    await page.getByLabel('Name').fill('nightly export');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText('Choose at least one permission.').waitFor();

    await page.getByRole('checkbox', { name: /events:read/ }).check();
    await page.getByRole('checkbox', { name: /events:write/ }).check();
    await page.getByLabel('Expires after').selectOption('90');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secretEl = page.getByTestId('token-secret');
    await secretEl.waitFor();
    const secret = (await secretEl.innerText()).trim();
    expect(secret.length).toBeGreaterThan(20);
    await page.getByText('Copy it now: it will not be shown again.').waitFor();
    await snap(page, '05-token-secret');

    // The secret works as a bearer token, with the scopes chosen.
    const viaToken = new CairnClient({ baseUrl: server.url, token: secret });
    const [appended] = await viaToken.events.append([{ type: 'web.token-test', data: { ok: true } }]);
    expect(appended!.position).toBeGreaterThan(0);
    const denied = await viaToken.users.list().catch((e: unknown) => e);
    expect(isCairnError(denied) && denied.code).toBe('forbidden');

    const row = page.getByRole('row', { name: /nightly export/ });
    await row.waitFor();
    expect(await row.innerText()).toContain('events:read');
    expect(await row.innerText()).toContain('Active');

    await page.getByRole('button', { name: 'I have copied it' }).click();
    await secretEl.waitFor({ state: 'detached' });
    await page.reload();
    await page.getByRole('row', { name: /nightly export/ }).waitFor();
    expect(await page.content()).not.toContain(secret);

    await page.getByRole('button', { name: 'Revoke nightly export' }).click();
    await page.getByText('Revoke nightly export? Programs using it will stop working.').waitFor();
    await page.getByRole('row', { name: /nightly export/ }).getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.getByRole('row', { name: /nightly export/ }).getByText('Revoked').waitFor();
    const after = await viaToken.events.list().catch((e: unknown) => e);
    expect(isCairnError(after) && after.status).toBe(401);
  });

  it('changes the password, and says so when the current one is wrong', async () => {
    await page.getByLabel('Current password').fill('not my password');
    await page.getByLabel('New password', { exact: true }).fill('a brand new passphrase');
    await page.getByLabel('Repeat the new password').fill('a brand new passphrase');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('region', { name: 'Change password' }).getByRole('alert').waitFor();

    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Your password was changed.').waitFor();
    const c = new CairnClient({ baseUrl: server.url });
    const signedIn = await c.auth.login({ username: 'ada', password: 'a brand new passphrase', totp: await code(totpSecret) });
    // Put it back so the rest of the file signs in with the usual password.
    c.setToken(signedIn.accessToken);
    await c.auth.changePassword({ currentPassword: 'a brand new passphrase', newPassword: PASSWORD });
    // A password change ends the user's other sessions (docs/security.md): the browser, signed in
    // before it, is sent back to sign in.
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Username').fill('ada');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Authentication code').fill(await code(totpSecret));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('navigation', { name: 'Main navigation' }).waitFor();
    // Two sign-ins here each wait for a fresh TOTP code (a code works once): up to a minute.
  }, 120_000);

  it('admin users page: creates a user, disables and enables them, and requires two-step for everyone', async () => {
    await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
    await page.getByRole('row', { name: /ada/ }).waitFor();

    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Initial password').fill(BOB_PASSWORD);
    await page.getByLabel('Role').selectOption('member');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByText('User bob was created.').waitFor();
    const bobRow = page.locator('tr[data-username="bob"]');
    await bobRow.waitFor();
    expect(await bobRow.innerText()).toMatch(/Member[\s\S]*No[\s\S]*Active/);

    // A duplicate username is refused with the server's message.
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Initial password').fill(BOB_PASSWORD);
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('alert').waitFor();

    await page.getByRole('button', { name: 'Disable bob' }).click();
    await bobRow.getByText('Disable bob? They will be signed out and unable to sign in.').waitFor();
    await bobRow.getByRole('button', { name: 'Disable', exact: true }).click();
    await bobRow.getByText('Disabled').waitFor();
    const refused = await new CairnClient({ baseUrl: server.url }).auth.login({ username: 'bob', password: BOB_PASSWORD }).catch((e: unknown) => e);
    expect(isCairnError(refused) && refused.code).toBe('account_disabled');
    await snap(page, '06-users');

    await page.getByRole('button', { name: 'Enable bob' }).click();
    await bobRow.getByText('Active').waitFor();

    const policy = page.getByRole('switch', { name: 'Require two-step verification for everyone' });
    expect(await policy.isChecked()).toBe(false);
    await policy.check();
    await expect.poll(async () => (await (await adaClient()).settings.get()).requireTotp).toBe(true);
  });

  it('sends a user without a second factor to enrolment when it is required, then into the app', async () => {
    const bobContext = await browser.newContext({ viewport: { width: 420, height: 860 } });
    const bob = await bobContext.newPage();
    await bob.goto(server.url);
    await bob.getByLabel('Username').fill('bob');
    await bob.getByLabel('Password').fill(BOB_PASSWORD);
    await bob.getByRole('button', { name: 'Sign in' }).click();
    await bob.getByText('An administrator requires two-step verification. Set it up to continue.').waitFor();
    await bob.getByRole('button', { name: 'Set up two-step verification' }).click();
    const bobSecret = (await bob.getByTestId('totp-secret').innerText()).replace(/\s+/g, '');
    await snap(bob, '07-enrol-required-mobile');
    await bob.getByLabel('Code shown by the app').fill(await code(bobSecret));
    await bob.getByRole('button', { name: 'Turn on' }).click();
    await bob.getByRole('heading', { name: 'Welcome, bob' }).waitFor();
    // A member sees no admin page.
    expect(await bob.getByRole('link', { name: 'Users' }).count()).toBe(0);
    await bob.goto(`${server.url}/admin/users`);
    await bob.getByRole('heading', { name: 'Page not found' }).waitFor();
    await bobContext.close();

    // Back as ada: bob now has a second factor, which the admin can reset.
    await page.reload();
    const bobRow = page.locator('tr[data-username="bob"]');
    await bobRow.waitFor();
    expect(await bobRow.innerText()).toMatch(/Member[\s\S]*Yes/);
    await page.getByRole('button', { name: 'Reset two-step bob' }).click();
    await bobRow.getByRole('button', { name: 'Reset two-step', exact: true }).click();
    await expect.poll(async () => (await bobRow.innerText()).match(/Member\s+(Yes|No)/)?.[1]).toBe('No');
    await page.getByRole('switch', { name: 'Require two-step verification for everyone' }).uncheck();
    await expect.poll(async () => (await (await adaClient()).settings.get()).requireTotp).toBe(false);
  });

  it('ledger page: shows entries live, opens the detail drawer, pauses and resumes, filters by type', async () => {
    await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Ledger' }).click();
    await page.getByRole('heading', { name: 'Ledger' }).waitFor();
    await page.getByTestId('tail-status').getByText('Live').waitFor();

    const ada = await adaClient();
    await ada.events.append([{ type: 'web.live', stream: 'live-1', data: { greeting: 'hello, ledger' } }]);
    const row = page.locator('tr[data-type="web.live"]');
    await row.first().waitFor();
    expect(await row.count()).toBe(1);
    expect(await row.first().innerText()).toContain('hello, ledger');
    await snap(page, '08-ledger');

    await row.first().getByRole('button').click();
    const drawer = page.getByRole('dialog');
    await drawer.waitFor();
    expect(await drawer.innerText()).toContain('"greeting": "hello, ledger"');
    expect(await drawer.innerText()).toContain('live-1');
    await snap(page, '09-ledger-drawer');
    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'detached' });

    await page.getByRole('button', { name: /Pause/ }).click();
    await page.getByTestId('tail-status').getByText('Paused').waitFor();
    await ada.events.append([{ type: 'web.live', data: { n: 'while paused' } }]);
    // Nothing arrives while paused; the entry shows up once resumed, exactly once.
    await page.getByRole('button', { name: /Resume/ }).click();
    await page.getByText('"while paused"', { exact: false }).waitFor();
    expect(await row.count()).toBe(2);

    await page.getByLabel('Event type').fill('web.only');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('No entries yet. New ones will appear here.').waitFor();
    await ada.events.append([{ type: 'web.live', data: { n: 'filtered out' } }, { type: 'web.only', data: { n: 'kept' } }]);
    await page.locator('tr[data-type="web.only"]').waitFor();
    expect(await page.locator('tr[data-type="web.live"]').count()).toBe(0);

    // Issue 17: a type that already has entries shows them at once (the tail of a new filter starts
    // over with its backlog, not after the previous filter's cursor), and says who wrote them.
    await page.getByLabel('Event type').fill('web.live');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('"filtered out"', { exact: false }).waitFor();
    expect(await page.locator('tr[data-type="web.live"]').count()).toBe(3);
    expect(await page.getByText('No entries yet. New ones will appear here.').count()).toBe(0);
    await expect(page.locator('tr[data-type="web.live"] td[data-actor-kind="user"]').first().innerText()).resolves.toBe('ada');
  });

  it('switches to French', async () => {
    await page.getByLabel('Language').selectOption('fr');
    await page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: 'Compte' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('fr');
    await page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: 'Compte' }).click();
    await page.getByRole('heading', { name: 'Votre compte' }).waitFor();
    await snap(page, '10-account-fr');
    await page.getByLabel('Langue').selectOption('en');
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
  });

  it('raised no uncaught errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});

async function adaClientWith(password: string): Promise<CairnClient> {
  const c = new CairnClient({ baseUrl: server.url });
  const res = await c.auth.login({ username: 'ada', password, totp: await code(totpSecret) });
  c.setToken(res.accessToken);
  return c;
}
