import { ConfigError, url } from '../kernel/config.js';

type Env = Record<string, string | undefined>;

/** A URL setting without its trailing slash (links are built by appending paths). */
function httpUrl(env: Env, name: string): string | undefined {
  return url(env, name, ['http:', 'https:'])?.replace(/\/+$/, '');
}

/**
 * Remote capture settings (docs/remote-capture.md): where the gateway is, the key the core calls
 * it with, how often to pull, and the SMTP server for emailed links. Without a gateway URL and key
 * remote capture is off and its routes answer 409 remote_capture_unavailable.
 */
export function loadRemoteCaptureConfig(env: Env) {
  const gatewayUrl = httpUrl(env, 'CAIRN_GATEWAY_URL');
  const gatewayKey = env.CAIRN_GATEWAY_KEY || undefined;
  if (gatewayKey !== undefined && (gatewayKey.length < 32 || !/^[\x21-\x7e]+$/.test(gatewayKey))) throw new ConfigError('CAIRN_GATEWAY_KEY is not allowed: expected at least 32 printable characters without spaces');
  if ((gatewayUrl === undefined) !== (gatewayKey === undefined)) throw new ConfigError(`${gatewayUrl ? 'CAIRN_GATEWAY_KEY' : 'CAIRN_GATEWAY_URL'} is not allowed to be empty: set both CAIRN_GATEWAY_URL and CAIRN_GATEWAY_KEY, or neither`);
  const rawInterval = env.CAIRN_GATEWAY_PULL_INTERVAL_MS;
  const pullIntervalMs = rawInterval ? Number(rawInterval) : 5000;
  if (!Number.isInteger(pullIntervalMs) || pullIntervalMs < 100 || pullIntervalMs > 3_600_000) throw new ConfigError(`CAIRN_GATEWAY_PULL_INTERVAL_MS=${JSON.stringify(rawInterval)} is not allowed: expected an integer from 100 to 3600000`);
  const smtpUrl = env.CAIRN_SMTP_URL || undefined;
  if (smtpUrl !== undefined && !/^smtps?:\/\//.test(smtpUrl)) throw new ConfigError('CAIRN_SMTP_URL is not allowed: expected smtp://[user:password@]host:port or smtps://...');
  return {
    gatewayUrl,
    /** The address participants open; the gateway's public name when the core reaches it by another. */
    gatewayPublicUrl: httpUrl(env, 'CAIRN_GATEWAY_PUBLIC_URL') ?? gatewayUrl,
    gatewayKey,
    pullIntervalMs,
    smtpUrl,
    mailFrom: env.CAIRN_MAIL_FROM || 'Cairn <no-reply@localhost>',
  };
}

export type RemoteCaptureConfig = ReturnType<typeof loadRemoteCaptureConfig>;
