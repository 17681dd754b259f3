import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliWorld, PASSWORD, type CliWorld } from '../../test/cli-world.js';

let world: CliWorld;
const cairn = (args: string[], extra?: Record<string, string>) => world.cairn(args, extra);

beforeAll(async () => {
  world = await startCliWorld();
});

afterAll(() => world?.stop());

describe('people and workspaces by name', () => {
  it('creates people and nested workspaces, adds members by name, and refuses unknown or ambiguous names', async () => {
    const noPassword = await cairn(['users', 'create', 'grace', '--name', 'Grace Hopper']);
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toContain('CAIRN_NEW_PASSWORD');
    for (const [u, n] of [['grace', 'Grace Hopper'], ['gh2', 'Grace Hopper'], ['alan', 'Alan Turing']]) {
      const r = await cairn(['users', 'create', u!, '--name', n!], { CAIRN_NEW_PASSWORD: PASSWORD });
      expect(r.code, r.stderr).toBe(0);
    }
    expect((await cairn(['users', 'search', 'turing'])).stdout).toMatch(/alan\s+Alan Turing/);

    expect((await cairn(['workspaces', 'create', 'Zambia'])).code).toBe(0);
    expect((await cairn(['workspaces', 'create', 'Central', '--parent', 'zambia'])).code).toBe(0);
    expect((await cairn(['workspaces', 'create', 'Lusaka'])).code).toBe(0);
    expect((await cairn(['workspaces', 'create', 'Central', '--parent', 'Lusaka'])).code).toBe(0);
    const list = await cairn(['workspaces', 'list']);
    expect(list.stdout).toContain('Zambia/Central');
    expect(list.stdout).toContain('Lusaka/Central');

    const ambiguous = await cairn(['workspaces', 'add-member', 'Central', 'alan']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('(ambiguous_workspace)');
    expect(ambiguous.stderr).toContain('Zambia/Central');

    const byName = await cairn(['workspaces', 'add-member', 'Zambia/Central', 'Alan Turing', '--role', 'manager']);
    expect(byName.code, byName.stderr).toBe(0);
    const sameName = await cairn(['workspaces', 'add-member', 'Zambia/Central', 'Grace Hopper']);
    expect(sameName.code).toBe(2);
    expect(sameName.stderr).toContain('(ambiguous_user)');
    expect((await cairn(['workspaces', 'add-member', 'zambia/central', 'grace'])).code).toBe(0);
    const members = await cairn(['workspaces', 'members', 'Zambia/Central']);
    expect(members.stdout).toMatch(/alan\s+Alan Turing\s+manager/);
    expect(members.stdout).toMatch(/grace\s+Grace Hopper\s+member/);

    const nobody = await cairn(['workspaces', 'remove-member', 'Zambia/Central', 'Ada Lovelace Nobody']);
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toContain('(unknown_user)');
    expect((await cairn(['workspaces', 'remove-member', 'Zambia/Central', 'grace'])).code).toBe(0);
    expect((await cairn(['workspaces', 'members', 'Zambia/Central'])).stdout).not.toContain('grace');
    const unknown = await cairn(['workspaces', 'members', 'Atlantis']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('(unknown_workspace)');
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
  });

  it('creates a token whose secret is printed once and revokes it by name', async () => {
    const made = await cairn(['tokens', 'create', 'backup-job', '--scope', 'events:read', '--days', '7']);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout.trim()).toMatch(/^\S{20,}$/);
    expect((await cairn(['tokens', 'list'])).stdout).toMatch(/backup-job\s+events:read\s+\S+\s+active/);
    expect((await cairn(['tokens', 'create', 'x', '--scope', 'events:read', '--days', '400'])).code).toBe(2);
    expect((await cairn(['tokens', 'revoke', 'backup-job'])).code).toBe(0);
    expect((await cairn(['tokens', 'list'])).stdout).toMatch(/backup-job\s+events:read\s+\S+\s+revoked/);
    expect((await cairn(['tokens', 'revoke', 'backup-job'])).stderr).toContain('(unknown_token)');
  });
});
