import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliWorld, type CliWorld } from '../../test/cli-world.js';

let world: CliWorld;
let dir: string;
const cairn = (args: string[]) => world.cairn(args);

beforeAll(async () => {
  world = await startCliWorld();
  dir = world.dir;
});

afterAll(() => world?.stop());

describe('cairn workspaces', () => {
  it('imports locations with a report, lists every refused row, and searches them', async () => {
    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, 'id,name,parentId,type\nzm,Zambia,,country\nc,Central,nowhere,area\n');
    const refused = await cairn(['workspaces', 'import', bad, '--no-progress']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/2\s+type\s+invalid_type/);
    expect(refused.stderr).toMatch(/\(invalid_import\)\n$/);

    const file = path.join(dir, 'locations.csv');
    fs.writeFileSync(file, 'id,name,parentId,type,population\nc,Central Province,zm,area,1\nzm,Zambia,,area,2\nib,Ibombo,c,area,3\nibo,Ibombo Office,ib,office,4\n');
    const ok = await cairn(['workspaces', 'import', file, '--no-progress']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/rows\s+created\s+updated\s+moved\s+unchanged\n\s*4\s+4\s+0\s+0\s+0/);
    expect(ok.stderr).toContain('Ignored columns: population');
    const again = await cairn(['workspaces', 'import', file, '--no-progress']);
    expect(again.stdout).toMatch(/4\s+0\s+0\s+0\s+4/);

    const found = await cairn(['workspaces', 'locations', 'ibombo', '--kind', 'office']);
    expect(found.stdout).toContain('Ibombo Office, Ibombo, Central Province');
    const json = JSON.parse((await cairn(['workspaces', 'locations', 'IBÔMBO', '--json'])).stdout) as { name: string }[];
    expect(json.map((l) => l.name)).toEqual(['Ibombo', 'Ibombo Office']);
  });
});
