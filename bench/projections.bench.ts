/**
 * Projection rebuild rate (issue 11): the data hub's `records` projection rebuilt from the ledger
 * (beside the live table, swapped in at the end), in entries per second, against two baselines
 * measured in the same run on the same entries:
 *
 * 1. reading them: the projector's own read path (the ledger's read-after-cursor query, pages of
 *    the projection's batch size) with nothing applied, i.e. a plain scan of the same entries;
 * 2. folding them inside PostgreSQL: one INSERT ... SELECT extracting the columns from jsonb,
 *    which is about the fastest the table could be built at all.
 *
 * The entries (`record.created`, 20 answers each, two of them varying) are generated inside PostgreSQL, in-process on
 * a throwaway embedded PostgreSQL. Default 50,000 entries (under a minute on a quiet machine);
 * PROJECTIONS_BENCH_ENTRIES=1000000 for the registration-scale figure.
 * Run: `node --import tsx bench/projections.bench.ts` (or `npm run bench -- projections`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { withServices } from '../server/src/main.js';
import type { Figure } from './lib.js';

const ENTRIES = Number(process.env.PROJECTIONS_BENCH_ENTRIES ?? 50_000);
const CHUNK = 50_000;

export async function run(): Promise<Array<Figure | string>> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-proj-'));
  try {
    return await withServices(
      async (s) => {
        const out: Array<Figure | string> = [];
        const ws = '00000000-0000-7000-8000-000000000001';
        const t0 = performance.now();
        for (let from = 1; from <= ENTRIES; from += CHUNK) {
          const to = Math.min(ENTRIES, from + CHUNK - 1);
          await sql`
            INSERT INTO ledger_entries (id, stream, stream_seq, type, data, data_hash, actor_kind, actor_id, occurred_at, recorded_at, hash)
            SELECT id, 'record:' || id, 1, 'record.created',
                   jsonb_build_object('recordId', id, 'workspaceId', ${ws}::uuid, 'subjectId', gen_random_uuid(), 'sessionId', gen_random_uuid(),
                     'instrument', jsonb_build_object('name', 'bench-twenty', 'edition', 1), 'date', now() - (i || ' minutes')::interval, 'version', 1,
                     'data', ${JSON.stringify(Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`f${k + 1}`, k < 14 ? k * 37 : `answer ${k}`])))}::jsonb || jsonb_build_object('f1', i % 1000, 'f15', 'note ' || i),
                     'measures', jsonb_build_object('total', i % 14000)),
                   '\\x00'::bytea, 'system', NULL, now(), now(), '\\x00'::bytea
            FROM (SELECT i, gen_random_uuid() AS id FROM generate_series(${from}::int, ${to}::int) i) g`.execute(s.db);
        }
        // As autovacuum would have by now on a ledger that has been running.
        await sql`ANALYZE ledger_entries`.execute(s.db);
        out.push(`generated ${ENTRIES.toLocaleString('en')} record.created entries in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

        // Baseline 1: the same entries read through the projector's read path, nothing applied.
        const batch = 2000;
        let scanned = 0;
        const s0 = performance.now();
        for (let after: { tx: string; position: number } | undefined; ; ) {
          const page = await s.ledger.readAfter(s.db, after, { types: ['record.created', 'record.imported', 'record.updated', 'record.deleted'] }, batch);
          scanned += page.entries.length;
          if (page.entries.length < batch) break;
          after = page.entries[page.entries.length - 1]!.cursor;
        }
        const scanRate = scanned / ((performance.now() - s0) / 1000);

        // Baseline 2: the fold done by PostgreSQL alone, into a scratch copy of the table.
        await sql`CREATE TABLE bench_records (LIKE records INCLUDING ALL)`.execute(s.db);
        const f0 = performance.now();
        await sql`
          INSERT INTO bench_records (id, workspace_id, subject_id, session_id, instrument_name, instrument_edition, date, data, measures,
                                     version, import_id, created_at, updated_at, created_by_kind, created_by_id)
          SELECT (data->>'recordId')::uuid, (data->>'workspaceId')::uuid, (data->>'subjectId')::uuid, (data->>'sessionId')::uuid,
                 data->'instrument'->>'name', (data->'instrument'->>'edition')::int, (data->>'date')::timestamptz, data->'data', data->'measures',
                 1, NULL, recorded_at, recorded_at, actor_kind, actor_id
          FROM ledger_entries WHERE type = 'record.created'`.execute(s.db);
        const sqlRate = ENTRIES / ((performance.now() - f0) / 1000);
        await sql`DROP TABLE bench_records`.execute(s.db);

        // The rebuild: shadow table, every entry folded in batches, swapped in.
        const r0 = performance.now();
        await s.projector.rebuildNow('datahub.records');
        const rebuildSeconds = (performance.now() - r0) / 1000;
        const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM records`.execute(s.db);
        if (rows[0]!.n !== ENTRIES) throw new Error(`rebuilt ${rows[0]!.n} records, expected ${ENTRIES}`);
        const rebuildRate = ENTRIES / rebuildSeconds;

        out.push({ name: `records projection rebuild (${ENTRIES.toLocaleString('en')} entries, shadow table + swap)`, value: rebuildRate, unit: 'entries/s', baseline: { name: 'reading the same entries (projector read path, no apply)', value: scanRate, unit: 'entries/s' } });
        out.push({ name: 'records projection rebuild', value: rebuildRate, unit: 'entries/s', baseline: { name: 'the same fold as one INSERT ... SELECT in PostgreSQL', value: sqlRate, unit: 'entries/s' } });
        out.push({ name: 'rebuild time', value: rebuildSeconds, unit: 's', target: '1,000,000 registrations under 5 minutes (extrapolated)', pass: (rebuildSeconds * 1_000_000) / ENTRIES < 300 });
        return out;
      },
      { PATH: process.env.PATH, HOME: process.env.HOME, CAIRN_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    );
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { fmt } = await import('./lib.js');
  for (const f of await run()) console.log('- ' + (typeof f === 'string' ? f : fmt(f)));
}
