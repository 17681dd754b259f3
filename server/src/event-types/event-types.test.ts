import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import type { App } from '../app.js';
import type { Services } from '../services.js';
import { verifyLedger } from '../ledger/ledger.verify.js';

let app: App;
let services: Services;
let stop: () => Promise<void>;
let admin: string;
let member: string;

beforeAll(async () => {
  ({ app, services, stop } = await createTestApp());
  admin = (await setupAdmin(app)).authorization;
  await app.inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: admin }, payload: { username: 'mem', password: 'member password 1', role: 'member' } });
  const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'mem', password: 'member password 1' } });
  member = `Bearer ${login.json().accessToken}`;
});
afterAll(() => stop());

const note = { type: 'object', additionalProperties: false, required: ['text'], properties: { text: { type: 'string', maxLength: 100 }, tags: { type: 'array', items: { type: 'string' } } } };
const register = (payload: unknown, authorization = admin) => app.inject({ method: 'POST', url: '/api/v1/event-types', headers: { authorization }, payload: payload as object });
const append = (events: unknown[], authorization = admin) => app.inject({ method: 'POST', url: '/api/v1/events', headers: { authorization }, payload: { events } });
const list = async (type: string, authorization = admin) => (await app.inject({ url: `/api/v1/events?type=${encodeURIComponent(type)}&limit=1000`, headers: { authorization } })).json().events as { data: unknown; typeVersion: number | null }[];

describe('registering event types', () => {
  it('versions a changed schema, ignores an identical one, refuses to change a version', async () => {
    const first = await register({ name: 'notes.example/note', schema: note, description: 'A note' });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ name: 'notes.example/note', version: 1, created: true, latestVersion: 1, description: 'A note' });

    const again = await register({ name: 'notes.example/note', schema: structuredClone(note) });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ version: 1, created: false, latestVersion: 1 });

    const changed = { ...note, required: ['text', 'tags'] };
    const second = await register({ name: 'notes.example/note', schema: changed });
    expect(second.statusCode).toBe(201);
    expect(second.json()).toMatchObject({ version: 2, created: true, latestVersion: 2 });

    const rewrite = await register({ name: 'notes.example/note', schema: { ...note, maxProperties: 3 }, version: 1 });
    expect(rewrite.statusCode).toBe(409);
    expect(rewrite.json().error).toMatchObject({ code: 'conflict', details: { latestVersion: 2 } });
    const skip = await register({ name: 'notes.example/note', schema: { ...note, maxProperties: 3 }, version: 7 });
    expect(skip.statusCode).toBe(409);
    const same = await register({ name: 'notes.example/note', schema: note, version: 1 });
    expect(same.statusCode).toBe(200);
    expect(same.json().version).toBe(1);
  });

  it('lists types and shows one with its versions, names with slashes in the path', async () => {
    const all = await app.inject({ url: '/api/v1/event-types', headers: { authorization: member } });
    expect(all.json().eventTypes).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'notes.example/note', latestVersion: 2, versionCount: 2 })]));
    const one = await app.inject({ url: '/api/v1/event-types/notes.example/note', headers: { authorization: member } });
    expect(one.statusCode).toBe(200);
    expect(one.json().versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect(one.json().versions[0].schema).toEqual(note);
    const v1 = await app.inject({ url: '/api/v1/event-types/notes.example/note?version=1', headers: { authorization: member } });
    expect(v1.json().versions).toHaveLength(1);
    expect((await app.inject({ url: '/api/v1/event-types/notes.example/note?version=9', headers: { authorization: member } })).statusCode).toBe(404);
    expect((await app.inject({ url: '/api/v1/event-types/no.such/type', headers: { authorization: member } })).statusCode).toBe(404);
    expect((await app.inject({ url: '/api/v1/event-types' })).statusCode).toBe(401);
  });

  it('needs event-types:manage (members cannot register) and refuses bad names', async () => {
    expect((await register({ name: 'm.example/x', schema: note }, member)).json().error.code).toBe('forbidden');
    expect((await register({ name: 'Not A Name', schema: note })).json().error.code).toBe('validation_failed');
    expect((await register({ name: 'auth.login', schema: note })).json().error.code).toBe('forbidden');
    expect((await register({ name: 'cairn.x/y', schema: note })).json().error.code).toBe('forbidden');
    expect((await register({ name: 'a.b/c', schema: note, extra: 1 })).json().error.code).toBe('validation_failed');
    expect((await register({ name: 'a.b/c', schema: 'nope' })).json().error.code).toBe('validation_failed');
  });

  it('answers 422 invalid_schema with pointers for hostile schemas', async () => {
    const r = await register({ name: 'evil.example/x', schema: { type: 'string', pattern: '(a+)+$', maxLength: 10, properties: { p: { $ref: 'https://evil.example/' } } } });
    expect(r.statusCode).toBe(422);
    expect(r.json().error.code).toBe('invalid_schema');
    expect(r.json().error.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ pointer: '/schema/pattern' }),
        expect.objectContaining({ pointer: '/schema/properties/p/$ref' }),
      ]),
    );
    expect((await app.inject({ url: '/api/v1/event-types/evil.example/x', headers: { authorization: admin } })).statusCode).toBe(404);
  });

  it('never answers 5xx to arbitrary JSON as a schema', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom('fuzz.example/a', 'fuzz.example/b'), async (schema, name) => {
        const r = await register({ name, schema: schema as object });
        expect(r.statusCode, r.body).toBeLessThan(500);
        if (r.statusCode < 300) {
          // Whatever was accepted must be usable: appending arbitrary data never 5xx either.
          const a = await append([{ type: name, data: { x: schema } }]);
          expect(a.statusCode, a.body).toBeLessThan(500);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('validated appends', () => {
  it('stamps the version validated against', async () => {
    const r = await append([{ type: 'notes.example/note', data: { text: 'hi', tags: ['a'] } }]);
    expect(r.statusCode).toBe(201);
    const got = await app.inject({ url: `/api/v1/events/${r.json().events[0].id}`, headers: { authorization: admin } });
    expect(got.json().typeVersion).toBe(2);
    const plain = await append([{ type: 'untyped.example/thing', data: { anything: true } }]);
    expect((await app.inject({ url: `/api/v1/events/${plain.json().events[0].id}`, headers: { authorization: admin } })).json().typeVersion).toBeNull();
  });

  it('refuses a batch with invalid data: every error with its pointer, nothing written', async () => {
    const before = (await list('notes.example/note')).length;
    const r = await append([
      { type: 'notes.example/note', data: { text: 'fine', tags: [] } },
      { type: 'notes.example/note', data: { text: 5, tags: ['x'], colour: 'red' } },
      { type: 'untyped.example/thing', data: {} },
      { type: 'notes.example/note', data: { tags: [1] } },
    ]);
    expect(r.statusCode).toBe(422);
    const { code, details } = r.json().error;
    expect(code).toBe('schema_violation');
    expect(details).toEqual(
      expect.arrayContaining([
        { pointer: '/events/1/data/text', message: expect.any(String) },
        { pointer: '/events/1/data/colour', message: 'is not allowed here' },
        { pointer: '/events/3/data/text', message: 'is required' },
        { pointer: '/events/3/data/tags/0', message: expect.any(String) },
      ]),
    );
    expect(details.some((d: { pointer: string }) => d.pointer.startsWith('/events/0') || d.pointer.startsWith('/events/2'))).toBe(false);
    expect(await list('notes.example/note')).toHaveLength(before);
  });

  it('reports an error one level deep only where it is, not as "not allowed" at its parent', async () => {
    const nested = { type: 'object', properties: { b: { type: 'number' } }, additionalProperties: false };
    expect((await register({ name: 'nest.example/deep', schema: { type: 'object', properties: { a: nested, c: { type: 'object', properties: { d: nested } } }, additionalProperties: false } })).statusCode).toBe(201);
    const r = await append([{ type: 'nest.example/deep', data: { a: { b: 'x' }, c: { d: { b: true } }, extra: 1 } }]);
    expect(r.statusCode).toBe(422);
    const details = r.json().error.details as { pointer: string; message: string }[];
    expect(details.map((d) => d.pointer).sort()).toEqual(['/events/0/data/a/b', '/events/0/data/c/d/b', '/events/0/data/extra']);
    expect(details.find((d) => d.pointer === '/events/0/data/extra')?.message).toBe('is not allowed here');
  });

  it('applies a new version to the very next append', async () => {
    await register({ name: 'ver.example/v', schema: { type: 'object', required: ['a'] } });
    expect((await append([{ type: 'ver.example/v', data: { a: 1 } }])).statusCode).toBe(201);
    await register({ name: 'ver.example/v', schema: { type: 'object', required: ['b'] } });
    const r = await append([{ type: 'ver.example/v', data: { a: 1 } }]);
    expect(r.statusCode).toBe(422);
    expect(r.json().error.details[0].pointer).toBe('/events/0/data/b');
    const ok = await append([{ type: 'ver.example/v', data: { b: 1 } }]);
    expect((await app.inject({ url: `/api/v1/events/${ok.json().events[0].id}`, headers: { authorization: admin } })).json().typeVersion).toBe(2);
  });

  it('property: random data is either stored valid or refused with 422, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom('text', 'tags', 'other'), fc.jsonValue({ maxDepth: 2, stringUnit: 'grapheme-ascii' })), async (data) => {
        const r = await append([{ type: 'notes.example/note', data }]);
        expect([201, 422]).toContain(r.statusCode);
        const valid = typeof data.text === 'string' && data.text.length <= 100 && Array.isArray(data.tags) && data.tags.every((t) => typeof t === 'string') && !('other' in data);
        expect(r.statusCode === 201, JSON.stringify(data)).toBe(valid);
      }),
      { numRuns: 80 },
    );
  });

  it('leaves the ledger verifiable', async () => {
    expect((await verifyLedger(services.db)).ok).toBe(true);
  });
});
