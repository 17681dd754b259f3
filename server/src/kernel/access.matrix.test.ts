import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../test/harness.js';
import { buildWorld, pathParamsFor, ROLES as CALLERS, SIDES, type RoleName, type Side, type World } from '../../test/world.js';
import { operationsOf, fillPath, sampleOf, type Operation } from '../../test/openapi.js';
import { answerProblems, leakedSecrets } from '../../test/checks.js';
import { ALL_SCOPES, ROLES, type RouteAccess, type Scope } from './access.js';
import type { App } from '../app.js';

/**
 * The authorisation matrix: every caller (admin, workspace manager, workspace member, another
 * workspace's member, an app with a grant and one without, a token narrowed to one scope, a
 * reviewer link, anonymous) × every operation of the OpenAPI document × a resource inside and
 * one outside the caller's reach (side A's and side B's copy of the same fixtures, see
 * test/world.ts). What to expect comes from two tables written here, not from the server: the
 * route's declared `config.access` evaluated against the caller's kind and scopes, then who may
 * reach the resource the path names. It checks:
 *  - a caller outside reach gets 401/403/404, and a 404 is the same answer as for an id that does
 *    not exist (existence does not leak);
 *  - a caller inside reach is not refused;
 *  - no answer to anyone carries a secret of the other side (canaries planted in names and data);
 *  - every answer is in the documented shape with the security headers.
 * It prints the matrix it checked.
 */

let app: App;
let stop: () => Promise<void>;
let world: World;

beforeAll(async () => {
  ({ app, stop } = await createTestApp({ CAIRN_LOGIN_RATE_LIMIT: '100000' }));
  world = await buildWorld(app);
}, 120_000);
afterAll(() => stop?.());

// --- table 1: who the callers are -----------------------------------------------------------

const CALLER_TABLE: Record<RoleName, { kind: 'user' | 'app' | 'anonymous'; scopes: readonly Scope[] }> = {
  admin: { kind: 'user', scopes: ALL_SCOPES },
  manager: { kind: 'user', scopes: ROLES.member },
  member: { kind: 'user', scopes: ROLES.member },
  outsider: { kind: 'user', scopes: ROLES.member },
  app: { kind: 'app', scopes: ['events:read', 'events:write', 'event-types:manage'] },
  appNoGrant: { kind: 'app', scopes: ['events:read', 'events:write', 'event-types:manage'] },
  token: { kind: 'user', scopes: ['events:read'] },
  reviewer: { kind: 'anonymous', scopes: [] },
  anonymous: { kind: 'anonymous', scopes: [] },
};

/** The route layer, evaluated independently of kernel/access.ts from the documented meaning of each rule. */
function routeAllows(access: RouteAccess, role: RoleName): 'ok' | 'unauthenticated' | 'forbidden' {
  const c = CALLER_TABLE[role];
  if (access === 'public') return 'ok';
  if (c.kind === 'anonymous') return 'unauthenticated';
  if (access === 'authenticated') return 'ok';
  const has = (s: Scope) => c.scopes.includes(s);
  if ('actor' in access) return access.actor.includes(c.kind) && (!access.scope || has(access.scope)) ? 'ok' : 'forbidden';
  if ('anyScope' in access) return access.anyScope.some(has) ? 'ok' : 'forbidden';
  return has(access.scope) ? 'ok' : 'forbidden';
}

// --- table 2: who reaches which resource ------------------------------------------------------

type Expect = 'allow' | 'deny' | 'unspecified';
/** Who, on side `s`, is what: the member created the side's data; A alone has an app with a grant, a narrowed token and a reviewer link. */
const on = (s: Side) => ({
  people: (s === 'A' ? ['manager', 'member'] : ['outsider']) as RoleName[],
  manager: (s === 'A' ? ['manager'] : []) as RoleName[],
  owner: (s === 'A' ? ['member'] : ['outsider']) as RoleName[],
  app: (s === 'A' ? ['app'] : []) as RoleName[],
  token: (s === 'A' ? ['token'] : []) as RoleName[],
  reviewer: (s === 'A' ? ['reviewer'] : []) as RoleName[],
});

interface Rule {
  method: RegExp;
  path: RegExp;
  /** Who may; `unspecified` callers are checked for leaks and shape only. */
  allow: (s: Side) => RoleName[];
  unspecified?: RoleName[];
}
const ANY = /.*/;
const R = (method: RegExp, path: RegExp, allow: Rule['allow'], unspecified: RoleName[] = []): Rule => ({ method, path, allow, unspecified });
const READ = /^GET$/;
const WRITE = /^(POST|PUT|PATCH|DELETE)$/;

/** First matching rule wins. Paths are the OpenAPI templates. Operations without a resource in the path are decided by the route layer unless listed. */
const RESOURCE_RULES: Rule[] = [
  // workspaces: a role on the workspace (manager for membership and settings), or workspaces:manage
  R(WRITE, /^\/api\/v1\/workspaces\/\{id\}$/, (s) => ['admin', ...on(s).manager]),
  R(WRITE, /^\/api\/v1\/workspaces\/\{id\}\/(members\/\{userId\}|datahub\/(settings|demo))$/, (s) => ['admin', ...on(s).manager]),
  R(ANY, /^\/api\/v1\/workspaces\/\{id\}\//, (s) => ['admin', ...on(s).people]),
  R(ANY, /^\/api\/v1\/(subjects|sessions|records)\/\{id\}/, (s) => ['admin', ...on(s).people]),
  // events: their author, an app whose grant covers the type, readers of the whole ledger
  R(READ, /^\/api\/v1\/events\/\{id\}/, (s) => ['admin', ...on(s).owner, ...on(s).app]),
  R(WRITE, /^\/api\/v1\/events\/\{id\}$/, (s) => [...on(s).owner, ...on(s).app], ['admin']),
  // datasets: their members (the creator is its admin), datasets:manage, and a reviewer link for reads
  R(ANY, /^\/api\/v1\/datasets\/\{ds\}\/(members|reviewer-links)/, (s) => ['admin', ...on(s).owner]),
  R(ANY, /^\/api\/v1\/datasets\/\{ds\}\/uploads\/\{sid\}/, (s) => on(s).owner, ['admin']),
  R(READ, /^\/api\/v1\/datasets\/\{ds\}/, (s) => ['admin', ...on(s).owner, ...on(s).reviewer]),
  R(WRITE, /^\/api\/v1\/datasets\/\{ds\}/, (s) => ['admin', ...on(s).owner]),
  // instance administration
  // a person sets their own name; administrators anyone's (side A's user in the path is its member, B's the outsider)
  R(/^PATCH$/, /^\/api\/v1\/users\/\{id\}$/, (s) => ['admin', ...on(s).owner]),
  R(ANY, /^\/api\/v1\/(apps\/\{id\}|permission-requests\/\{id\}|users\/\{id\})/, () => ['admin']),
  R(READ, /^\/api\/v1\/view-templates\/\{id\}/, () => ['admin', 'app', 'appNoGrant']),
  R(WRITE, /^\/api\/v1\/view-templates\/\{id\}/, () => ['admin']),
  R(READ, /^\/api\/v1\/views\/\{id\}$/, (s) => ['admin', ...on(s).app]),
  R(ANY, /^\/api\/v1\/views\/\{id\}/, (s) => on(s).app, ['admin']),
  // personal tokens: their owner only (side A's narrowed token is its manager's)
  R(ANY, /^\/api\/v1\/auth\/tokens\/\{id\}/, (s) => on(s).manager, ['admin']),
  // civil registration: a registration role and office are needed (an administrator included);
  // nobody in this world has one, so every list is refused. Notifications: notifier apps only.
  R(READ, /^\/api\/v1\/registrations(\/(search|duplicates|stats|stats\.csv|workqueues))?$/, () => []),
  R(READ, /^\/api\/v1\/registration-users\/me$/, () => ['admin', 'manager', 'member', 'outsider', 'token']),
  R(ANY, /^\/api\/v1\/registration-notifications\//, () => []),
  // --- operations on collections whose service narrows the route's rule
  R(/^POST$/, /^\/api\/v1\/workspaces$/, () => ['admin']),
  R(READ, /^\/api\/v1\/(view-templates|views)$/, () => ['admin', 'app', 'appNoGrant']),
  R(/^POST$/, /^\/api\/v1\/views$/, () => ['app'], ['appNoGrant']),
  R(/^POST$/, /^\/api\/v1\/events$/, () => ['admin', 'manager', 'member', 'outsider', 'app']),
  R(/^POST$/, /^\/api\/v1\/(setup|auth\/login|auth\/refresh|apps\/associate|oauth\/token)$/, () => [], [...CALLERS]),
];

/** Operations not executed for callers who may do them: they would end the caller's identity or change the fixtures' reach. */
const DISRUPTIVE: [RegExp, RegExp][] = [
  [/^POST$/, /^\/api\/v1\/auth\/(logout|password|refresh|totp\/)/],
  [/^DELETE$/, ANY],
  [/^POST$/, /^\/api\/v1\/users\/\{id\}\//],
  [/^PATCH$/, /^\/api\/v1\/settings$/],
  [/^PUT$/, /^\/api\/v1\/(workspaces|datasets)\/\{(id|ds)\}\/members\//],
  [/^POST$/, /\/(revoke|association-code|retire|end)$/],
  [/^PUT$/, /\/event-grants$/],
];

const matches = (rules: [RegExp, RegExp][], op: Operation) => rules.some(([m, p]) => m.test(op.method) && p.test(op.path));

/**
 * The OpenAPI tags whose operations the tables above were written for. A domain added since is
 * still attacked (route-layer refusals, leaks, existence, shape) but whom its services admit is
 * not asserted until its rules are written here: the test prints which tags are waiting.
 */
const TABLED_TAGS = new Set(['system', 'auth', 'users', 'settings', 'workspaces', 'events', 'ledger', 'event-types', 'apps', 'instruments', 'subjects', 'records', 'exports', 'imports', 'datasets', 'views', 'locations', 'projections', 'webhooks', 'home', 'assignments', 'registrations']);

function expectation(op: Operation, access: RouteAccess, role: RoleName, side: Side | null): { expect: Expect; layer: 'route' | 'resource' } {
  const route = routeAllows(access, role);
  if (route !== 'ok') return { expect: 'deny', layer: 'route' };
  const rule = RESOURCE_RULES.find((r) => r.method.test(op.method) && r.path.test(op.path));
  if (!rule) return { expect: 'allow', layer: 'route' };
  if (rule.unspecified?.includes(role)) return { expect: 'unspecified', layer: 'resource' };
  return { expect: rule.allow(side ?? 'A').includes(role) ? 'allow' : 'deny', layer: 'resource' };
}

// --- requests -----------------------------------------------------------------------------

/** The same parameters pointing at nothing that exists. */
function ghostParams(params: Record<string, string>): Record<string, string> {
  return { ...params, id: randomUUID(), ds: 'ds999999', sid: randomUUID(), userId: randomUUID() };
}

function queryFor(op: Operation, s: World['sides'][Side], w: World): string {
  const q: Record<string, string> = {};
  for (const p of op.queryParams) {
    if (!p.required && !['instrument', 'edition'].includes(p.name)) continue;
    q[p.name] = p.name === 'instrument' ? w.instrument.name : p.name === 'edition' ? '1' : p.name === 'path' ? 'README.md' : p.name === 'from' || p.name === 'to' ? s.snapshot : String(sampleOf(p.schema));
  }
  const qs = new URLSearchParams(q).toString();
  return qs ? `?${qs}` : '';
}

function bodyFor(op: Operation, s: World['sides'][Side], w: World): string | undefined {
  const schema = op.bodies['application/json'];
  if (!schema) return undefined;
  const unique = `matrix-${Math.random().toString(36).slice(2, 10)}`;
  const hints: Record<string, unknown> = {
    events: [{ type: s.eventType, data: { note: 'matrix' } }],
    instrument: /\/records$/.test(op.path) ? w.instrument : undefined,
    data: /\/(records|events)/.test(op.path) ? { note: 'matrix' } : undefined,
    templateId: s.viewTemplate,
    eventType: s.eventType,
    type: s.eventType,
    name: unique,
    title: unique,
    username: unique,
    password: 'matrix password 12345',
    identifier: unique,
    identifierKind: 'custom',
    kind: 'in_person',
    scopes: ['account'],
    expiresInDays: 1,
    reason: 'matrix',
    changelog: 'matrix',
    role: /datasets/.test(op.path) ? 'read' : 'viewer',
    version: /\/records\//.test(op.path) ? 1 : undefined,
    files: /view-templates/.test(op.path) ? { 'main.js': 'export default async function () { return 1; }' } : undefined,
    runtime: 'javascript',
    subjectIdPattern: null,
    schema: { type: 'object' },
  };
  for (const k of Object.keys(hints)) if (hints[k] === undefined) delete hints[k];
  if (/\/instruments(\/\{name\}\/editions)?$/.test(op.path) || /\/instruments\/validate$/.test(op.path)) {
    return JSON.stringify({ kind: 'form', name: /editions/.test(op.path) ? w.instrument.name : unique, edition: /editions/.test(op.path) ? 2 : 1, languages: ['en'], details: { title: { en: 'Matrix' }, license: 'CC0-1.0' }, content: [{ kind: 'text', name: 'note', label: 'Note' }] });
  }
  return JSON.stringify(sampleOf(schema, hints));
}

interface Cell {
  op: Operation;
  role: RoleName;
  side: Side | null;
  expect: Expect;
  layer: 'route' | 'resource';
  status?: number;
  mark: string;
  problems: string[];
}

async function send(method: string, url: string, headers: Record<string, string>, payload: string | undefined, type = 'application/json') {
  return app.inject({ method: method as 'GET', url, headers: { ...headers, ...(payload !== undefined ? { 'content-type': type } : {}) }, ...(payload !== undefined ? { payload } : {}) });
}
const codeOf = (body: string) => {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code ?? '';
  } catch {
    return '';
  }
};

describe('authorisation matrix', () => {
  it('roles × operations × own/other workspace: refusals where expected, no leaks, no existence leaks', async () => {
    const ops = operationsOf(app.swagger()).filter((o) => !o.path.endsWith('/stream'));
    const accessOf = new Map(app.routeAccess.map((r) => [`${r.method} ${r.url}`, r.access]));
    const cells: Cell[] = [];
    for (const op of ops) {
      const access = accessOf.get(`${op.method} ${op.path.replace(/\{([^}*]+)\}/g, ':$1').replace('{*}', '*')}`);
      expect(access, `${op.method} ${op.path} has no declared access`).toBeDefined();
      // A resource in the path: once on each side. Otherwise once.
      const sided = op.pathParams.some((p) => ['id', 'ds', 'sid', 'userId'].includes(p.name));
      for (const side of sided ? SIDES : [null]) {
        for (const role of CALLERS) {
          const { expect: e, layer } = expectation(op, access!, role, side);
          cells.push({ op, role, side, expect: e, layer, mark: ' ', problems: [] });
        }
      }
    }

    const run = async (cell: Cell) => {
      const { op, role, side } = cell;
      const s = world.sides[side ?? 'A'];
      const { params, known } = pathParamsFor(op, s, world);
      if ((!known || !TABLED_TAGS.has(op.tag)) && cell.expect === 'allow') cell.expect = 'unspecified';
      const query = queryFor(op, s, world);
      const csv = /\/imports$/.test(op.path);
      const payload = csv ? 'note\nmatrix\n' : bodyFor(op, s, world);
      const type = csv ? 'text/csv' : 'application/json';
      const url = fillPath(op.path, params) + query;
      const caller = world.callers[role];
      const r = await send(op.method, url, caller.headers, payload, type);
      cell.status = r.statusCode;
      for (const p of answerProblems({ status: r.statusCode, headers: r.headers, body: r.body })) cell.problems.push(p);
      for (const l of leakedSecrets(r.body, role, world.secrets, url + (payload ?? ''))) cell.problems.push(`LEAK: side ${l.side}'s ${l.what}`);
      if (cell.expect === 'deny') {
        if (![401, 403, 404].includes(r.statusCode)) cell.problems.push(`expected a refusal, got ${r.statusCode} ${r.body.slice(0, 160)}`);
        else if (cell.layer === 'route' && r.statusCode !== (CALLER_TABLE[role].kind === 'anonymous' ? 401 : 403)) cell.problems.push(`route-level refusal should be ${CALLER_TABLE[role].kind === 'anonymous' ? 401 : 403}, got ${r.statusCode}`);
        else if (cell.layer === 'resource' && side && caller.side !== side) {
          // Refused on an existing resource: the same answer as for one that does not exist.
          const ghost = await send(op.method, fillPath(op.path, ghostParams(params)) + query, caller.headers, payload, type);
          if (ghost.statusCode !== r.statusCode || codeOf(ghost.body) !== codeOf(r.body)) {
            cell.problems.push(`EXISTENCE: ${r.statusCode} ${codeOf(r.body)} on side ${side}'s resource, ${ghost.statusCode} ${codeOf(ghost.body)} on a missing one`);
          }
        }
      } else if (cell.expect === 'allow') {
        if ([401, 403].includes(r.statusCode) || (op.method === 'GET' && r.statusCode >= 400)) cell.problems.push(`expected access, got ${r.statusCode} ${r.body.slice(0, 160)}`);
      }
      cell.mark = cell.problems.some((p) => p.startsWith('LEAK')) ? 'L' : cell.problems.some((p) => p.startsWith('EXISTENCE')) ? 'E' : cell.problems.length ? '✗' : cell.expect === 'deny' ? '·' : cell.expect === 'allow' ? '✓' : '?';
    };

    // Refusals first: they must change nothing, so the fixtures are intact for the callers who may.
    for (const cell of cells.filter((c) => c.expect === 'deny')) await run(cell);
    for (const cell of cells.filter((c) => c.expect !== 'deny')) {
      if (matches(DISRUPTIVE, cell.op)) cell.mark = '-';
      else await run(cell);
    }

    // The matrix, grouped by tag: one column per caller and side (A: inside the people of side A's reach, B: outside it).
    const cols = CALLERS.flatMap((role) => SIDES.map((side) => ({ role, side })));
    const abbrev: Record<RoleName, string> = { admin: 'adm', manager: 'mgr', member: 'mem', outsider: 'oth', app: 'app', appNoGrant: 'ap0', token: 'tok', reviewer: 'rev', anonymous: 'ano' };
    const lines = [
      'authorisation matrix  (✓ allowed and answered, · refused as expected, - allowed but not run (would end the caller or change the fixtures), ? not specified (leak/shape checked), ✗ wrong answer, L leak, E existence leak)',
      `columns: caller/side of the resource (A = manager, member, app, token and reviewer's own side; B = the outsider's side)`,
      `${'operation'.padEnd(62)} ${CALLERS.map((r) => abbrev[r].padEnd(3)).join(' ')}`,
      `${''.padEnd(62)} ${CALLERS.map(() => 'AB ').join(' ')}`,
    ];
    let tag = '';
    for (const op of ops) {
      if (op.tag !== tag) lines.push(`[${(tag = op.tag)}]`);
      const row = cols.map(({ role, side }, i) => {
        const c = cells.find((x) => x.op === op && x.role === role && (x.side === side || (x.side === null && side === 'A')));
        return (c?.mark ?? ' ') + (i % 2 === 1 ? '  ' : '');
      });
      lines.push(`${`${op.method} ${op.path.replace('/api/v1', '')}`.slice(0, 62).padEnd(62)} ${row.join('')}`);
    }
    const failures = cells.filter((c) => c.problems.length);
    const counts = { cells: cells.length, run: cells.filter((c) => c.status !== undefined).length, refused: cells.filter((c) => c.mark === '·').length, allowed: cells.filter((c) => c.mark === '✓').length, failures: failures.length, leaks: cells.filter((c) => c.mark === 'L').length, existence: cells.filter((c) => c.mark === 'E').length };
    lines.push(`${counts.cells} cells over ${ops.length} operations × ${CALLERS.length} callers × own/other side; ${counts.run} requests run; ${counts.refused} refused as expected, ${counts.allowed} allowed as expected; ${counts.failures} wrong (${counts.leaks} leaks, ${counts.existence} existence leaks)`);
    const untabled = [...new Set(ops.filter((o) => !TABLED_TAGS.has(o.tag)).map((o) => o.tag))];
    if (untabled.length) lines.push(`not yet in the resource table (allowed callers not asserted): ${untabled.map((t) => `[${t}] ${ops.filter((o) => o.tag === t).length} operations`).join(', ')}`);
    for (const f of failures) lines.push(`  ✗ ${f.role} on ${f.side ?? '-'}: ${f.op.method} ${f.op.path} (expected ${f.expect}, ${f.layer} layer): ${f.problems.join('; ')}`);
    console.log(lines.join('\n'));
    expect(failures.map((f) => `${f.role}/${f.side ?? '-'} ${f.op.method} ${f.op.path}: ${f.problems.join('; ')}`)).toEqual([]);
  });
});

describe('idempotent replays re-check access', () => {
  it('a transactionId replayed after losing access, or into another target, never returns the original record', async () => {
    const a = world.sides.A;
    const b = world.sides.B;
    const admin = world.callers.admin.headers;
    const member = world.callers.member.headers;
    const post = (url: string, payload: unknown, headers: Record<string, string>) => send('POST', url, headers, JSON.stringify(payload));
    // Side A's member also works in B for a while, and submits a record there.
    expect((await send('PUT', `/api/v1/workspaces/${b.workspace}/members/${a.memberId}`, admin, JSON.stringify({ role: 'member' }))).statusCode).toBe(204);
    const secret = `canary-B-replayed-${randomUUID()}`;
    const transactionId = `replay-${randomUUID()}`;
    const first = await post(`/api/v1/sessions/${b.session}/records`, { instrument: world.instrument, data: { note: secret }, transactionId }, member);
    expect(first.statusCode, first.body).toBe(201);
    const recordId = (first.json().record?.id ?? first.json().id) as string;
    expect((await send('DELETE', `/api/v1/workspaces/${b.workspace}/members/${a.memberId}`, admin, undefined)).statusCode).toBe(204);

    // Replayed into B (no longer reachable): refused, not the old record.
    const intoB = await post(`/api/v1/sessions/${b.session}/records`, { instrument: world.instrument, data: { note: 'again' }, transactionId }, member);
    expect([403, 404], intoB.body).toContain(intoB.statusCode);
    // Replayed into A's session (reachable, but another target): never B's record or its data.
    const intoA = await post(`/api/v1/sessions/${a.session}/records`, { instrument: world.instrument, data: { note: 'again' }, transactionId }, member);
    expect(intoA.statusCode, intoA.body).toBeLessThan(500);
    for (const r of [intoB, intoA]) {
      expect(r.body).not.toContain(secret);
      expect(r.body).not.toContain(recordId);
    }

    // A transactionId the caller used for an event (not a record): a clean refusal or a new record, never a 500 or the event.
    const reused = await post(`/api/v1/sessions/${a.session}/records`, { instrument: world.instrument, data: { note: 'reuse' }, transactionId: a.eventTransactionId }, member);
    expect(reused.statusCode, reused.body).toBeLessThan(500);
    expect(reused.body).not.toContain(a.event);
  });
});
