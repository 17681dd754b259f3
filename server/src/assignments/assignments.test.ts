import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import { buildGateway } from '../../../gateway/src/app.js';
import { migrateGateway } from '../../../gateway/src/database.js';
import { sealPart } from './assignments.crypto.js';
import { invitation } from './assignments.mail.js';

/**
 * Remote capture over real HTTP: the core (in-process app) and the gateway (its own Fastify on a
 * loopback port, its own database), the participant played with the same calls the page makes.
 * The browser and two-process run is web/test/remote-capture.test.ts.
 */
const KEY = crypto.randomBytes(32).toString('base64url');
let gatewayDb: { pool: pg.Pool; name: string };
let gateway: Awaited<ReturnType<typeof buildGateway>>;
let gatewayUrl: string;
let t: Awaited<ReturnType<typeof createTestApp>>;
let auth: { authorization: string };
let workspaceId: string;
let subjectId: string;

async function gatewayDatabase() {
  const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await admin.connect();
  const name = `gw_${process.pid}_${Date.now().toString(36)}`;
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const pool = new pg.Pool({ connectionString: inject('pgAdminUrl').replace('/postgres?', `/${name}?`), max: 4 });
  // The gateway resolves its own copy of pg's types (gateway/node_modules): the same runtime class.
  await migrateGateway(pool as never);
  return { pool, name };
}

/** What the participant's page does: the proof of work, then open. */
async function openAsParticipant(linkId: string) {
  const challenge = (await (await fetch(`${gatewayUrl}/api/p/v1/challenge`)).json()) as Parameters<typeof solveChallenge>[0]['challenge'];
  const solution = await solveChallenge({ challenge, deriveKey });
  const altcha = Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
  const r = await fetch(`${gatewayUrl}/api/p/v1/assignments/${linkId}/open`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ altcha }) });
  return { status: r.status, body: (await r.json()) as { token: string; assignment: { publicKey: string; parts: { name: string; done: boolean }[] } }, altcha };
}

async function submit(linkId: string, part: number, body: { token: string; enc: string; ct: string }) {
  const r = await fetch(`${gatewayUrl}/api/p/v1/assignments/${linkId}/parts/${part}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as { status?: string; error?: { code: string } } };
}

const linkIdOf = (link: string) => new URL(link).pathname.split('/').pop()!;
const PHQ = { symptoms: { q1: 2, q2: 1, q3: 3, q4: 0, q5: 1, q6: 2, q7: 0, q8: 1, q9: 0 }, difficulty: 2 };

beforeAll(async () => {
  gatewayDb = await gatewayDatabase();
  gateway = await buildGateway({ pool: gatewayDb.pool as never, key: KEY, webDir: '/nonexistent', rateLimit: 1000, powMaxNumber: 200, logLevel: 'silent' });
  await gateway.listen({ port: 0, host: '127.0.0.1' });
  gatewayUrl = `http://127.0.0.1:${(gateway.server.address() as { port: number }).port}`;
  t = await createTestApp({ CAIRN_GATEWAY_URL: gatewayUrl, CAIRN_GATEWAY_KEY: KEY, CAIRN_WORKERS: 'false' });
  auth = await setupAdmin(t.app);
  const ws = await t.app.inject({ method: 'POST', url: '/api/v1/workspaces', headers: auth, payload: { name: 'Remote study' } });
  workspaceId = ws.json().workspace.id;
  const s = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${workspaceId}/subjects`, headers: auth, payload: { identifier: 'R-001', identifierKind: 'custom' } });
  subjectId = s.json().subject.id;
});

afterAll(async () => {
  await t?.stop();
  await gateway?.close();
  await gatewayDb?.pool.end();
});

describe('remote capture', () => {
  it('sends PHQ-9, the participant seals it, the core pulls it into a record with its score; the gateway keeps no plaintext', async () => {
    const created = await t.app.inject({ method: 'POST', url: `/api/v1/subjects/${subjectId}/assignments`, headers: auth, payload: { instrument: { name: 'phq-9', edition: 1 }, language: 'fr', expiresInDays: 7 } });
    expect(created.statusCode, created.body).toBe(201);
    const a = created.json().assignment;
    expect(a).toMatchObject({ status: 'sent', language: 'fr', parts: 1, subject: { identifier: 'R-001' } });
    const linkId = linkIdOf(a.link);
    expect(linkId).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const opened = await openAsParticipant(linkId);
    expect(opened.status).toBe(200);
    expect(opened.body.assignment.parts).toEqual([expect.objectContaining({ name: 'phq-9', done: false })]);
    // One solved check opens the page once.
    const again = await fetch(`${gatewayUrl}/api/p/v1/assignments/${linkId}/open`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ altcha: opened.altcha }) });
    expect(again.status).toBe(403);

    const sealed = await sealPart(opened.body.assignment.publicKey, linkId, 0, JSON.stringify({ answers: PHQ }));
    // Without the token the page got after the check: refused.
    expect((await submit(linkId, 0, { token: `${Math.floor(Date.now() / 1000) + 60}.forged`, ...sealed })).status).toBe(403);
    const sent = await submit(linkId, 0, { token: opened.body.token, ...sealed });
    expect(sent).toMatchObject({ status: 201, body: { status: 'completed' } });
    // The same part again (a replay) is refused, and so is anything once completed.
    expect((await submit(linkId, 0, { token: opened.body.token, ...sealed })).status).toBe(409);

    // Everything the gateway stores, as text: no answer in the clear.
    const dump = (await gatewayDb.pool.query(`SELECT string_agg(t::text, ' ') AS all FROM (SELECT a::text AS t FROM gateway_assignments a UNION ALL SELECT s::text FROM gateway_submissions s) x`)).rows[0].all as string;
    expect(dump).toContain(linkId);
    // (Field names are in the stored definition; the answers' values and their envelope are not.)
    expect(dump).not.toContain(JSON.stringify(PHQ.symptoms).slice(1, -1));
    expect(dump).not.toContain('"answers"');
    expect(dump).not.toContain('R-001');

    const pulled = await t.app.inject({ method: 'POST', url: '/api/v1/remote-capture/pull', headers: auth });
    expect(pulled.json()).toMatchObject({ recorded: 1, invalid: 0 });
    expect((await gatewayDb.pool.query('SELECT count(*)::int AS n FROM gateway_submissions')).rows[0].n).toBe(0);

    const records = (await t.app.inject({ method: 'GET', url: `/api/v1/subjects/${subjectId}/records?instrument=phq-9`, headers: auth })).json().records;
    expect(records).toHaveLength(1);
    expect(records[0].measures).toMatchObject({ total: 10, severity: 'moderate' });
    const detail = (await t.app.inject({ method: 'GET', url: `/api/v1/assignments/${a.id}`, headers: auth })).json();
    expect(detail.assignment).toMatchObject({ status: 'completed', partsReceived: 1 });
    expect(detail.parts[0]).toMatchObject({ status: 'recorded', recordId: records[0].id });
    const session = (await t.app.inject({ method: 'GET', url: `/api/v1/sessions/${records[0].sessionId}`, headers: auth })).json().session;
    expect(session).toMatchObject({ kind: 'remote', active: false });
    // Pulling again changes nothing.
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/remote-capture/pull', headers: auth })).json()).toMatchObject({ recorded: 0, invalid: 0 });

    // A completed link answers its page, never the form.
    const page = await fetch(`${gatewayUrl}/a/${linkId}`);
    expect(page.status).toBe(409);
    expect(await page.text()).toContain('Déjà rempli');
  });

  it('keeps aside a part that does not open or does not validate, and shows it', async () => {
    const mk = async () => (await t.app.inject({ method: 'POST', url: `/api/v1/subjects/${subjectId}/assignments`, headers: auth, payload: { instrument: { name: 'mental-health-screening', edition: 1 } } })).json().assignment;
    const a = await mk();
    expect(a.parts).toBe(4);
    const linkId = linkIdOf(a.link);
    const opened = await openAsParticipant(linkId);
    // Part 2 (PHQ-9) sealed for part 3's slot: the aad binds it to its part, so it does not open.
    const misplaced = await sealPart(opened.body.assignment.publicKey, linkId, 2, JSON.stringify({ answers: PHQ }));
    const mp = await submit(linkId, 3, { token: opened.body.token, ...misplaced });
    expect(mp.status, JSON.stringify(mp.body)).toBe(201);
    // Part 2 sealed properly but with an out-of-range answer: opens, fails validation.
    const wrong = await sealPart(opened.body.assignment.publicKey, linkId, 2, JSON.stringify({ answers: { symptoms: { ...PHQ.symptoms, q1: 7 } } }));
    const r = await submit(linkId, 2, { token: opened.body.token, ...wrong });
    expect(r.body.status).toBe('partly_done');

    expect((await t.app.inject({ method: 'POST', url: '/api/v1/remote-capture/pull', headers: auth })).json()).toMatchObject({ recorded: 0, invalid: 2 });
    const detail = (await t.app.inject({ method: 'GET', url: `/api/v1/assignments/${a.id}`, headers: auth })).json();
    expect(detail.assignment).toMatchObject({ status: 'partly_done', partsReceived: 2, invalidParts: 2 });
    expect(detail.parts[3]).toMatchObject({ status: 'invalid', problem: 'undecryptable', data: null });
    expect(detail.parts[2]).toMatchObject({ status: 'invalid', problem: 'invalid_submission' });
    expect(detail.parts[2].data.symptoms.q1).toBe(7);
    expect(detail.parts[2].errors[0].field).toMatch(/q1/);
    expect(detail.parts[0].status).toBe('waiting');

    // Cancel works at once: in the core, and on the gateway's page.
    const cancelled = await t.app.inject({ method: 'POST', url: `/api/v1/assignments/${a.id}/cancel`, headers: auth });
    expect(cancelled.json().assignment.status).toBe('cancelled');
    expect((await fetch(`${gatewayUrl}/a/${linkId}`)).status).toBe(409);
    expect((await t.app.inject({ method: 'POST', url: `/api/v1/assignments/${a.id}/cancel`, headers: auth })).json().error.code).toBe('assignment_closed');
    const sealed = await sealPart(opened.body.assignment.publicKey, linkId, 0, JSON.stringify({ answers: {} }));
    expect((await submit(linkId, 0, { token: opened.body.token, ...sealed })).body.error?.code).toBe('assignment_cancelled');
  });

  it('lists per workspace with counts, assigns many subjects at once, validates input', async () => {
    const ids: string[] = [];
    for (const n of ['R-010', 'R-011', 'R-012']) ids.push((await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${workspaceId}/subjects`, headers: auth, payload: { identifier: n, identifierKind: 'custom' } })).json().subject.id);
    const bulk = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${workspaceId}/assignments`, headers: auth, payload: { subjectIds: [...ids, crypto.randomUUID()], instrument: { name: 'gad-7', edition: 1 }, expiresInDays: 3 } });
    expect(bulk.statusCode).toBe(201);
    expect(bulk.json().created).toHaveLength(3);
    expect(bulk.json().failed).toEqual([expect.objectContaining({ code: 'not_found' })]);
    const list = (await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${workspaceId}/assignments?status=sent`, headers: auth })).json();
    expect(list.assignments.map((x: { subject: { identifier: string } }) => x.subject.identifier).sort()).toEqual(['R-010', 'R-011', 'R-012']);
    expect(list.counts).toMatchObject({ sent: 3, completed: 1, cancelled: 1 });

    const bad = await t.app.inject({ method: 'POST', url: `/api/v1/subjects/${subjectId}/assignments`, headers: auth, payload: { instrument: { name: 'phq-9', edition: 1 }, language: 'de' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details[0].pointer).toBe('/language');
    const nomail = await t.app.inject({ method: 'POST', url: `/api/v1/subjects/${subjectId}/assignments`, headers: auth, payload: { instrument: { name: 'phq-9', edition: 1 }, email: 'p@example.org' } });
    expect(nomail.json().error.code).toBe('mail_unavailable');
    const unknown = await t.app.inject({ method: 'POST', url: `/api/v1/subjects/${subjectId}/assignments`, headers: auth, payload: { instrument: { name: 'nope', edition: 1 } } });
    expect(unknown.statusCode).toBe(404);
  });

  it('answers clear pages for expired and unknown links, and refuses the core API without the key', async () => {
    const linkId = crypto.randomBytes(32).toString('base64url');
    const put = await fetch(`${gatewayUrl}/api/gateway/v1/assignments/${linkId}`, { method: 'PUT', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ language: 'en', title: 'T', parts: [{ name: 'phq-9', edition: 1, definition: {} }], publicKey: 'AAAA', expiresAt: new Date(Date.now() - 1000).toISOString() }) });
    expect(put.status).toBe(201);
    const page = await fetch(`${gatewayUrl}/a/${linkId}`);
    expect(page.status).toBe(410);
    expect(await page.text()).toContain('This link has expired');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect((await fetch(`${gatewayUrl}/a/${crypto.randomBytes(32).toString('base64url')}`)).status).toBe(404);
    expect((await fetch(`${gatewayUrl}/api/gateway/v1/submissions`)).status).toBe(401);
    expect((await fetch(`${gatewayUrl}/api/gateway/v1/submissions`, { headers: { authorization: 'Bearer wrong-key-wrong-key-wrong-key-wrong' } })).status).toBe(401);
  });

  it('writes localised invitations', () => {
    const fr = invitation('fr', 'PHQ-9', 'https://gw.example/a/x', new Date('2027-01-02T03:04:00Z'));
    expect(fr.subject).toBe('Un questionnaire pour vous : PHQ-9');
    expect(fr.text).toContain('https://gw.example/a/x');
    expect(fr.text).toContain('janvier 2027');
    expect(invitation('en', 'A & B', 'https://gw.example/a/x', new Date()).html).toContain('A &#38; B');
  });
});
