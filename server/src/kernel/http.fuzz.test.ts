import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import type { App } from '../app.js';

/**
 * Property: whatever a caller sends to any endpoint in the OpenAPI document — malformed JSON,
 * wrong types, unknown fields, huge bodies, bad cursors and ids, forged or expired tokens — the
 * answer is never a 5xx and never a stack trace: a 4xx carries a stable snake_case error code.
 */
let app: App;
let stop: () => Promise<void>;
let apiToken: string;
let routes: Array<{ method: string; path: string }>;

beforeAll(async () => {
  ({ app, stop } = await createTestApp({ CAIRN_BODY_LIMIT: '65536', CAIRN_LOGIN_RATE_LIMIT: '100000' }));
  const { authorization } = await setupAdmin(app);
  const scopes = (await app.inject({ url: '/api/v1/auth/scopes', headers: { authorization } })).json().scopes.map((s: { name: string }) => s.name);
  apiToken = (await app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: { authorization }, payload: { name: 'fuzz', scopes, expiresInDays: 1 } })).json().secret;
  const spec = (await app.inject({ url: '/api/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
  routes = Object.entries(spec.paths).flatMap(([p, ops]) =>
    Object.keys(ops)
      .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map((m) => ({ method: m.toUpperCase(), path: p })),
  );
});
afterAll(() => stop());

const weirdString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.constantFrom('..', '../../etc/passwd', '%00', '\u0000', 'null', '-1', '9'.repeat(30), 'a'.repeat(300), "' OR 1=1 --", '__proto__', '{}', '01a201b0-1a33-7084-b86d-bf0ce3408ce1'),
);
// Mostly a valid token, so requests get past authentication and reach validation and services.
const auth = fc.oneof(
  { arbitrary: fc.constant<string | undefined>('valid'), weight: 6 },
  { arbitrary: fc.constant<string | undefined>(undefined), weight: 1 },
  { arbitrary: fc.constantFrom('Bearer ', 'Bearer x', 'Basic abc', 'Bearer cairn_pat_forged', 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4IiwiZXhwIjoxfQ.c2ln', 'Bearer ' + 'a'.repeat(5000)), weight: 2 },
);
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({ payload: JSON.stringify(v), type: 'application/json' })),
  fc.string().map((s) => ({ payload: s, type: 'application/json' })),
  fc.constantFrom('{"events":', '{"a":1}}', '[', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}').map((s) => ({ payload: s, type: 'application/json' })),
  fc.record({ events: fc.array(fc.record({ type: weirdString, data: fc.jsonValue({ maxDepth: 3 }), stream: fc.option(weirdString), occurredAt: fc.option(weirdString), transactionId: fc.option(weirdString) }, { requiredKeys: [] }), { maxLength: 5 }) }).map((v) => ({ payload: JSON.stringify(v), type: 'application/json' })),
  fc.constant({ payload: 'x'.repeat(70_000), type: 'application/json' }),
  fc.string().map((s) => ({ payload: s, type: 'text/plain' })),
  fc.constant({ payload: 'a=1&b=2', type: 'application/x-www-form-urlencoded' }),
);
const query = fc.dictionary(fc.constantFrom('after', 'limit', 'type', 'stream', 'from', 'to', 'backlog', 'status', 'x'), weirdString, { maxKeys: 4 });

function fill(path: string, values: string[]): string {
  let i = 0;
  return path.replace(/\{[^}]+\}/g, () => encodeURIComponent(values[i++ % values.length] ?? 'x'));
}

describe('route schemas', () => {
  it('every route validator and response serializer compiles (they are compiled lazily at run time)', () => {
    const paths = Object.keys((app.swagger() as { paths: Record<string, unknown> }).paths).length;
    // At least one validator or serializer per documented path, all compiled without an error.
    expect(app.compileAllSchemas()).toBeGreaterThan(paths);
  });
});

describe('no endpoint answers bad input with a 5xx or a stack trace', () => {
  it('holds for every route in the OpenAPI document', async () => {
    expect(routes.length).toBeGreaterThan(15);
    const targets = routes.filter((r) => !r.path.endsWith('/stream'));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), fc.array(weirdString, { minLength: 1, maxLength: 3 }), query, body, auth, async (route, params, q, b, a) => {
        const url = fill(route.path, params) + (Object.keys(q).length ? '?' + new URLSearchParams(q).toString() : '');
        const headers: Record<string, string> = { 'content-type': b.type };
        if (a === 'valid') headers.authorization = `Bearer ${apiToken}`;
        else if (a) headers.authorization = a;
        const r = await app.inject({ method: route.method as 'GET', url, headers, ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { payload: b.payload }) });
        expect(r.statusCode, `${route.method} ${url} -> ${r.body.slice(0, 300)}`).toBeLessThan(500);
        expect(r.body).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
        if (r.statusCode >= 400) expect(r.json().error.code).toMatch(/^[a-z][a-z_]+$/);
      }),
      { numRuns: Math.max(300, targets.length * 25), seed: Number(process.env.FUZZ_SEED ?? Date.now() % 100000) },
    );
    expect((await app.inject({ url: '/api/v1/health' })).statusCode).toBe(200);
  });

  it('the live tail refuses bad cursors cleanly', async () => {
    for (const bad of ['zzz', 'A'.repeat(70), '%00']) {
      const r = await app.inject({ url: `/api/v1/events/stream?after=${encodeURIComponent(bad)}`, headers: { authorization: `Bearer ${apiToken}` } });
      expect(r.statusCode).toBe(400);
    }
    const r = await app.inject({ url: '/api/v1/events/stream', headers: { authorization: `Bearer ${apiToken}`, 'last-event-id': 'forged' } });
    expect(r.json().error.code).toBe('invalid_cursor');
  });
});
