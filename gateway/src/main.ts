import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { buildGateway } from './app.js';
import { GatewayConfigError, loadGatewayConfig } from './config.js';
import { migrateGateway, openGatewayDatabase } from './database.js';

/**
 * `npm run gateway` / `cairn gateway`: the remote-capture gateway as its own process. With no
 * configuration it keeps everything in ./.cairn-gateway (its own embedded PostgreSQL and the
 * key the core must be given as CAIRN_GATEWAY_KEY); see docs/remote-capture.md.
 */
export async function startGateway(env: Record<string, string | undefined> = process.env) {
  const config = loadGatewayConfig(env);
  const say = (m: string) => process.stdout.write(`gateway: ${m}\n`);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  let key = config.key;
  if (!key) {
    const keyFile = path.join(config.dataDir, 'gateway.key');
    if (!fs.existsSync(keyFile)) fs.writeFileSync(keyFile, crypto.randomBytes(32).toString('base64url') + '\n', { mode: 0o600 });
    key = fs.readFileSync(keyFile, 'utf8').trim();
    say(`no GATEWAY_KEY set: using the key in ${keyFile} (give it to the core as CAIRN_GATEWAY_KEY)`);
  }
  const database = await openGatewayDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, log: say });
  try {
    await migrateGateway(database.pool);
    const app = await buildGateway({ pool: database.pool, key, webDir: config.webDir, rateLimit: config.rateLimit, powMaxNumber: config.powMaxNumber, trustProxy: config.trustProxy, logLevel: config.logLevel });
    await app.listen({ port: config.port, host: config.host });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    const url = `http://${config.host}:${port}`;
    say(`listening on ${url}`);
    const purge = setInterval(() => void import('./store.js').then(({ gatewayStore }) => gatewayStore.purge(database.pool, 30)).catch(() => {}), 3600_000);
    purge.unref();
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        clearInterval(purge);
        await app.close();
        await database.close();
      })());
    return { app, url, stop };
  } catch (e) {
    await database.close();
    throw e;
  }
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) {
  startGateway()
    .then((g) => {
      const onSignal = () => void g.stop().then(() => process.exit(0));
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    })
    .catch((e: unknown) => {
      process.stderr.write(`gateway: ${e instanceof GatewayConfigError ? e.message : (e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    });
}
