import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import type { App } from '../app.js';
import { loadExample } from '../../test/fixtures/sandbox.js';

/**
 * Issue 17: an administrator test-runs a view template with sample events and input before any
 * app uses it, in the real sandbox with the template's limits, and never on stored data.
 */
let app: App;
let stop: () => Promise<void>;
let admin: string;
const STEPS = 'tracker.example/steps';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const call = async (method: string, url: string, authorization?: string, payload?: unknown): Promise<{ status: number; body: any }> => {
  const r = await app.inject({ method: method as 'GET', url, headers: authorization ? { authorization } : {}, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: r.statusCode, body: r.body ? r.json() : undefined };
};

beforeAll(async () => {
  ({ app, stop } = await createTestApp());
  admin = (await setupAdmin(app)).authorization;
  const schema = { type: 'object', properties: { steps: { type: 'integer' } } };
  expect((await call('POST', '/api/v1/event-types', admin, { name: STEPS, schema })).status).toBe(201);
  // A stored event the test run must not see.
  expect((await call('POST', '/api/v1/events', admin, { events: [{ type: STEPS, occurredAt: '2026-03-02T10:00:00Z', data: { steps: 1 } }] })).status).toBe(201);
});
afterAll(() => stop());

describe('test-running a view template', () => {
  it('runs the template on sample events in the sandbox, pages through them, and reads nothing stored', async () => {
    const t = await call('POST', '/api/v1/view-templates', admin, { name: 'Daily counts', runtime: 'javascript', files: loadExample('daily-counts-js'), eventTypes: [STEPS], limits: { maxQueryLimit: 2 } });
    expect(t.status).toBe(201);
    const events = ['2026-03-01T08:00:00Z', '2026-03-01T09:00:00Z', '2026-03-01T20:00:00Z', '2026-03-02T07:00:00Z', '2026-03-04T07:00:00Z'].map((at) => ({ type: STEPS, occurredAt: at, data: { steps: 100 } }));
    const r = await call('POST', `/api/v1/view-templates/${t.body.id as string}/test-run`, admin, {
      configuration: { eventType: STEPS },
      input: { from: '2026-03-01T00:00:00Z', to: '2026-03-04T00:00:00Z' },
      events,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // The stored event of 2 March is not counted: only samples are read (and the 4 March one is outside).
    expect(r.body.result).toEqual({ '2026-03-01': 3, '2026-03-02': 1, '2026-03-03': 0 });
    expect(r.body.version).toBe(1);
    expect(r.body.stats.eventsRead).toBe(4);

    // No app instance exists, and nothing was counted as a run.
    expect((await call('GET', `/api/v1/view-templates/${t.body.id as string}`, admin)).body.instances ?? 0).toBe(0);
  });

  it('answers the view\'s own error code under the template\'s limits, and refuses samples of other types', async () => {
    const loop = await call('POST', '/api/v1/view-templates', admin, { name: 'Spins', runtime: 'javascript', files: { 'main.js': 'export default () => { for (;;) {} };' }, eventTypes: [STEPS], limits: { cpuMs: 200 } });
    const spun = await call('POST', `/api/v1/view-templates/${loop.body.id as string}/test-run`, admin, {});
    expect(spun.status).toBe(422);
    expect(spun.body.error.code).toBe('view_timeout');
    const wrong = await call('POST', `/api/v1/view-templates/${loop.body.id as string}/test-run`, admin, { events: [{ type: 'other.example/x', data: {} }] });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.details[0].pointer).toBe('/events/0/type');
    const missing = await call('POST', `/api/v1/view-templates/${loop.body.id as string}/test-run`, admin, { version: 9 });
    expect(missing.status).toBe(404);
    // Only template managers.
    expect((await call('POST', `/api/v1/view-templates/${loop.body.id as string}/test-run`, undefined, {})).status).toBe(401);
  });
});
