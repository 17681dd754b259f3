/**
 * Runs the optional bids-validator 1.x plugin in a process of its own (datasets.bids.ts starts it):
 * whatever the validator does (throw from a callback, crash, hang, exhaust memory) ends this
 * process, never the server. Plain JavaScript so it starts without the server's TypeScript loader.
 *
 * argv: <dataset folder> <options JSON: { ignoreEmptyFiles, ignoreNiftiHeaders, modulePath? }>
 * stdout: one JSON line, { issues } (the validator's answer) or { unavailable: true }.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [dir, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson ?? '{}');

function done(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`, () => process.exit(0));
}
function failed(e) {
  process.stderr.write(`${e && e.stack ? e.stack : String(e)}\n`, () => process.exit(1));
}
process.on('uncaughtException', failed);
process.on('unhandledRejection', failed);

async function load(spec) {
  const require = createRequire(import.meta.url);
  // The CommonJS entry first: under import() the package's ESM build takes its browser path in
  // Node and throws from inside the validation (TypeError ... harmonizeRelativePath), issue 17.
  try {
    return require(spec);
  } catch (e) {
    if (e && e.code === 'ERR_REQUIRE_ESM') return import(pathToFileURL(require.resolve(spec)).href);
    throw e;
  }
}

let mod;
try {
  mod = await load(options.modulePath ?? 'bids-validator');
} catch (e) {
  if (!options.modulePath && e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes("'bids-validator'")) done({ unavailable: true });
  else failed(e);
}
if (mod) {
  const BIDS = mod.BIDS ?? mod.default?.BIDS;
  if (typeof BIDS !== 'function') failed(new Error('the module has no BIDS(dir, options, callback) function (bids-validator 1.x)'));
  else {
    BIDS(
      dir,
      {
        ignoreWarnings: false,
        ignoreNiftiHeaders: !!options.ignoreNiftiHeaders,
        ignoreSubjectConsistency: false,
        verbose: false,
        config: { ignore: options.ignoreEmptyFiles ? [99] : [], warn: [], error: [], ignoredFiles: [] },
      },
      (issues) => done({ issues }),
    );
  }
}
