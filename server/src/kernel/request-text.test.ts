import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factories } from '../../test/factories.js';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import type { App } from '../app.js';
import type { Services } from '../services.js';
import { verifyLedger } from '../ledger/ledger.verify.js';
import { jsonProblem, MAX_JSON_DEPTH } from './request-text.js';

/**
 * Issue 10: items 8 (ill-formed Unicode) and 10 (JSON nested 8,000 deep; CSV import with a stray
 * quote or a JSON body). Each answered 500 or stored something `ledger verify` then called tampered.
 */
let app: App;
let services: Services;
let stop: () => Promise<void>;
let admin: string;
let ws: string;
let sessionId: string;

const send = (method: string, url: string, body: string | Buffer, contentType = 'application/json') =>
  app.inject({ method: method as 'POST', url, headers: { authorization: admin, 'content-type': contentType }, payload: body });
const json = (method: string, url: string, body: unknown) => app.inject({ method: method as 'POST', url, headers: { authorization: admin }, payload: body as object });
const ledgerCount = async () => (await services.pool.query('SELECT count(*)::int AS n FROM ledger_entries')).rows[0].n as number;
const deepArray = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObject = (n: number, leaf = '1') => '{"a":'.repeat(n) + leaf + '}'.repeat(n);

beforeAll(async () => {
  ({ app, services, stop } = await createTestApp());
  admin = (await setupAdmin(app)).authorization;
  ({ workspaceId: ws, sessionId } = await factories(app, admin).recordingSession());
}, 60_000);
afterAll(() => stop());

describe('nesting depth (item 10)', () => {
  it('finds the depth and the place without recursion, even 1,000,000 levels down', () => {
    expect(jsonProblem(JSON.parse(deepArray(MAX_JSON_DEPTH)))).toBeUndefined();
    expect(jsonProblem(JSON.parse(deepArray(MAX_JSON_DEPTH + 1)))).toMatchObject({ code: 'json_too_deep' });
    expect(jsonProblem(JSON.parse(deepArray(1_000_000)))).toMatchObject({ code: 'json_too_deep' });
    expect(jsonProblem(JSON.parse(`{"x":[1,${deepObject(3)}]}`), { maxDepth: 4 })).toEqual({ code: 'json_too_deep', pointer: '/x/1/a/a', message: 'nests deeper than 4 levels' });
  });

  it('answers 400 json_too_deep on every route for 8,000 levels, where the datasets routes answered 500', async () => {
    const ds = await json('POST', '/api/v1/datasets', { title: 'Deep' });
    expect(ds.statusCode, ds.body).toBe(201);
    const acc = ds.json().dataset?.accession ?? ds.json().accession;
    const before = await ledgerCount();
    const targets: [string, string][] = [
      ['POST', '/api/v1/datasets'],
      ['PATCH', `/api/v1/datasets/${acc}`],
      ['POST', `/api/v1/datasets/${acc}/draft/changes`],
      ['POST', `/api/v1/datasets/${acc}/uploads`],
      ['POST', `/api/v1/datasets/${acc}/snapshots`],
      ['POST', '/api/v1/events'],
      ['POST', '/api/v1/event-types'],
      ['POST', `/api/v1/sessions/${sessionId}/records`],
      ['POST', '/api/v1/workspaces'],
    ];
    const bodies = [deepArray(8000), deepObject(8000), `{"title":${deepArray(8000)}}`, `{"events":[{"type":"a.b/c","data":${deepObject(8000)}}]}`];
    for (const [method, url] of targets) {
      for (const body of bodies) {
        const r = await send(method, url, body);
        expect(r.statusCode, `${method} ${url} ${body.slice(0, 20)}: ${r.body.slice(0, 200)}`).toBe(400);
        expect(r.json().error.code).toBe('json_too_deep');
        expect(r.json().error.details[0]).toMatchObject({ in: 'body', pointer: expect.stringMatching(/^\//) });
      }
    }
    expect(await ledgerCount()).toBe(before);
  });

  it('previews a dataset file nested 8,000 deep as text, where it answered 500', async () => {
    const ds = (await json('POST', '/api/v1/datasets', { title: 'Deep file' })).json().dataset.accession;
    const session = (await send('POST', `/api/v1/datasets/${ds}/uploads`, '{}')).json().session.id;
    const content = Buffer.from(deepArray(8000));
    const blob = await services.blobs.put(Readable.from([content]));
    await services.db.insertInto('dataset_uploads').values({ id: `test-${session}`, session_id: session, size: blob.size, expected_sha256: blob.sha256, sha256: blob.sha256 } as never).execute();
    const commit = await json('POST', `/api/v1/datasets/${ds}/uploads/${session}/commit`, { changes: [{ op: 'put', path: 'deep.json', sha256: blob.sha256, size: blob.size }] });
    expect(commit.statusCode, commit.body).toBeLessThan(300);
    const preview = await app.inject({ url: `/api/v1/datasets/${ds}/versions/draft/preview?path=deep.json`, headers: { authorization: admin } });
    expect(preview.statusCode, preview.body.slice(0, 300)).toBe(200);
    expect(preview.json()).toMatchObject({ kind: 'text', text: content.toString() });
  });

  it('still accepts a body at the limit', async () => {
    // Event data itself is limited to 64 levels by the ledger; the body adds three.
    const r = await send('POST', '/api/v1/events', `{"events":[{"type":"deep.example","data":${deepObject(60)}}]}`);
    expect(r.statusCode, r.body).toBe(201);
  });
});

describe('ill-formed Unicode (item 8)', () => {
  it('refuses a lone surrogate in a transactionId before anything is written, and the ledger still verifies', async () => {
    const before = await ledgerCount();
    const r = await send('POST', '/api/v1/events', '{"events":[{"type":"note.example","transactionId":"\\ud83d","data":{}}]}');
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatchObject({ code: 'invalid_unicode', details: [{ in: 'body', pointer: '/events/0/transactionId' }] });
    // The retry the attacker saw answer 500 is refused the same way.
    expect((await send('POST', '/api/v1/events', '{"events":[{"type":"note.example","transactionId":"\\ud83d","data":{}}]}')).statusCode).toBe(400);
    expect(await ledgerCount()).toBe(before);
    expect((await verifyLedger(services.db)).ok).toBe(true);
  });

  it('refuses it in keys, values, names and records, with a pointer to the field', async () => {
    const cases: [string, string, string, string][] = [
      ['POST', '/api/v1/events', '{"events":[{"type":"note.example","data":{"t\\udc00":1}}]}', '/events/0/data/t\udc00'],
      ['POST', '/api/v1/events', '{"events":[{"type":"note.example","data":{"list":["ok","\\udfff"]}}]}', '/events/0/data/list/1'],
      ['POST', '/api/v1/workspaces', '{"name":"Clinic \\ud800"}', '/name'],
      ['POST', `/api/v1/sessions/${sessionId}/records`, '{"instrument":{"name":"x","edition":1},"data":{},"transactionId":"a\\ud83db"}', '/transactionId'],
      ['POST', '/api/v1/auth/login', '{"username":"\\ud83d","password":"x"}', '/username'],
    ];
    for (const [method, url, body, pointer] of cases) {
      const r = await send(method, url, body);
      expect(r.statusCode, `${url} ${body}: ${r.body}`).toBe(400);
      expect(r.json().error.code).toBe('invalid_unicode');
      expect(r.json().error.details[0].pointer).toBe(pointer.replace(/~/g, '~0'));
    }
  });

  it('keeps well-formed pairs (emoji) exactly, and refuses bytes that are not UTF-8', async () => {
    const ok = await send('POST', '/api/v1/events', '{"events":[{"type":"note.example","transactionId":"tx-\\ud83d\\ude00","data":{"t":"\\ud83d\\ude00 é"}}]}');
    expect(ok.statusCode, ok.body).toBe(201);
    const stored = await app.inject({ url: `/api/v1/events/${ok.json().events[0].id}`, headers: { authorization: admin } });
    expect(stored.json().data).toEqual({ t: '😀 é' });
    expect(stored.json().transactionId).toBe('tx-😀');
    const replay = await send('POST', '/api/v1/events', '{"events":[{"type":"note.example","transactionId":"tx-\\ud83d\\ude00","data":{"t":"\\ud83d\\ude00 é"}}]}');
    expect(replay.json().events[0].id).toBe(ok.json().events[0].id);
    const bad = await send('POST', '/api/v1/workspaces', Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]));
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('invalid_unicode');
    // A surrogate encoded in UTF-8 form (CESU-8) is not UTF-8 either.
    const cesu = await send('POST', '/api/v1/workspaces', Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xed, 0xa0, 0xbd]), Buffer.from('"}')]));
    expect(cesu.json().error.code).toBe('invalid_unicode');
    expect((await verifyLedger(services.db)).ok).toBe(true);
  });

  it('refuses percent-encoded bytes that are not UTF-8 in query strings and paths', async () => {
    const q = await app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}/subjects?q=%ED%A0%BD`, headers: { authorization: admin } });
    expect(q.statusCode).toBe(400);
    expect(q.json().error).toMatchObject({ code: 'invalid_unicode', details: [{ in: 'querystring', pointer: '/q' }] });
    const latin1 = await app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}/subjects?q=caf%E9`, headers: { authorization: admin } });
    expect(latin1.json().error.code).toBe('invalid_unicode');
    // In a path, the router refuses such bytes itself (400) before any hook runs.
    const path = await app.inject({ method: 'GET', url: '/api/v1/event-types/a.b/%ED%A0%BD', headers: { authorization: admin } });
    expect(path.statusCode).toBe(400);
    const fine = await app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}/subjects?q=caf%C3%A9%F0%9F%98%80`, headers: { authorization: admin } });
    expect(fine.statusCode).toBe(200);
  });
});

describe('CSV imports (item 10)', () => {
  const imp = (body: string | Buffer, contentType = 'text/csv') => send('POST', `/api/v1/workspaces/${ws}/imports?instrument=tiny&edition=1`, body, contentType);

  it('answers a stray quote in an unquoted field, or JSON sent as CSV, with 400 invalid_csv and the line', async () => {
    const before = await ledgerCount();
    const r = await imp('subject,date,n\nP1,2024-01-01,1\nP2,2024-01-02,a"b\n');
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json().error).toMatchObject({ code: 'invalid_csv', details: { line: 3, reason: 'INVALID_OPENING_QUOTE' } });
    const j = await imp('{"json":"not csv"}');
    expect(j.statusCode, j.body).toBe(400);
    expect(j.json().error).toMatchObject({ code: 'invalid_csv', details: { line: 1 } });
    expect(await ledgerCount()).toBe(before);
  });

  it('answers bytes that are not UTF-8 with 400 invalid_unicode and the line', async () => {
    const r = await imp(Buffer.concat([Buffer.from('subject,date,n\nP1,2024-01-01,1\nP'), Buffer.from([0xe9]), Buffer.from(',2024-01-02,1\n')]));
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json().error).toMatchObject({ code: 'invalid_unicode', details: { line: 3 } });
  });

  it('answers the same on the locations import (the jurisdiction tree)', async () => {
    const loc = (body: string | Buffer) => send('POST', '/api/v1/workspaces/import?dryRun=true', body, 'text/csv');
    const quote = await loc('id,name,parentId,type\nA,Area "A,,area\nB,B"x,A,office\n');
    expect(quote.statusCode, quote.body).toBe(400);
    expect(quote.json().error).toMatchObject({ code: 'invalid_csv', details: { line: 2 } });
    const bytes = await loc(Buffer.concat([Buffer.from('id,name,parentId,type\nA,Caf'), Buffer.from([0xe9]), Buffer.from(',,area\n')]));
    expect(bytes.statusCode, bytes.body).toBe(400);
    expect(bytes.json().error).toMatchObject({ code: 'invalid_unicode', details: { line: 2 } });
    expect((await loc('id,name,parentId,type\nA,Café,,area\n')).statusCode).toBe(200);
  });

  it('answers a JSON body with 415', async () => {
    for (const body of ['{"a":1}', '"subject,date"', '[1,2]', 'null']) {
      const r = await imp(body, 'application/json');
      expect(r.statusCode, `${body}: ${r.body}`).toBe(415);
      expect(r.json().error.code).toBe('unsupported_media_type');
    }
  });
});
