import path from 'node:path';

/**
 * Reading settings from the environment: each reader validates one value and throws a
 * ConfigError naming the setting and what it accepts. The settings themselves are gathered in
 * server/src/config.ts (kernel/ knows no domain, so the domains' own settings are read there).
 */
export class ConfigError extends Error {}

export type Env = Record<string, string | undefined>;

export function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name}=${JSON.stringify(raw)} is not allowed: expected an integer from ${min} to ${max}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name}=${raw} is not allowed: expected an integer from ${min} to ${max}`);
  return n;
}

export function oneOf<T extends string>(env: Env, name: string, def: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(`${name}=${JSON.stringify(raw)} is not allowed: expected one of ${allowed.join(', ')}`);
  return raw as T;
}

export function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not allowed: expected a URL (${protocols.join(' or ')})`);
  }
  if (!protocols.includes(u.protocol)) throw new ConfigError(`${name} is not allowed: expected a URL starting with ${protocols.join(' or ')}`);
  return raw;
}

export function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name}=${JSON.stringify(raw)} is not allowed: expected true or false`);
}

export function metricsToken(env: Env): string | undefined {
  const raw = env.CAIRN_METRICS_TOKEN;
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < 16 || raw.length > 256 || !/^[\x21-\x7e]+$/.test(raw)) {
    throw new ConfigError('CAIRN_METRICS_TOKEN is not allowed: expected 16 to 256 printable characters without spaces');
  }
  return raw;
}
