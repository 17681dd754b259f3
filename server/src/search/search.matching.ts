import type { JsonValue, RegistrationTypeDocument } from '@cairn/sdk';
import { LinkageModel, type Prepared, type ScoredPair } from './linkage/model.js';
import type { LinkagePreset } from './linkage/presets.js';
import { candidateKeysOf, comparable, dedupConfig, linkagePreset } from './search.index.js';
import { evaluateRule, type Rule } from './search.rules.js';

/**
 * De-duplication's pure part: a type's model, and a batch of new records matched against their
 * candidates. No database here: the register is reached through a CandidateSource, so the same
 * code runs in the API's process (a declare) and in the import's worker thread
 * (search.dedup-worker.ts), which asks the API's process for the rows.
 */

/** Candidates scored per de-duplication check: a common blocking key must not make a check slow. */
export const MAX_CANDIDATES = 300;
/** Records sampled to learn u. */
export const U_SAMPLE = 5000;
/** A type's learnt model (u from a sample of its register) is refreshed this often. */
export const MODEL_TTL_MS = 10 * 60_000;

export type Found = { matches: string[]; details?: Record<string, JsonValue> };

export interface TypeModel {
  doc: RegistrationTypeDocument;
  preset: LinkagePreset;
  model: LinkageModel;
  trainedAt: number;
  /** How many records of the type the register held when u was learnt. */
  trainedOn: number;
}

/** The register as de-duplication reads it. */
export interface CandidateSource {
  /** Registrations of the type holding each asked key (at most perKey per key). */
  candidatesByKey(type: string, asked: string[], perKey: number): Promise<Array<{ key: string; id: string }>>;
  /** The indexed, comparable answers of these registrations. */
  fieldsOf(ids: string[]): Promise<Array<{ id: string; fields: Record<string, string> }>>;
  count(type: string): Promise<number>;
  /** About n random indexed records of the type. */
  sample(type: string, n: number, total: number): Promise<Array<{ fields: Record<string, string> }>>;
}

/** A stored (or earlier-imported) record scored as a candidate, prepared once. */
export interface Candidate {
  id: string;
  fields: Record<string, string>;
  prepared: Prepared;
}

/** A batch of records not yet in the index, by the keys they will be indexed with (checkBatch). */
type BatchIndex = Map<string, Candidate[]>;

/**
 * What checkBatch keeps between the batches of one import: the last `unwritten` batches (the
 * caller may still be writing them: the index does not hold them yet), and the records it has
 * seen, prepared, up to a bound (an import of a million rows must not hold a million records; past
 * the bound the oldest are fetched again when they are candidates).
 */
export class CheckMemory {
  /** The last batches checked, oldest first. */
  recent: BatchIndex[] = [];
  /** Records checked so far: the register has grown by about as many. */
  checked = 0;
  readonly known = new Map<string, Candidate>();
  constructor(
    private readonly unwritten = 1,
    private readonly max = 100_000,
  ) {}

  /** A batch just checked: the oldest one kept is written by now. */
  checkedBatch(b: BatchIndex): void {
    this.recent.push(b);
    if (this.recent.length > this.unwritten) this.recent.shift();
  }

  remember(c: Candidate): void {
    if (this.known.size >= this.max) this.known.delete(this.known.keys().next().value!);
    this.known.set(c.id, c);
  }
}

/** Types' models, learnt from a sample of the register and kept for MODEL_TTL_MS (type versions never change). */
export class ModelCache {
  private readonly models = new Map<string, TypeModel>();

  async get(type: string, version: number, doc: () => Promise<RegistrationTypeDocument>, source: CandidateSource, stale?: (m: TypeModel) => boolean): Promise<TypeModel> {
    const key = `${type}@${version}`;
    const cached = this.models.get(key);
    if (cached && Date.now() - cached.trainedAt < MODEL_TTL_MS && !stale?.(cached)) return cached;
    const d = await doc();
    const preset = linkagePreset(d);
    const model = new LinkageModel(preset.config);
    const total = await source.count(type);
    if (total >= 50) {
      const sample = await source.sample(type, U_SAMPLE, total);
      model.estimateU(model.prepare(sample.map((s) => s.fields)));
    }
    const tm = { doc: d, preset, model, trainedAt: Date.now(), trainedOn: total };
    this.models.set(key, tm);
    return tm;
  }
}

/**
 * De-duplication of many new records of one type at once (a legacy import): one candidate query
 * for the whole batch (at most MAX_CANDIDATES per key), each candidate prepared once, and each
 * record also checked against the records before it in the list and against `memory.recent`
 * (the batches before, which the caller may still be writing: the query does not see them yet).
 * The batch joins `recent`, and its records are remembered, prepared, for the batches after it
 * (most of an import's candidates are its own earlier rows).
 */
export async function checkBatch(
  models: ModelCache,
  source: CandidateSource,
  type: { id: string; version: number; doc: () => Promise<RegistrationTypeDocument> },
  regs: Array<{ id: string; data: Record<string, JsonValue> }>,
  when: 'declare' | 'register',
  memory: CheckMemory,
): Promise<Found[]> {
  // Switched off: no model to learn (learning one samples the register).
  if (dedupConfig(await type.doc()).enabled === false) return regs.map(() => ({ matches: [] }));
  // An import into a young register outgrows the model learnt when it started (priors only,
  // below 50 records): learnt again once the import has added twice the records it was learnt
  // on, until the sample is full (about five times for an import into an empty register).
  const tm = await models.get(type.id, type.version, type.doc, source, (m) => m.trainedOn < U_SAMPLE && memory.checked >= 2 * Math.max(m.trainedOn, 500));
  memory.checked += regs.length;
  const keysOf = regs.map((r) => candidateKeysOf(tm.preset, tm.model, r.data));
  const found = await source.candidatesByKey(type.id, [...new Set(keysOf.flatMap((k) => k.asked))], MAX_CANDIDATES);
  const unknown = [...new Set(found.filter((f) => !memory.known.has(f.id)).map((f) => f.id))];
  const fetched = await source.fieldsOf(unknown);
  const fetchedPrepared = tm.model.prepare(fetched.map((f) => f.fields));
  const byId = new Map(fetched.map((f, i) => [f.id, { id: f.id, fields: f.fields, prepared: fetchedPrepared[i]! }]));
  const stored = new Map<string, Candidate[]>();
  for (const f of found) {
    const c = memory.known.get(f.id) ?? byId.get(f.id);
    if (!c) continue;
    const list = stored.get(f.key);
    if (list) list.push(c);
    else stored.set(f.key, [c]);
  }
  const mine = regs.map((r) => comparableData(r.data));
  const minePrepared = tm.model.prepare(mine);
  const earlier: BatchIndex = new Map();
  // Where an earlier record can be: in the index, in a batch still being written, earlier in this one.
  const places = [stored, ...memory.recent, earlier];
  const results = regs.map((r, i) => {
    // The single check's rule: any asked key (a strong key, a pair of weak keys) held.
    const candidates = new Map<string, Candidate>();
    for (const k of keysOf[i]!.asked) {
      for (const place of places) {
        const list = place.get(k);
        if (!list) continue;
        for (const c of list) {
          if (candidates.size >= MAX_CANDIDATES) break;
          candidates.set(c.id, c);
        }
      }
    }
    const me = { id: r.id, fields: Object.fromEntries(Object.entries(mine[i]!).filter((e): e is [string, string] => e[1] !== undefined)), prepared: minePrepared[i]! };
    // Later records find this one under the keys it will be indexed with.
    for (const k of keysOf[i]!.index) {
      const list = earlier.get(k);
      if (list) list.push(me);
      else earlier.set(k, [me]);
    }
    memory.remember(me);
    return matchAmong(tm, when, { fields: mine[i]!, prepared: me.prepared }, [...candidates.values()]);
  });
  memory.checkedBatch(earlier);
  return results;
}

/** The candidates a record matches, by score, by the type's rule or both, each with what agreed. */
export function matchAmong(tm: TypeModel, when: 'declare' | 'register', mine: { fields: Record<string, string | undefined>; prepared: Prepared }, candidates: Candidate[]): Found {
  if (!candidates.length) return { matches: [] };
  const cfg = dedupConfig(tm.doc);
  const mode = cfg.mode ?? (cfg.rules ? 'rules' : 'scored');
  const rule = (cfg.rules?.[when] ?? null) as Rule | null;
  const threshold = cfg.scored?.threshold ?? 0.5;
  // probability >= threshold as log2 odds, for scoreAtLeast to drop hopeless candidates early.
  const minScore = threshold > 0 && threshold < 1 ? Math.log2(threshold / (1 - threshold)) : -Infinity;
  const matches: string[] = [];
  const scores: Record<string, JsonValue> = {};
  for (const c of candidates) {
    const quick = mode === 'rules' ? null : tm.model.scoreAtLeast(mine.prepared, c.prepared, minScore);
    const byScore = quick !== null && quick.probability >= threshold;
    const byRule = mode !== 'scored' && rule !== null && evaluateRule(rule, mine.fields, c.fields) === true;
    if (!byScore && !byRule) continue;
    // Explained for the matches only: which fields agreed goes into the duplicate-detected action.
    const s = tm.model.score(mine.prepared, c.prepared);
    matches.push(c.id);
    scores[c.id] = { probability: round(s.probability), score: round(s.score), by: byScore && byRule ? 'both' : byScore ? 'score' : 'rule', agreed: agreed(s) };
  }
  return matches.length ? { matches, details: { scores } } : { matches: [] };
}

export const comparableData = (data: Record<string, unknown>): Record<string, string | undefined> => Object.fromEntries(Object.entries(data).map(([k, v]) => [k, comparable(v) ?? undefined]));
export const round = (x: number) => Math.round(x * 1000) / 1000;
const agreed = (s: ScoredPair): JsonValue => s.fields.filter((f) => f.weight > 0).map((f) => ({ field: f.field, level: f.level }));
