import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliWorld, type CliWorld } from '../../test/cli-world.js';

let world: CliWorld;
let dir: string;
let workspaceId: string;
const cairn = (args: string[]) => world.cairn(args);

const FORM = {
  kind: 'form',
  name: 'weight-log',
  edition: 1,
  languages: ['en'],
  details: { title: 'Weight log', license: 'CC0-1.0' },
  content: [{ kind: 'number', name: 'kg', label: 'Weight (kg)', min: 1, max: 400, required: true }],
};

beforeAll(async () => {
  world = await startCliWorld();
  dir = world.dir;
  workspaceId = (await world.admin.workspaces.create({ name: 'CLI' })).id;
});

afterAll(() => world?.stop());

describe('cairn datahub', () => {
  it('publishes an instrument, refusing a broken one with pointers', async () => {
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ ...FORM, content: [{ ...FORM.content[0], max: 'heavy' }] }));
    const bad = await cairn(['datahub', 'instruments', 'publish', path.join(dir, 'bad.json')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('/content/0/max');
    expect(bad.stderr).toMatch(/\(invalid_instrument_definition\)\n$/);
    fs.writeFileSync(path.join(dir, 'form.json'), JSON.stringify(FORM));
    const ok = await cairn(['datahub', 'instruments', 'publish', path.join(dir, 'form.json')]);
    expect(ok.stdout).toBe('Published weight-log edition 1\n');
    const again = await cairn(['datahub', 'instruments', 'publish', '-']);
    expect(again.code).not.toBe(0);
    const list = await cairn(['datahub', 'instruments', 'list', '--json']);
    expect(JSON.parse(list.stdout).map((i: { name: string }) => i.name)).toContain('weight-log');
  });

  it('imports from the template, refusing the whole file while a row fails, then exports it back', async () => {
    const template = await cairn(['datahub', 'template', '--workspace', workspaceId, '--instrument', 'weight-log', '--edition', '1']);
    expect(template.stdout).toBe('subject,date,kg\r\n');
    const file = path.join(dir, 'weights.csv');
    fs.writeFileSync(file, 'subject,date,kg\nW-1,2024-01-01,70.5\nW-2,2024-01-02,999\nW-1,2024-02-01,69\n');
    const refused = await cairn(['datahub', 'import', file, '--workspace', workspaceId, '--instrument', 'weight-log', '--edition', '1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/3\s+kg\s+too_large/);
    expect(refused.stderr).toMatch(/\(invalid_import\)\n$/);
    const partial = await cairn(['datahub', 'import', file, '--workspace', workspaceId, '--instrument', 'weight-log', '--edition', '1', '--only-valid']);
    expect(partial.stdout).toBe('Imported 2 records (1 new subjects), skipped 1 invalid rows\n');

    const out = path.join(dir, 'out.csv');
    const exported = await cairn(['datahub', 'export', '--workspace', workspaceId, '--instrument', 'weight-log', '--out', out]);
    expect(exported.code, exported.stderr).toBe(0);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.slice(1).map((l) => l.split(',').slice(1, 2).concat(l.split(',').slice(-1)))).toEqual([['W-1', '70.5'], ['W-1', '69']]);
    const json = await cairn(['datahub', 'export', '--workspace', workspaceId, '--format', 'json']);
    expect(JSON.parse(json.stdout)).toHaveLength(2);
    const bad = await cairn(['datahub', 'export', '--workspace', 'nope']);
    expect(bad.code).toBe(2);
  });
});
