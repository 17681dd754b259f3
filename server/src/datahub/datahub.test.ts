import ExcelJS from 'exceljs';
import { parse as parseCsv } from 'csv-parse/sync';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLEEP_DIARY } from '../../../sdk/test/instruments.js';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import type { App } from '../app.js';
import type { Services } from '../services.js';

let app: App;
let services: Services;
let stop: () => Promise<void>;
let admin: string;

/** The sleep diary with a free text, a multiselect, a likert grid and a computed measure added. */
const SLEEP = {
  ...SLEEP_DIARY,
  content: [
    ...SLEEP_DIARY.content,
    { kind: 'text', name: 'note', label: 'Note' },
    { kind: 'multiselect', name: 'aids', label: 'Aids', options: [{ value: 'tea', label: 'Tea' }, { value: 'mask', label: 'Mask' }, { value: 'pill', label: 'Pill' }] },
    { kind: 'likert', name: 'feel', label: 'Feel', items: [{ key: 'rested', label: 'Rested' }, { key: 'alert', label: 'Alert' }], options: [{ value: 0, label: 'No' }, { value: 1, label: 'Yes' }] },
  ],
  measures: {
    hours: { kind: 'ref', label: 'Hours', field: 'hours' },
    short: { kind: 'computed', label: 'Short night', expression: { '<': [{ var: 'hours' }, 6] } },
  },
};

const inject = (method: string, url: string, authorization: string, payload?: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: method as 'GET', url, headers: { authorization, ...headers }, ...(payload !== undefined ? { payload: payload as string } : {}) });

async function user(username: string) {
  await inject('POST', '/api/v1/users', admin, { username, password: `${username} password 1`, role: 'member' });
  const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password: `${username} password 1` } });
  const me = login.json();
  return { id: me.user.id as string, authorization: `Bearer ${me.accessToken}` };
}
async function workspace(name: string) {
  return (await inject('POST', '/api/v1/workspaces', admin, { name })).json().workspace.id as string;
}
async function member(ws: string, userId: string, role: string) {
  expect((await inject('PUT', `/api/v1/workspaces/${ws}/members/${userId}`, admin, { role })).statusCode).toBe(204);
}
async function subject(auth: string, ws: string, identifier: string, extra: Record<string, unknown> = {}) {
  const r = await inject('POST', `/api/v1/workspaces/${ws}/subjects`, auth, { identifier, identifierKind: 'custom', ...extra });
  expect(r.statusCode, r.body).toBe(201);
  return r.json().subject.id as string;
}
async function session(auth: string, subjectId: string, body: Record<string, unknown> = { kind: 'in_person' }) {
  const r = await inject('POST', `/api/v1/subjects/${subjectId}/sessions`, auth, body);
  expect(r.statusCode, r.body).toBe(201);
  return r.json().session.id as string;
}
const submit = (auth: string, sessionId: string, data: unknown, instrument = { name: 'sleep-diary', edition: 1 }, extra: Record<string, unknown> = {}) =>
  inject('POST', `/api/v1/sessions/${sessionId}/records`, auth, { instrument, data, ...extra });

let ws: string;
let other: string;
let ana: { id: string; authorization: string };
let vic: { id: string; authorization: string };

beforeAll(async () => {
  ({ app, services, stop } = await createTestApp());
  admin = (await setupAdmin(app)).authorization;
  ws = await workspace('Clinic A');
  other = await workspace('Clinic B');
  ana = await user('ana');
  vic = await user('vic');
  await member(ws, ana.id, 'member');
  await member(ws, vic.id, 'viewer');
  expect((await inject('POST', '/api/v1/instruments', admin, SLEEP)).statusCode).toBe(201);
});
afterAll(() => stop());

describe('instruments', () => {
  it('installs the shipped library at start, once', async () => {
    const list = (await inject('GET', '/api/v1/instruments', ana.authorization)).json().instruments.map((i: { name: string; edition: number; source: string }) => `${i.name}@${i.edition}:${i.source}`);
    expect(list).toEqual(expect.arrayContaining(['consent@1:library', 'demographics@1:library', 'phq-9@1:library', 'gad-7@1:library', 'mental-health-screening@1:library']));
    expect(await services.instruments.installLibrary()).toEqual([]);
    const { rows } = await services.pool.query("SELECT count(*)::int AS n FROM ledger_entries WHERE type = 'instrument.published' AND stream = 'instrument:phq-9'");
    expect(rows[0].n).toBe(1);
  });

  it('refuses invalid definitions with errors pointing into them, and never stores them', async () => {
    const bad = { ...SLEEP, name: 'bad-one', content: [{ kind: 'number', name: 'x', label: 'X', visiblewhen: true }, { kind: 'text', name: 'y', label: 'Y', pattern: '(a+)+' }] };
    const r = await inject('POST', '/api/v1/instruments', admin, bad);
    expect(r.statusCode).toBe(422);
    expect(r.json().error.code).toBe('invalid_instrument_definition');
    const pointers = r.json().error.details.errors.map((e: { pointer: string }) => e.pointer);
    expect(pointers).toContain('/content/0/visiblewhen');
    expect(pointers.some((p: string) => p.startsWith('/content/1/pattern'))).toBe(true);
    expect((await inject('GET', '/api/v1/instruments/bad-one', admin)).statusCode).toBe(404);
    // The playground's dry run answers the same errors without a 4xx.
    const v = await inject('POST', '/api/v1/instruments/validate', ana.authorization, bad);
    expect(v.json()).toMatchObject({ ok: false });
    expect(v.json().errors.map((e: { pointer: string }) => e.pointer)).toEqual(pointers);
    expect((await inject('POST', '/api/v1/instruments/validate', ana.authorization, SLEEP)).json()).toEqual({ ok: true, errors: [] });
    for (const junk of ['"a string"', '[1,2]', 'null', '{"kind":"form","__proto__":{"x":1}}']) {
      const j = await app.inject({ method: 'POST', url: '/api/v1/instruments/validate', headers: { authorization: ana.authorization, 'content-type': 'application/json' }, payload: junk });
      expect(j.statusCode, junk).toBeLessThan(500);
    }
  });

  it('publishes editions in order, refuses duplicates and kind changes; only instrument managers may publish', async () => {
    const r = await inject('POST', '/api/v1/instruments', ana.authorization, { ...SLEEP, name: 'by-ana' });
    expect(r.statusCode).toBe(403);
    expect((await inject('POST', '/api/v1/instruments', admin, SLEEP)).json().error.code).toBe('conflict');
    expect((await inject('POST', '/api/v1/instruments/sleep-diary/editions', admin, SLEEP)).json().error.code).toBe('conflict');
    expect((await inject('POST', '/api/v1/instruments/sleep-diary/editions', admin, { ...SLEEP, name: 'other-name', edition: 2 })).json().error.details.errors[0].pointer).toBe('/name');
    expect((await inject('POST', '/api/v1/instruments/nope/editions', admin, { ...SLEEP, name: 'nope', edition: 2 })).statusCode).toBe(404);
    const series = { kind: 'series', name: 'sleep-diary', edition: 5, languages: ['en'], details: { title: 'S', license: 'CC0-1.0' }, content: [{ name: 'phq-9', edition: 1 }] };
    expect((await inject('POST', '/api/v1/instruments/sleep-diary/editions', admin, series)).json().error.details.errors[0].pointer).toBe('/kind');
    // A series naming a form that does not exist is pointed at.
    const missing = { ...series, name: 'missing-series', content: [{ name: 'no-such-form', edition: 1 }] };
    const m = await inject('POST', '/api/v1/instruments', admin, missing);
    expect(m.statusCode).toBe(422);
    expect(m.json().error.details.errors[0].pointer).toBe('/content/0');
  });

  it('retires an edition: no new records, old ones still render', async () => {
    const def = { ...SLEEP, name: 'to-retire' };
    await inject('POST', '/api/v1/instruments', admin, def);
    const s = await subject(ana.authorization, ws, 'RET-1');
    const sess = await session(ana.authorization, s);
    const rec = await submit(ana.authorization, sess, { hours: 7 }, { name: 'to-retire', edition: 1 });
    expect(rec.statusCode).toBe(201);
    expect((await inject('POST', '/api/v1/instruments/to-retire/retire', ana.authorization, { reason: 'x' })).statusCode).toBe(403);
    const retired = await inject('POST', '/api/v1/instruments/to-retire/retire', admin, { edition: 1, reason: 'replaced' });
    expect(retired.json().instrument.editions[0]).toMatchObject({ edition: 1, retiredReason: 'replaced' });
    expect((await submit(ana.authorization, sess, { hours: 7 }, { name: 'to-retire', edition: 1 })).json().error.code).toBe('instrument_retired');
    const view = await inject('GET', `/api/v1/records/${rec.json().record.id}`, ana.authorization);
    expect(view.json().definition.name).toBe('to-retire');
    expect((await inject('GET', '/api/v1/instruments', ana.authorization)).json().instruments.some((i: { name: string }) => i.name === 'to-retire')).toBe(false);
    expect((await inject('GET', '/api/v1/instruments?includeRetired=true', ana.authorization)).json().instruments.some((i: { name: string }) => i.name === 'to-retire')).toBe(true);
  });
});

describe('subjects and sessions', () => {
  it('checks custom identifiers against the workspace pattern; derived ones are 64 hex digits', async () => {
    const p = await inject('PUT', `/api/v1/workspaces/${other}/datahub/settings`, admin, { subjectIdPattern: 'P[0-9]{4}' });
    expect(p.json()).toEqual({ subjectIdPattern: 'P[0-9]{4}' });
    expect((await inject('PUT', `/api/v1/workspaces/${ws}/datahub/settings`, ana.authorization, { subjectIdPattern: 'x' })).statusCode).toBe(403);
    expect((await inject('PUT', `/api/v1/workspaces/${other}/datahub/settings`, admin, { subjectIdPattern: '(a' })).json().error.code).toBe('validation_failed');
    expect((await inject('PUT', `/api/v1/workspaces/${other}/datahub/settings`, admin, { subjectIdPattern: '(?=a)' })).statusCode).toBe(400);
    const bad = await inject('POST', `/api/v1/workspaces/${other}/subjects`, admin, { identifier: 'P12', identifierKind: 'custom' });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error).toMatchObject({ code: 'invalid_identifier', details: [{ pointer: '/identifier' }] });
    expect((await inject('POST', `/api/v1/workspaces/${other}/subjects`, admin, { identifier: 'P1234', identifierKind: 'custom' })).statusCode).toBe(201);
    const hex = 'a'.repeat(64);
    expect((await inject('POST', `/api/v1/workspaces/${other}/subjects`, admin, { identifier: hex, identifierKind: 'custom' })).statusCode).toBe(422);
    expect((await inject('POST', `/api/v1/workspaces/${other}/subjects`, admin, { identifier: 'P9999', identifierKind: 'derived' })).statusCode).toBe(422);
    const d = await inject('POST', `/api/v1/workspaces/${other}/subjects`, admin, { identifier: hex, identifierKind: 'derived', dateOfBirth: '1980-02-29', sex: 'female' });
    expect(d.json().subject).toMatchObject({ identifier: hex, identifierKind: 'derived', dateOfBirth: '1980-02-29', sex: 'female' });
    const dup = await inject('POST', `/api/v1/workspaces/${other}/subjects`, admin, { identifier: hex, identifierKind: 'derived' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.details.subjectId).toBe(d.json().subject.id);
    for (const dob of ['1980-02-30', '2999-01-01', 'yesterday']) {
      expect((await inject('POST', `/api/v1/workspaces/${other}/subjects`, admin, { identifier: 'P5555', identifierKind: 'custom', dateOfBirth: dob })).json().error.code).toBe('validation_failed');
    }
    expect((await inject('POST', `/api/v1/workspaces/${other}/subjects`, admin, { identifier: 'P5555', identifierKind: 'custom', sex: 'robot' })).statusCode).toBe(400);
  });

  it('hands signed-in users the identity key, the same on every call', async () => {
    const a = (await inject('GET', '/api/v1/datahub/identity-key', ana.authorization)).json();
    expect(a).toMatchObject({ algorithm: 'HMAC-SHA256', version: 1 });
    expect(Buffer.from(a.key, 'base64url')).toHaveLength(32);
    expect((await inject('GET', '/api/v1/datahub/identity-key', vic.authorization)).json().key).toBe(a.key);
    expect((await app.inject({ url: '/api/v1/datahub/identity-key' })).statusCode).toBe(401);
  });

  it('searches subjects by identifier prefix, case-insensitively, with paging', async () => {
    for (const id of ['SRCH-001', 'SRCH-002', 'srch-003', 'OTHER-1']) await subject(ana.authorization, ws, id);
    const r = (await inject('GET', `/api/v1/workspaces/${ws}/subjects?q=srch&limit=2`, vic.authorization)).json();
    expect(r.subjects.map((s: { identifier: string }) => s.identifier)).toEqual(['SRCH-001', 'SRCH-002']);
    const next = (await inject('GET', `/api/v1/workspaces/${ws}/subjects?q=srch&limit=2&after=${r.next}`, vic.authorization)).json();
    expect(next.subjects.map((s: { identifier: string }) => s.identifier)).toEqual(['srch-003']);
    expect((await inject('GET', `/api/v1/workspaces/${ws}/subjects?q=${encodeURIComponent('%_\\')}`, vic.authorization)).json().subjects).toEqual([]);
  });

  it('labels: set on creation or later (members), unique in the workspace whatever the case (409), found by search, recorded in the ledger', async () => {
    const hash = 'ab'.repeat(32);
    const created = await inject('POST', `/api/v1/workspaces/${ws}/subjects`, ana.authorization, { identifier: hash, identifierKind: 'derived', label: '  P-017 ' });
    expect(created.statusCode, created.body).toBe(201);
    const labelled = created.json().subject as { id: string; label: string };
    expect(labelled.label).toBe('P-017');
    // Taken, case aside: on creation and on a change; the answer names the pointer and the subject holding it.
    const dup = await inject('POST', `/api/v1/workspaces/${ws}/subjects`, ana.authorization, { identifier: 'LBL-2', identifierKind: 'custom', label: 'p-017' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error).toMatchObject({ code: 'subject_label_taken', details: { subjectId: labelled.id, errors: [{ pointer: '/label' }] } });
    expect((await inject('GET', `/api/v1/workspaces/${ws}/subjects?q=LBL-2`, ana.authorization)).json().subjects).toEqual([]);
    const second = await subject(ana.authorization, ws, 'LBL-3');
    const taken = await inject('PATCH', `/api/v1/subjects/${second}`, ana.authorization, { label: 'P-017' });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.code).toBe('subject_label_taken');
    // Another workspace may use the same label.
    expect((await inject('POST', `/api/v1/workspaces/${other}/subjects`, admin, { identifier: 'P9001', identifierKind: 'custom', label: 'P-017' })).statusCode).toBe(201);
    // Bad labels: 400 with a pointer.
    for (const bad of ['x'.repeat(61), 'a\u0007b', 'a\u200bb']) {
      const r = await inject('PATCH', `/api/v1/subjects/${second}`, ana.authorization, { label: bad });
      expect(r.statusCode, bad).toBe(400);
      expect(r.json().error.details[0].pointer).toBe('/label');
    }
    expect((await inject('PATCH', `/api/v1/subjects/${second}`, ana.authorization, { label: 7 })).statusCode).toBe(400);
    // Viewers cannot label; strangers are told the subject does not exist.
    expect((await inject('PATCH', `/api/v1/subjects/${second}`, vic.authorization, { label: 'V-1' })).statusCode).toBe(403);
    const stranger = await user('stranger');
    expect((await inject('PATCH', `/api/v1/subjects/${second}`, stranger.authorization, { label: 'V-1' })).statusCode).toBe(404);
    // A change, then search by label (anywhere in it, case aside), and the subject page shows it.
    const set = await inject('PATCH', `/api/v1/subjects/${second}`, ana.authorization, { label: 'Q-042' });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json().subject).toMatchObject({ id: second, identifier: 'LBL-3', label: 'Q-042' });
    expect((await inject('GET', `/api/v1/workspaces/${ws}/subjects?q=q-04`, vic.authorization)).json().subjects.map((x: { id: string }) => x.id)).toEqual([second]);
    expect((await inject('GET', `/api/v1/workspaces/${ws}/subjects?q=017`, vic.authorization)).json().subjects.map((x: { label: string }) => x.label)).toEqual(['P-017']);
    expect((await inject('GET', `/api/v1/subjects/${second}`, vic.authorization)).json().subject.label).toBe('Q-042');
    // Cleared: the label is free again.
    expect((await inject('PATCH', `/api/v1/subjects/${labelled.id}`, ana.authorization, { label: null })).json().subject.label).toBeNull();
    expect((await inject('PATCH', `/api/v1/subjects/${second}`, ana.authorization, { label: 'P-017' })).json().subject.label).toBe('P-017');
    // Every change is an entry on the subject's stream, as its creation is.
    const entries = await services.pool.query<{ type: string; data: { label?: string | null; previous?: string | null } }>(
      `SELECT type, data FROM ledger_entries WHERE stream IN ($1, $2) ORDER BY stream, stream_seq`, [`subject:${labelled.id}`, `subject:${second}`],
    );
    expect(entries.rows.map((e) => `${e.type}:${e.data.label ?? null}<${e.data.previous ?? null}`)).toEqual(
      labelled.id < second
        ? ['subject.created:P-017<null', 'subject.labelled:null<P-017', 'subject.created:null<null', 'subject.labelled:Q-042<null', 'subject.labelled:P-017<Q-042']
        : ['subject.created:null<null', 'subject.labelled:Q-042<null', 'subject.labelled:P-017<Q-042', 'subject.created:P-017<null', 'subject.labelled:null<P-017'],
    );
  });

  it('allows one active session per subject; retrospective sessions need a past date', async () => {
    const s = await subject(ana.authorization, ws, 'SESS-1');
    const first = await session(ana.authorization, s);
    const again = await inject('POST', `/api/v1/subjects/${s}/sessions`, ana.authorization, { kind: 'remote' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatchObject({ code: 'session_active', details: { sessionId: first } });
    // Racing starts: exactly one wins.
    const s2 = await subject(ana.authorization, ws, 'SESS-2');
    const race = await Promise.all(Array.from({ length: 6 }, () => inject('POST', `/api/v1/subjects/${s2}/sessions`, ana.authorization, { kind: 'in_person' })));
    expect(race.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409, 409, 409]);

    expect((await inject('POST', `/api/v1/sessions/${first}/end`, vic.authorization)).statusCode).toBe(403);
    expect((await inject('POST', `/api/v1/sessions/${first}/end`, ana.authorization)).json().session.active).toBe(false);
    expect((await inject('POST', `/api/v1/sessions/${first}/end`, ana.authorization)).json().error.code).toBe('session_ended');
    expect((await submit(ana.authorization, first, { hours: 8 })).json().error.code).toBe('session_ended');
    expect((await inject('POST', `/api/v1/subjects/${s}/sessions`, ana.authorization, { kind: 'retrospective' })).json().error.details[0].pointer).toBe('/date');
    expect((await inject('POST', `/api/v1/subjects/${s}/sessions`, ana.authorization, { kind: 'retrospective', date: '2999-01-01' })).statusCode).toBe(400);
    expect((await inject('POST', `/api/v1/subjects/${s}/sessions`, ana.authorization, { kind: 'in_person', date: '2020-01-01' })).statusCode).toBe(400);
    const retro = await session(ana.authorization, s, { kind: 'retrospective', date: '2020-03-04' });
    const rec = await submit(ana.authorization, retro, { hours: 5 });
    expect(rec.json().record.date).toBe('2020-03-04T00:00:00.000Z');
    const sessions = (await inject('GET', `/api/v1/subjects/${s}/sessions`, vic.authorization)).json().sessions;
    expect(sessions.map((x: { kind: string; active: boolean }) => `${x.kind}:${x.active}`)).toEqual(['retrospective:true', 'in_person:false']);
    expect((await inject('GET', `/api/v1/subjects/${s}`, vic.authorization)).json().subject.activeSession.id).toBe(retro);
  });
});

describe('records', () => {
  let subjectId: string;
  let sessionId: string;

  beforeAll(async () => {
    subjectId = await subject(ana.authorization, ws, 'REC-1', { dateOfBirth: '1990-05-06', sex: 'male' });
    sessionId = await session(ana.authorization, subjectId);
  });

  it('validates on the server against the edition; each error names its field', async () => {
    const r = await submit(ana.authorization, sessionId, { hours: 30, woke: true, aids: ['tea', 'nope'], feel: { rested: 7 }, extra: 1 });
    expect(r.statusCode).toBe(422);
    expect(r.json().error.code).toBe('invalid_submission');
    const errors = r.json().error.details.errors.map((e: { field: string; code: string }) => `${e.field}:${e.code}`);
    expect(errors).toEqual(expect.arrayContaining(['hours:too_large', 'wakings:required', 'aids:not_an_option', 'feel.rested:not_an_option', 'extra:unknown_field']));
    for (const data of [null, [], 'text', 42, { hours: '7' }]) {
      const x = await submit(ana.authorization, sessionId, data);
      expect(x.statusCode, JSON.stringify(data)).toBe(422);
    }
    expect((await submit(ana.authorization, sessionId, { hours: 7 }, { name: 'no-such', edition: 1 })).statusCode).toBe(404);
    expect((await submit(ana.authorization, sessionId, {}, { name: 'mental-health-screening', edition: 1 })).statusCode).toBe(422);
    expect((await submit(vic.authorization, sessionId, { hours: 7 })).statusCode).toBe(403);
    // A NUL character cannot be stored in PostgreSQL: refused clearly, not a 500.
    expect((await submit(ana.authorization, sessionId, { hours: 7, note: 'a\u0000b' })).statusCode).toBe(422);
  });

  it('stores the conditional answer only when its condition holds, computes measures, and is idempotent', async () => {
    const shown = await submit(ana.authorization, sessionId, { hours: 5.5, woke: true, wakings: 2, aids: ['pill', 'tea'], feel: { rested: 0 } });
    expect(shown.statusCode).toBe(201);
    expect(shown.json().record).toMatchObject({ data: { hours: 5.5, woke: true, wakings: 2, aids: ['tea', 'pill'], feel: { rested: 0 } }, measures: { hours: 5.5, short: true }, instrument: { name: 'sleep-diary', edition: 1 }, version: 1 });
    const hidden = await submit(ana.authorization, sessionId, { hours: 8, woke: false, wakings: 3 });
    expect(hidden.json().record.data).toEqual({ hours: 8, woke: false });

    const once = await submit(ana.authorization, sessionId, { hours: 6 }, undefined, { transactionId: 'tab-1-submit-1' });
    const twice = await submit(ana.authorization, sessionId, { hours: 6 }, undefined, { transactionId: 'tab-1-submit-1' });
    expect(once.statusCode).toBe(201);
    expect(twice.statusCode).toBe(200);
    expect(twice.json().record.id).toBe(once.json().record.id);
    const all = (await inject('GET', `/api/v1/subjects/${subjectId}/records?instrument=sleep-diary`, vic.authorization)).json().records;
    expect(all.filter((r: { id: string }) => r.id === once.json().record.id)).toHaveLength(1);
  });

  it('dates a record captured offline when it was submitted on the device (occurredAt), and refuses a clock in the future (issue 14)', async () => {
    const at = new Date(Date.now() - 2 * 3600_000).toISOString();
    const first = await submit(ana.authorization, sessionId, { hours: 6 }, undefined, { transactionId: 'offline-1', occurredAt: at });
    expect(first.statusCode).toBe(201);
    expect(first.json().record.date).toBe(at);
    const retry = await submit(ana.authorization, sessionId, { hours: 6 }, undefined, { transactionId: 'offline-1', occurredAt: new Date().toISOString() });
    expect({ status: retry.statusCode, id: retry.json().record.id, date: retry.json().record.date }).toEqual({ status: 200, id: first.json().record.id, date: at });
    const history = (await inject('GET', `/api/v1/records/${first.json().record.id}/history`, ana.authorization)).json().history;
    expect(history).toHaveLength(1);
    const future = await submit(ana.authorization, sessionId, { hours: 6 }, undefined, { occurredAt: new Date(Date.now() + 3600_000).toISOString() });
    expect({ status: future.statusCode, details: future.json().error.details }).toEqual({ status: 400, details: [{ pointer: '/occurredAt', message: 'in the future' }] });
  });

  it('edits with optimistic concurrency and keeps every version in the ledger; deletes with a reason', async () => {
    const created = (await submit(ana.authorization, sessionId, { hours: 4 })).json().record;
    expect((await inject('PUT', `/api/v1/records/${created.id}`, ana.authorization, { data: { hours: 99 }, version: 1 })).json().error.details.errors[0].field).toBe('hours');
    const edited = await inject('PUT', `/api/v1/records/${created.id}`, ana.authorization, { data: { hours: 6.5 }, version: 1 });
    expect(edited.json().record).toMatchObject({ version: 2, data: { hours: 6.5 }, measures: { short: false } });
    expect((await inject('PUT', `/api/v1/records/${created.id}`, ana.authorization, { data: { hours: 3 }, version: 1 })).json().error).toMatchObject({ code: 'version_conflict', details: { version: 2 } });
    expect((await inject('PUT', `/api/v1/records/${created.id}`, vic.authorization, { data: { hours: 3 }, version: 2 })).statusCode).toBe(403);

    expect((await inject('DELETE', `/api/v1/records/${created.id}`, ana.authorization, { reason: '   ' })).statusCode).toBe(400);
    expect((await inject('DELETE', `/api/v1/records/${created.id}`, ana.authorization, {})).statusCode).toBe(400);
    expect((await inject('DELETE', `/api/v1/records/${created.id}`, ana.authorization, { reason: 'entered for the wrong subject' })).statusCode).toBe(204);
    expect((await inject('DELETE', `/api/v1/records/${created.id}`, ana.authorization, { reason: 'again' })).statusCode).toBe(404);
    expect((await inject('PUT', `/api/v1/records/${created.id}`, ana.authorization, { data: { hours: 3 }, version: 3 })).statusCode).toBe(404);

    const history = (await inject('GET', `/api/v1/records/${created.id}/history`, vic.authorization)).json().history;
    expect(history.map((h: { type: string; version: number }) => `${h.type}@${h.version}`)).toEqual(['record.created@1', 'record.updated@2', 'record.deleted@3']);
    expect(history[0].data).toEqual({ hours: 4 });
    expect(history[1].data).toEqual({ hours: 6.5 });
    expect(history[2].reason).toBe('entered for the wrong subject');
    expect(history[0].actor.username).toBe('ana');
    const view = (await inject('GET', `/api/v1/records/${created.id}`, vic.authorization)).json();
    expect(view.record).toMatchObject({ deleted: true, deletedReason: 'entered for the wrong subject' });
    const listed = (await inject('GET', `/api/v1/subjects/${subjectId}/records`, vic.authorization)).json().records;
    expect(listed.some((r: { id: string }) => r.id === created.id)).toBe(false);
    // The ledger proves it: verify still passes after all of this.
    expect((await inject('POST', '/api/v1/ledger/verify', admin)).json()).toMatchObject({ ok: true });
  });

  it('keeps the edition a record was captured with, and renders it with that edition', async () => {
    const def = { ...SLEEP, name: 'evolving' };
    await inject('POST', '/api/v1/instruments', admin, def);
    const old = (await submit(ana.authorization, sessionId, { hours: 7, woke: false }, { name: 'evolving', edition: 1 })).json().record;
    const e2 = { ...def, edition: 2, content: [...def.content.filter((c) => c.name !== 'woke' && c.name !== 'wakings'), { kind: 'text', name: 'dream', label: 'Dream' }] };
    expect((await inject('POST', '/api/v1/instruments/evolving/editions', admin, e2)).statusCode).toBe(201);
    const latest = (await inject('GET', '/api/v1/instruments/evolving', ana.authorization)).json().instrument;
    expect(latest.edition).toBe(2);
    expect(latest.editions.map((e: { edition: number }) => e.edition)).toEqual([2, 1]);
    const view = (await inject('GET', `/api/v1/records/${old.id}`, ana.authorization)).json();
    expect(view.definition.edition).toBe(1);
    expect(view.definition.content.some((c: { name: string }) => c.name === 'woke')).toBe(true);
    // Editing validates against edition 1 still: 'dream' does not exist there.
    expect((await inject('PUT', `/api/v1/records/${old.id}`, ana.authorization, { data: { hours: 7, dream: 'x' }, version: 1 })).json().error.details.errors[0]).toMatchObject({ field: 'dream', code: 'unknown_field' });
    const byEdition = (await inject('GET', `/api/v1/subjects/${subjectId}/records?instrument=evolving&edition=1`, vic.authorization)).json().records;
    expect(byEdition.map((r: { id: string }) => r.id)).toEqual([old.id]);
  });
});

describe('workspace isolation', () => {
  it('a member of one workspace never sees the subjects, sessions, records or exports of another', async () => {
    const bSubject = await subject(admin, other, 'P7777');
    const bSession = await session(admin, bSubject);
    const bRecord = (await submit(admin, bSession, { hours: 9, note: 'secret of B' })).json().record.id;
    const checks: Array<[string, string, unknown?]> = [
      ['GET', `/api/v1/workspaces/${other}/subjects`],
      ['POST', `/api/v1/workspaces/${other}/subjects`, { identifier: 'P1111', identifierKind: 'custom' }],
      ['GET', `/api/v1/subjects/${bSubject}`],
      ['GET', `/api/v1/subjects/${bSubject}/sessions`],
      ['POST', `/api/v1/subjects/${bSubject}/sessions`, { kind: 'in_person' }],
      ['GET', `/api/v1/subjects/${bSubject}/records`],
      ['GET', `/api/v1/sessions/${bSession}`],
      ['POST', `/api/v1/sessions/${bSession}/end`],
      ['POST', `/api/v1/sessions/${bSession}/records`, { instrument: { name: 'sleep-diary', edition: 1 }, data: { hours: 1 } }],
      ['GET', `/api/v1/records/${bRecord}`],
      ['GET', `/api/v1/records/${bRecord}/history`],
      ['PUT', `/api/v1/records/${bRecord}`, { data: { hours: 1 }, version: 1 }],
      ['DELETE', `/api/v1/records/${bRecord}`, { reason: 'x' }],
      ['GET', `/api/v1/workspaces/${other}/exports?format=json`],
      ['GET', `/api/v1/workspaces/${other}/exports?format=csv&instrument=sleep-diary`],
      ['GET', `/api/v1/subjects/${bSubject}/exports?format=json`],
      ['GET', `/api/v1/workspaces/${other}/imports/template?instrument=sleep-diary&edition=1`],
      ['GET', `/api/v1/workspaces/${other}/datahub/summary`],
      ['GET', `/api/v1/workspaces/${other}/datahub/settings`],
      ['POST', `/api/v1/workspaces/${other}/datahub/demo`],
    ];
    for (const [method, url, body] of checks) {
      const r = await inject(method, url, ana.authorization, body);
      expect(r.statusCode, `${method} ${url}`).toBe(404);
      expect(r.body).not.toContain('secret of B');
      expect(r.body).not.toContain('P7777');
    }
    const imp = await app.inject({ method: 'POST', url: `/api/v1/workspaces/${other}/imports?instrument=sleep-diary&edition=1`, headers: { authorization: ana.authorization, 'content-type': 'text/csv' }, payload: 'subject,date,hours\nP1000,2024-01-01,5\n' });
    expect(imp.statusCode).toBe(404);
    // Her own workspace's export does not contain B's data either.
    const mine = await inject('GET', `/api/v1/workspaces/${ws}/exports?format=json`, ana.authorization);
    expect(mine.statusCode).toBe(200);
    expect(mine.body).not.toContain('secret of B');
    // And the ledger API does not hand her other people's record entries.
    const events = await inject('GET', '/api/v1/events?limit=1000', ana.authorization);
    expect(events.body).not.toContain('secret of B');
  });

  it('needs a role: a user with no membership sees nothing at all', async () => {
    const zed = await user('zed');
    expect((await inject('GET', `/api/v1/workspaces/${ws}/subjects`, zed.authorization)).statusCode).toBe(404);
    const token = await inject('POST', '/api/v1/auth/tokens', ana.authorization, { name: 'read only', scopes: ['records:read', 'workspaces:read'], expiresInDays: 1 });
    const ro = `Bearer ${token.json().secret}`;
    expect((await inject('GET', `/api/v1/workspaces/${ws}/subjects`, ro)).statusCode).toBe(200);
    expect((await inject('POST', `/api/v1/workspaces/${ws}/subjects`, ro, { identifier: 'RO-1', identifierKind: 'custom' })).statusCode).toBe(403);
  });
});

describe('exports', () => {
  let exportWs: string;
  let subjectId: string;

  beforeAll(async () => {
    exportWs = await workspace('Export clinic');
    subjectId = await subject(admin, exportWs, 'EXP-1');
    const s = await session(admin, subjectId, { kind: 'retrospective', date: '2021-01-01' });
    expect((await submit(admin, s, { hours: 7.25, woke: true, wakings: 2, note: 'He said "hi",\nthen left \\ 東京 🌙', aids: ['tea', 'mask'], feel: { rested: 1, alert: 0 } })).statusCode).toBe(201);
    expect((await submit(admin, s, { hours: 5 })).statusCode).toBe(201);
    const deleted = (await submit(admin, s, { hours: 1, note: 'deleted one' })).json().record.id;
    await inject('DELETE', `/api/v1/records/${deleted}`, admin, { reason: 'test' });
    const s2 = await subject(admin, exportWs, 'EXP-2');
    const t = await session(admin, s2, { kind: 'retrospective', date: '2021-02-01' });
    expect((await submit(admin, t, { symptoms: { q1: 1, q2: 1, q3: 0, q4: 0, q5: 0, q6: 0, q7: 0, q8: 0, q9: 0 }, difficulty: 1 }, { name: 'phq-9', edition: 1 })).statusCode).toBe(201);
  });

  it('CSV wide: a row per record with fields, likert items and measures; deleted records left out', async () => {
    const r = await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=csv&shape=wide&instrument=sleep-diary`, admin);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('text/csv');
    expect(r.headers['content-disposition']).toMatch(/attachment; filename="workspace-sleep-diary-wide\.csv"/);
    const rows = parseCsv(r.body, { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(['record_id', 'subject', 'session_id', 'date', 'instrument', 'edition', 'hours', 'woke', 'wakings', 'note', 'aids', 'feel.rested', 'feel.alert', 'measure:hours', 'measure:short']);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ subject: 'EXP-1', date: '2021-01-01T00:00:00Z', instrument: 'sleep-diary', edition: '1', hours: '7.25', woke: 'true', wakings: '2', note: 'He said "hi",\nthen left \\ 東京 🌙', aids: 'tea;mask', 'feel.rested': '1', 'feel.alert': '0', 'measure:short': 'false' });
    expect(rows[1]).toMatchObject({ hours: '5', woke: '', wakings: '', aids: '', 'measure:short': 'true' });
    expect(r.body).not.toContain('deleted one');
  });

  it('TSV, long shape, JSON wide and long, per subject', async () => {
    const tsv = await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=tsv&instrument=sleep-diary`, admin);
    expect(tsv.body.split('\n')[0]!.split('\t')[6]).toBe('hours');
    const long = parseCsv((await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=csv&shape=long&instrument=sleep-diary`, admin)).body, { columns: true }) as Record<string, string>[];
    expect(long).toHaveLength(2 * 9);
    expect(long.slice(0, 9).map((x) => `${x.kind}:${x.name}=${x.value}`)).toEqual(['field:hours=7.25', 'field:woke=true', 'field:wakings=2', 'field:note=He said "hi",\nthen left \\ 東京 🌙', 'field:aids=tea;mask', 'field:feel.rested=1', 'field:feel.alert=0', 'measure:hours=7.25', 'measure:short=false']);

    const json = await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=json`, admin);
    expect(json.headers['content-type']).toContain('application/json');
    const all = json.json() as Array<{ subject: string; instrument: string; data: Record<string, unknown>; measures: Record<string, unknown> }>;
    expect(all.map((x) => x.instrument)).toEqual(['sleep-diary', 'sleep-diary', 'phq-9']);
    expect(all[0]!.data.note).toBe('He said "hi",\nthen left \\ 東京 🌙');
    expect(all[2]!.measures).toMatchObject({ total: 2, severity: 'minimal' });

    const jsonLong = (await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=json&shape=long`, admin)).json() as Array<{ kind: string; name: string; value: string }>;
    // Types survive into JSON (they were all strings once): numbers, booleans, arrays.
    expect(jsonLong.filter((x) => x.kind === 'measure' && x.name === 'total')).toEqual([expect.objectContaining({ value: 2, subject: 'EXP-2' })]);
    expect(jsonLong.filter((x) => x.kind === 'measure' && x.name === 'severity')).toEqual([expect.objectContaining({ value: 'minimal' })]);
    const wideJson = (await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=json&shape=wide&instrument=sleep-diary`, admin)).json() as Record<string, unknown>[];
    expect(wideJson[0]).toMatchObject({ edition: 1, hours: 7.25, woke: true, wakings: 2, aids: ['tea', 'mask'], 'feel.rested': 1, 'feel.alert': 0, 'measure:hours': 7.25, 'measure:short': false });
    expect(wideJson[1]).toMatchObject({ hours: 5, woke: null, aids: null, 'measure:short': true });
    const longOne = (await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=json&shape=long&instrument=sleep-diary`, admin)).json() as Array<{ name: string; value: unknown }>;
    expect(longOne.slice(0, 9).map((x) => x.value)).toEqual([7.25, true, 2, 'He said "hi",\nthen left \\ 東京 🌙', ['tea', 'mask'], 1, 0, 7.25, false]);

    const one = (await inject('GET', `/api/v1/subjects/${subjectId}/exports?format=json`, admin)).json() as unknown[];
    expect(one).toHaveLength(2);
    const empty = await inject('GET', `/api/v1/workspaces/${ws}/exports?format=json&instrument=gad-7`, admin);
    expect(empty.json()).toEqual([]);
  });

  it('Excel: typed cells, one row per record', async () => {
    const r = await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=xlsx&instrument=sleep-diary`, admin);
    expect(r.statusCode).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(r.rawPayload as unknown as ArrayBuffer);
    const sheet = wb.getWorksheet('records')!;
    expect(sheet.rowCount).toBe(3);
    expect(sheet.getRow(1).getCell(7).value).toBe('hours');
    expect(sheet.getRow(2).getCell(7).value).toBe(7.25);
    expect(sheet.getRow(2).getCell(8).value).toBe(true);
    expect(sheet.getRow(2).getCell(10).value).toBe('He said "hi",\nthen left \\ 東京 🌙');
    // The record's date is a date cell, not text.
    expect(sheet.getRow(1).getCell(4).value).toBe('date');
    expect(sheet.getRow(2).getCell(4).value).toBeInstanceOf(Date);
    expect((sheet.getRow(2).getCell(4).value as Date).toISOString()).toBe('2021-01-01T00:00:00.000Z');
  });

  it('refuses exports it cannot make, with 4xx', async () => {
    expect((await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=csv`, admin)).json().error.code).toBe('validation_failed');
    expect((await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=pdf&instrument=sleep-diary`, admin)).statusCode).toBe(400);
    expect((await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=csv&instrument=nope`, admin)).statusCode).toBe(404);
    expect((await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=csv&instrument=mental-health-screening`, admin)).statusCode).toBe(400);
    expect((await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=csv&instrument=${encodeURIComponent("x'; DROP TABLE records; --")}`, admin)).statusCode).toBe(404);
    expect((await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=json&edition=1`, admin)).statusCode).toBe(400);
  });

  it('filters by capture date (whole UTC days, both ends included) and by subjects, in SQL, for every format', async () => {
    const exp3 = await subject(admin, exportWs, 'EXP-3');
    // 23:30 UTC on 31 January: the last minutes of the day still count as that day.
    const late = await session(admin, exp3, { kind: 'retrospective', date: '2021-01-31T23:30:00Z' });
    expect((await submit(admin, late, { hours: 3 })).statusCode).toBe(201);
    const ids = (await inject('GET', `/api/v1/workspaces/${exportWs}/subjects?q=EXP`, admin)).json().subjects as Array<{ id: string; identifier: string }>;
    const id = (identifier: string) => ids.find((x) => x.identifier === identifier)!.id;
    const csv = async (q: string) => {
      const r = await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=csv&instrument=sleep-diary&${q}`, admin);
      expect(r.statusCode, r.body).toBe(200);
      return (parseCsv(r.body, { columns: true }) as Record<string, string>[]).map((x) => `${x.subject}@${x.date!.slice(0, 10)}:${x.hours}`);
    };
    expect(await csv('')).toEqual(['EXP-1@2021-01-01:7.25', 'EXP-1@2021-01-01:5', 'EXP-3@2021-01-31:3']);
    expect(await csv('from=2021-01-01&to=2021-01-31')).toEqual(['EXP-1@2021-01-01:7.25', 'EXP-1@2021-01-01:5', 'EXP-3@2021-01-31:3']);
    expect(await csv('from=2021-01-02')).toEqual(['EXP-3@2021-01-31:3']);
    expect(await csv('to=2021-01-30')).toEqual(['EXP-1@2021-01-01:7.25', 'EXP-1@2021-01-01:5']);
    expect(await csv('from=2021-01-31&to=2021-01-31')).toEqual(['EXP-3@2021-01-31:3']);
    expect(await csv('from=2021-02-01')).toEqual([]);
    // Subjects: repeated or comma-separated, and both filters together.
    expect(await csv(`subjects=${exp3}`)).toEqual(['EXP-3@2021-01-31:3']);
    expect(await csv(`subjects=${id('EXP-1')}&subjects=${exp3}&to=2021-01-01`)).toEqual(['EXP-1@2021-01-01:7.25', 'EXP-1@2021-01-01:5']);
    expect(await csv(`subjects=${id('EXP-1')},${exp3.toUpperCase()}&from=2021-01-01&to=2021-01-31`)).toEqual(['EXP-1@2021-01-01:7.25', 'EXP-1@2021-01-01:5', 'EXP-3@2021-01-31:3']);
    // JSON without an instrument, long JSON, Excel: the same conditions.
    const json = (await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=json&subjects=${id('EXP-2')},${exp3}&from=2021-02-01`, admin)).json() as Array<{ subject: string; instrument: string }>;
    expect(json.map((x) => `${x.subject}:${x.instrument}`)).toEqual(['EXP-2:phq-9']);
    const long = (await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=json&shape=long&subjects=${exp3}`, admin)).json() as Array<{ subject: string }>;
    expect(new Set(long.map((x) => x.subject))).toEqual(new Set(['EXP-3']));
    const xlsx = await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=xlsx&instrument=sleep-diary&from=2021-01-31`, admin);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
    expect(wb.getWorksheet('records')!.rowCount).toBe(2);
  });

  it('refuses bad filters with 4xx and a pointer; subjects of other workspaces are unknown, exactly like missing ones', async () => {
    const err = async (q: string, base = `/api/v1/workspaces/${exportWs}/exports?format=json`) => {
      const r = await inject('GET', `${base}&${q}`, admin);
      return { status: r.statusCode, code: r.json().error.code as string, details: r.json().error.details as Array<{ in: string; pointer: string; message: string }> };
    };
    for (const bad of ['from=2021-02-30', 'from=yesterday', 'to=2021-13-01', 'to=2021-1-1', "from=2021-01-01'--"]) {
      const e = await err(bad);
      expect(e, bad).toMatchObject({ status: 400, code: 'validation_failed' });
      expect(e.details[0], bad).toMatchObject({ in: 'querystring', pointer: `/${bad.slice(0, bad.indexOf('='))}` });
    }
    expect(await err('from=2021-02-01&to=2021-01-01')).toMatchObject({ status: 400, code: 'validation_failed', details: [{ pointer: '/to' }] });
    const mine = (await inject('GET', `/api/v1/workspaces/${exportWs}/subjects?q=EXP-1`, admin)).json().subjects[0].id as string;
    expect(await err(`subjects=${mine},not-a-uuid`)).toMatchObject({ status: 400, code: 'validation_failed', details: [{ in: 'querystring', pointer: '/subjects/1' }] });
    const elsewhere = await subject(admin, other, 'P9002');
    const missing = '0190aaaa-0000-7000-8000-000000000000';
    const a = await err(`subjects=${mine},${elsewhere}`);
    const b = await err(`subjects=${mine},${missing}`);
    expect(a).toMatchObject({ status: 422, code: 'unknown_subject', details: [{ in: 'querystring', pointer: '/subjects/1', message: 'no such subject in this workspace' }] });
    expect(b).toEqual(a);
    const many = Array.from({ length: 1001 }, () => missing).join(',');
    expect(await err(`subjects=${many}`)).toMatchObject({ status: 400, code: 'validation_failed', details: [{ pointer: '/subjects' }] });
    expect(await err(`subjects=${mine}`, `/api/v1/subjects/${mine}/exports?format=json`)).toMatchObject({ status: 400, details: [{ pointer: '/subjects' }] });
    // A viewer of another workspace learns nothing either: the workspace itself is not found.
    expect((await inject('GET', `/api/v1/workspaces/${exportWs}/exports?format=json&subjects=${mine}`, vic.authorization)).statusCode).toBe(404);
  });

  it('streams large exports completely and in order (CSV and JSON), row for row', async () => {
    const big = await workspace('Big export');
    const s = await subject(admin, big, 'BIG-1');
    const sess = await session(admin, s, { kind: 'retrospective', date: '2020-01-01' });
    const n = 30_000;
    await services.pool.query(
      `INSERT INTO records (id, workspace_id, subject_id, session_id, instrument_name, instrument_edition, date, data, measures, created_at, updated_at, created_by_kind)
       SELECT gen_random_uuid(), $1, $2, $3, 'sleep-diary', 1, timestamptz '2020-01-01' + i * interval '1 minute',
              jsonb_build_object('hours', i % 24, 'note', 'row ' || i || E' "q",\\n'), jsonb_build_object('hours', i % 24, 'short', i % 24 < 6), now(), now(), 'system'
       FROM generate_series(1, $4::int) AS i`,
      [big, s, sess, n],
    );
    const csv = await inject('GET', `/api/v1/workspaces/${big}/exports?format=csv&instrument=sleep-diary`, admin);
    const rows = parseCsv(csv.body, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(n);
    rows.forEach((row, i) => {
      if (row.note !== `row ${i + 1} "q",\n` || row.hours !== String((i + 1) % 24)) throw new Error(`row ${i} wrong: ${JSON.stringify(row)}`);
    });
    const json = (await inject('GET', `/api/v1/workspaces/${big}/exports?format=json&instrument=sleep-diary`, admin)).json() as Array<{ note: string }>;
    expect(json).toHaveLength(n);
    expect(json[n - 1]!.note).toBe(`row ${n} "q",\n`);
  });
});

describe('imports', () => {
  let importWs: string;
  beforeAll(async () => {
    importWs = await workspace('Import clinic');
    await member(importWs, ana.id, 'member');
    await inject('PUT', `/api/v1/workspaces/${importWs}/datahub/settings`, admin, { subjectIdPattern: 'IMP-[0-9]+' });
  });
  const post = (csv: string, query = 'instrument=sleep-diary&edition=1', auth = ana.authorization, contentType = 'text/csv') =>
    app.inject({ method: 'POST', url: `/api/v1/workspaces/${importWs}/imports?${query}`, headers: { authorization: auth, 'content-type': contentType }, payload: csv });
  const count = async () => (await services.pool.query('SELECT count(*)::int AS n FROM records WHERE workspace_id = $1', [importWs])).rows[0].n as number;

  it('generates a template with one column per answer', async () => {
    const t = await inject('GET', `/api/v1/workspaces/${importWs}/imports/template?instrument=sleep-diary&edition=1`, ana.authorization);
    expect(t.headers['content-type']).toContain('text/csv');
    expect(t.body).toBe('subject,date,hours,woke,wakings,note,aids,feel.rested,feel.alert\r\n');
  });

  it('reports per-row, per-field errors and imports nothing while any row fails', async () => {
    const csv = [
      'subject,date,hours,woke,wakings,note,aids,feel.rested,feel.alert',
      'IMP-1,2023-01-02,7,yes,2,"fine, thanks",tea;mask,1,0',
      'IMP-2,2023-01-03,abc,no,,,,,',
      'bad id,2023-13-01,30,maybe,,,pill;nope,5,',
      'IMP-3,2023-01-04,6,true,,,,,',
    ].join('\n');
    const r = await post(csv);
    expect(r.statusCode).toBe(422);
    const body = r.json().error;
    expect(body.code).toBe('invalid_import');
    expect(body.details).toMatchObject({ rows: 4, valid: 1, invalid: 3 });
    const errs = body.details.errors.map((e: { row: number; field: string; code: string }) => `${e.row}:${e.field}:${e.code}`);
    expect(errs).toEqual(expect.arrayContaining(['3:hours:wrong_type', '4:subject:invalid_identifier', '4:date:invalid_date', '4:woke:wrong_type', '5:wakings:required']));
    // Every problem of a row, not just the first kind: row 4's hours (30 > 24) is checked by the
    // form although its subject, date and other cells were already wrong.
    expect(errs.filter((e: string) => e.startsWith('4:')).sort()).toEqual(['4:aids:not_an_option', '4:date:invalid_date', '4:feel.rested:not_an_option', '4:hours:too_large', '4:subject:invalid_identifier', '4:woke:wrong_type']);
    expect(await count()).toBe(0);

    // A real date in the future has its own code (the page said "Enter a real date." for it);
    // a date that does not exist (30 February) is not quietly rolled over to March.
    const dates = await post(['subject,date,hours', 'IMP-7,2999-01-01,5', 'IMP-8,2021-02-30,5', 'IMP-9,2021-03-02,5'].join('\n'), 'instrument=sleep-diary&edition=1&dryRun=true');
    expect(dates.statusCode).toBe(422);
    expect(dates.json().error.details.errors.map((e: { row: number; field: string; code: string }) => `${e.row}:${e.field}:${e.code}`)).toEqual(['2:date:date_in_future', '3:date:invalid_date']);

    const dry = await post(csv, 'instrument=sleep-diary&edition=1&onlyValid=true&dryRun=true');
    expect(dry.statusCode).toBe(200);
    expect(dry.json()).toMatchObject({ dryRun: true, imported: 0, valid: 1, invalid: 3 });
    expect(await count()).toBe(0);

    const partial = await post(csv, 'instrument=sleep-diary&edition=1&onlyValid=true');
    expect(partial.statusCode).toBe(201);
    expect(partial.json()).toMatchObject({ imported: 1, skipped: 3, subjectsCreated: 1 });
    expect(await count()).toBe(1);
    const rec = (await services.pool.query('SELECT data, measures, date FROM records WHERE workspace_id = $1', [importWs])).rows[0];
    expect(rec.data).toEqual({ hours: 7, woke: true, wakings: 2, note: 'fine, thanks', aids: ['tea', 'mask'], feel: { rested: 1, alert: 0 } });
    expect(rec.date.toISOString()).toBe('2023-01-02T00:00:00.000Z');
  });

  it('imports every row when all are valid, into existing and new subjects, with ledger history', async () => {
    const lines = ['subject,date,hours'];
    for (let i = 0; i < 2500; i++) lines.push(`IMP-${i % 50},2023-02-${String(1 + (i % 28)).padStart(2, '0')},${i % 24}`);
    const before = await count();
    const r = await post(lines.join('\r\n') + '\r\n');
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ imported: 2500, skipped: 0, subjectsCreated: 49 });
    expect(await count()).toBe(before + 2500);
    const subjects = (await inject('GET', `/api/v1/workspaces/${importWs}/subjects?limit=500`, ana.authorization)).json().subjects;
    expect(subjects).toHaveLength(50);
    const one = (await services.pool.query('SELECT id FROM records WHERE workspace_id = $1 AND import_id = $2 LIMIT 1', [importWs, r.json().importId])).rows[0].id;
    const h = (await inject('GET', `/api/v1/records/${one}/history`, ana.authorization)).json().history;
    expect(h.map((x: { type: string }) => x.type)).toEqual(['record.created']);
    const stored = (await services.pool.query('SELECT data FROM records WHERE id = $1', [one])).rows[0].data;
    expect(h[0].data).toEqual(stored);
    // The whole import is in the ledger (one entry per chunk of records) and verifies.
    expect((await inject('POST', '/api/v1/ledger/verify', admin)).json()).toMatchObject({ ok: true });
    // Imported sessions are ended: the subjects can start new ones.
    await session(ana.authorization, subjects[0].id);
  });

  it('round-trips an export back in (export columns it does not need are ignored)', async () => {
    const exported = (await inject('GET', `/api/v1/workspaces/${importWs}/exports?format=csv&instrument=sleep-diary`, ana.authorization)).body;
    const r = await post(exported, 'instrument=sleep-diary&edition=1&dryRun=true');
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().invalid).toBe(0);
  });

  it('refuses bad files whole: unknown or missing columns, broken CSV, empty, wrong type, viewers', async () => {
    expect((await post('subject,date,hours,colour\nIMP-1,2023-01-01,5,red\n')).json().error.details.errors[0]).toMatchObject({ row: 1, field: 'colour', code: 'unknown_column' });
    expect((await post('date,hours\n2023-01-01,5\n')).json().error.details.errors[0]).toMatchObject({ field: 'subject', code: 'missing_column' });
    // A file that is not CSV is a bad request (400 invalid_csv, with the line), not a bad row.
    expect((await post('subject,date,hours\n"IMP-1,2023-01-01,5\n')).json().error).toMatchObject({ code: 'invalid_csv', details: { line: 2 } });
    expect((await post('')).json().error.code).toBe('invalid_import');
    expect((await post('subject,date,hours\nIMP-1,2023-01-01,5,extra\n')).json().error.details.errors[0].code).toBe('column_count');
    expect((await post('{"a":1}', undefined, ana.authorization, 'application/json')).statusCode).toBe(415);
    expect((await post('subject,date,hours\n', 'instrument=sleep-diary&edition=9')).statusCode).toBe(404);
    expect((await post('subject,date,hours\n', 'instrument=sleep-diary')).statusCode).toBe(400);
    const vicWs = await inject('PUT', `/api/v1/workspaces/${importWs}/members/${vic.id}`, admin, { role: 'viewer' });
    expect(vicWs.statusCode).toBe(204);
    expect((await post('subject,date,hours\nIMP-1,2023-01-01,5\n', undefined, vic.authorization)).statusCode).toBe(403);
  });
});

describe('dashboard and demo data', () => {
  it('fills an empty workspace with demo data once, and summarises it', async () => {
    const demo = await workspace('Demo');
    const empty = (await inject('GET', `/api/v1/workspaces/${demo}/datahub/summary`, admin)).json();
    expect(empty).toMatchObject({ subjects: 0, records: 0 });
    const r = await inject('POST', `/api/v1/workspaces/${demo}/datahub/demo`, admin);
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().subjects).toBe(24);
    expect((await inject('POST', `/api/v1/workspaces/${demo}/datahub/demo`, admin)).json().error.code).toBe('conflict');
    const s = (await inject('GET', `/api/v1/workspaces/${demo}/datahub/summary`, admin)).json();
    expect(s.subjects).toBe(24);
    expect(s.records).toBe(r.json().records);
    expect(s.byInstrument.map((b: { instrument: { name: string } }) => b.instrument.name).sort()).toEqual(['gad-7', 'phq-9']);
    expect(s.weekly.reduce((a: number, w: { records: number }) => a + w.records, 0)).toBe(s.records);
    expect((await inject('POST', `/api/v1/workspaces/${ws}/datahub/demo`, ana.authorization)).statusCode).toBe(403);
  });
});

describe('bad input never answers 500', () => {
  it('random bodies, ids and queries get 4xx with a stable code', async () => {
    const s = await subject(ana.authorization, ws, 'FUZZ-1');
    const sess = await session(ana.authorization, s);
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.constantFrom('records', 'subjects', 'instrument', 'sessions', 'put', 'validate'), async (value, target) => {
        const routes: Record<string, [string, string, unknown]> = {
          records: ['POST', `/api/v1/sessions/${sess}/records`, { instrument: { name: 'sleep-diary', edition: 1 }, data: value }],
          subjects: ['POST', `/api/v1/workspaces/${ws}/subjects`, value],
          instrument: ['POST', '/api/v1/instruments', value],
          sessions: ['POST', `/api/v1/subjects/${s}/sessions`, value],
          put: ['PUT', `/api/v1/records/${sess}`, { data: value, version: 1 }],
          validate: ['POST', '/api/v1/instruments/validate', value],
        };
        const [method, url, body] = routes[target]!;
        const r = await app.inject({ method: method as 'POST', url, headers: { authorization: target === 'instrument' ? admin : ana.authorization, 'content-type': 'application/json' }, payload: JSON.stringify(body) ?? 'null' });
        if (r.statusCode >= 500) throw new Error(`${method} ${url} answered ${r.statusCode}: ${r.body}`);
        if (r.statusCode >= 400) expect(r.json().error.code).toMatch(/^[a-z_]+$/);
      }),
      { numRuns: 150 },
    );
    // NUL cannot be stored in PostgreSQL text: every place a string reaches SQL refuses it with a 4xx.
    const rec = (await submit(ana.authorization, sess, { hours: 5 })).json().record.id;
    const nul = [
      await inject('GET', `/api/v1/workspaces/${ws}/subjects?q=%00&after=%00`, ana.authorization),
      await inject('DELETE', `/api/v1/records/${rec}`, ana.authorization, { reason: 'a\u0000' }),
      await inject('POST', `/api/v1/instruments/sleep-diary/retire`, admin, { reason: 'a\u0000' }),
      await inject('PUT', `/api/v1/workspaces/${ws}/datahub/settings`, admin, { subjectIdPattern: 'a\u0000' }),
      await submit(ana.authorization, sess, { hours: 5 }, undefined, { transactionId: 'x\u0000' }),
      await app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/imports?instrument=sleep-diary&edition=1&dryRun=true`, headers: { authorization: ana.authorization, 'content-type': 'text/csv' }, payload: 'subject,date,hours,note\nNUL-1,2024-01-01,5,a\u0000b\n' }),
    ];
    for (const r of nul) expect(r.statusCode, r.body).toBeLessThan(500);
    expect(nul[5]!.json().error.details).toMatchObject({ invalid: 1, errors: [{ row: 2, code: 'wrong_type' }] });
    for (const url of ['/api/v1/subjects/not-a-uuid', '/api/v1/records/123', `/api/v1/workspaces/${ws}/subjects?limit=-1`, `/api/v1/workspaces/${ws}/exports?shape=tall`, '/api/v1/instruments/UPPER', '/api/v1/instruments/x/editions/0']) {
      const r = await inject('GET', url, ana.authorization);
      expect(r.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(r.statusCode, url).toBeLessThan(500);
    }
  });
});
