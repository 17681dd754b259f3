import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import { factories, type Factories } from '../../test/factories.js';
import type { App } from '../app.js';

/**
 * Issue 10, item 5: an idempotent replay re-checks access and replays only into the target it
 * was first used for (same route, same type and stream, same session); otherwise 409
 * `idempotency_conflict`, with nothing of the original in the answer.
 */

let app: App;
let stop: () => Promise<void>;
let admin: string;
let make: Factories;

const TINY = {
  kind: 'form',
  name: 'replay-tiny',
  edition: 1,
  languages: ['en'],
  details: { title: { en: 'Tiny' }, license: 'CC0-1.0' },
  content: [{ kind: 'text', name: 'secret', label: 'Secret' }],
};

const inject = (method: string, url: string, authorization: string, payload?: unknown) =>
  app.inject({ method: method as 'GET', url, headers: { authorization }, ...(payload !== undefined ? { payload: payload as object } : {}) });

async function sessionIn(auth: string, ws: string, identifier: string) {
  return make.session(await make.subject(ws, identifier, auth), auth);
}
/** A member of each workspace given. */
async function memberOf(username: string, ...workspaces: string[]) {
  const u = await make.user(username);
  for (const ws of workspaces) await make.member(ws, u.id);
  return u;
}
async function subjectOf(auth: string, sessionId: string) {
  return (await inject('GET', `/api/v1/sessions/${sessionId}`, auth)).json().session.subjectId as string;
}
const submit = (auth: string, sessionId: string, secret: string, transactionId: string) =>
  inject('POST', `/api/v1/sessions/${sessionId}/records`, auth, { instrument: { name: 'replay-tiny', edition: 1 }, data: { secret }, transactionId });

beforeAll(async () => {
  ({ app, stop } = await createTestApp());
  admin = (await setupAdmin(app)).authorization;
  make = factories(app, admin);
  await make.instrument(TINY);
});
afterAll(() => stop());

describe('idempotent replays', () => {
  it('after removal from a workspace, replaying a record into another workspace returns nothing of it', async () => {
    const a = await make.workspace('Replay A');
    const b = await make.workspace('Replay B');
    const ana = await memberOf('ana', a, b);
    const inA = await sessionIn(ana.authorization, a, 'A-001');
    const inB = await sessionIn(ana.authorization, b, 'B-001');

    const first = await submit(ana.authorization, inA, 'only for A', 'tx-rec-1');
    expect(first.statusCode, first.body).toBe(201);
    // A true retry, same session: the original record, once.
    const retry = await submit(ana.authorization, inA, 'only for A', 'tx-rec-1');
    expect(retry.statusCode).toBe(200);
    expect(retry.json().record.id).toBe(first.json().record.id);

    expect((await inject('DELETE', `/api/v1/workspaces/${a}/members/${ana.id}`, admin)).statusCode).toBe(204);

    const leak = await submit(ana.authorization, inB, 'anything', 'tx-rec-1');
    expect(leak.statusCode).toBe(409);
    expect(leak.json().error.code).toBe('idempotency_conflict');
    expect(leak.body).not.toContain('only for A');
    expect(leak.body).not.toContain(first.json().record.id);
    // Into the original session, which she no longer sees: not found, as for any stranger.
    const back = await submit(ana.authorization, inA, 'anything', 'tx-rec-1');
    expect(back.statusCode).toBe(404);
    expect(back.body).not.toContain('only for A');
    // Nothing was written by the refused attempts.
    const listed = await inject('GET', `/api/v1/subjects/${await subjectOf(admin, inB)}/records`, admin);
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toContain('anything');
  });

  it('a record retry into another session the caller still holds is refused too', async () => {
    const c = await make.workspace('Replay C');
    const bo = await memberOf('bo', c);
    const s1 = await sessionIn(bo.authorization, c, 'C-001');
    const s2 = await sessionIn(bo.authorization, c, 'C-002');
    expect((await submit(bo.authorization, s1, 'first', 'tx-rec-2')).statusCode).toBe(201);
    const other = await submit(bo.authorization, s2, 'second', 'tx-rec-2');
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('idempotency_conflict');
  });

  it('a transactionId used for a plain event is not a record: 409, not a 500', async () => {
    const d = await make.workspace('Replay D');
    const cy = await memberOf('cy', d);
    const s = await sessionIn(cy.authorization, d, 'D-001');
    expect((await inject('POST', '/api/v1/events', cy.authorization, { events: [{ type: 'note.created', data: { x: 1 }, transactionId: 'tx-shared' }] })).statusCode).toBe(201);
    const r = await submit(cy.authorization, s, 'x', 'tx-shared');
    expect(r.statusCode).toBe(409);
    expect(r.json().error.code).toBe('idempotency_conflict');
  });

  it('events: a replay answers the original only for the same type and stream', async () => {
    const ev = (body: unknown) => inject('POST', '/api/v1/events', admin, body);
    const first = await ev({ events: [{ type: 'pay.made', stream: 'acct-1', data: { n: 1 }, transactionId: 'tx-ev-1' }] });
    expect(first.statusCode).toBe(201);
    const same = await ev({ events: [{ type: 'pay.made', stream: 'acct-1', data: { n: 1 }, transactionId: 'tx-ev-1' }] });
    expect(same.statusCode).toBe(200);
    expect(same.json().events[0]).toMatchObject({ id: first.json().events[0].id, replayed: true });

    for (const target of [{ type: 'pay.made', stream: 'acct-2' }, { type: 'pay.refunded', stream: 'acct-1' }, { type: 'pay.made' }]) {
      const r = await ev({ events: [{ ...target, data: { n: 2 }, transactionId: 'tx-ev-1' }] });
      expect(r.statusCode, JSON.stringify(target)).toBe(409);
      expect(r.json().error.code).toBe('idempotency_conflict');
      expect(r.json().error.details[0].pointer).toBe('/events/0/transactionId');
      expect(r.body).not.toContain(first.json().events[0].id);
    }
    // The batch is refused whole: its other, fresh entry was not written.
    const mixed = await ev({ events: [{ type: 'pay.fresh', data: {}, transactionId: 'tx-ev-fresh' }, { type: 'pay.made', stream: 'acct-9', data: {}, transactionId: 'tx-ev-1' }] });
    expect(mixed.statusCode).toBe(409);
    const listed = (await inject('GET', '/api/v1/events?type=pay.fresh', admin)).json().events;
    expect(listed).toEqual([]);
  });
});
