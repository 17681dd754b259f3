import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { domainModules } from './app.js';
import { createServices } from './services.js';
import { loadConfig } from './config.js';
import { createDb, createPool } from './database/database.js';
import { createLogger } from './kernel/logger.js';
import { SYSTEM_TYPE_PREFIXES } from './ledger/ledger.service.js';

/**
 * What each domain module declares it owns (kernel/module.ts) is what the wiring registers: every
 * reserved type prefix, projection and job task is declared by exactly one module. No database is
 * needed: services are constructed without connecting.
 */
describe('domain modules', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-modules-'));
  const config = loadConfig({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', CAIRN_DATA_DIR: dataDir, LOG_LEVEL: 'silent', CAIRN_SERVE_WEB: 'false' });
  const pool = createPool('postgres://nobody@127.0.0.1:1/none', 1);
  const services = createServices({ config: { ...config, secret: 'test-secret-'.padEnd(48, 'x') }, db: createDb(pool), pool, log: createLogger('silent') });
  const modules = domainModules(services).map((m) => m.module);
  afterAll(async () => {
    await pool.end();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const owners = (pick: (m: (typeof modules)[number]) => readonly string[] | undefined) => modules.flatMap((m) => pick(m) ?? []);
  const expectOnce = (declared: string[], registered: readonly string[]) => {
    expect(declared.length, `declared twice: ${declared.join(', ')}`).toBe(new Set(declared).size);
    expect([...declared].sort()).toEqual([...registered].sort());
  };

  it('have unique names', () => expectOnce(modules.map((m) => m.name), [...new Set(modules.map((m) => m.name))]));
  it('declare every reserved type prefix the ledger refuses, each once', () => expectOnce(owners((m) => m.reservedTypePrefixes), SYSTEM_TYPE_PREFIXES));
  it('declare every registered projection, each once', () => expectOnce(owners((m) => m.projections), services.projector.registered().map((p) => p.name)));
  it('declare every registered job task, each once', () => expectOnce(owners((m) => m.jobs), services.jobs.taskNames));
});
