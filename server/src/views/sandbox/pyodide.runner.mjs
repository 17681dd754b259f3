// Child process that runs Python views in Pyodide. Started by python.pool.ts with an empty
// environment and Node's permission model (reads limited to the Pyodide directory and this file;
// no writes, no child processes, no workers, no addons), plus --disallow-code-generation-from-strings
// so nothing reached through Pyodide's JS bridge can compile JavaScript (eval, Function, which is
// also the only way to reach dynamic import()). It talks to the host only through the IPC channel.
// Plain .mjs: it must start without a TypeScript loader, whose files it is not allowed to read.
//
// One process serves exactly one run of view code, then the host kills it: nothing a view does
// to the interpreter (module globals, monkey-patched stdlib, stashed data) can reach another run.
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import dgram from 'node:dgram';
import dns from 'node:dns';
import childProcess from 'node:child_process';

const PAGE = 64 * 1024;
const send = process.send?.bind(process);
const onMessage = process.on.bind(process, 'message');
const exit = process.exit.bind(process);
if (!send) exit(2);
// The host went away (crashed, killed): so do we, rather than linger as an orphan.
process.on('disconnect', () => exit(0));
const pyodideModule = process.argv[2];
// 'plain': load Pyodide from its files. 'make-snapshot': load, set up, send the host a memory
// snapshot and exit. 'from-snapshot': wait for that snapshot from the host and start from it,
// which takes a fraction of a plain load.
const mode = process.argv[3] ?? 'plain';
let snapshot;
if (mode === 'from-snapshot') {
  snapshot = await new Promise((resolve) => {
    const first = (msg) => {
      if (msg?.type !== 'snapshot') return;
      process.off('message', first);
      resolve(msg.snapshot);
    };
    onMessage(first);
  });
}

// ---- hardening that must happen before anything else runs --------------------------------

// The permission model (Node 20) has no network permission: close the doors by hand. Builtin
// modules are singletons, so every path to a socket (http, tls, undici's fetch, a require()
// obtained somehow) ends in these prototypes.
const refuse = (what) =>
  function refused() {
    throw Object.assign(new Error(`${what} is not available in the view sandbox`), { code: 'ERR_ACCESS_DENIED' });
  };
net.Socket.prototype.connect = refuse('network access');
net.Server.prototype.listen = refuse('network access');
dgram.Socket.prototype.bind = refuse('network access');
dgram.Socket.prototype.send = refuse('network access');
dgram.Socket.prototype.connect = refuse('network access');
for (const k of ['lookup', 'lookupService', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'reverse']) {
  dns[k] = refuse('DNS');
  dns.promises[k] = refuse('DNS');
  dns.Resolver.prototype[k] = refuse('DNS');
  dns.promises.Resolver.prototype[k] = refuse('DNS');
}

// Emscripten's system() calls require('child_process').spawnSync. The permission model refuses
// it anyway; refusing it here too turns that into an ordinary error instead of a crash.
for (const k of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
  childProcess[k] = refuse('starting programs');
}

// Pyodide's NODEFS reads process.binding('constants') at start, and the permission model
// forbids process.binding altogether: answer that one question, refuse every other.
const fsConstants = fs.constants;
const osConstants = os.constants;
process.binding = (name) => {
  if (name === 'constants') return { fs: fsConstants, os: osConstants };
  throw refuse('process.binding')();
};
for (const k of ['kill', 'dlopen', '_linkedBinding', 'chdir', 'setuid', 'setgid', 'seteuid', 'setegid', 'setgroups', 'initgroups', '_kill', 'abort', 'reallyExit']) {
  if (typeof process[k] === 'function') process[k] = refuse(`process.${k}`);
}

// The memory limit: Pyodide's heap is one WebAssembly.Memory whose growth goes through
// Memory.prototype.grow. Capping growth makes malloc fail, which Python reports as MemoryError.
let memoryCapBytes = Infinity;
let heap = null;
const RealMemory = WebAssembly.Memory;
const realGrow = RealMemory.prototype.grow;
function CappedMemory(descriptor) {
  const memory = new RealMemory(descriptor);
  if (!descriptor.shared && heap === null && descriptor.maximum > 1) heap = memory;
  return memory;
}
CappedMemory.prototype = RealMemory.prototype;
RealMemory.prototype.grow = function grow(pages) {
  if (this === heap && this.buffer.byteLength + pages * PAGE > memoryCapBytes) {
    throw new RangeError('view memory limit reached');
  }
  return realGrow.call(this, pages);
};
WebAssembly.Memory = CappedMemory;

// ---- Pyodide ---------------------------------------------------------------------------------

const { loadPyodide } = await import(pyodideModule);
const indexURL = pyodideModule.slice(0, pyodideModule.lastIndexOf('/') + 1);
const py = await loadPyodide({
  indexURL,
  env: { HOME: '/home/view' },
  // Otherwise Emscripten names the program after this file's host path (sys.executable,
  // sys.orig_argv, $_): nothing a view can read may name a place on the host.
  _sysExecutable: 'python',
  stdout: () => {},
  stderr: () => {},
  stdin: () => null,
  ...(mode === 'make-snapshot' ? { _makeSnapshot: true } : {}),
  ...(snapshot ? { _loadSnapshot: snapshot } : {}),
});
WebAssembly.Memory = RealMemory;

py.runPython(String.raw`
import sys, json, inspect, importlib, traceback

sys.dont_write_bytecode = True
sys.setrecursionlimit(800)

import os as _os, posix as _posix
def _cairn_no_programs(*args, **kwargs):
    raise OSError("starting programs is not available in the view sandbox")
_os.system = _os.popen = _posix.system = _cairn_no_programs
del _os, _posix

def _cairn_error(code, message):
    return "E" + json.dumps({"code": code, "message": str(message)[:4000]})

def _cairn_trace(e):
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename.startswith("/view/")]
    lines = [f"{type(e).__name__}: {e}"[:2000]]
    lines += [f"  at {f.filename[6:]}:{f.lineno} in {f.name}" for f in frames[-8:]]
    return "\n".join(lines)

def _cairn_events(host_query):
    async def query(type, from_=None, to=None, after=None, limit=None, filter=None):
        q = {"type": type}
        if from_ is not None: q["from"] = from_
        if to is not None: q["to"] = to
        if after is not None: q["after"] = after
        if limit is not None: q["limit"] = limit
        if filter is not None: q["filter"] = filter
        return json.loads(await host_query(json.dumps(q)))
    class Events:
        __slots__ = ()
        def __repr__(self):
            return "<events>"
    Events.query = staticmethod(query)
    return Events()

def _cairn_failure(e, default_code):
    if isinstance(e, MemoryError):
        return _cairn_error("view_memory_exceeded", "The view ran out of memory")
    if isinstance(e, RecursionError):
        return _cairn_error("view_runtime_error", "Recursion too deep\n" + _cairn_trace(e))
    return _cairn_error(default_code, _cairn_trace(e))

async def _cairn_run(host_query, configuration_json, input_json, max_bytes):
    sys.path.insert(0, "/view")
    try:
        module = importlib.import_module("main")
    except SyntaxError as e:
        return _cairn_error("view_compile_error", f"{type(e).__name__}: {e.msg} ({(e.filename or '')[6:]}, line {e.lineno})")
    except BaseException as e:
        return _cairn_failure(e, "view_runtime_error")
    main = getattr(module, "main", None)
    if not callable(main):
        return _cairn_error("view_runtime_error", "main.py must define main(configuration, input, events)")
    try:
        result = main(json.loads(configuration_json), json.loads(input_json), _cairn_events(host_query))
        if inspect.isawaitable(result):
            result = await result
    except BaseException as e:
        return _cairn_failure(e, "view_runtime_error")
    try:
        text = json.dumps(result, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        return _cairn_error("view_invalid_result", f"The result is not JSON-serialisable: {e}")
    except BaseException as e:
        return _cairn_failure(e, "view_invalid_result")
    # Code points <= UTF-8 bytes: the cheap test first, the exact one only when it can matter.
    if len(text) > max_bytes or len(text.encode("utf-8")) > max_bytes:
        return _cairn_error("view_output_too_large", f"The result exceeds {max_bytes} bytes")
    return "R" + text

def _cairn_check(files):
    for name, source in files.items():
        try:
            compile(source, "/view/" + name, "exec", dont_inherit=True)
        except SyntaxError as e:
            return f"{name}, line {e.lineno}: {e.msg}"
        except (ValueError, MemoryError, RecursionError) as e:
            return f"{name}: {e}"
    return None
`);
if (mode === 'make-snapshot') {
  // Taken before any hardening below and before any view code: the image holds only a freshly
  // started interpreter with the definitions above.
  send({ type: 'snapshot', snapshot: py.makeMemorySnapshot() }, () => exit(0));
  await new Promise(() => {});
}
const runInPython = py.globals.get('_cairn_run');
const checkInPython = py.globals.get('_cairn_check');

// Nothing below this line needs these, and Python must not find them through `import js`.
// (eval and Function stay: Pyodide uses them by reference, and code generation from strings is
// disabled process-wide, so they cannot compile anything.)
for (const k of [
  'process', 'global', 'require', 'module', 'fetch', 'WebSocket', 'EventSource', 'XMLHttpRequest',
  'Request', 'Response', 'Headers', 'FormData', 'BroadcastChannel', 'navigator',
]) {
  try {
    delete globalThis[k];
  } catch {
    // non-configurable: left as is, --disallow-code-generation-from-strings still applies
  }
}
// The Pyodide API object (reachable as `pyodide_js`) can load packages over the network and
// mount host directories: take those away too.
for (const k of ['loadPackage', 'loadPackagesFromImports', 'mountNodeFS', 'mountNativeFS', 'registerJsModule', 'setStdin', 'setStdout', 'setStderr', 'setInterruptBuffer']) {
  try {
    py[k] = refuse(`pyodide.${k}`);
  } catch {
    // read-only property: nothing to do
  }
}

// Where Pyodide was loaded from is only needed while loading (packages cannot be loaded any more,
// above): the configuration a view can reach through `pyodide_js` forgets every host path.
const hostDir = indexURL.replace(/\/+$/, '');
for (const [k, v] of Object.entries(py._api?.config ?? {})) {
  if (typeof v === 'string' && hostDir && v.includes(hostDir)) py._api.config[k] = '/lib/pyodide/';
}
// JavaScript stack traces (reachable from Python as JsException.js_error.stack) would name this
// file and Pyodide's on the host: errors keep their name and message only.
Error.prepareStackTrace = (error) => {
  try {
    return `${error?.name ?? 'Error'}: ${error?.message ?? ''}`;
  } catch {
    return 'Error';
  }
};

// ---- the host protocol -------------------------------------------------------------------------

let ran = false;
const pending = new Map();
let nextQid = 0;

const hostQuery = (text) =>
  new Promise((resolve, reject) => {
    const qid = ++nextQid;
    pending.set(qid, { resolve, reject });
    send({ type: 'query', qid, query: String(text) });
  });

function writeFiles(files) {
  const FS = py.FS;
  FS.mkdirTree('/view');
  for (const [name, source] of Object.entries(files)) {
    const dir = name.includes('/') ? `/view/${name.slice(0, name.lastIndexOf('/'))}` : '/view';
    FS.mkdirTree(dir);
    FS.writeFile(`/view/${name}`, source);
  }
}

onMessage(async (msg) => {
  if (msg?.type === 'queryResult') {
    const p = pending.get(msg.qid);
    if (!p) return;
    pending.delete(msg.qid);
    if (msg.ok) p.resolve(msg.json);
    else p.reject(new Error(String(msg.error?.message ?? 'The events query failed')));
    return;
  }
  if (msg?.type === 'check') {
    let problem;
    try {
      const files = py.toPy(msg.files);
      problem = checkInPython(files);
      files.destroy();
    } catch (e) {
      problem = `The files could not be compiled: ${String(e?.message ?? e).slice(0, 500)}`;
    }
    send({ type: 'checked', ok: problem == null, message: problem ?? undefined });
    return;
  }
  if (msg?.type !== 'run' || ran) return;
  ran = true;
  const { files, configurationJson, inputJson, limits } = msg.payload;
  let reply;
  try {
    writeFiles(files);
    memoryCapBytes = heap ? heap.buffer.byteLength + limits.memoryMb * 1024 * 1024 : Infinity;
    const out = String(await runInPython(hostQuery, configurationJson, inputJson, limits.maxResultBytes));
    reply = out.startsWith('R') ? { ok: true, resultJson: out.slice(1) } : { ok: false, error: JSON.parse(out.slice(1)) };
  } catch (e) {
    const memory = heap && memoryCapBytes !== Infinity && heap.buffer.byteLength + 4 * PAGE * 16 >= memoryCapBytes;
    reply = memory
      ? { ok: false, error: { code: 'view_memory_exceeded', message: 'The view ran out of memory' } }
      : { ok: false, error: { code: 'view_runtime_error', message: `The view crashed the interpreter: ${String(e?.message ?? e).slice(0, 2000)}` } };
  }
  send({ type: 'done', ...reply });
});

send({ type: 'ready', heapBytes: heap?.buffer.byteLength ?? 0 });
