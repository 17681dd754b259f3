import path from 'node:path';
import { linkRecords, pairMetrics } from '../server/src/search/linkage/linkage.js';
import { birthLinkage, febrlLinkage, type LinkagePreset } from '../server/src/search/linkage/presets.js';
import { febrlDir, readFebrl } from '../server/src/search/linkage/febrl.js';
import { generateBirths } from '../server/test/fixtures/births.js';
import { candidatePairs, LinkageModel } from '../server/src/search/linkage/model.js';
import { jaroWinkler, fold } from '../server/src/search/linkage/strings.js';

/**
 * Linkage quality: pairwise precision, recall and F1 of Cairn's scored model (Fellegi–Sunter,
 * m by EM or priors, u from random pairs, threshold at probability 0.5 — never tuned on the
 * answers), beside the same run's baseline: a plain Jaro-Winkler linker (mean similarity of the
 * same fields over the same candidate pairs) at its best threshold, chosen WITH the answers, which
 * is the most that approach can do.
 */
function baseline(records: object[], labels: string[], preset: LinkagePreset, crossAt?: number) {
  const model = new LinkageModel(preset.config);
  const prepared = model.prepare(records);
  let pairs = candidatePairs(prepared, model.fields, preset.blocking);
  if (crossAt !== undefined) pairs = pairs.filter(([a, b]) => a < crossAt !== b < crossAt);
  const ids = preset.config.fields.map((f) => f.id);
  const sims = pairs.map(([a, b]) => {
    let sum = 0;
    let n = 0;
    for (const id of ids) {
      const x = (records[a] as Record<string, unknown>)[id];
      const y = (records[b] as Record<string, unknown>)[id];
      if (typeof x !== 'string' || typeof y !== 'string' || !x || !y) continue;
      sum += jaroWinkler(fold(x), fold(y));
      n++;
    }
    return { a, b, s: n ? sum / n : 0 };
  });
  let best = { f1: 0, t: 0, m: pairMetrics(labels, [], crossAt) };
  for (let t = 0.5; t <= 0.995; t += 0.005) {
    const m = pairMetrics(labels, sims.filter((x) => x.s >= t), crossAt);
    if (m.f1 > best.f1) best = { f1: m.f1, t, m };
  }
  return best;
}

const f = (x: number) => x.toFixed(4);

export async function run(): Promise<string[]> {
  const out: string[] = [];
  const dir = febrlDir();
  if (!dir) out.push('FEBRL data not found next to the repository (../shared/data/febrl): skipped');
  else {
    const d3 = readFebrl(path.join(dir, 'dataset3.csv'));
    let t = performance.now();
    const r3 = linkRecords(d3.records, febrlLinkage, { em: true });
    const ms3 = performance.now() - t;
    const m3 = pairMetrics(d3.labels, r3.matches);
    const b3 = baseline(d3.records, d3.labels, febrlLinkage);
    out.push(`FEBRL dataset3 (5,000 records, ${m3.truePairs} true pairs): F1 ${f(m3.f1)} (precision ${f(m3.precision)}, recall ${f(m3.recall)}; ${m3.fp} false, ${m3.fn} missed) in ${(ms3 / 1000).toFixed(1)} s; target 0.998, Splink 0.993 | baseline: plain Jaro-Winkler at its best threshold ${b3.t.toFixed(3)} (chosen with the answers): F1 ${f(b3.f1)}`);
    const a = readFebrl(path.join(dir, 'dataset4a.csv'));
    const b = readFebrl(path.join(dir, 'dataset4b.csv'));
    const records = [...a.records, ...b.records];
    const labels = [...a.labels, ...b.labels];
    t = performance.now();
    const r4 = linkRecords(records, febrlLinkage, { em: true, crossAt: a.records.length });
    const ms4 = performance.now() - t;
    const m4 = pairMetrics(labels, r4.matches, a.records.length);
    const b4 = baseline(records, labels, febrlLinkage, a.records.length);
    out.push(`FEBRL dataset4a × dataset4b (5,000 × 5,000, ${m4.truePairs} true pairs): F1 ${f(m4.f1)} (precision ${f(m4.precision)}, recall ${f(m4.recall)}; ${m4.fp} false, ${m4.fn} missed) in ${(ms4 / 1000).toFixed(1)} s; target 0.999, Splink 0.9992 | baseline: plain Jaro-Winkler at its best threshold ${b4.t.toFixed(3)}: F1 ${f(b4.f1)}`);
  }
  for (const seed of [7, 1]) {
    const rows = generateBirths({ originals: 5000, seed });
    const labels = rows.map((r) => r.person);
    const r = linkRecords(rows, birthLinkage);
    const m = pairMetrics(labels, r.matches);
    const twins = r.matches.filter((p) => rows[p.a]!.person !== rows[p.b]!.person && [rows[p.a]!.kind, rows[p.b]!.kind].every((k) => k !== 'duplicate')).length;
    const bl = baseline(rows, labels, birthLinkage);
    out.push(`synthetic births (seed ${seed}, ${rows.length} records with typos, swaps, nicknames, transliterations, accents, day/month swaps, missing ids; ${rows.filter((x) => x.kind === 'twin').length} twins, ${rows.filter((x) => x.kind === 'sibling').length} siblings): F1 ${f(m.f1)} (precision ${f(m.precision)}, recall ${f(m.recall)}), complete twin/sibling records flagged: ${twins} | baseline: plain Jaro-Winkler at its best threshold ${bl.t.toFixed(3)}: F1 ${f(bl.f1)}`);
  }
  return out;
}
