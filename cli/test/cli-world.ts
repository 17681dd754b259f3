import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CairnClient } from '@cairn/sdk';
import { startTestServer, type TestServer } from '../../server/test/harness.js';

export const BIN = fileURLToPath(new URL('../bin/cairn.mjs', import.meta.url));
export const PASSWORD = 'correct horse battery staple';

export interface CairnRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `cairn` binary in its own process, as a person would, with this environment. */
export function runCairn(args: string[], env: Record<string, string | undefined>, input?: string): Promise<CairnRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: env as NodeJS.ProcessEnv, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** A test server with its first administrator, a home directory for the CLI's config, and `cairn`. */
export interface CliWorld {
  server: TestServer;
  /** The CLI's HOME, removed by stop(). */
  dir: string;
  /** Signed in as the administrator. */
  admin: CairnClient;
  adminToken: string;
  /** The environment `cairn` runs with (CAIRN_URL, CAIRN_TOKEN = the administrator's, HOME = dir). */
  env: Record<string, string>;
  cairn(args: string[], extra?: Record<string, string>): Promise<CairnRun>;
  stop(): Promise<void>;
}

export async function startCliWorld(): Promise<CliWorld> {
  const server = await startTestServer({ CAIRN_SERVE_WEB: 'false' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-cli-'));
  const adminToken = (await new CairnClient({ baseUrl: server.url }).setup.create({ username: 'ada', password: PASSWORD })).accessToken;
  const admin = new CairnClient({ baseUrl: server.url, token: adminToken });
  const env = { PATH: process.env.PATH ?? '', HOME: dir, CAIRN_URL: server.url, CAIRN_TOKEN: adminToken, NO_COLOR: '1' };
  const world: CliWorld = {
    server,
    dir,
    admin,
    adminToken,
    env,
    cairn: (args, extra = {}) => runCairn(args, { ...world.env, ...extra }),
    stop: async () => {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}
