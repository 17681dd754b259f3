import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { migrate } from '../src/database/migrations.js';
import { createLogger } from '../src/kernel/logger.js';

import type {} from './provided.js';

export const TEMPLATE_DB = 'cairn_template';

/**
 * One real PostgreSQL for the whole run, migrated once into a template database; every test file
 * clones the template (milliseconds) so files run in parallel without sharing state.
 */
export default async function setup(project: TestProject) {
  // One seed for every property-based and fuzz test of the run, printed first: a failure anywhere
  // replays with `FUZZ_SEED=<n> npx vitest run <file>` (server/test/fuzz-seed.ts applies it).
  const fuzzSeed = process.env.FUZZ_SEED && /^\d+$/.test(process.env.FUZZ_SEED) ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
  console.log(`FUZZ_SEED=${fuzzSeed}  (property and fuzz tests; replay a failure with FUZZ_SEED=${fuzzSeed} npx vitest run <file>)`);
  project.provide('fuzzSeed', fuzzSeed);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-test-'));
  const pgServer = await startEmbeddedPostgres({ dataDir, log: createLogger('warn'), database: TEMPLATE_DB, durable: false });
  const pool = new pg.Pool({ connectionString: pgServer.connectionString, max: 2 });
  await migrate(pool);
  await pool.end();
  const adminUrl = pgServer.connectionString.replace(`/${TEMPLATE_DB}?`, '/postgres?');
  project.provide('pgAdminUrl', adminUrl);
  return async () => {
    await pgServer.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}
