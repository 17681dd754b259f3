import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CairnClient } from '@cairn/sdk';
import { startCliWorld, type CliWorld } from '../../test/cli-world.js';

let world: CliWorld;
let client: CairnClient;
const cairn = (args: string[], extra: Record<string, string> = {}) => world.cairn(args, extra);

beforeAll(async () => {
  world = await startCliWorld();
  client = world.admin;
});

afterAll(() => world?.stop());

describe('cairn projections', () => {
  it('lists the projections with their mode and state', async () => {
    const r = await cairn(['projections', 'list']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+MODE\s+VERSION/);
    expect(r.stdout).toMatch(/datahub\.records\s+inline\s+1\s+0\b/);
    expect(r.stdout).toMatch(/event-store\.superseded\s+inline/);
    const json = JSON.parse((await cairn(['projections', 'list', '--json'])).stdout) as { name: string; failing: unknown }[];
    expect(json.find((p) => p.name === 'datahub.records')).toMatchObject({ failing: null, rebuild: null });
  });

  it('rebuilds one, waiting until it is swapped in; unknown names and non-admins are refused', async () => {
    const ws = await client.workspaces.create({ name: 'Rebuild' });
    expect(ws.id).toBeTruthy();
    const r = await cairn(['projections', 'rebuild', 'datahub.records']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Rebuilt datahub\.records: version 1, swapped in at \d{4}-/);
    const after = await client.projections.get('datahub.records');
    expect(after.rebuild).toBeNull();
    expect(after.rebuiltAt).not.toBeNull();
    const missing = await cairn(['projections', 'rebuild', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\(not_found\)\n$/);
    const anon = await cairn(['projections', 'list'], { CAIRN_TOKEN: 'cairn_pat_invalid' });
    expect(anon.code).not.toBe(0);
  });
});
