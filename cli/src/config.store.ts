import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CliError } from './errors.js';

/** What `cairn login` keeps between runs. */
export interface StoredLogin {
  url: string;
  token: string;
  tokenId?: string;
  username?: string;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  // XDG says a relative value is invalid and must be ignored.
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'cairn');
}

export const configPath = (env: NodeJS.ProcessEnv = process.env) => path.join(configDir(env), 'config.json');

export async function readLogin(env: NodeJS.ProcessEnv = process.env): Promise<StoredLogin | undefined> {
  const file = configPath(env);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read ${file}: ${(e as Error).message}`, 'config_unreadable');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`${file} is not valid JSON; delete it and run \`cairn login\``, 'config_invalid');
  }
  const p = parsed as Partial<StoredLogin>;
  if (!p || typeof p.url !== 'string' || typeof p.token !== 'string') {
    throw new CliError(`${file} has no url and token; run \`cairn login\``, 'config_invalid');
  }
  return { url: p.url, token: p.token, ...(p.tokenId ? { tokenId: p.tokenId } : {}), ...(p.username ? { username: p.username } : {}) };
}

/**
 * Writes the login with mode 0600 in a 0700 directory. The file is created under a temporary
 * name with the right mode from the start and renamed into place, so the token is never
 * readable by others, not even for a moment, and a crash never leaves half a file.
 */
export async function writeLogin(login: StoredLogin, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = configDir(env);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(dir, 0o700);
  const file = configPath(env);
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await fs.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(login, null, 2)}\n`);
    await fh.chmod(0o600);
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
  return file;
}

export async function removeLogin(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  try {
    await fs.unlink(configPath(env));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
