import { CairnClient } from '@cairn/sdk';
import { readLogin } from './config.store.js';
import { CliError } from './errors.js';

export const DEFAULT_URL = 'http://localhost:8080';
const USER_AGENT = 'cairn-cli/0.1';

export function normaliseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CliError(`${JSON.stringify(raw)} is not a URL (expected e.g. http://localhost:8080)`, 'invalid_url', 2);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CliError(`${raw} is not an http(s) URL`, 'invalid_url', 2);
  return u.toString().replace(/\/+$/, '');
}

export function anonymousClient(url: string): CairnClient {
  return new CairnClient({ baseUrl: normaliseUrl(url), headers: { 'User-Agent': USER_AGENT } });
}

/**
 * The signed-in client: CAIRN_URL and CAIRN_TOKEN override the stored login (each on its own,
 * so a script can point a stored token at another URL or the other way round).
 */
export async function authedClient(env: NodeJS.ProcessEnv = process.env): Promise<CairnClient> {
  const stored = await readLogin(env);
  const url = env.CAIRN_URL || stored?.url || DEFAULT_URL;
  const token = env.CAIRN_TOKEN || stored?.token;
  if (!token) throw new CliError('not signed in: run `cairn login` or set CAIRN_TOKEN', 'unauthenticated');
  return new CairnClient({ baseUrl: normaliseUrl(url), token, headers: { 'User-Agent': USER_AGENT } });
}
