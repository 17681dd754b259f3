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

function cairn(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-cli-ws-'));
  const res = await new CairnClient({ baseUrl: server.url }).setup.create({ username: 'ada', password: 'correct horse battery staple' });
  env = { PATH: process.env.PATH ?? '', HOME: dir, CAIRN_URL: server.url, CAIRN_TOKEN: res.accessToken, NO_COLOR: '1' };
});

afterAll(async () => {
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('cairn workspaces', () => {
  it('imports locations with a report, lists every refused row, and searches them', async () => {
    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, 'id,name,parentId,type\nzm,Zambia,,country\nc,Central,nowhere,area\n');
    const refused = await cairn(['workspaces', 'import', bad, '--no-progress']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/2\s+type\s+invalid_type/);
    expect(refused.stderr).toMatch(/\(invalid_import\)\n$/);

    const file = path.join(dir, 'locations.csv');
    fs.writeFileSync(file, 'id,name,parentId,type,population\nc,Central Province,zm,area,1\nzm,Zambia,,area,2\nib,Ibombo,c,area,3\nibo,Ibombo Office,ib,office,4\n');
    const ok = await cairn(['workspaces', 'import', file, '--no-progress']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/rows\s+created\s+updated\s+moved\s+unchanged\n\s*4\s+4\s+0\s+0\s+0/);
    expect(ok.stderr).toContain('Ignored columns: population');
    const again = await cairn(['workspaces', 'import', file, '--no-progress']);
    expect(again.stdout).toMatch(/4\s+0\s+0\s+0\s+4/);

    const found = await cairn(['workspaces', 'locations', 'ibombo', '--kind', 'office']);
    expect(found.stdout).toContain('Ibombo Office, Ibombo, Central Province');
    const json = JSON.parse((await cairn(['workspaces', 'locations', 'IBÔMBO', '--json'])).stdout) as { name: string }[];
    expect(json.map((l) => l.name)).toEqual(['Ibombo', 'Ibombo Office']);
  });
});
