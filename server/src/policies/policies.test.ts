import { describe, expect, it } from 'vitest';
import { anonymous, userContext, type AuthContext, type Scope } from '../kernel/access.js';
import { decide, type Actions, type Resource, type Rights } from './policies.js';

/**
 * The authorisation matrix of the policy module: every kind of caller × every action × a resource
 * inside and one outside the caller's reach. What to expect is written here as a table, from
 * the documented rules (docs/security.md), not computed from the module; the test prints the
 * matrix it checked. The HTTP-level matrix (kernel/access.matrix.test.ts) checks the same callers
 * against every route of the running server.
 */

const USER = { admin: 'u-admin', manager: 'u-manager', member: 'u-member', outsider: 'u-outsider', token: 'u-member' } as const;
const APP_WITH = { kind: 'app' as const, appId: 'app-with', name: 'with grant' };
const APP_WITHOUT = { kind: 'app' as const, appId: 'app-without', name: 'without grant' };
const appCtx = (actor: typeof APP_WITH): AuthContext => ({ actor, scopes: new Set<Scope>(['events:read', 'events:write']) });

type Caller = 'admin' | 'manager' | 'member' | 'outsider' | 'appWithGrant' | 'appWithoutGrant' | 'scopedToken' | 'reviewer' | 'anonymous';
const CALLERS: Record<Caller, AuthContext> = {
  admin: userContext({ id: USER.admin, username: 'admin', role: 'admin' }, 'session'),
  manager: userContext({ id: USER.manager, username: 'manager', role: 'member' }, 'session'),
  member: userContext({ id: USER.member, username: 'member', role: 'member' }, 'session'),
  outsider: userContext({ id: USER.outsider, username: 'outsider', role: 'member' }, 'session'),
  appWithGrant: appCtx(APP_WITH),
  appWithoutGrant: appCtx(APP_WITHOUT),
  // The member's own API token narrowed to reading events.
  scopedToken: userContext({ id: USER.token, username: 'member', role: 'member' }, 'api_token', { scopes: ['events:read'] }),
  reviewer: anonymous(),
  anonymous: anonymous(),
};

const READ_ONLY: Rights = { read: true, create: false, modify: false, delete: false };
const ALL_RIGHTS: Rights = { read: true, create: true, modify: true, delete: true };

/** Side A is inside the callers' reach (their workspace, their dataset, their app's type); side B is not. */
function resources(caller: Caller): Record<string, Resource> {
  const userId = CALLERS[caller].actor.kind === 'user' ? (CALLERS[caller].actor as { userId: string }).userId : null;
  const memberRolesA = caller === 'manager' ? ['manager'] : caller === 'member' || caller === 'scopedToken' ? ['member'] : [];
  const memberRolesB = caller === 'outsider' ? ['member'] : [];
  const grants = caller === 'appWithGrant' ? new Map([['a.note', ALL_RIGHTS], ['a.shared', READ_ONLY]]) : caller === 'appWithoutGrant' ? new Map<string, Rights>() : caller === 'scopedToken' ? new Map([['a.note', READ_ONLY]]) : null;
  const author = (side: 'A' | 'B') => (caller === 'appWithGrant' || caller === 'appWithoutGrant' ? { kind: 'user', id: side === 'A' ? USER.member : USER.outsider } : { kind: 'user', id: side === 'A' ? userId : USER.outsider });
  return {
    'dataset A': { kind: 'dataset', ownerId: USER.manager, public: false, memberRole: caller === 'member' || caller === 'scopedToken' ? 'edit' : null, reviewLink: caller === 'reviewer' },
    'dataset B': { kind: 'dataset', ownerId: USER.outsider === userId ? 'someone-else' : 'someone-else', public: false, memberRole: null, reviewLink: false },
    'public dataset': { kind: 'dataset', ownerId: 'someone-else', public: true, memberRole: null, reviewLink: false },
    'workspace A': { kind: 'workspace', memberRoles: memberRolesA },
    'workspace B': { kind: 'workspace', memberRoles: memberRolesB },
    'event A': { kind: 'event', type: 'a.note', systemType: false, author: author('A'), grants },
    'event A (read-only type)': { kind: 'event', type: 'a.shared', systemType: false, author: author('A'), grants },
    'event B': { kind: 'event', type: 'b.secret', systemType: false, author: author('B'), grants },
    'audit entry': { kind: 'event', type: 'cairn.user.created', systemType: true, author: { kind: 'system', id: null }, grants },
    'view A': { kind: 'view-instance', appId: APP_WITH.appId },
  };
}

const ACTIONS: Record<Resource['kind'], readonly string[]> = {
  dataset: ['read', 'edit', 'admin'],
  workspace: ['viewer', 'member', 'manager'],
  event: ['read', 'create', 'modify', 'delete'],
  'view-instance': ['read', 'run', 'change'],
  registration: [],
};

// Expected: for each caller and resource, the actions allowed; every other action is refused with
// the code given (h = not_found, f = forbidden, u = unauthenticated).
type Expect = { allow: string[]; otherwise: 'h' | 'f' | 'u' | 'h/f' };
const E = (allow: string[], otherwise: Expect['otherwise']): Expect => ({ allow, otherwise });
const EXPECTED: Record<Caller, Record<string, Expect>> = {
  admin: {
    'dataset A': E(['read', 'edit', 'admin'], 'f'), 'dataset B': E(['read', 'edit', 'admin'], 'f'), 'public dataset': E(['read', 'edit', 'admin'], 'f'),
    'workspace A': E(['viewer', 'member', 'manager'], 'f'), 'workspace B': E(['viewer', 'member', 'manager'], 'f'),
    'event A': E(['read', 'create', 'modify', 'delete'], 'f'), 'event A (read-only type)': E(['read', 'create', 'modify', 'delete'], 'f'), 'event B': E(['read'], 'h'), 'audit entry': E([], 'h'),
    'view A': E(['read', 'change'], 'f'),
  },
  manager: {
    'dataset A': E(['read', 'edit', 'admin'], 'f'), 'dataset B': E([], 'h'), 'public dataset': E(['read'], 'f'),
    'workspace A': E(['viewer', 'member', 'manager'], 'f'), 'workspace B': E([], 'h'),
    'event A': E(['read', 'create', 'modify', 'delete'], 'f'), 'event A (read-only type)': E(['read', 'create', 'modify', 'delete'], 'f'), 'event B': E([], 'h'), 'audit entry': E([], 'h'),
    'view A': E([], 'h'),
  },
  member: {
    'dataset A': E(['read', 'edit'], 'f'), 'dataset B': E([], 'h'), 'public dataset': E(['read'], 'f'),
    'workspace A': E(['viewer', 'member'], 'f'), 'workspace B': E([], 'h'),
    'event A': E(['read', 'create', 'modify', 'delete'], 'f'), 'event A (read-only type)': E(['read', 'create', 'modify', 'delete'], 'f'), 'event B': E([], 'h'), 'audit entry': E([], 'h'),
    'view A': E([], 'h'),
  },
  outsider: {
    'dataset A': E([], 'h'), 'dataset B': E([], 'h'), 'public dataset': E(['read'], 'f'),
    'workspace A': E([], 'h'), 'workspace B': E(['viewer', 'member'], 'f'),
    'event A': E(['read', 'create', 'modify', 'delete'], 'f'), 'event A (read-only type)': E(['read', 'create', 'modify', 'delete'], 'f'), 'event B': E(['read', 'create', 'modify', 'delete'], 'f'), 'audit entry': E([], 'h'),
    'view A': E([], 'h'),
  },
  appWithGrant: {
    'dataset A': E([], 'h'), 'dataset B': E([], 'h'), 'public dataset': E(['read'], 'f'),
    'workspace A': E([], 'h'), 'workspace B': E([], 'h'),
    'event A': E(['read', 'create', 'modify', 'delete'], 'f'), 'event A (read-only type)': E(['read'], 'f'), 'event B': E([], 'h'), 'audit entry': E([], 'h'),
    'view A': E(['read', 'run', 'change'], 'f'),
  },
  appWithoutGrant: {
    'dataset A': E([], 'h'), 'dataset B': E([], 'h'), 'public dataset': E(['read'], 'f'),
    'workspace A': E([], 'h'), 'workspace B': E([], 'h'),
    'event A': E([], 'h'), 'event A (read-only type)': E([], 'h'), 'event B': E([], 'h'), 'audit entry': E([], 'h'),
    'view A': E([], 'h'),
  },
  scopedToken: {
    // The member's token narrowed to events:read: its dataset and workspace roles are capped to nothing
    // (no datasets:* scope; workspace membership still lets it see the workspace it belongs to).
    'dataset A': E([], 'h'), 'dataset B': E([], 'h'), 'public dataset': E(['read'], 'f'),
    'workspace A': E(['viewer', 'member'], 'f'), 'workspace B': E([], 'h'),
    'event A': E(['read'], 'h'), 'event A (read-only type)': E([], 'h'), 'event B': E([], 'h'), 'audit entry': E([], 'h'),
    'view A': E([], 'h'),
  },
  reviewer: {
    'dataset A': E(['read'], 'u'), 'dataset B': E([], 'h'), 'public dataset': E(['read'], 'u'),
    'workspace A': E([], 'u'), 'workspace B': E([], 'u'),
    'event A': E([], 'u'), 'event A (read-only type)': E([], 'u'), 'event B': E([], 'u'), 'audit entry': E([], 'h'),
    'view A': E([], 'h'),
  },
  anonymous: {
    'dataset A': E([], 'h'), 'dataset B': E([], 'h'), 'public dataset': E(['read'], 'u'),
    'workspace A': E([], 'u'), 'workspace B': E([], 'u'),
    'event A': E([], 'u'), 'event A (read-only type)': E([], 'u'), 'event B': E([], 'u'), 'audit entry': E([], 'h'),
    'view A': E([], 'h'),
  },
};

const CODE = { not_found: 'h', forbidden: 'f', unauthenticated: 'u' } as const;

describe('the policy matrix', () => {
  it('answers every caller × action × resource as the table says, and prints the matrix', () => {
    const lines: string[] = [];
    const problems: string[] = [];
    for (const caller of Object.keys(CALLERS) as Caller[]) {
      for (const [name, resource] of Object.entries(resources(caller))) {
        const exp = EXPECTED[caller][name]!;
        const cells: string[] = [];
        for (const action of ACTIONS[resource.kind]) {
          const d = decide(CALLERS[caller], action as Actions[typeof resource.kind], resource);
          const got = d.allow ? 'ok' : CODE[d.code];
          const want = exp.allow.includes(action) ? 'ok' : exp.otherwise;
          const match = got === want || (want === 'h/f' && (got === 'h' || got === 'f'));
          if (!match) problems.push(`${caller} ${action} ${name}: got ${got}, want ${want}`);
          cells.push(`${action}=${got}`);
        }
        lines.push(`${caller.padEnd(16)} ${name.padEnd(25)} ${cells.join(' ')}`);
      }
    }
    console.log(`policy matrix (ok = allowed, h = hidden/404, f = forbidden/403, u = sign in/401):\n${lines.join('\n')}`);
    expect(problems).toEqual([]);
  });

  it('registration: the role must allow the action, the type may narrow it, and the office must be in reach', () => {
    const registrar = CALLERS.member;
    const inReach = { kind: 'registration' as const, caller: { role: 'registration-agent' as const, reach: 'country/north/' }, officePath: 'country/north/town/' };
    const outOfReach = { ...inReach, officePath: 'country/south/town/' };
    const national = { ...outOfReach, caller: { role: 'national-registrar' as const, reach: null } };
    const table: [string, string, Resource & { kind: 'registration' }, string][] = [
      ['agent reads in reach', 'read', inReach, 'ok'],
      ['agent validates in reach', 'validate', inReach, 'ok'],
      ['agent may not register', 'register', inReach, 'f'],
      ['agent sees nothing out of reach', 'validate', outOfReach, 'h'],
      ['agent reads nothing out of reach', 'read', outOfReach, 'h'],
      ['national registrar registers anywhere', 'register', national, 'ok'],
      ['a type narrowing validate to registrars', 'validate', { ...inReach, typeRoles: ['local-registrar'] }, 'f'],
      ['a custom action the role may take', 'stamp', { ...inReach, custom: true }, 'ok'],
      ['a field agent and a custom action', 'stamp', { ...inReach, custom: true, caller: { role: 'field-agent', reach: 'country/north/' } }, 'f'],
    ];
    for (const [label, action, r, want] of table) {
      const d = decide(registrar, action, r);
      expect(d.allow ? 'ok' : CODE[d.code], label).toBe(want);
    }
    expect(decide(CALLERS.anonymous, 'read', inReach)).toMatchObject({ allow: false, code: 'unauthenticated' });
  });
});
