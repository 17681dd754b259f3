import { candidatePairs, LinkageModel, type LinkRecord, type ScoredPair } from './model.js';
import type { LinkagePreset } from './presets.js';

export interface LinkResult {
  model: LinkageModel;
  candidates: number;
  /** pairs whose match probability reached the threshold, best first */
  matches: ScoredPair[];
}

/**
 * De-duplicates a batch of records (or links two files: `crossAt` = index where the second one
 * starts, and only pairs across the two are kept). The threshold is the Bayes decision point,
 * probability 0.5, not a figure tuned on answers.
 */
export function linkRecords(records: LinkRecord[], preset: LinkagePreset, opts: { em?: boolean; crossAt?: number; threshold?: number } = {}): LinkResult {
  const model = new LinkageModel(preset.config);
  const prepared = model.prepare(records);
  let pairs = candidatePairs(prepared, model.fields, preset.blocking);
  if (opts.crossAt !== undefined) {
    const at = opts.crossAt;
    pairs = pairs.filter(([a, b]) => a < at !== b < at);
  }
  model.train(prepared, pairs, { em: opts.em });
  const threshold = opts.threshold ?? 0.5;
  const matches = pairs
    .map(([a, b]) => model.score(prepared[a]!, prepared[b]!, a, b))
    .filter((s) => s.probability >= threshold)
    .sort((x, y) => y.score - x.score);
  return { model, candidates: pairs.length, matches };
}

export interface PairMetrics {
  truePairs: number;
  predicted: number;
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Pairwise precision, recall and F1 of predicted pairs against entity labels. */
export function pairMetrics(labels: string[], predicted: Array<{ a: number; b: number }>, crossAt?: number): PairMetrics {
  const byLabel = new Map<string, number[]>();
  labels.forEach((l, i) => byLabel.set(l, [...(byLabel.get(l) ?? []), i]));
  let truePairs = 0;
  for (const g of byLabel.values()) {
    for (let x = 0; x < g.length; x++) for (let y = x + 1; y < g.length; y++) if (crossAt === undefined || g[x]! < crossAt !== g[y]! < crossAt) truePairs++;
  }
  let tp = 0;
  for (const p of predicted) if (labels[p.a] === labels[p.b]) tp++;
  const fp = predicted.length - tp;
  const fn = truePairs - tp;
  const precision = predicted.length ? tp / predicted.length : 1;
  const recall = truePairs ? tp / truePairs : 1;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { truePairs, predicted: predicted.length, tp, fp, fn, precision, recall, f1 };
}
