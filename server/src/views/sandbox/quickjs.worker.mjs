// Worker thread that runs JavaScript views in QuickJS (WASM). Plain .mjs rather than .ts so the
// worker starts without a TypeScript loader in every environment (tsx in production, vitest in
// tests). One run at a time; the host (javascript.pool.ts) queues the rest.
//
// Nothing of Node crosses into the VM: the view sees a fresh QuickJS runtime and context per
// run (no globals, no prototypes, no module cache shared with any earlier run), with the
// configuration, input and every events page handed over as JSON text and parsed inside. The
// only host function is the events query, which takes JSON text and answers a promise of JSON
// text. The runtime and context of the *next* run are made while the worker is idle, and the
// ones of a finished run are disposed after its answer is sent: a run waits for neither, and
// still never shares one with any other run.
import { parentPort, workerData } from 'node:worker_threads';
import { posix } from 'node:path';
import { readFileSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { createRequire } from 'node:module';
import { newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC } from 'quickjs-emscripten';

const MiB = 1024 * 1024;
// The C stack of the WASM build is what deep recursion really eats; QuickJS must stop well
// before it is exhausted or the whole instance traps.
const MAX_STACK_BYTES = 512 * 1024;
const MAX_MESSAGE = 4000;
const DEFAULT_MEMORY_MB = workerData?.defaultMemoryMb ?? 64;

// The WASM code is compiled once per worker. An instance (with its own linear memory) serves
// successive runs that share a memory limit, each run in a fresh QuickJS runtime and context.
// The memory's maximum *is* the view's memory limit: this QuickJS build cannot measure
// allocation sizes (malloc_usable_size is unavailable, so its own malloc limit counts
// allocations, not bytes), whereas a WASM memory cannot grow past its maximum, and malloc failing
// there surfaces as a clean "out of memory" inside the VM. An instance that ran out of memory or
// failed in any unexpected way is dropped, never reused: QuickJS is not trusted to be consistent
// after an allocation failure in the middle of its own bookkeeping.
const PAGE = 64 * 1024;
const BASE_PAGES = 256; // the 16 MiB the build starts with (code, data, C stack, runtime)
const RUNS_PER_INSTANCE = 500; // bounds fragmentation of a long-lived heap
// Views yield the CPU to the API. A run that keeps going past BURST_MS drops its thread to nice 10
// (Linux lets a thread renice itself by its id, /proc/thread-self), so on a small machine a
// CPU-bound view cannot slow the server's requests down; a short run (most of them) is not also
// queued behind every other busy process. After a lowered run the thread asks for its normal
// priority back; where that is refused (raising a priority needs CAP_SYS_NICE or RLIMIT_NICE) it
// stays at nice 10 for good, which is where it would otherwise have run all along. Elsewhere than
// Linux this is skipped and the OS shares the CPU evenly.
const BURST_MS = 5;
let priority = null; // { tid, lowered, stuck }
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid) && tid > 0) priority = { tid, lowered: false, stuck: false };
} catch {
  /* not Linux: run at normal priority */
}
function yieldCpu() {
  if (!priority || priority.lowered) return;
  try {
    setPriority(priority.tid, 10);
    priority.lowered = true;
  } catch {
    priority = null; // renicing is not allowed at all here
  }
}
function restoreCpu() {
  if (!priority?.lowered || priority.stuck) return;
  try {
    setPriority(priority.tid, 0);
    priority.lowered = false;
  } catch {
    priority.stuck = true;
  }
}

const wasmPath = createRequire(import.meta.url).resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
const wasmModule = await WebAssembly.compile(readFileSync(wasmPath));
const quiet = { print: () => {}, printErr: () => {} };

async function instantiate(memoryMb) {
  const maxBytes = BASE_PAGES * PAGE + memoryMb * MiB;
  const wasmMemory = new WebAssembly.Memory({ initial: BASE_PAGES, maximum: maxBytes / PAGE });
  const qjs = await newQuickJSWASMModuleFromVariant(
    newVariant(RELEASE_SYNC, { wasmModule, wasmMemory, emscriptenModule: quiet }),
  );
  return { memoryMb, qjs, wasmMemory, maxBytes, runs: 0 };
}

let instance = null; // { memoryMb, promise, value? }: the instance the next run with the same limit will use
function takeInstance(memoryMb) {
  const current = instance;
  if (current && current.memoryMb === memoryMb) return current.promise;
  const entry = { memoryMb, promise: instantiate(memoryMb), value: undefined };
  entry.promise.then((i) => (entry.value = i), () => {});
  instance = entry;
  return entry.promise;
}
function dropInstance(inst) {
  if (instance) {
    void instance.promise.then((i) => {
      if (i === inst) instance = null;
    }, () => {});
  }
}
/** True when the instance's memory is (nearly) at its maximum: the view ran out of memory. */
const exhausted = (inst) => inst.wasmMemory.buffer.byteLength + 2 * MiB >= inst.maxBytes;

// Evaluated as global code in each fresh context before any view code, so the view cannot
// tamper with what the prelude captured (JSON, freeze) before it runs.
const PRELUDE = `(() => {
  const parse = JSON.parse, stringify = JSON.stringify, freeze = Object.freeze;
  const hostQuery = globalThis.__cairnHostQuery;
  delete globalThis.__cairnHostQuery;
  const events = freeze({
    query(q) {
      return hostQuery(stringify(q === undefined ? null : q)).then(parse);
    },
  });
  return freeze({
    start(main, configurationJson, inputJson) {
      return main(freeze({ configuration: parse(configurationJson), input: parse(inputJson), events }));
    },
    serialise(value) {
      const text = stringify(value);
      return typeof text === 'string' ? text : null;
    },
  });
})()`;

class RunFailure extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// Time the prelude may take in a context prepared ahead of a run (it takes well under 1 ms).
const PREPARE_MS = 2_000;

/**
 * A brand-new runtime and context on `inst` with the prelude evaluated: everything a run needs
 * before the view's own code. Used by exactly one run, then disposed. `deadline` and `onQuery`
 * are set by the run that takes it.
 */
function prepare(inst) {
  const slot = { inst, rt: null, ctx: null, api: null, deadline: Date.now() + PREPARE_MS, burstEnd: Infinity, onQuery: null };
  const rt = inst.qjs.newRuntime();
  slot.rt = rt;
  try {
    rt.setMaxStackSize(MAX_STACK_BYTES);
    rt.setInterruptHandler(() => {
      const now = Date.now();
      if (now > slot.burstEnd) yieldCpu();
      return now > slot.deadline;
    });
    const ctx = rt.newContext();
    slot.ctx = ctx;
    const hostQuery = ctx.newFunction('query', (textHandle) => {
      if (!slot.onQuery) throw new Error('events.query is only available while the view runs');
      return slot.onQuery(textHandle);
    });
    ctx.setProp(ctx.global, '__cairnHostQuery', hostQuery);
    hostQuery.dispose();
    const r = ctx.evalCode(PRELUDE, 'cairn:prelude', { type: 'global', strict: true });
    if (r.error) {
      r.error.dispose();
      throw new Error('the sandbox prelude failed');
    }
    slot.api = r.value;
    return slot;
  } catch (e) {
    discard(slot);
    throw e;
  }
}

/** Frees a slot's VM; answers false when that failed (the instance is then suspect). */
function discard(slot) {
  try {
    if (slot.api?.alive) slot.api.dispose();
    if (slot.ctx?.alive) slot.ctx.dispose();
    if (slot.rt?.alive) slot.rt.dispose();
    return true;
  } catch {
    return false;
  }
}

let prepared = null; // a slot made while idle, for the next run
let busy = false; // a run or a check is using the VM

/** The prepared slot when it fits this run's memory limit, else a new one. */
async function takeSlot(memoryMb) {
  const inst = await takeInstance(memoryMb);
  const ready = prepared;
  prepared = null;
  if (ready && ready.inst === inst) return ready;
  if (ready && !discard(ready)) dropInstance(ready.inst);
  return prepare(inst);
}

/** Prepares the next run's slot once the worker is idle, on the instance of the last limit used. */
let lastMemoryMb = DEFAULT_MEMORY_MB;
function prepareAhead() {
  setImmediate(() => {
    if (busy || prepared) return;
    takeInstance(lastMemoryMb).then((inst) => {
      if (busy || prepared || instance?.value !== inst) return;
      try {
        prepared = prepare(inst);
      } catch {
        dropInstance(inst);
      }
    }, () => {});
  });
}

let current = null; // { id, pending: Map<qid, deferred>, finish }

parentPort.on('message', (msg) => {
  if (msg.type === 'run') {
    void runView(msg.id, msg.payload);
  } else if (msg.type === 'check') {
    busy = true;
    void checkFiles(msg.files)
      .then(
        (r) => parentPort.postMessage({ type: 'done', id: msg.id, ...r }),
        (e) => parentPort.postMessage({ type: 'done', id: msg.id, ok: false, fatal: true, error: { code: 'view_unavailable', message: String(e?.message ?? e) } }),
      )
      .finally(() => {
        busy = false;
        prepareAhead();
      });
  } else if (msg.type === 'queryResult') {
    current?.onQueryResult(msg);
  }
});

// A refused import: the normaliser's own error channel is lost by the binding (the loader is
// then called with an empty name), so the refusal travels as a name no file can have, and the
// loader turns it into the error the view sees.
const REFUSED = 'cairn:refused:'; // file names cannot contain ':'

function resolveModule(files, base, requested) {
  const shown = JSON.stringify(requested.slice(0, 100));
  if (!requested.startsWith('./') && !requested.startsWith('../')) {
    return `${REFUSED}Cannot import ${shown}: views may only import their own files, with relative paths`;
  }
  const joined = posix.normalize(posix.join(posix.dirname(base), requested));
  if (joined.startsWith('../') || joined.startsWith('/') || !Object.hasOwn(files, joined)) {
    return `${REFUSED}Cannot import ${shown} from ${base}: no such file`;
  }
  return joined;
}

function loadModule(files, name) {
  if (name.startsWith(REFUSED)) return { error: new Error(name.slice(REFUSED.length)) };
  if (!Object.hasOwn(files, name)) return { error: new Error(`Cannot import ${JSON.stringify(name)}: no such file`) };
  return files[name];
}

async function checkFiles(files) {
  const inst = await takeInstance(DEFAULT_MEMORY_MB);
  const rt = inst.qjs.newRuntime();
  rt.setMaxStackSize(MAX_STACK_BYTES);
  const deadline = Date.now() + 2000;
  rt.setInterruptHandler(() => Date.now() > deadline);
  // Compiling a module resolves its imports, so the check needs the same loader as a run:
  // without it, whether main.js compiled depended on its imports being compiled before it.
  rt.setModuleLoader(
    (name) => loadModule(files, name),
    (base, requested) => resolveModule(files, base, requested),
  );
  const ctx = rt.newContext();
  try {
    for (const [name, source] of Object.entries(files)) {
      const r = ctx.evalCode(source, name, { type: 'module', compileOnly: true });
      if (r.error) {
        const e = describe(ctx, r.error);
        r.error.dispose();
        return { ok: false, error: { code: 'view_compile_error', message: `${name}: ${e.text}` } };
      }
      r.value.dispose();
    }
    return { ok: true };
  } finally {
    ctx.dispose();
    rt.dispose();
  }
}

/** Name, message and stack of a VM exception, defensively: the VM may be out of memory. */
function describe(ctx, handle) {
  try {
    const d = ctx.dump(handle);
    if (d && typeof d === 'object') {
      const name = typeof d.name === 'string' ? d.name : 'Error';
      const message = typeof d.message === 'string' ? d.message : JSON.stringify(d);
      const stack = typeof d.stack === 'string' ? d.stack.trim().split('\n').slice(0, 8).join('\n') : '';
      return { name, message, text: `${name}: ${message}${stack ? `\n${stack}` : ''}`.slice(0, MAX_MESSAGE) };
    }
    return { name: 'Error', message: String(d), text: `Uncaught ${String(d)}`.slice(0, MAX_MESSAGE) };
  } catch {
    return { name: 'InternalError', message: 'out of memory', text: 'InternalError: out of memory' };
  }
}

function classify(ctx, handle, deadline) {
  const d = describe(ctx, handle);
  if (Date.now() > deadline || (d.name === 'InternalError' && d.message === 'interrupted')) {
    return new RunFailure('view_timeout', 'The view ran out of time');
  }
  if (/out of memory/i.test(d.message)) return new RunFailure('view_memory_exceeded', 'The view ran out of memory');
  if (/stack overflow/i.test(d.message)) {
    return new RunFailure('view_runtime_error', `Stack overflow (recursion too deep)\n${d.text}`.slice(0, MAX_MESSAGE));
  }
  return new RunFailure('view_runtime_error', d.text);
}

async function runView(id, payload) {
  const { files, configurationJson, inputJson, limits } = payload;
  const deadline = Date.now() + limits.cpuMs;
  busy = true;
  lastMemoryMb = limits.memoryMb;
  let slot;
  try {
    slot = await takeSlot(limits.memoryMb);
  } catch {
    busy = false;
    parentPort.postMessage({ type: 'done', id, ok: false, fatal: true, error: { code: 'view_unavailable', message: 'The JavaScript sandbox failed to start' } });
    return;
  }
  const { inst, rt, ctx, api } = slot;
  inst.runs++;
  slot.deadline = deadline;
  // Wall time since the start, waits for events pages included: simple, and errs towards yielding.
  slot.burstEnd = Date.now() + BURST_MS;
  rt.setModuleLoader(
    (name) => loadModule(files, name),
    (base, requested) => resolveModule(files, base, requested),
  );
  const owned = []; // handles to dispose before the context goes
  const pending = new Map();
  let nextQid = 0;
  let timer;
  let finished = false;

  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new RunFailure('view_timeout', 'The view ran out of time')), Math.max(0, deadline - Date.now()));
  });

  const pump = () => {
    if (finished || !rt.alive) return;
    const r = rt.executePendingJobs();
    if (r.error) r.error.dispose();
  };

  current = {
    id,
    onQueryResult(msg) {
      if (finished || msg.id !== id) return;
      const deferred = pending.get(msg.qid);
      if (!deferred) return;
      pending.delete(msg.qid);
      if (msg.ok) {
        const h = ctx.newString(msg.json);
        deferred.resolve(h);
        h.dispose();
      } else {
        const h = ctx.newError({ name: 'EventsQueryError', message: msg.error.message });
        deferred.reject(h);
        h.dispose();
      }
      deferred.dispose();
      pump();
    },
  };

  /** The value of a VM call's result, kept for disposal; its error classified and thrown instead. */
  const unwrap = (r) => {
    if (r.error) {
      const failure = classify(ctx, r.error, deadline);
      r.error.dispose();
      throw failure;
    }
    owned.push(r.value);
    return r.value;
  };
  /** Host promise for a VM value (a promise or not), bounded by the deadline. */
  const settle = async (handle) => {
    const state = ctx.getPromiseState(handle);
    if (state.type === 'fulfilled' && state.notAPromise) return handle;
    if (state.type === 'fulfilled') state.value.dispose();
    else if (state.type === 'rejected') state.error.dispose();
    const native = ctx.resolvePromise(handle);
    pump();
    return unwrap(await Promise.race([native, timeout]));
  };

  slot.onQuery = (textHandle) => {
    const text = ctx.getString(textHandle);
    const deferred = ctx.newPromise();
    const qid = ++nextQid;
    pending.set(qid, deferred);
    parentPort.postMessage({ type: 'query', id, qid, query: text });
    return deferred.handle;
  };

  let reply;
  try {
    const nsResult = ctx.evalCode(files['main.js'], 'main.js', { type: 'module' });
    const ns = await settle(unwrapCompile(ctx, nsResult, deadline, owned));
    const main = ctx.getProp(ns, 'default');
    owned.push(main);
    if (ctx.typeof(main) !== 'function') {
      throw new RunFailure('view_runtime_error', 'main.js must `export default` a function');
    }
    const start = ctx.getProp(api, 'start');
    owned.push(start);
    const cfg = ctx.newString(configurationJson);
    const inp = ctx.newString(inputJson);
    owned.push(cfg, inp);
    const ret = unwrap(ctx.callFunction(start, ctx.undefined, main, cfg, inp));
    const value = await settle(ret);

    const serialise = ctx.getProp(api, 'serialise');
    owned.push(serialise);
    const sr = ctx.callFunction(serialise, ctx.undefined, value);
    if (sr.error) {
      const failure = classify(ctx, sr.error, deadline);
      sr.error.dispose();
      if (failure.code === 'view_runtime_error') {
        throw new RunFailure('view_invalid_result', `The result is not JSON-serialisable: ${failure.message}`.slice(0, MAX_MESSAGE));
      }
      throw failure;
    }
    owned.push(sr.value);
    if (ctx.typeof(sr.value) !== 'string') {
      throw new RunFailure('view_invalid_result', 'The view must return a JSON value (it returned undefined, a function or a symbol)');
    }
    // UTF-8 bytes >= UTF-16 units, so a string longer than the limit cannot fit: refuse it
    // before copying it out of the VM. Shorter ones are measured exactly by the host.
    const lengthHandle = ctx.getProp(sr.value, 'length');
    const units = ctx.getNumber(lengthHandle);
    lengthHandle.dispose();
    if (units > limits.maxResultBytes) {
      throw new RunFailure('view_output_too_large', `The result exceeds ${limits.maxResultBytes} bytes`);
    }
    reply = { ok: true, resultJson: ctx.getString(sr.value) };
  } catch (e) {
    if (e instanceof RunFailure) reply = { ok: false, error: { code: e.code, message: e.message } };
    else if (exhausted(inst)) reply = { ok: false, error: { code: 'view_memory_exceeded', message: 'The view ran out of memory' } };
    else if (Date.now() > deadline) reply = { ok: false, error: { code: 'view_timeout', message: 'The view ran out of time' } };
    else reply = { ok: false, error: { code: 'view_runtime_error', message: `The view crashed the sandbox: ${String(e?.message ?? e)}`.slice(0, MAX_MESSAGE) } };
    // Anything but a clean failure inside the VM leaves the instance suspect.
    if (!(e instanceof RunFailure)) reply.dirty = true;
  } finally {
    finished = true;
    clearTimeout(timer);
    current = null;
    slot.onQuery = null;
  }
  const dirty = reply.dirty;
  delete reply.dirty;
  parentPort.postMessage({ type: 'done', id, ...reply });
  restoreCpu();
  // The answer is out; the run's VM goes now, and the next run's is made while idle.
  let freed;
  try {
    for (const d of pending.values()) if (d.alive) d.dispose();
    for (const h of owned) if (h.alive) h.dispose();
    freed = discard(slot);
  } catch {
    freed = false;
  }
  if (dirty || !freed || exhausted(inst) || inst.runs >= RUNS_PER_INSTANCE || reply.error?.code === 'view_memory_exceeded') {
    dropInstance(inst);
  }
  busy = false;
  prepareAhead();
}

function unwrapCompile(ctx, r, deadline, owned) {
  if (r.error) {
    const d = describe(ctx, r.error);
    const failure = classify(ctx, r.error, deadline);
    r.error.dispose();
    if (failure.code === 'view_runtime_error' && (d.name === 'SyntaxError' || d.message.startsWith('Cannot import'))) {
      throw new RunFailure('view_compile_error', d.text);
    }
    throw failure;
  }
  owned.push(r.value);
  return r.value;
}

prepared = prepare(await takeInstance(DEFAULT_MEMORY_MB));
parentPort.postMessage({ type: 'ready' });
