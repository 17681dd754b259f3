import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The gateway's settings, from its own environment (GATEWAY_*): it shares nothing with the core
 * but the key the core calls it with. A bad value stops the process with a line naming it.
 */
export class GatewayConfigError extends Error {}

type Env = Record<string, string | undefined>;
const DEFAULT_WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max) throw new GatewayConfigError(`${name}=${JSON.stringify(raw)} is not allowed: expected an integer from ${min} to ${max}`);
  return n;
}

export function loadGatewayConfig(env: Env = process.env) {
  const key = env.GATEWAY_KEY || undefined;
  if (key !== undefined && (key.length < 32 || key.length > 512 || !/^[\x21-\x7e]+$/.test(key))) {
    throw new GatewayConfigError('GATEWAY_KEY is not allowed: expected 32 to 512 printable characters without spaces');
  }
  const databaseUrl = env.GATEWAY_DATABASE_URL || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw new GatewayConfigError('GATEWAY_DATABASE_URL is not allowed: expected a postgres:// URL');
  return {
    port: int(env, 'GATEWAY_PORT', 8090, 0, 65535),
    host: env.GATEWAY_HOST || 'localhost',
    dataDir: path.resolve(env.GATEWAY_DATA_DIR || './.cairn-gateway'),
    databaseUrl,
    /** The key the core sends as a bearer token; generated into the data directory when unset. */
    key,
    /** The built participant page (web/dist, which holds gateway.html). */
    webDir: path.resolve(env.GATEWAY_WEB_DIR || DEFAULT_WEB_DIR),
    /** Requests per minute per address on the participants' routes. */
    rateLimit: int(env, 'GATEWAY_RATE_LIMIT', 120, 1, 1_000_000),
    /** Proof-of-work difficulty: the counter the browser must find is drawn below this number. */
    powMaxNumber: int(env, 'GATEWAY_POW_MAX_NUMBER', 50_000, 10, 10_000_000),
    /** Behind a reverse proxy, trust X-Forwarded-For so the rate limit counts participants, not the proxy. */
    trustProxy: env.GATEWAY_TRUST_PROXY === 'true',
    logLevel: env.LOG_LEVEL || 'info',
  };
}

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
