import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activityEvents, connectionTrap, type ConnectionTrap, expectedDailyCounts, loadExample, memoryEvents, sandboxFailure, viewRequest } from '../../../test/fixtures/sandbox.js';
import {
  DEFAULT_LIMITS,
  MAX_LIMITS,
  MAX_QUERIES_IN_FLIGHT,
  SandboxError,
  clampLimits,
  createSandbox,
  validateViewFiles,
  type RunRequest,
  type Sandbox,
  type SandboxLimits,
} from './sandbox.js';

let sandbox: Sandbox;
let trap: ConnectionTrap;

beforeAll(async () => {
  sandbox = createSandbox({ pythonWorkers: 0, javascriptWorkers: 1 });
  trap = await connectionTrap();
});

afterAll(async () => {
  await sandbox.close();
  await trap.close();
});

const request = (main: string, extra: Partial<RunRequest> = {}, limits: Partial<SandboxLimits> = {}) => viewRequest('javascript', main, extra, limits);

const run = (main: string, extra: Partial<RunRequest> = {}, limits: Partial<SandboxLimits> = {}) =>
  sandbox.run(request(main, extra, limits));

const failure = sandboxFailure;

// Every hostile run must leave the sandbox able to run the next view.
afterEach(async () => {
  const r = await run('export default ({ input }) => ({ echo: input })', { input: [1, 'two'] });
  expect(r.result).toEqual({ echo: [1, 'two'] });
});

describe('JavaScript views: behaviour', () => {
  it('passes configuration and input in and a JSON result out', async () => {
    const r = await run(
      'export default async function ({ configuration, input }) { return { sum: configuration.a + input.b, at: "é✓" } }',
      { configuration: { a: 2 }, input: { b: 40 } },
    );
    expect(r.result).toEqual({ sum: 42, at: 'é✓' });
    expect(r.resultJson).toBe('{"sum":42,"at":"é✓"}');
    expect(r.stats.eventsRead).toBe(0);
  });

  it('resolves relative imports between the view files, and nothing else', async () => {
    const files = {
      'main.js': "import { twice } from './lib/math.js'; export default () => twice(21)",
      'lib/math.js': "import { one } from '../one.js'; export const twice = (x) => x * 2 * one",
      'one.js': 'export const one = 1',
    };
    expect((await sandbox.run({ ...request(''), files })).result).toBe(42);
    for (const spec of ['fs', 'node:fs', 'std', 'os', '/etc/passwd', '../../../etc/passwd.js', './missing.js', 'https://example.com/x.js']) {
      const e = await failure(run(`import x from ${JSON.stringify(spec)}; export default () => x`));
      expect(e.code).toBe('view_compile_error');
    }
    const dynamic = await failure(run("export default async () => (await import('fs')).readFileSync('/etc/passwd', 'utf8')"));
    expect(dynamic.code).toBe('view_runtime_error');
  });

  it('pages through events with next, counting what it read', async () => {
    const all = activityEvents(2500, '2024-03-01T00:00:00Z', 10);
    const { queryEvents, queries } = memoryEvents(all);
    const r = await run(
      `export default async ({ events }) => {
        const ids = []; let after = null;
        do { const p = await events.query({ type: 'activity.steps', after, limit: 300 }); for (const e of p.events) ids.push(e.id); after = p.next; } while (after);
        return ids;
      }`,
      { queryEvents },
    );
    const expected = all.filter((e) => e.type === 'activity.steps').map((e) => e.id).sort();
    expect([...(r.result as string[])].sort()).toEqual(expected);
    expect(r.stats.eventsRead).toBe(expected.length);
    expect(queries.length).toBe(Math.ceil(expected.length / 300));
    expect(queries.every((q) => q.limit === 300 && q.type === 'activity.steps')).toBe(true);
  });

  it('defaults the page size to maxQueryLimit and refuses invalid queries', async () => {
    const { queryEvents, queries } = memoryEvents([]);
    await run("export default async ({ events }) => events.query({ type: 'a' })", { queryEvents }, { maxQueryLimit: 50 });
    expect(queries[0]).toEqual({ type: 'a', limit: 50 });
    for (const q of [
      '{ type: "a", limit: 51 }',
      '{ type: "a", limit: 0 }',
      '{ type: "a", limit: 1.5 }',
      '{}',
      '{ type: 7 }',
      '{ type: "a", from: "yesterday" }',
      '{ type: "a", where: "1=1" }',
      'null',
      '"a"',
    ]) {
      const e = await failure(run(`export default async ({ events }) => events.query(${q})`, { queryEvents }, { maxQueryLimit: 50 }));
      expect(e.code, q).toBe('view_query_invalid');
    }
    expect(queries).toHaveLength(1);
  });

  it('lets a run have at most a few queries in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const queryEvents = async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return { events: [{ n: 1 }], next: null };
    };
    const r = await run(
      "export default async ({ events }) => (await Promise.all(Array.from({ length: 40 }, () => events.query({ type: 'a' })))).length",
      { queryEvents },
    );
    expect(r.result).toBe(40);
    expect(r.stats.eventsRead).toBe(40);
    expect(most).toBe(MAX_QUERIES_IN_FLIGHT);
  });

  it('lets a view catch a failed query, and fails with the host error when it does not', async () => {
    const queryEvents = async () => {
      throw new SandboxError('view_query_invalid', 'event type not granted');
    };
    const caught = await run(
      "export default async ({ events }) => { try { await events.query({ type: 'x' }) } catch (e) { return e.message } }",
      { queryEvents },
    );
    expect(caught.result).toBe('event type not granted');
    const e = await failure(run("export default async ({ events }) => events.query({ type: 'x' })", { queryEvents }));
    expect(e.code).toBe('view_query_invalid');
    expect(e.message).toBe('event type not granted');
    // A view that handled the failure and then failed on its own reports its own error.
    const own = await failure(
      run("export default async ({ events }) => { try { await events.query({ type: 'x' }) } catch {} throw new Error('mine') }", { queryEvents }),
    );
    expect(own.code).toBe('view_runtime_error');
    expect(own.message).toContain('Error: mine');
  });

  it('reports errors thrown by the view with their message', async () => {
    const e = await failure(run("export default () => { throw new TypeError('bad configuration') }"));
    expect(e.code).toBe('view_runtime_error');
    expect(e.message).toContain('TypeError: bad configuration');
    expect((await failure(run('export const notDefault = 1'))).code).toBe('view_runtime_error');
  });

  it('rejects results that are not JSON', async () => {
    for (const value of ['undefined', '() => 1', '10n', 'Symbol("s")', '(() => { const a = {}; a.a = a; return a })()']) {
      const e = await failure(run(`export default () => ${value}`));
      expect(e.code, value).toBe('view_invalid_result');
    }
  });

  it('finds syntax errors at check time, before any run', async () => {
    await expect(sandbox.check('javascript', { 'main.js': 'export default () => 1' })).resolves.toBeUndefined();
    const e = await failure(sandbox.check('javascript', { 'main.js': 'export default () => 1', 'lib.js': 'export const x = (' }));
    expect(e.code).toBe('view_compile_error');
    expect(e.message).toContain('lib.js');
    expect((await failure(run('export default () => {'))).code).toBe('view_compile_error');
  });
});

describe('JavaScript views: the examples', () => {
  it('calendar week returns the entries between the two dates, by day', async () => {
    const entries = [
      { id: 'c1', type: 'calendar.entry', occurredAt: '2024-05-06T09:00:00.000Z', data: { title: 'Standup', end: '2024-05-06T09:15:00.000Z' } },
      { id: 'c2', type: 'calendar.entry', occurredAt: '2024-05-06T14:00:00.000Z', data: { title: 'Review' } },
      { id: 'c3', type: 'calendar.entry', occurredAt: '2024-05-10T11:00:00.000Z', data: { title: 'Demo' } },
      { id: 'c4', type: 'calendar.entry', occurredAt: '2024-05-13T09:00:00.000Z', data: { title: 'Next week' } },
      { id: 'c5', type: 'calendar.entry', occurredAt: '2024-05-05T23:59:59.000Z', data: { title: 'Last week' } },
      { id: 'x1', type: 'activity.steps', occurredAt: '2024-05-07T10:00:00.000Z', data: { steps: 10 } },
    ];
    const { queryEvents } = memoryEvents(entries);
    const r = await sandbox.run({
      ...request(''),
      files: loadExample('calendar-week'),
      configuration: { eventType: 'calendar.entry' },
      input: { from: '2024-05-06T00:00:00Z', to: '2024-05-13T00:00:00Z' },
      queryEvents,
    });
    expect(r.result).toEqual({
      from: '2024-05-06T00:00:00Z',
      to: '2024-05-13T00:00:00Z',
      days: {
        '2024-05-06': [
          { id: 'c1', title: 'Standup', start: '2024-05-06T09:00:00.000Z', end: '2024-05-06T09:15:00.000Z' },
          { id: 'c2', title: 'Review', start: '2024-05-06T14:00:00.000Z', end: null },
        ],
        '2024-05-10': [{ id: 'c3', title: 'Demo', start: '2024-05-10T11:00:00.000Z', end: null }],
      },
    });
    expect(r.stats.eventsRead).toBe(3);
  });

  it('daily counts match a direct computation, zero days included', async () => {
    const all = activityEvents(5000, '2024-03-01T00:00:00Z', 20);
    const { queryEvents } = memoryEvents(all);
    const input = { from: '2024-03-05', to: '2024-03-25' };
    const r = await sandbox.run({
      ...request(''),
      files: loadExample('daily-counts-js'),
      configuration: { eventType: 'activity.steps' },
      input,
      queryEvents,
    });
    const expected = expectedDailyCounts(all, 'activity.steps', input.from, input.to);
    expect(r.result).toEqual(expected);
    expect(Object.keys(expected)).toHaveLength(20);
    expect(expected['2024-03-24']).toBe(0);
  });
});

describe('JavaScript views: escapes and limits', () => {
  it('has no process, require, environment, timers or network', async () => {
    process.env.CAIRN_SANDBOX_PROBE = 'host-secret';
    try {
      const probe = await run(`export default () => ({
        process: typeof process, require: typeof require, fetch: typeof fetch, setTimeout: typeof setTimeout,
        setInterval: typeof setInterval, WebSocket: typeof WebSocket, XMLHttpRequest: typeof XMLHttpRequest,
        std: typeof std, os: typeof os, Deno: typeof Deno, Bun: typeof Bun, globals: Object.getOwnPropertyNames(globalThis).filter((k) => /proc|req|env|fetch|host|cairn/i.test(k)),
        viaFunction: typeof Function('return this')().process,
      })`);
      expect(probe.result).toEqual({
        process: 'undefined', require: 'undefined', fetch: 'undefined', setTimeout: 'undefined', setInterval: 'undefined',
        WebSocket: 'undefined', XMLHttpRequest: 'undefined', std: 'undefined', os: 'undefined', Deno: 'undefined', Bun: 'undefined',
        globals: [], viaFunction: 'undefined',
      });
      for (const attempt of [
        'process.env.CAIRN_SANDBOX_PROBE',
        "require('fs').readFileSync('/etc/passwd', 'utf8')",
        `fetch('http://127.0.0.1:${trap.port}/')`,
        "std.loadFile('/etc/passwd')",
        "events.query.constructor('return process')().env",
      ]) {
        const e = await failure(run(`export default async ({ events }) => ${attempt}`));
        expect(e.code, attempt).toBe('view_runtime_error');
        expect(e.message).not.toContain('host-secret');
      }
      expect(trap.connections()).toBe(0);
    } finally {
      delete process.env.CAIRN_SANDBOX_PROBE;
    }
  });

  it('stops infinite loops at the deadline, synchronous or not, without blocking the host', async () => {
    let ticks = 0;
    const interval = setInterval(() => ticks++, 20);
    try {
      const e = await failure(run('export default () => { for (;;) {} }', {}, { cpuMs: 1000 }));
      expect(e.code).toBe('view_timeout');
      // The loop ran on a worker thread: the host's event loop kept turning meanwhile.
      expect(ticks).toBeGreaterThan(10);
    } finally {
      clearInterval(interval);
    }
    for (const main of [
      'export default async ({ events }) => { await events.query({ type: "a" }); for (;;) {} }',
      'export default () => { const f = () => Promise.resolve().then(f); return f() }',
      'export default () => new Promise(() => {})',
      'export default async () => { const g = async () => { await null; return g() }; return g() }',
    ]) {
      expect((await failure(run(main, {}, { cpuMs: 300 }))).code, main).toBe('view_timeout');
    }
  });

  it('counts time spent waiting on the host against the deadline', async () => {
    const slow = () => new Promise<never>(() => {});
    const e = await failure(run("export default async ({ events }) => events.query({ type: 'a' })", { queryEvents: slow }, { cpuMs: 200 }));
    expect(e.code).toBe('view_timeout');
  });

  it('stops deep recursion with a runtime error', async () => {
    for (const main of [
      'export default () => { const f = (n) => f(n + 1) + 1; return f(0) }',
      'export default () => { const f = (n) => [f(n + 1)]; return f(0) }',
      'export default () => JSON.stringify(JSON.parse("[".repeat(200000) + "]".repeat(200000)))',
    ]) {
      const e = await failure(run(main));
      expect(e.code, main).toBe('view_runtime_error');
    }
  });

  it('stops memory bombs at the memory limit', async () => {
    for (const main of [
      "export default () => { const a = []; for (;;) a.push('x'.repeat(1000) + a.length) }",
      'export default () => { const a = []; let i = 0; for (;;) a.push(new Array(100).fill(i++)) }',
      'export default () => new ArrayBuffer(100 * 1024 * 1024).byteLength',
      "export default () => { let s = 'x'; for (;;) s = s + s }",
    ]) {
      const e = await failure(run(main, {}, { memoryMb: 32 }));
      expect(['view_memory_exceeded']).toContain(e.code);
    }
    // ...and the limit is the template's: the same allocation fits a larger one.
    expect((await run('export default () => new ArrayBuffer(100 * 1024 * 1024).byteLength', {}, { memoryMb: 128 })).result).toBe(
      100 * 1024 * 1024,
    );
  });

  it('refuses results over the size limit, counted in UTF-8 bytes', async () => {
    const limits = { maxResultBytes: 10_000 };
    expect((await failure(run("export default () => 'x'.repeat(5_000_000)", {}, limits))).code).toBe('view_output_too_large');
    expect((await failure(run("export default () => Array.from({ length: 200_000 }, (_, i) => ({ i }))", {}, limits))).code).toBe(
      'view_output_too_large',
    );
    // 6,000 characters but 12,002 bytes of JSON: short enough to copy out, too big to return.
    expect((await failure(run("export default () => 'é'.repeat(6000)", {}, limits))).code).toBe('view_output_too_large');
    expect((await run("export default () => 'é'.repeat(4000)", {}, limits)).resultJson.length).toBe(4002);
  });

  it('keeps prototype pollution inside the run that did it', async () => {
    const polluted = await run(`export default ({ events }) => {
      Object.prototype.polluted = 'yes'; Array.prototype.push = () => 0; JSON.parse = () => 'hijacked';
      Object.defineProperty(Object.prototype, 'toJSON', { value: () => 'hijacked', configurable: true, writable: true });
      return JSON.parse('{"__proto__": {"polluted": "host"}}');
    }`);
    expect(polluted.result).toBe('hijacked');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const clean = await run(
      "export default ({ input }) => { const a = []; a.push(1); return { polluted: ({}).polluted ?? null, a, parsed: JSON.parse('[1]'), input } }",
      { input: { x: 1 } },
    );
    expect(clean.result).toEqual({ polluted: null, a: [1], parsed: [1], input: { x: 1 } });
  });

  it('hands the host plain JSON: a __proto__ key in the result or in events pollutes nothing', async () => {
    const queryEvents = async () => ({ events: [JSON.parse('{"__proto__": {"polluted": "from-event"}}')], next: null });
    const r = await run(
      `export default async ({ events }) => { const p = await events.query({ type: 'a' }); return { seen: ({}).polluted ?? null, out: JSON.parse('{"__proto__": {"polluted": "from-view"}}') } }`,
      { queryEvents },
    );
    expect((r.result as { seen: unknown }).seen).toBeNull();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf((r.result as { out: object }).out)).toBe(Object.prototype);
  });

  it('gives the view a frozen events API and no way to share state between runs', async () => {
    const r = await run(`export default ({ events }) => {
      let replaced = true; try { events.query = () => 1 } catch { replaced = false }
      globalThis.stash = 'secret-of-run-1';
      return { frozen: Object.isFrozen(events), replaced: events.query.toString().includes('hostQuery') ? false : replaced };
    }`);
    expect(r.result).toEqual({ frozen: true, replaced: false });
    expect((await run('export default () => globalThis.stash ?? null')).result).toBeNull();
  });

  it('starts every run in a VM no other run touched, whether it was made ahead of the run or on the spot', async () => {
    // Each run marks everything it can reach, including from a job left pending after it returned.
    const probe = `export default async ({ input, events }) => {
      const seen = { global: globalThis.mark ?? null, late: globalThis.late ?? null, proto: ({}).mark ?? null, array: [].mark ?? null,
                     json: JSON.stringify({ a: 1 }), eventsMark: events.mark ?? null };
      globalThis.mark = input.n; Object.prototype.mark = input.n; Array.prototype.mark = input.n;
      JSON.stringify = () => 'hijacked';
      Promise.resolve().then(() => Promise.resolve()).then(() => { globalThis.late = input.n; });
      try { events.mark = input.n } catch {}
      return seen;
    }`;
    const clean = { global: null, late: null, proto: null, array: null, json: '{"a":1}', eventsMark: null };
    for (let n = 0; n < 10; n++) {
      // An idle pause lets the worker make the next VM ahead of time; no pause makes it on the
      // spot; a different memory limit throws the one made ahead away.
      if (n % 2) await new Promise((r) => setTimeout(r, 30));
      const r = await run(probe, { input: { n } }, { memoryMb: n % 4 < 2 ? 64 : 32 });
      expect(r.result).toEqual(clean);
    }
    // Runs queued back to back on the one worker, none waiting for the previous one's cleanup.
    const many = await Promise.all(Array.from({ length: 6 }, (_, n) => run(probe, { input: { n } })));
    for (const r of many) expect(r.result).toEqual(clean);
  });
});

/** Nice values of this process's threads (Linux), or undefined elsewhere. */
function threadNices(): number[] | undefined {
  try {
    return readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start at ") "; nice is field 19.
      return Number(stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[16]);
    });
  } catch {
    return undefined;
  }
}

describe('JavaScript views: scheduling', () => {
  // Raising a priority back needs privileges (root here): elsewhere a worker that was lowered once stays lowered.
  it.skipIf(threadNices() === undefined || process.getuid?.() !== 0)('lowers the priority of a long run only, and takes it back after', async () => {
    expect(threadNices()!.filter((n) => n === 10)).toEqual([]);
    const long = run('export default () => { const end = Date.now() + 600; let x = 0; while (Date.now() < end) x++; return x > 0 }', {}, { cpuMs: 5000 });
    let finished = false;
    void long.finally(() => (finished = true));
    let lowered = false;
    while (!finished && !lowered) {
      lowered = threadNices()!.includes(10);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect((await long).result).toBe(true);
    expect(lowered).toBe(true);
    let restored = false;
    for (let i = 0; i < 200 && !restored; i++) {
      restored = !threadNices()!.includes(10);
      if (!restored) await new Promise((r) => setTimeout(r, 10));
    }
    expect(restored).toBe(true);
  });

  it('queues concurrent runs on the workers and answers each its own result', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => run('export default async ({ input }) => { await null; return input * 2 }', { input: i })),
    );
    expect(results.map((r) => r.result)).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
  });

  it('fails with sandbox_busy (503, Retry-After) when no worker frees up within the queue timeout', async () => {
    const small = createSandbox({ pythonWorkers: 0, javascriptWorkers: 1, queueTimeoutMs: 100 });
    try {
      const busy = small.run(request('export default () => { for (;;) {} }', {}, { cpuMs: 1500 }));
      const queued = await failure(small.run(request('export default () => 1')));
      expect(queued.code).toBe('sandbox_busy');
      expect((await failure(busy)).code).toBe('view_timeout');
      expect((await small.run(request('export default () => 1'))).result).toBe(1);
    } finally {
      await small.close();
    }
    expect((await failure(small.run(request('export default () => 1')))).code).toBe('view_unavailable');
  });
});

describe('limits and file validation', () => {
  it('clamps per-template limits to the hard maxima', () => {
    expect(clampLimits({})).toEqual(DEFAULT_LIMITS);
    expect(clampLimits({ memoryMb: 10_000, cpuMs: 1e9, maxResultBytes: 1e12, maxQueryLimit: 1e9 })).toEqual(MAX_LIMITS);
    expect(clampLimits({ memoryMb: -5, cpuMs: Number.NaN, maxQueryLimit: 0 })).toMatchObject({ memoryMb: 8, cpuMs: DEFAULT_LIMITS.cpuMs, maxQueryLimit: 1 });
    expect(clampLimits({ cpuMs: 500.7 }).cpuMs).toBe(500);
  });

  it('refuses bad file sets with view_compile_error and a clear message', () => {
    const bad = (runtime: string, files: unknown, message: RegExp) => {
      try {
        validateViewFiles(runtime, files);
      } catch (e) {
        expect(e).toBeInstanceOf(SandboxError);
        expect((e as SandboxError).code).toBe('view_compile_error');
        expect((e as SandboxError).message).toMatch(message);
        return;
      }
      throw new Error('expected a refusal');
    };
    bad('javascript', { 'lib.js': '' }, /entry file main\.js is missing/);
    bad('python', { 'main.js': '' }, /entry file main\.py is missing/);
    bad('ruby', { 'main.rb': '' }, /runtime/);
    bad('javascript', Object.fromEntries(Array.from({ length: 21 }, (_, i) => [i ? `f${i}.js` : 'main.js', ''])), /At most 20 files/);
    for (const name of ['../x.js', '/abs.js', 'a/../b.js', 'x.py', 'sp ace.js', 'a\\b.js', '.hidden.js', 'a//b.js']) {
      bad('javascript', { 'main.js': '', [name]: '' }, /Bad file name/);
    }
    bad('python', { 'main.py': '', 'my-lib.py': '' }, /Bad file name/);
    bad('javascript', { 'main.js': 'x'.repeat(300 * 1024) }, /maximum is/);
    bad('javascript', { 'main.js': 1 }, /must be a string/);
    expect(() => validateViewFiles('python', { 'main.py': '', 'pkg/util.py': '' })).not.toThrow();
  });
});
