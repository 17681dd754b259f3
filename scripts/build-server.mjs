// Builds the server once into plain JavaScript (server/dist/main.js) so `npm start` does not
// compile ~150 TypeScript files through tsx at every start (that alone took over 2 s).
//
// One bundle of our own code (server/src plus the workspace TypeScript it imports, @cairn/sdk);
// npm packages stay external and load from node_modules as before, except BUNDLED_PACKAGES. In the bundle each
// module's `import.meta.url` is rewritten to the URL its source file has, so everything that
// locates files relative to its module (migrations, the sandbox worker and Pyodide runner
// entries, web/dist, createRequire) resolves exactly as it does when running from source.
//
// `node scripts/build-server.mjs` builds unconditionally; scripts/start.mjs calls
// ensureServerBuilt(), which rebuilds only when an input is newer than the last build.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SERVER = path.join(ROOT, 'server');
export const DIST = path.join(SERVER, 'dist');
export const ENTRY = path.join(DIST, 'main.js');
const ENTRY_SOURCE = path.join(SERVER, 'src/main.ts');
/** Worker threads' entries, built next to main.js (their hosts find them there when CAIRN_BUNDLED). */
const WORKER_SOURCES = [path.join(SERVER, 'src/search/search.dedup.worker.ts')];
const MANIFEST = path.join(DIST, 'build.json');
const SELF = fileURLToPath(import.meta.url);
/** Bumped when the shape of the output changes, so an older build is never reused. */
const FORMAT = 3;

function mtime(file, ifMissing = Infinity) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return ifMissing; // by default, a vanished input means the build is out of date
  }
}

/**
 * True when server/dist is missing or older than any file it was built from. The inputs are the
 * ones esbuild actually read last time, so an edit to a test file does not force a rebuild, and an
 * edit to the SDK does. A new source file only matters once an existing one imports it, and that
 * edit is what gets noticed.
 */
export function isStale() {
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(MANIFEST, 'utf8'));
  } catch {
    return true;
  }
  if (manifest.format !== FORMAT || !fs.existsSync(ENTRY)) return true;
  const inputs = [
    ...manifest.inputs.map((f) => path.join(ROOT, f)),
    SELF,
    path.join(SERVER, 'tsconfig.json'),
    path.join(ROOT, 'tsconfig.base.json'),
  ];
  // Compared with when the last build started, so a file saved while it ran counts as newer.
  if (inputs.some((f) => mtime(f) > manifest.startedAt)) return true;
  // npm rewrites this whenever it changes node_modules (a BUNDLED_PACKAGES upgrade needs a
  // rebuild); an install without it must not make every start rebuild.
  return mtime(path.join(ROOT, 'node_modules/.package-lock.json'), 0) > manifest.startedAt;
}

/**
 * npm packages bundled in rather than loaded from node_modules: pure-JavaScript ES modules made of
 * hundreds of small files (typebox ~250, kysely ~200), which Node's ES module loader reads,
 * links and evaluates one by one (about 0.25 s of CPU per start between them). Any package added
 * here must not locate files relative to itself; buildServer() refuses one that seems to.
 */
const BUNDLED_PACKAGES = new Set(['typebox', 'kysely']);

const packageOf = (specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

/** Bare imports stay external except our own workspace packages (TypeScript) and BUNDLED_PACKAGES. */
const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      const pkg = packageOf(args.path);
      return pkg.startsWith('@cairn/') || BUNDLED_PACKAGES.has(pkg) ? undefined : { path: args.path, external: true };
    });
  },
};

/** Code that finds files next to itself breaks once moved into server/dist. */
const FILE_RELATIVE = /__dirname|__filename|import\.meta|require\.resolve|createRequire/;

function checkBundledPackages(inputs) {
  for (const file of inputs) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
    if (m && FILE_RELATIVE.test(fs.readFileSync(path.join(ROOT, file), 'utf8'))) {
      throw new Error(`${file}: ${m[1]} refers to its own location (${FILE_RELATIVE.exec(fs.readFileSync(path.join(ROOT, file), 'utf8'))[0]}); remove it from BUNDLED_PACKAGES in scripts/build-server.mjs`);
    }
  }
}

/** Gives each bundled module its own source file's `import.meta.url`, relative to the bundle. */
const sourceUrls = {
  name: 'source-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
      const source = await fs.promises.readFile(args.path, 'utf8');
      // The entry keeps the bundle's own URL: its "am I the script node was started with?" check
      // then holds for `node server/dist/main.js` too.
      if (args.path === ENTRY_SOURCE || !source.includes('import.meta.url')) return { contents: source, loader: 'ts' };
      const rel = path.relative(DIST, args.path).split(path.sep).join('/');
      return { contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`), loader: 'ts' };
    });
  },
};

/** Builds server/dist; files appear by rename, so a server starting meanwhile never reads half a file. */
export async function buildServer() {
  const startedAt = Date.now();
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY_SOURCE, ...WORKER_SOURCES],
    define: { CAIRN_BUNDLED: 'true' },
    outdir: DIST,
    entryNames: '[name]',
    // Modules loaded by import() (the S3 store and its AWS SDK) go to chunks of their own, loaded
    // on first use. Chunks sit next to main.js so the import.meta.url rewrite above holds for them.
    splitting: true,
    chunkNames: '[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    tsconfig: path.join(SERVER, 'tsconfig.json'),
    plugins: [externalPackages, sourceUrls],
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    write: false,
    logLevel: 'silent',
  }).catch((e) => {
    // esbuild's own message is "Build failed with N errors" and a list; one line per error is plenty.
    const where = (m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : '');
    throw new Error(e.errors?.length ? e.errors.map((m) => where(m) + m.text).join('\n') : e.message);
  });
  const allInputs = Object.keys(result.metafile.inputs);
  checkBundledPackages(allInputs);
  fs.mkdirSync(DIST, { recursive: true });
  const suffix = `.${process.pid}.tmp`;
  // Chunks first (their names carry a content hash, so a running server's are never replaced),
  // the entry that refers to them last.
  const outputs = [...result.outputFiles].sort((a, b) => Number(a.path.startsWith(ENTRY)) - Number(b.path.startsWith(ENTRY)));
  for (const file of outputs) {
    fs.writeFileSync(file.path + suffix, file.contents);
    fs.renameSync(file.path + suffix, file.path);
  }
  const inputs = allInputs.filter((f) => !f.includes('node_modules'));
  fs.writeFileSync(MANIFEST + suffix, JSON.stringify({ format: FORMAT, startedAt, inputs }, null, 1) + '\n');
  fs.renameSync(MANIFEST + suffix, MANIFEST);
  return { ms: Date.now() - startedAt, inputs: inputs.length };
}

/** The built entry's URL, rebuilding first when the sources changed since the last build. */
export async function ensureServerBuilt({ quiet = false } = {}) {
  if (isStale()) {
    const { ms } = await buildServer();
    if (!quiet) process.stderr.write(`cairn: built the server into server/dist (${ms} ms)\n`);
  }
  return pathToFileURL(ENTRY).href;
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  try {
    const { ms, inputs } = await buildServer();
    console.log(`cairn: built server/dist/main.js from ${inputs} files in ${ms} ms`);
  } catch (e) {
    console.error(`cairn: building the server failed: ${e.message}`);
    process.exit(1);
  }
}
