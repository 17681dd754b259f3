import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * Import boundaries (docs/architecture.md, "The picture"): no cycles; kernel/ imports no domain;
 * the gateway imports nothing of the server; the SDK imports nothing of the server, web or CLI.
 * The rules are in .dependency-cruiser.cjs; this runs them so CI fails on a violation.
 */
describe('import boundaries', () => {
  it('dependency-cruiser finds no violation', () => {
    const r = spawnSync(process.execPath, ['node_modules/dependency-cruiser/bin/dependency-cruise.mjs', 'server/src', 'sdk/src', 'cli/src', 'web/src', 'gateway/src', 'bench', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    const out = `${r.stdout}${r.stderr}`;
    expect(r.status, out).toBe(0);
    expect(out).toMatch(/no dependency violations found/);
  }, 120_000);
});
