import { describe, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Proc {
  child: ChildProcess;
  url: Promise<string>;
  exited: Promise<{ code: number | null; stderr: string }>;
}

function start(env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', HOST: '127.0.0.1', PORT: '0', CAIRN_SERVE_WEB: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      const m = /listening on (http:\/\/[^"\s]+)/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    child.on('exit', () => reject(new Error(`exited before listening: ${stderr}`)));
  });
  url.catch(() => {});
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  return { child, url, exited };
}

function postgresPids(dataDir: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', `postgres -D ${path.join(dataDir, 'pg')}`]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe('configuration', () => {
  it('a bad setting stops the boot with one line naming it', async () => {
    const p = start({ PORT: 'abc', CAIRN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-cfg-')) });
    const { code, stderr } = await p.exited;
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/PORT="abc" is not allowed: expected an integer from 0 to 65535/);
  });
});

describe('embedded PostgreSQL lifecycle', () => {
  it('starts on an empty data dir, stops cleanly on SIGTERM and SIGINT, and keeps the data', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-life-'));
    try {
      const first = start({ CAIRN_DATA_DIR: dataDir });
      const url = await first.url;
      const health = await (await fetch(`${url}/api/v1/health`)).json();
      expect(health).toMatchObject({ status: 'ok', database: { ok: true } });
      const setup = await fetch(`${url}/api/v1/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'correct horse battery staple' }) });
      expect(setup.status).toBe(201);
      if (process.getuid?.() === 0) {
        // PostgreSQL refuses root: the cluster belongs to the dedicated user.
        expect(execFileSync('stat', ['-c', '%U', path.join(dataDir, 'pg')]).toString().trim()).toBe('cairn-pg');
      }
      expect(postgresPids(dataDir).length).toBeGreaterThan(0);
      first.child.kill('SIGTERM');
      expect((await first.exited).code).toBe(0);
      expect(postgresPids(dataDir)).toEqual([]);

      const second = start({ CAIRN_DATA_DIR: dataDir });
      const url2 = await second.url;
      expect(await (await fetch(`${url2}/api/v1/setup`)).json()).toEqual({ needsSetup: false });
      second.child.kill('SIGINT');
      expect((await second.exited).code).toBe(0);
      expect(postgresPids(dataDir)).toEqual([]);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('recovers the PostgreSQL left running by a killed server', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-kill-'));
    try {
      const first = start({ CAIRN_DATA_DIR: dataDir });
      await first.url;
      first.child.kill('SIGKILL');
      await first.exited;
      expect(postgresPids(dataDir).length).toBeGreaterThan(0); // orphaned by SIGKILL
      const second = start({ CAIRN_DATA_DIR: dataDir });
      const url = await second.url;
      expect((await fetch(`${url}/api/v1/health`)).status).toBe(200);
      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
      expect(postgresPids(dataDir)).toEqual([]);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
