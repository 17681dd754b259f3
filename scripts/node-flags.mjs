// The flags node runs the server with, read from `npm start` (package.json) so the cluster nodes
// and the benchmarks start it exactly as `npm start` does.
//
// --max-semi-space-size=64: a larger young generation. A write-heavy request (a 100,000-row
// import) allocates short-lived strings and rows by the gigabyte; with V8's default (16 MiB
// semi-spaces) the API thread spent about a quarter of its time collecting them. Measured on the
// import: 42.1 s -> 39.9 s, Node CPU 42.5 s -> 39.7 s (docs/performance.md). It costs up to about
// 150 MiB more memory when busy.
import fs from 'node:fs';

const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
export const SERVER_NODE_FLAGS = pkg.scripts.start.split(/\s+/).filter((a) => a.startsWith('--'));
