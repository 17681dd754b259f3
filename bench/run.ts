import { fmt, type Figure } from './lib.js';

/**
 * `npm run bench`: every benchmark, each printing its figures next to the baseline measured in
 * the same run. `npm run bench -- foundation` runs only the named ones.
 */
const suites: Record<string, () => Promise<{ run(): Promise<Figure[]> }>> = {
  foundation: () => import('./foundation.bench.js'),
};

const wanted = process.argv.slice(2);
for (const [name, load] of Object.entries(suites)) {
  if (wanted.length && !wanted.includes(name)) continue;
  console.log(`\n## ${name}`);
  const figures = await (await load()).run();
  for (const f of figures) console.log('- ' + fmt(f));
}
process.exit(0);
