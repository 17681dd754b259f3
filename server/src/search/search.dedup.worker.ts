import { parentPort } from 'node:worker_threads';
import type { DedupReply, DedupRequest } from './search.dedup.host.js';
import { CheckMemory, ModelCache, checkBatch, type CandidateSource } from './search.matching.js';

/**
 * The import's de-duplication thread (search.dedup.host.ts starts it): checkBatch for each batch,
 * with the import's memory kept here between batches, and the register read through the host.
 */
const port = parentPort!;
const models = new ModelCache();
const memories = new Map<string, CheckMemory>();
const asked = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let nextQuery = 1;

const query = <T>(method: keyof CandidateSource, args: unknown[]) =>
  new Promise<T>((resolve, reject) => {
    const qid = nextQuery++;
    asked.set(qid, { resolve: resolve as (v: unknown) => void, reject });
    port.postMessage({ kind: 'query', qid, method, args } satisfies DedupReply);
  });

const source: CandidateSource = {
  candidatesByKey: (...args) => query('candidatesByKey', args),
  fieldsOf: (...args) => query('fieldsOf', args),
  count: (...args) => query('count', args),
  sample: (...args) => query('sample', args),
};

port.on('message', (m: DedupRequest) => {
  if (m.kind === 'answer') {
    const q = asked.get(m.qid);
    asked.delete(m.qid);
    if (m.ok) q?.resolve(m.value);
    else q?.reject(new Error(m.error));
  } else if (m.kind === 'release') memories.delete(m.importId);
  else {
    let memory = memories.get(m.importId);
    if (!memory) memories.set(m.importId, (memory = new CheckMemory(m.unwritten)));
    checkBatch(models, source, { id: m.type, version: m.version, doc: async () => m.doc }, m.regs, m.when, memory).then(
      (found) => port.postMessage({ kind: 'done', id: m.id, ok: true, found } satisfies DedupReply),
      (e: unknown) => port.postMessage({ kind: 'done', id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) } satisfies DedupReply),
    );
  }
});
