import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityEvents, connectionTrap, type ConnectionTrap, expectedDailyCounts, loadExample, memoryEvents, sandboxFailure, viewRequest } from '../../../test/fixtures/sandbox.js';
import { DEFAULT_LIMITS, SandboxError, createSandbox, type RunRequest, type Sandbox, type SandboxLimits } from './sandbox.js';

// Pyodide takes seconds to load: one sandbox (two warm processes) serves the whole file.
let sandbox: Sandbox;
let trap: ConnectionTrap;

beforeAll(async () => {
  process.env.CAIRN_SANDBOX_PROBE = 'host-secret';
  process.env.DATABASE_URL ??= 'postgres://probe:probe-password@127.0.0.1/probe';
  sandbox = createSandbox({ pythonWorkers: 2, javascriptWorkers: 1 });
  trap = await connectionTrap();
});

afterAll(async () => {
  delete process.env.CAIRN_SANDBOX_PROBE;
  await sandbox?.close();
  await trap?.close();
});

const request = (main: string, extra: Partial<RunRequest> = {}, limits: Partial<SandboxLimits> = {}) => viewRequest('python', main, extra, limits);

const run = (main: string, extra: Partial<RunRequest> = {}, limits: Partial<SandboxLimits> = {}) =>
  sandbox.run(request(main, extra, limits));

const failure = sandboxFailure;

const healthy = async () => {
  const r = await run('def main(configuration, input, events):\n    return {"echo": input}', { input: [1, 'two'] });
  expect(r.result).toEqual({ echo: [1, 'two'] });
};

const py = (...lines: string[]) => lines.join('\n');

describe('Python views: behaviour', () => {
  it('passes configuration and input in and a JSON result out; async or not', async () => {
    const r = await run(
      py('async def main(configuration, input, events):', '    return {"sum": configuration["a"] + input["b"], "at": "é✓"}'),
      { configuration: { a: 2 }, input: { b: 40 } },
    );
    expect(r.result).toEqual({ sum: 42, at: 'é✓' });
    expect(r.resultJson).toBe('{"sum":42,"at":"é✓"}');
    expect((await run(py('def main(c, i, e):', '    return [None, True, 1.5]'))).result).toEqual([null, true, 1.5]);
  });

  it('imports the other files of the view as modules, packages included', async () => {
    const r = await sandbox.run({
      ...request(''),
      files: {
        'main.py': 'from helpers import twice\nfrom pkg.one import ONE\ndef main(c, i, e):\n    return twice(21) * ONE',
        'helpers.py': 'def twice(x):\n    return 2 * x',
        'pkg/one.py': 'ONE = 1',
      },
    });
    expect(r.result).toBe(42);
  });

  it('pages through events with next, validating queries on the host', async () => {
    const all = activityEvents(1200, '2024-03-01T00:00:00Z', 5);
    const { queryEvents, queries } = memoryEvents(all);
    const r = await run(
      py(
        'async def main(configuration, input, events):',
        '    ids, after = [], None',
        '    while True:',
        '        page = await events.query(type="activity.steps", after=after, limit=250)',
        '        ids += [e["id"] for e in page["events"]]',
        '        after = page["next"]',
        '        if after is None:',
        '            return ids',
      ),
      { queryEvents },
    );
    const expected = all.filter((e) => e.type === 'activity.steps').map((e) => e.id).sort();
    expect([...(r.result as string[])].sort()).toEqual(expected);
    expect(r.stats.eventsRead).toBe(expected.length);
    expect(queries.every((q) => q.limit === 250)).toBe(true);
    const invalid = await failure(run(py('async def main(c, i, events):', '    return await events.query(type="a", limit=10**6)'), { queryEvents }));
    expect(invalid.code).toBe('view_query_invalid');
  });

  it('reports exceptions, syntax errors, a missing main and non-JSON results', async () => {
    const e = await failure(run(py('def main(c, i, e):', '    raise ValueError("bad configuration")')));
    expect(e.code).toBe('view_runtime_error');
    expect(e.message).toContain('ValueError: bad configuration');
    expect(e.message).toContain('main.py:2');
    expect((await failure(run('def main(c, i, e)\n    return 1'))).code).toBe('view_compile_error');
    expect((await failure(run('x = 1'))).code).toBe('view_runtime_error');
    expect((await failure(run(py('def main(c, i, e):', '    return {1, 2}')))).code).toBe('view_invalid_result');
    expect((await failure(run(py('def main(c, i, e):', '    return float("nan")')))).code).toBe('view_invalid_result');
  });

  it('finds syntax errors at check time without running anything', async () => {
    await expect(sandbox.check('python', { 'main.py': 'def main(c, i, e):\n    return 1' })).resolves.toBeUndefined();
    const e = await failure(sandbox.check('python', { 'main.py': 'def main(c, i, e):\n    return 1', 'util.py': 'def f(:' }));
    expect(e.code).toBe('view_compile_error');
    expect(e.message).toContain('util.py, line 1');
  });
});

describe('the examples agree across runtimes', () => {
  it('Python per-day counts equal the JavaScript ones and a direct computation', async () => {
    const all = activityEvents(4000, '2024-03-01T00:00:00Z', 30);
    const input = { from: '2024-03-03', to: '2024-03-31' };
    const configuration = { eventType: 'activity.steps' };
    const viaPython = await sandbox.run({
      ...request(''),
      files: loadExample('daily-counts-py'),
      configuration,
      input,
      queryEvents: memoryEvents(all).queryEvents,
    });
    const viaJavaScript = await sandbox.run({
      ...request(''),
      runtime: 'javascript',
      files: loadExample('daily-counts-js'),
      configuration,
      input,
      queryEvents: memoryEvents(all).queryEvents,
    });
    expect(viaPython.result).toEqual(viaJavaScript.result);
    expect(viaPython.result).toEqual(expectedDailyCounts(all, 'activity.steps', input.from, input.to));
    expect(viaPython.stats.eventsRead).toBe(viaJavaScript.stats.eventsRead);
  });
});

/**
 * Runs every attempt in one view (one Pyodide process each run is costly) and answers, per
 * attempt, the exception it raised, or "ESCAPED: ..." if it worked.
 */
async function probe(attempts: Record<string, string>, limits: Partial<SandboxLimits> = {}): Promise<Record<string, string>> {
  const lines = ['import inspect', 'async def main(c, i, e):', '    out = {}'];
  for (const [name, body] of Object.entries(attempts)) {
    lines.push(
      '    try:',
      `        async def attempt():`,
      ...body.split('\n').map((l) => `            ${l}`),
      '        r = await attempt()',
      `        out[${JSON.stringify(name)}] = "ESCAPED: " + str(r)[:200]`,
      '    except BaseException as ex:',
      `        out[${JSON.stringify(name)}] = type(ex).__name__`,
    );
  }
  lines.push('    return out');
  const r = await run(lines.join('\n'), {}, limits);
  return r.result as Record<string, string>;
}

const escaped = (outcomes: Record<string, string>) => Object.entries(outcomes).filter(([, v]) => v.startsWith('ESCAPED'));

describe('Python views: escapes and limits', () => {
  it('sees none of the host environment', async () => {
    const r = await run(py('import os', 'def main(c, i, e):', '    return dict(os.environ)'));
    const env = JSON.stringify(r.result);
    expect(env).not.toContain('host-secret');
    expect(env).not.toContain('probe-password');
    expect(env).not.toContain('DATABASE_URL');
    const viaJs = await failure(run(py('import js', 'def main(c, i, e):', '    return js.process.env.CAIRN_SANDBOX_PROBE')));
    expect(viaJs.code).toBe('view_runtime_error');
    expect(viaJs.message).not.toContain('host-secret');
  });

  it('reads and writes no host files, even through Pyodide’s host-filesystem bridge', async () => {
    const outcomes = await probe({
      open: 'return open("/etc/passwd").read()',
      mountNodeFS: 'import pyodide_js\npyodide_js.mountNodeFS("/host", "/etc")\nreturn open("/host/passwd").read()',
      nodefs: 'import pyodide_js\nFS = pyodide_js.FS\nFS.mkdir("/h")\nFS.mount(FS.filesystems.NODEFS, {"root": "/etc"}, "/h")\nreturn open("/h/passwd").read()',
      write: 'import pyodide_js\nFS = pyodide_js.FS\nFS.mkdir("/w")\nFS.mount(FS.filesystems.NODEFS, {"root": "/tmp"}, "/w")\nopen("/w/cairn-escape", "w").write("x")\nreturn "written"',
      runner: 'import pyodide_js\nFS = pyodide_js.FS\nFS.mkdir("/r")\nFS.mount(FS.filesystems.NODEFS, {"root": "/work"}, "/r")\nimport os\nreturn os.listdir("/r")',
    });
    expect(escaped(outcomes)).toEqual([]);
    expect(outcomes.open).toBe('FileNotFoundError');
    const e = await failure(run(py('def main(c, i, e):', '    return open("/etc/passwd").read()')));
    expect(e.code).toBe('view_runtime_error');
    expect(e.message).not.toContain('root:');
  });

  it('cannot reach the process, compile JavaScript or start programs', async () => {
    const outcomes = await probe({
      process: 'import js\nreturn js.process.pid',
      eval: 'import js\nreturn js.eval("1 + 1")',
      Function: 'import js\nreturn js.Function("return 1")()',
      constructor: 'import js\nreturn js.Object.constructor("return 1")()',
      run_js: 'from pyodide.code import run_js\nreturn run_js("1 + 1")',
      subprocess: 'import subprocess\nreturn subprocess.run(["id"], capture_output=True).stdout',
      system: 'import os\nr = os.system("id")\nif r != 0: raise OSError(r)\nreturn r',
      posix: 'import posix\nr = posix.system("id")\nif r != 0: raise OSError(r)\nreturn r',
      kill: 'import js\nreturn js.globalThis.process.kill(1)',
    });
    expect(escaped(outcomes)).toEqual([]);
    const e = await failure(run(py('import js', 'def main(c, i, e):', '    return js.eval("globalThis.process.pid")')));
    expect(e.code).toBe('view_runtime_error');
    expect(e.message).toContain('Code generation from strings disallowed');
    // A view that makes the interpreter itself fail ends the same way, and the process with it.
    for (const body of ['import faulthandler; faulthandler._sigsegv()', 'import os; os._exit(0)']) {
      const crash = await failure(run(py('def main(c, i, e):', `    ${body}`)));
      expect(crash.code, body).toBe('view_runtime_error');
      expect(crash.message).toBe('The Python sandbox process stopped');
    }
  });

  it('opens no sockets', async () => {
    const url = `http://127.0.0.1:${trap.port}/`;
    const outcomes = await probe(
      {
        socket: `import socket\ns = socket.create_connection(("127.0.0.1", ${trap.port}), timeout=1)\nreturn "connected"`,
        urllib: `import urllib.request\nreturn urllib.request.urlopen("${url}", timeout=1).read()`,
        pyfetch: `from pyodide.http import pyfetch\nreturn await (await pyfetch("${url}")).string()`,
        jsfetch: `import js\nreturn await js.fetch("${url}")`,
        loadPackage: `import pyodide_js\nawait pyodide_js.loadPackage("${url}evil.whl")\nreturn "loaded"`,
      },
      { cpuMs: 15_000 },
    );
    expect(escaped(outcomes)).toEqual([]);
    const e = await failure(run(py('from pyodide.http import pyfetch', 'async def main(c, i, e):', `    return await (await pyfetch("${url}")).string()`)));
    expect(e.code).toBe('view_runtime_error');
    expect(trap.connections()).toBe(0);
  });

  it('stops infinite loops at the deadline and keeps the host responsive', async () => {
    let ticks = 0;
    const interval = setInterval(() => ticks++, 20);
    try {
      const e = await failure(run(py('def main(c, i, e):', '    while True:', '        pass'), {}, { cpuMs: 1000 }));
      expect(e.code).toBe('view_timeout');
      expect(ticks).toBeGreaterThan(10);
    } finally {
      clearInterval(interval);
    }
    const waiting = await failure(run(py('import asyncio', 'async def main(c, i, e):', '    await asyncio.sleep(60)'), {}, { cpuMs: 300 }));
    expect(waiting.code).toBe('view_timeout');
  });

  it('stops deep recursion with a runtime error', async () => {
    const e = await failure(run(py('def main(c, i, e):', '    def f(n):', '        return f(n + 1) + 1', '    return f(0)')));
    expect(e.code).toBe('view_runtime_error');
    expect(e.message).toContain('Recursion');
  });

  it('stops memory bombs at the memory limit', async () => {
    for (const body of ['return len(bytearray(10**9))', 'l = []\n    while True: l.append("x" * 100000)']) {
      const e = await failure(run(py('def main(c, i, e):', `    ${body}`), {}, { memoryMb: 64 }));
      expect(e.code, body).toBe('view_memory_exceeded');
    }
    expect((await run(py('def main(c, i, e):', '    return len(bytearray(40 * 2**20))'), {}, { memoryMb: 64 })).result).toBe(40 * 2 ** 20);
  });

  it('refuses results over the size limit, counted in UTF-8 bytes', async () => {
    const limits = { maxResultBytes: 10_000 };
    expect((await failure(run(py('def main(c, i, e):', '    return "x" * 5_000_000'), {}, limits))).code).toBe('view_output_too_large');
    expect((await failure(run(py('def main(c, i, e):', '    return "é" * 6000'), {}, limits))).code).toBe('view_output_too_large');
  });

  it('keeps what a view does to the interpreter out of the next run', async () => {
    const first = await run(
      py(
        'import json, builtins, js',
        'json.dumps = lambda *a, **k: "\\"hijacked\\""',
        'builtins.stash = "secret-of-run-1"',
        'js.Object.prototype.polluted = "yes"',
        'def main(c, i, e):',
        '    return 1',
      ),
    );
    expect(first.result).toBe('hijacked');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const second = await run(
      py(
        'import json, builtins, js',
        'def main(c, i, e):',
        '    return {"stash": getattr(builtins, "stash", None), "polluted": js.Reflect.has(js.Object.prototype, "polluted"), "json": json.dumps([1])}',
      ),
    );
    expect(second.result).toEqual({ stash: null, polluted: false, json: '[1]' });
  });

  it('still runs views after all of the above', healthy);
});
