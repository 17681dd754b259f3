import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { clampLimits, createSandbox, SandboxError, type EventsPage, type RunRequest, type Sandbox } from './sandbox.js';
import { toAppError } from '../views.shared.js';
import { AppError } from '../../kernel/errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const sandboxes: Sandbox[] = [];
afterAll(() => Promise.all(sandboxes.map((s) => s.close())));

const make = (opts: Parameters<typeof createSandbox>[0]) => {
  const s = createSandbox(opts);
  sandboxes.push(s);
  return s;
};

function request(runtime: 'python' | 'javascript', source: string, queryEvents: RunRequest['queryEvents'], limits = {}): RunRequest {
  return { runtime, files: { [runtime === 'python' ? 'main.py' : 'main.js']: source }, configuration: null, input: null, limits: clampLimits({ cpuMs: 30_000, ...limits }), queryEvents };
}

/** A host reader that holds every query for `holdMs`, recording how many runs were inside it at once. */
function heldReader(holdMs = 300) {
  let open = 0;
  let peak = 0;
  return {
    get peak() {
      return peak;
    },
    reader: async (): Promise<EventsPage> => {
      open++;
      peak = Math.max(peak, open);
      await new Promise((r) => setTimeout(r, holdMs));
      open--;
      return { events: [], next: null };
    },
  };
}

/** The most runner processes alive at once while `work` runs (sampled). */
async function peakProcesses<T>(work: Promise<T>): Promise<{ value: T; peak: number }> {
  let peak = runnerProcesses();
  const timer = setInterval(() => (peak = Math.max(peak, runnerProcesses())), 20);
  try {
    return { value: await work, peak };
  } finally {
    clearInterval(timer);
  }
}

const failure = async (p: Promise<unknown>): Promise<SandboxError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof SandboxError) return e;
    throw e;
  }
  throw new Error('expected a failure');
};

/** Pyodide runner processes started by this process, from /proc. */
function runnerProcesses(): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('pyodide.runner.mjs')) n++;
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

const HELD_PY = `
async def main(configuration, input, events):
    await events.query("x.held")
    return "done"
`;

describe('the Python view sees no host path', () => {
  it('not in its working directory, module paths, environment, program name, files, Pyodide configuration or JavaScript errors', async () => {
    const sb = make({ pythonWorkers: 1, queueTimeoutMs: 150_000 });
    const probe = `
import os, sys, json
def main(configuration, input, events):
    out = {"cwd": os.getcwd(), "path": sys.path, "env": dict(os.environ), "file": __file__,
           "exe": sys.executable, "argv": sys.argv, "orig_argv": getattr(sys, "orig_argv", None),
           "prefix": [sys.prefix, sys.exec_prefix, sys.base_prefix],
           "modules": sorted(str(getattr(m, "__file__", "")) for m in list(sys.modules.values()))}
    def walk(p, depth):
        res = []
        try:
            for n in os.listdir(p):
                q = p.rstrip("/") + "/" + n
                res.append(q)
                try:
                    res.append(os.readlink(q))
                except OSError:
                    pass
                if depth and os.path.isdir(q) and not os.path.islink(q) and q not in ("/proc", "/dev"):
                    res += walk(q, depth - 1)
        except Exception as e:
            res.append(type(e).__name__)
        return res
    out["tree"] = walk("/", 4)
    def strings(obj):
        res = {}
        for k in dir(obj):
            try:
                v = getattr(obj, k)
            except Exception as e:
                continue
            if isinstance(v, (str, int, float)):
                res[k] = v
        return res
    try:
        import pyodide_js
        out["pyodide_js"] = strings(pyodide_js)
        out["config"] = strings(pyodide_js._api.config)
        out["module"] = strings(pyodide_js._module)
        try:
            pyodide_js.loadPackage("numpy")
        except Exception as e:
            out["refused"] = [str(e), str(getattr(getattr(e, "js_error", None), "stack", ""))]
    except Exception as e:
        out["pyodide_js_error"] = repr(e)
    try:
        import js
        js.eval("1")
    except Exception as e:
        out["eval"] = [str(e), str(getattr(getattr(e, "js_error", None), "stack", ""))]
    try:
        import js
        js.JSON.parse("{")
    except Exception as e:
        out["parse"] = [str(e), str(getattr(getattr(e, "js_error", None), "stack", ""))]
    return json.dumps(out)
`;
    const r = await sb.run(request('python', probe, async () => ({ events: [], next: null })));
    const seen = String(r.result);
    // The probe really looked (so finding nothing means something).
    expect(seen).toContain('"cwd": "/home/view"');
    expect(seen).toContain('/lib/python3');
    expect(seen).toContain('"file": "/view/main.py"');
    expect(seen).toMatch(/"refused": \["[^"]*not available in the view sandbox/);
    const hostPaths = [ROOT, process.cwd(), path.dirname(process.execPath), os.tmpdir() + '/', 'node_modules', 'pyodide.runner', '.mjs', os.homedir() === '/' ? '\0' : os.homedir()];
    for (const p of hostPaths) expect(seen.includes(p), `the view can see ${p}`).toBe(false);
  }, 120_000);
});

describe('concurrent runs are capped', () => {
  it('Python: at most maxRuns run at once, the next ones wait in a bounded queue, one more is refused with sandbox_busy and a retry delay', async () => {
    const sb = make({ pythonWorkers: 1, pythonMaxRuns: 2, maxQueued: 2, queueTimeoutMs: 150_000 });
    const held = heldReader();
    const runs = Array.from({ length: 4 }, () => sb.run(request('python', HELD_PY, held.reader)));
    // Two are admitted and two wait their turn: a fifth finds the queue full and is refused at once.
    const refused = await failure(sb.run(request('python', HELD_PY, held.reader)));
    expect(refused.code).toBe('sandbox_busy');
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    const { value, peak } = await peakProcesses(Promise.all(runs));
    expect(value.map((r) => r.result)).toEqual(['done', 'done', 'done', 'done']);
    expect(held.peak).toBeLessThanOrEqual(2);
    // Processes: at most the two running plus the one pre-started spare, not one per waiting run.
    expect(peak).toBeLessThanOrEqual(3);
  }, 300_000);

  it('Python: the memory reserved by running views stays within the budget (a second run waits although a run slot is free)', async () => {
    // A 64 MiB view reserves 64 + 192 (watchdog slack) + 200 (runner) = 456 MiB: one fits in 600.
    const sb = make({ pythonWorkers: 2, pythonMaxRuns: 4, pythonMemoryMb: 600, maxQueued: 4, queueTimeoutMs: 150_000 });
    const held = heldReader(1000);
    const runs = await Promise.all([sb.run(request('python', HELD_PY, held.reader, { memoryMb: 64 })), sb.run(request('python', HELD_PY, held.reader, { memoryMb: 64 }))]);
    expect(runs.map((r) => r.result)).toEqual(['done', 'done']);
    expect(held.peak).toBe(1);
  }, 300_000);

  it('a run that waits past the queue timeout fails with sandbox_busy', async () => {
    const sb = make({ pythonWorkers: 1, pythonMaxRuns: 1, maxQueued: 4, queueTimeoutMs: 300 });
    const held = heldReader();
    const first = sb.run(request('python', HELD_PY, held.reader));
    first.catch(() => {});
    const late = await failure(sb.run(request('python', HELD_PY, held.reader)));
    expect(late.code).toBe('sandbox_busy');
    // The first may itself time out waiting for a process on a loaded machine; it was admitted either way.
    await first.catch(() => undefined);
  }, 300_000);

  it('JavaScript: the workers are the cap, and a full queue is refused with sandbox_busy', async () => {
    const sb = make({ javascriptWorkers: 1, maxQueued: 1, queueTimeoutMs: 60_000 });
    const held = heldReader();
    const src = 'export default async ({ events }) => { await events.query({ type: "x.held" }); return "done"; }';
    const first = sb.run(request('javascript', src, held.reader));
    const queued = sb.run(request('javascript', src, held.reader));
    const refused = await failure(sb.run(request('javascript', src, held.reader)));
    expect(refused.code).toBe('sandbox_busy');
    expect((await Promise.all([first, queued])).map((r) => r.result)).toEqual(['done', 'done']);
    expect(held.peak).toBe(1);
  }, 60_000);

  it('sandbox_busy answers 503 with Retry-After', () => {
    const e = toAppError(new SandboxError('sandbox_busy', 'busy', 5));
    expect(e).toBeInstanceOf(AppError);
    expect(e).toMatchObject({ status: 503, code: 'sandbox_busy', headers: { 'retry-after': '5' } });
  });
});
