import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient } from '@cairn/sdk';
import { createTestDatabase, startTestServer, type TestServer } from '../../server/test/harness.js';
import { freshTotpCode } from '../../server/test/totp.js';

const BIN = fileURLToPath(new URL('../bin/cairn.mjs', import.meta.url));
const PASSWORD = 'correct horse battery staple';

let server: TestServer;
let admin: CairnClient;
let home: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI as a child process with a private HOME and no inherited Cairn settings. */
function cairn(args: string[], opts: { input?: string; env?: Record<string, string | undefined>; home?: string } = {}): Promise<Run> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: opts.home ?? home, LANG: 'C.UTF-8', NO_COLOR: '1' };
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Exactly one line on stderr, in the CLI's error format, with this code. */
function expectErrorLine(r: Run, code: string, exitCode = 1) {
  expect(r.code, `stderr: ${r.stderr}`).toBe(exitCode);
  expect(r.stderr).toMatch(new RegExp(`^cairn: [^\\n]+ \\(${code}\\)\\n$`));
  expect(r.stderr).not.toMatch(/\bat .+:\d+:\d+/); // no stack trace
}

const configFile = (h = home) => path.join(h, '.config', 'cairn', 'config.json');

beforeAll(async () => {
  server = await startTestServer({ CAIRN_SERVE_WEB: 'false' });
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-cli-home-'));
  const res = await new CairnClient({ baseUrl: server.url }).setup.create({ username: 'ada', password: PASSWORD });
  admin = new CairnClient({ baseUrl: server.url, token: res.accessToken });
});

afterAll(async () => {
  await server?.stop();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

describe('cairn --help and usage errors', () => {
  const commands = [[], ['serve'], ['migrate'], ['admin'], ['admin', 'create'], ['login'], ['logout'], ['events'], ['events', 'append'], ['events', 'list'], ['events', 'tail'], ['ledger'], ['ledger', 'verify']];
  it.each(commands.map((c) => [c.join(' ') || '(root)', c]))('%s --help prints usage and exits 0', async (_name, cmd) => {
    const r = await cairn([...(cmd as string[]), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: cairn${(cmd as string[]).length ? ` ${(cmd as string[]).join(' ')}` : ''}`);
    expect(r.stderr).toBe('');
  });

  it('reports an unknown command, an unknown option and a missing option in one line with exit 2', async () => {
    expectErrorLine(await cairn(['frobnicate']), 'usage_error', 2);
    expectErrorLine(await cairn(['events', 'list', '--colour']), 'usage_error', 2);
    expectErrorLine(await cairn(['login']), 'usage_error', 2);
    expectErrorLine(await cairn(['events', 'list', '--limit', 'many']), 'usage_error', 2);
    expectErrorLine(await cairn(['events', 'append', '--type', 'note.created', '--data', '{oops'], { env: { CAIRN_TOKEN: 'x' } }), 'usage_error', 2);
    expectErrorLine(await cairn(['events', 'append', '--type', 'note.created', '--data', '[1,2]'], { env: { CAIRN_TOKEN: 'x' } }), 'usage_error', 2);
  });

  it('says so when not signed in, and when the server cannot be reached', async () => {
    const r = await cairn(['events', 'list']);
    expectErrorLine(r, 'unauthenticated');
    expect(r.stderr).toContain('cairn login');
    expectErrorLine(await cairn(['events', 'list'], { env: { CAIRN_URL: 'http://127.0.0.1:9', CAIRN_TOKEN: 'whatever' } }), 'network_error');
    expectErrorLine(await cairn(['events', 'list'], { env: { CAIRN_URL: 'not a url', CAIRN_TOKEN: 'whatever' } }), 'invalid_url', 2);
  });
});

describe('cairn login with a second factor, then working with the ledger', () => {
  let totpSecret: string;

  beforeAll(async () => {
    const enrolment = await admin.auth.totp.enrol();
    totpSecret = enrolment.secret;
    await admin.auth.totp.confirm(await freshTotpCode(totpSecret));
  });

  it('rejects a wrong password with invalid_credentials and stores nothing', async () => {
    const r = await cairn(['login', '--url', server.url, '--username', 'ada'], { input: 'not the password\n' });
    expectErrorLine(r, 'invalid_credentials');
    expect(fs.existsSync(configFile())).toBe(false);
  });

  it('rejects a wrong authenticator code with totp_invalid', async () => {
    const good = await generate({ secret: totpSecret }); // only to make a wrong one: not used up
    const wrong = String((Number(good) + 500_000) % 1_000_000).padStart(6, '0');
    const r = await cairn(['login', '--url', server.url, '--username', 'ada'], { input: `${PASSWORD}\n${wrong}\n` });
    expectErrorLine(r, 'totp_invalid');
    expect(fs.existsSync(configFile())).toBe(false);
  });

  it('asks for the code after the password, creates a 30-day token and stores it with mode 0600', async () => {
    const code = await freshTotpCode(totpSecret);
    const r = await cairn(['login', '--url', server.url, '--username', 'ada'], { input: `${PASSWORD}\n${code}\n` });
    // The second line of stdin answered the code prompt that followed totp_required.
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`Signed in to ${server.url} as ada`);

    const file = configFile();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as { url: string; token: string; tokenId: string };
    expect(stored.url).toBe(server.url);
    expect(stored.token).toBeTruthy();
    expect(r.stdout).not.toContain(stored.token);

    const token = (await admin.auth.tokens.list()).find((t) => t.id === stored.tokenId);
    expect(token?.name).toBe(`cli@${os.hostname()}`);
    const days = (new Date(token!.expiresAt!).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30.01);
  });

  it('appends one event and lists it as a table and as JSON', async () => {
    const r = await cairn(['events', 'append', '--type', 'note.created', '--stream', 'notes/1', '--data', '{"text":"hello from the cli"}']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Appended \S+ at position \d+\n$/);

    const again = await cairn(['events', 'append', '--type', 'note.created', '--data', '{"n":1}', '--transaction-id', 'cli-tx-1']);
    const replay = await cairn(['events', 'append', '--type', 'note.created', '--data', '{"n":1}', '--transaction-id', 'cli-tx-1']);
    expect(again.stdout).toMatch(/^Appended/);
    expect(replay.stdout).toMatch(/^Already appended/);
    expect(replay.stdout.split(' ')[2]).toBe(again.stdout.split(' ')[1]);

    const table = await cairn(['events', 'list', '--type', 'note.created']);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^POSITION\s+RECORDED \(UTC\)\s+TYPE\s+STREAM\s+ACTOR\s+DATA$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain('notes/1');
    expect(lines[1]).toContain('{"text":"hello from the cli"}');

    const json = await cairn(['events', 'list', '--type', 'note.created', '--json', '--limit', '1']);
    const page = JSON.parse(json.stdout) as { events: { data: unknown }[]; next: string };
    expect(page.events).toHaveLength(1);
    expect(page.events[0]!.data).toEqual({ text: 'hello from the cli' });
    expect(json.stderr).toBe('');
    const tablePage = await cairn(['events', 'list', '--type', 'note.created', '--limit', '1']);
    expect(tablePage.stderr).toBe(`next page: cairn events list --after ${page.next}\n`);

    const rest = await cairn(['events', 'list', '--type', 'note.created', '--json', '--after', page.next]);
    expect((JSON.parse(rest.stdout) as { events: { data: unknown }[] }).events.map((e) => e.data)).toEqual([{ n: 1 }]);
  });

  it('reports the server error for a bad event in one line', async () => {
    expectErrorLine(await cairn(['events', 'append', '--type', 'Not A Type', '--data', '{}']), 'validation_failed');
    expectErrorLine(await cairn(['events', 'list', '--after', 'garbage']), 'invalid_cursor');
  });

  it('appends an NDJSON file in batches of 1000', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-ndjson-'));
    const file = path.join(dir, 'events.ndjson');
    const lines = Array.from({ length: 2500 }, (_, i) => JSON.stringify({ type: 'bulk.loaded', stream: `bulk-${i % 7}`, data: { i } }));
    fs.writeFileSync(file, `${lines.join('\n')}\n\n`);
    const r = await cairn(['events', 'append', '--file', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Appended 2500 events from ${file}\n`);
    let count = 0;
    const seen = new Set<number>();
    for await (const e of admin.events.iterate<{ i: number }>({ type: 'bulk.loaded', limit: 1000 })) {
      count++;
      seen.add(e.data.i);
    }
    expect(count).toBe(2500);
    expect(seen.size).toBe(2500);

    // A bad line stops the import, names the line, and says what was already appended.
    const bad = path.join(dir, 'bad.ndjson');
    const badLines = Array.from({ length: 1200 }, (_, i) => JSON.stringify({ type: 'bulk.partial', data: { i } }));
    badLines[1100] = '{"type": "bulk.partial", "data": ';
    fs.writeFileSync(bad, badLines.join('\n'));
    const rb = await cairn(['events', 'append', '--file', bad]);
    expectErrorLine(rb, 'invalid_json');
    expect(rb.stderr).toContain(`${bad}:1101`);
    expect(rb.stderr).toContain('the 1000 events before it were appended');

    expectErrorLine(await cairn(['events', 'append', '--file', path.join(dir, 'missing.ndjson')]), 'file_unreadable');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads NDJSON from stdin with --file -', async () => {
    const input = [1, 2, 3].map((i) => JSON.stringify({ type: 'stdin.loaded', data: { i } })).join('\n');
    const r = await cairn(['events', 'append', '--file', '-', '--json'], { input });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { appended: number; events: unknown[] };
    expect(out.appended).toBe(3);
    expect(out.events).toHaveLength(3);
  });

  it('tails new entries live from a cursor and stops cleanly on SIGINT', async () => {
    const type = 'tail.cli';
    const [start] = await admin.events.append([{ type, data: { n: 0 } }]);
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: home };
    const child = spawn(process.execPath, [BIN, 'events', 'tail', '--type', type, '--after', start!.cursor, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const got: number[] = [];
    const threeSeen = new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const lines = stdout.split('\n').filter(Boolean);
        got.splice(0, got.length, ...lines.map((l) => (JSON.parse(l) as { data: { n: number } }).data.n));
        if (got.length >= 3) resolve();
      });
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    for (const n of [1, 2, 3]) await admin.events.append([{ type, data: { n } }]);
    await admin.events.append([{ type: 'tail.other', data: { n: 99 } }]);
    await threeSeen;
    child.kill('SIGINT');
    expect(await closed).toBe(0);
    expect(got).toEqual([1, 2, 3]);
    expect(stderr).toBe('');
  });

  it('lets CAIRN_TOKEN and CAIRN_URL override the stored login', async () => {
    expectErrorLine(await cairn(['events', 'list'], { env: { CAIRN_TOKEN: 'cairn_pat_bogus' } }), 'invalid_token');
    const created = await admin.auth.tokens.create({ name: 'script', scopes: ['events:read'], expiresInDays: 1 });
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-empty-home-'));
    const r = await cairn(['events', 'list', '--type', 'note.created', '--json'], { home: empty, env: { CAIRN_URL: server.url, CAIRN_TOKEN: created.secret } });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { events: unknown[] }).events.length).toBe(2);
    // The stored URL is not used when CAIRN_URL points elsewhere.
    expectErrorLine(await cairn(['events', 'list'], { env: { CAIRN_URL: 'http://127.0.0.1:9' } }), 'network_error');
    fs.rmSync(empty, { recursive: true, force: true });
  });

  it('verifies the ledger, and exits 1 naming the entry after a row is changed in SQL', async () => {
    const ok = await cairn(['ledger', 'verify']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^Ledger OK: \d+ entries and \d+ checkpoints verified( \(\d+ just committed, sealed at the next checkpoint\))?\n$/);

    const [target] = await admin.events.append([{ type: 'verify.target', stream: 'verify', data: { amount: 10 } }]);
    const pool = new pg.Pool({ connectionString: server.databaseUrl, max: 1 });
    try {
      await pool.query(`UPDATE ledger_entries SET data = '{"amount": 1000}' WHERE id = $1`, [target!.id]);
      const bad = await cairn(['ledger', 'verify']);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain('Ledger verification FAILED');
      expect(bad.stdout).toContain(target!.id);
      expect(bad.stderr).toMatch(/^cairn: the ledger failed verification with \d+ problem\(s\) \(ledger_tampered\)\n$/);
      const json = await cairn(['ledger', 'verify', '--json']);
      expect(json.code).toBe(1);
      const report = JSON.parse(json.stdout) as { ok: boolean; problems: { entryId?: string }[] };
      expect(report.ok).toBe(false);
      expect(report.problems.some((p) => p.entryId === target!.id)).toBe(true);
    } finally {
      await pool.query(`UPDATE ledger_entries SET data = '{"amount": 10}' WHERE id = $1`, [target!.id]);
      await pool.end();
    }
    expect((await cairn(['ledger', 'verify'])).code).toBe(0);
  });

  it('logs out: revokes the stored token and removes the file', async () => {
    const stored = JSON.parse(fs.readFileSync(configFile(), 'utf8')) as { tokenId: string };
    const r = await cairn(['logout']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Signed out of ${server.url}\n`);
    expect(fs.existsSync(configFile())).toBe(false);
    const token = (await admin.auth.tokens.list()).find((t) => t.id === stored.tokenId);
    expect(token?.revokedAt).toBeTruthy();
    expect((await cairn(['logout'])).stdout).toBe('Not signed in\n');
    expectErrorLine(await cairn(['events', 'list']), 'unauthenticated');
  });

  it('honours XDG_CONFIG_HOME and rejects a corrupt config file in one line', async () => {
    const xdg = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-xdg-'));
    fs.mkdirSync(path.join(xdg, 'cairn'));
    fs.writeFileSync(path.join(xdg, 'cairn', 'config.json'), '{not json');
    expectErrorLine(await cairn(['events', 'list'], { env: { XDG_CONFIG_HOME: xdg } }), 'config_invalid');
    const code = await freshTotpCode(totpSecret);
    const r = await cairn(['login', '--url', server.url, '--username', 'ada', '--password-stdin', '--totp', code], { input: `${PASSWORD}\n`, env: { XDG_CONFIG_HOME: xdg } });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.statSync(path.join(xdg, 'cairn', 'config.json')).mode & 0o777).toBe(0o600);
    expect((await cairn(['events', 'list', '--json'], { env: { XDG_CONFIG_HOME: xdg } })).code).toBe(0);
    fs.rmSync(xdg, { recursive: true, force: true });
  });
});

describe('cairn admin create and migrate (database only, no server)', () => {
  it('creates the first admin from stdin, then refuses a second with already_set_up', async () => {
    const db = await createTestDatabase();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-admin-'));
    const env = { DATABASE_URL: db.url, CAIRN_DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
    try {
      const m = await cairn(['migrate'], { env });
      expect(m.code, m.stderr).toBe(0);
      expect(m.stdout).toBe('Database is up to date\n');
      const r = await cairn(['admin', 'create', '--username', 'root', '--password-stdin'], { input: `${PASSWORD}\n`, env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('Created admin root\n');
      expectErrorLine(await cairn(['admin', 'create', '--username', 'other', '--password-stdin'], { input: `${PASSWORD}\n`, env }), 'already_set_up');
      expectErrorLine(await cairn(['admin', 'create', '--username', 'x', '--password-stdin'], { input: '', env }), 'input_required');
      expectErrorLine(await cairn(['migrate'], { env: { ...env, DATABASE_URL: 'mysql://nope' } }), 'invalid_config');
    } finally {
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
