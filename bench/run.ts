import { fmt, type Figure } from './lib.js';

/**
 * `npm run bench`: every benchmark, each printing its figures next to the baseline measured in
 * the same run. `npm run bench -- foundation views` runs only the named ones.
 */
// Suites answer Figures (formatted here) or lines they formatted themselves.
const suites: Record<string, () => Promise<{ run(): Promise<Array<Figure | string> | void> }>> = {
  foundation: () => import('./foundation.bench.js'),
  streams: () => import('./streams.bench.js'),
  'event-store': () => import('./event-store.bench.js'),
  views: () => import('./views.bench.js'),
  datahub: () => import('./datahub.bench.js'),
  datasets: () => import('./datasets.bench.js'),
  linkage: () => import('./linkage.bench.js'),
  projections: () => import('./projections.bench.js'),
  schemas: () => import('./schemas.bench.js'),
  registrations: () => import('./registrations.bench.js'),
  'legacy-import': () => import('./legacy-import.bench.js'),
  locations: () => import('./locations.bench.js'),
  cluster: () => import('./cluster.bench.js'),
  offline: () => import('./offline.bench.js'),
};

const wanted = process.argv.slice(2);
let failed = false;
for (const [name, load] of Object.entries(suites)) {
  if (wanted.length && !wanted.includes(name)) continue;
  console.log(`\n## ${name}`);
  try {
    const figures = await (await load()).run();
    for (const f of figures ?? []) console.log('- ' + (typeof f === 'string' ? f : fmt(f)));
  } catch (e) {
    failed = true;
    console.log(`- failed: ${(e as Error).message}`);
  }
}
process.exit(failed ? 1 : 0);
