import { randomUUID } from 'node:crypto';
import type { App } from '../src/app.js';
import { setupAdmin } from './harness.js';

/**
 * A populated instance built through the API only, for the tests that attack every operation
 * (kernel/http.fuzz.test.ts, kernel/access.matrix.test.ts): two sides, A and B, each with a
 * workspace, a manager, a member, a subject with a session and a record, the member's event, a
 * private dataset with a snapshot, an upload session and a reviewer link, a public dataset, an
 * app holding a grant, a view instance of that app, and a token of the member narrowed to one
 * scope. Every secret string carries a canary naming its side, and the world records who may ever
 * read each one, so a test can grep any answer for data that reached the wrong caller.
 */

export type Side = 'A' | 'B';
export const SIDES: readonly Side[] = ['A', 'B'];

/** Who calls. `reviewer` is anonymous with side A's reviewer link; `token` is side A's manager's token narrowed to `events:read`. */
export const ROLES = ['admin', 'manager', 'member', 'outsider', 'app', 'appNoGrant', 'token', 'reviewer', 'anonymous'] as const;
export type RoleName = (typeof ROLES)[number];

export interface Caller {
  role: RoleName;
  /** Request headers that authenticate this caller (none for anonymous). */
  headers: Record<string, string>;
  /** The side whose people this caller belongs to (outsider: B; admin, app without grant, anonymous: none). */
  side: Side | null;
}

export interface SideIds {
  workspace: string;
  childWorkspace: string;
  managerId: string;
  memberId: string;
  subject: string;
  session: string;
  record: string;
  event: string;
  appEvent: string;
  eventType: string;
  dataset: string;
  publicDataset: string;
  snapshot: string;
  upload: string;
  reviewerLinkId: string;
  reviewerToken: string;
  app: string;
  permissionRequest: string;
  viewTemplate: string;
  view: string;
  tokenId: string;
  recordTransactionId: string;
  eventTransactionId: string;
  tokenSecret: string;
  memberAuth: string;
  managerAuth: string;
  appAuth: string;
}

/** A string only `readers` may ever receive in an answer. */
export interface Secret {
  side: Side;
  what: string;
  value: string;
  readers: readonly RoleName[];
}

export interface World {
  admin: { authorization: string; userId: string };
  callers: Record<RoleName, Caller>;
  sides: Record<Side, SideIds>;
  appNoGrant: { id: string; auth: string };
  instrument: { name: string; edition: number };
  secrets: Secret[];
}

const PASSWORD = 'matrix password 12345';

async function call(app: App, method: string, url: string, authorization: string | undefined, payload?: unknown, headers: Record<string, string> = {}) {
  const r = await app.inject({ method: method as 'GET', url, headers: { ...(authorization ? { authorization } : {}), ...headers }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  if (r.statusCode >= 300) throw new Error(`world: ${method} ${url} -> ${r.statusCode} ${r.body.slice(0, 400)}`);
  return r.body ? r.json() : undefined;
}

async function appToken(app: App, clientId: string, clientSecret: string) {
  const r = await app.inject({
    method: 'POST',
    url: '/api/v1/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).toString(),
  });
  if (r.statusCode !== 200) throw new Error(`world: oauth token ${r.statusCode} ${r.body}`);
  return `Bearer ${r.json().access_token}`;
}

async function newApp(app: App, admin: string, name: string) {
  const reg = await call(app, 'POST', '/api/v1/apps', admin, { name, description: `${name} (test world)` });
  const assoc = await call(app, 'POST', '/api/v1/apps/associate', undefined, { associationCode: reg.associationCode });
  return { id: reg.id as string, auth: await appToken(app, assoc.clientId, assoc.clientSecret) };
}

async function user(app: App, admin: string, username: string) {
  const u = await call(app, 'POST', '/api/v1/users', admin, { username, password: PASSWORD, role: 'member' });
  const login = await call(app, 'POST', '/api/v1/auth/login', undefined, { username, password: PASSWORD });
  return { id: u.user.id as string, authorization: `Bearer ${login.accessToken}` };
}

/** Builds the world on a fresh app (the first admin is created here). */
export async function buildWorld(app: App): Promise<World> {
  const admin = await setupAdmin(app);
  const A = admin.authorization;
  const instrument = { name: 'world-note', edition: 1 };
  await call(app, 'POST', '/api/v1/instruments', A, {
    kind: 'form',
    name: instrument.name,
    edition: 1,
    languages: ['en'],
    details: { title: { en: 'World note' }, license: 'CC0-1.0' },
    content: [{ kind: 'text', name: 'note', label: 'Note' }],
  });
  const appNoGrant = await newApp(app, A, 'world-app-without-grant');
  const secrets: Secret[] = [];
  const sides = {} as Record<Side, SideIds>;
  const canary = (side: Side, what: string) => `canary-${side}-${what}-${Math.random().toString(36).slice(2, 10)}`;

  for (const side of SIDES) {
    const lc = side.toLowerCase();
    const wsName = canary(side, 'workspace');
    const ws = (await call(app, 'POST', '/api/v1/workspaces', A, { name: wsName })).workspace.id as string;
    const managerName = `mgr-${lc}-${Math.random().toString(36).slice(2, 8)}`;
    const memberName = `mem-${lc}-${Math.random().toString(36).slice(2, 8)}`;
    const manager = await user(app, A, managerName);
    const member = await user(app, A, memberName);
    await call(app, 'PUT', `/api/v1/workspaces/${ws}/members/${manager.id}`, A, { role: 'manager' });
    await call(app, 'PUT', `/api/v1/workspaces/${ws}/members/${member.id}`, A, { role: 'member' });
    const childName = canary(side, 'child-workspace');
    const child = (await call(app, 'POST', '/api/v1/workspaces', manager.authorization, { name: childName, parentId: ws })).workspace.id as string;

    const subjectIdentifier = canary(side, 'subject');
    const subject = (await call(app, 'POST', `/api/v1/workspaces/${ws}/subjects`, member.authorization, { identifier: subjectIdentifier, identifierKind: 'custom' })).subject.id as string;
    const session = (await call(app, 'POST', `/api/v1/subjects/${subject}/sessions`, member.authorization, { kind: 'in_person' })).session.id as string;
    const note = canary(side, 'record');
    const recordTx = canary(side, 'record-tx');
    const rec = await call(app, 'POST', `/api/v1/sessions/${session}/records`, member.authorization, { instrument, data: { note }, transactionId: recordTx });
    const record = (rec.record?.id ?? rec.id) as string;

    const eventType = `world-${lc}.example/item`;
    await call(app, 'POST', '/api/v1/event-types', A, { name: eventType, schema: { type: 'object', properties: { note: { type: 'string' } } } });
    const eventNote = canary(side, 'event');
    const eventTx = canary(side, 'event-tx');
    const ev = await call(app, 'POST', '/api/v1/events', member.authorization, { events: [{ type: eventType, data: { note: eventNote }, transactionId: eventTx }] });
    const event = ev.entries?.[0]?.id ?? ev.events?.[0]?.id;
    if (typeof event !== 'string') throw new Error(`world: unexpected append answer ${JSON.stringify(ev)}`);

    const theApp = await newApp(app, A, `world-app-${lc}`);
    const pr = await call(app, 'POST', '/api/v1/apps/me/permission-requests', theApp.auth, { eventType, read: true, create: true, modify: true, delete: true, message: 'world' });
    await call(app, 'POST', `/api/v1/permission-requests/${pr.id}/approve`, A);
    const appNote = canary(side, 'app-event');
    const appEv = await call(app, 'POST', '/api/v1/events', theApp.auth, { events: [{ type: eventType, data: { note: appNote } }] });
    const appEvent = (appEv.entries?.[0]?.id ?? appEv.events?.[0]?.id) as string;
    const template = await call(app, 'POST', '/api/v1/view-templates', A, {
      name: `world-view-${lc}`,
      runtime: 'javascript',
      files: { 'main.js': 'export default async function ({ configuration }) { return { label: configuration.label }; }' },
      eventTypes: [eventType],
    });
    const viewLabel = canary(side, 'view');
    const view = (await call(app, 'POST', '/api/v1/views', theApp.auth, { templateId: template.id, configuration: { label: viewLabel } })) as { id?: string; view?: { id: string } };
    const viewId = (view.view?.id ?? view.id) as string;

    const dsTitle = canary(side, 'dataset');
    const dsReadme = canary(side, 'readme');
    const dataset = (await call(app, 'POST', '/api/v1/datasets', member.authorization, { title: dsTitle, readme: `# ${dsReadme}\n` })).dataset.accession as string;
    const snap = await call(app, 'POST', `/api/v1/datasets/${dataset}/snapshots`, member.authorization, { version: '1.0.0', changelog: 'first' });
    const snapshot = (snap.snapshot?.tag ?? snap.version?.tag ?? snap.tag ?? '1.0.0') as string;
    const upload = (await call(app, 'POST', `/api/v1/datasets/${dataset}/uploads`, member.authorization)).session.id as string;
    const link = (await call(app, 'POST', `/api/v1/datasets/${dataset}/reviewer-links`, member.authorization, { note: 'world' })).link;
    const publicDataset = (await call(app, 'POST', '/api/v1/datasets', member.authorization, { title: `public dataset of ${side}`, public: true })).dataset.accession as string;

    const tokenName = canary(side, 'token-name');
    // The manager's token, narrowed to reading events: the most a narrowed token could misuse.
    const tok = await call(app, 'POST', '/api/v1/auth/tokens', manager.authorization, { name: tokenName, scopes: ['events:read'], expiresInDays: 1 });

    sides[side] = {
      workspace: ws,
      childWorkspace: child,
      managerId: manager.id,
      memberId: member.id,
      subject,
      session,
      record,
      event,
      appEvent,
      eventType,
      dataset,
      publicDataset,
      snapshot,
      upload,
      reviewerLinkId: link.id,
      reviewerToken: link.token,
      app: theApp.id,
      permissionRequest: pr.id,
      viewTemplate: template.id,
      view: viewId,
      tokenId: tok.token?.id ?? tok.id,
      recordTransactionId: recordTx,
      eventTransactionId: eventTx,
      tokenSecret: tok.secret,
      memberAuth: member.authorization,
      managerAuth: manager.authorization,
      appAuth: theApp.auth,
    };

    // Who may ever read each secret: the side's people (the member's own token only what it wrote,
    // as events:read allows), the side's app for what its grant covers, and administrators.
    const people: RoleName[] = side === 'A' ? ['admin', 'manager', 'member'] : ['admin', 'outsider'];
    const memberOnly: RoleName[] = side === 'A' ? ['admin', 'member'] : ['admin', 'outsider'];
    const appSide: RoleName[] = side === 'A' ? ['app'] : [];
    const add = (what: string, value: string, readers: RoleName[]) => secrets.push({ side, what, value, readers });
    add('workspace name', wsName, people);
    add('child workspace name', childName, people);
    add('subject identifier', subjectIdentifier, people);
    add('record data', note, people);
    add('record transactionId', recordTx, people);
    add('event data', eventNote, [...memberOnly, ...appSide]);
    add('event transactionId', eventTx, [...memberOnly, ...appSide]);
    add("app's event data", appNote, ['admin', ...appSide]);
    add('view configuration', viewLabel, ['admin', ...appSide]);
    add('private dataset title', dsTitle, [...memberOnly, ...(side === 'A' ? (['reviewer'] as RoleName[]) : [])]);
    add('private dataset readme', dsReadme, [...memberOnly, ...(side === 'A' ? (['reviewer'] as RoleName[]) : [])]);
    add('reviewer link token', link.token, memberOnly);
    add('token name', tokenName, side === 'A' ? ['admin', 'manager'] : ['admin']);
    add('token secret', tok.secret, []);
    add('manager username', managerName, side === 'A' ? ['admin', 'manager', 'member', 'token'] : ['admin', 'outsider']);
    add('member username', memberName, side === 'A' ? ['admin', 'manager', 'member'] : ['admin', 'outsider']);
  }

  const a = sides.A;
  const b = sides.B;
  const bearer = (s: string) => ({ authorization: s });
  // The outsider is side B's member: "another workspace's member" seen from side A.
  const callers: Record<RoleName, Caller> = {
    admin: { role: 'admin', headers: bearer(admin.authorization), side: null },
    manager: { role: 'manager', headers: bearer(a.managerAuth), side: 'A' },
    member: { role: 'member', headers: bearer(a.memberAuth), side: 'A' },
    outsider: { role: 'outsider', headers: bearer(b.memberAuth), side: 'B' },
    app: { role: 'app', headers: bearer(a.appAuth), side: 'A' },
    appNoGrant: { role: 'appNoGrant', headers: bearer(appNoGrant.auth), side: null },
    token: { role: 'token', headers: bearer(`Bearer ${a.tokenSecret}`), side: 'A' },
    reviewer: { role: 'reviewer', headers: { 'x-cairn-review': a.reviewerToken }, side: 'A' },
    anonymous: { role: 'anonymous', headers: {}, side: null },
  };
  return { admin, callers, sides, appNoGrant, instrument, secrets };
}

/** Path parameters that name a side's resource, by the path they appear in. */
export function pathParamsFor(op: { method: string; path: string; pathParams: { name: string }[] }, s: SideIds, w: World): { params: Record<string, string>; known: boolean } {
  const p = op.path;
  const id: string | undefined = /\/workspaces\/\{id\}/.test(p) ? s.workspace
    : /\/subjects\/\{id\}/.test(p) ? s.subject
    : /\/sessions\/\{id\}/.test(p) ? s.session
    : /\/records\/\{id\}/.test(p) ? s.record
    : /\/events\/\{id\}/.test(p) ? s.event
    : /\/reviewer-links\/\{id\}/.test(p) ? s.reviewerLinkId
    : /\/apps\/\{id\}/.test(p) ? s.app
    : /\/permission-requests\/\{id\}/.test(p) ? s.permissionRequest
    : /\/view-templates\/\{id\}/.test(p) ? s.viewTemplate
    : /\/views\/\{id\}/.test(p) ? s.view
    : /\/users\/\{id\}/.test(p) ? s.memberId
    : /\/auth\/tokens\/\{id\}/.test(p) ? s.tokenId
    : undefined;
  // Versions: the snapshot (a reviewer link reads snapshots, not the draft); writes go to the draft.
  const ver = op.method === 'GET' || /deprecate/.test(p) ? s.snapshot : 'draft';
  const params: Record<string, string> = { id: id ?? randomUUID(), ds: s.dataset, ver, sid: s.upload, userId: s.managerId, name: w.instrument.name, edition: '1', version: '1', '*': s.eventType };
  // A parameter this table does not know how to point at a real resource (a route added since):
  // the callers who may are then not checked for success, only for leaks and shape.
  const known = op.pathParams.every((q) =>
    q.name === 'id' ? id !== undefined
    : q.name === 'name' || q.name === 'edition' ? /^\/api\/v1\/instruments\//.test(p)
    : q.name === 'version' ? /^\/api\/v1\/view-templates\//.test(p)
    : q.name === '*' ? /^\/api\/v1\/event-types\//.test(p)
    : ['ds', 'ver', 'sid', 'userId'].includes(q.name));
  return { params, known };
}
