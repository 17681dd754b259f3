// Writes the OpenAPI document the server generates from its route schemas to docs/openapi.json.
// No database is needed: routes are registered, never called.
import fs from 'node:fs';
import { loadConfig } from '../server/src/config.js';
import { createLogger } from '../server/src/kernel/logger.js';
import { createDb, createPool } from '../server/src/database/database.js';
import { createServices } from '../server/src/services.js';
import { buildApp } from '../server/src/app.js';

const config = loadConfig({ DATABASE_URL: 'postgresql://unused@localhost/unused', CAIRN_SERVE_WEB: 'false', CAIRN_DATA_DIR: '/tmp/cairn-openapi' });
const pool = createPool(config.databaseUrl!, 1);
const services = createServices({ config: { ...config, secret: 'x'.repeat(48) }, db: createDb(pool), pool, log: createLogger('silent') });
const app = await buildApp(services);
await app.ready();
fs.writeFileSync('docs/openapi.json', JSON.stringify(app.swagger(), null, 2) + '\n');
console.log(`docs/openapi.json: ${Object.keys((app.swagger() as { paths: object }).paths).length} paths`);
await app.close();
await pool.end();
