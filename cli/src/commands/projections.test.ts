import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient } from '@cairn/sdk';
import { startTestServer, type TestServer } from '../../../server/test/harness.js';

const BIN = fileURLToPath(new URL('../../bin/cairn.mjs', import.meta.url));

let server: TestServer;
let dir: string;
let env: Record<string, string>;
let client: CairnClient;

function cairn(args: string[], extra: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  server = await startTestServer({ CAIRN_SERVE_WEB: 'false' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-cli-proj-'));
  const res = await new CairnClient({ baseUrl: server.url }).setup.create({ username: 'ada', password: 'correct horse battery staple' });
  client = new CairnClient({ baseUrl: server.url, token: res.accessToken });
  env = { PATH: process.env.PATH ?? '', HOME: dir, CAIRN_URL: server.url, CAIRN_TOKEN: res.accessToken, NO_COLOR: '1' };
});

afterAll(async () => {
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('cairn projections', () => {
  it('lists the projections with their mode and state', async () => {
    const r = await cairn(['projections', 'list']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+MODE\s+VERSION/);
    expect(r.stdout).toMatch(/datahub\.records\s+inline\s+1\s+0\b/);
    expect(r.stdout).toMatch(/event-store\.superseded\s+inline/);
    const json = JSON.parse((await cairn(['projections', 'list', '--json'])).stdout) as { name: string; failing: unknown }[];
    expect(json.find((p) => p.name === 'datahub.records')).toMatchObject({ failing: null, rebuild: null });
  });

  it('rebuilds one, waiting until it is swapped in; unknown names and non-admins are refused', async () => {
    const ws = await client.workspaces.create({ name: 'Rebuild' });
    expect(ws.id).toBeTruthy();
    const r = await cairn(['projections', 'rebuild', 'datahub.records']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Rebuilt datahub\.records: version 1, swapped in at \d{4}-/);
    const after = await client.projections.get('datahub.records');
    expect(after.rebuild).toBeNull();
    expect(after.rebuiltAt).not.toBeNull();
    const missing = await cairn(['projections', 'rebuild', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\(not_found\)\n$/);
    const anon = await cairn(['projections', 'list'], { CAIRN_TOKEN: 'cairn_pat_invalid' });
    expect(anon.code).not.toBe(0);
  });
});
