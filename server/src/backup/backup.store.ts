import type pg from 'pg';

/** A table of the `public` schema as backed up: its name and the columns COPY writes (no generated ones). */
export interface TableInfo {
  name: string;
  columns: string[];
}

export interface SequenceValue {
  name: string;
  lastValue: string | null;
  isCalled: boolean;
}

const q = (ident: string) => `"${ident.replace(/"/g, '""')}"`;
export const quoteIdent = q;

/** SQL for the backup and restore, on one client (the backup's snapshot is that client's transaction). */
export const backupStore = {
  /**
   * Every table of the public schema but the migrations' own (the restore re-creates it by running
   * the backup's migrations), parents of partitions only, in foreign-key order (referenced first).
   */
  async tables(c: pg.PoolClient): Promise<TableInfo[]> {
    const { rows } = await c.query<{ name: string; columns: string[] }>(`
      SELECT cl.relname AS name,
        array_agg(a.attname::text ORDER BY a.attnum) AS columns
      FROM pg_class cl
      JOIN pg_namespace n ON n.oid = cl.relnamespace AND n.nspname = 'public'
      JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      WHERE cl.relkind IN ('r', 'p') AND NOT cl.relispartition AND cl.relname <> 'cairn_migrations' AND cl.relpersistence = 'p'
      GROUP BY cl.relname ORDER BY cl.relname`);
    const deps = await c.query<{ child: string; parent: string }>(`
      SELECT ch.relname AS child, pa.relname AS parent FROM pg_constraint k
      JOIN pg_class ch ON ch.oid = k.conrelid JOIN pg_class pa ON pa.oid = k.confrelid
      JOIN pg_namespace n ON n.oid = ch.relnamespace AND n.nspname = 'public'
      WHERE k.contype = 'f' AND ch.oid <> pa.oid`);
    const parents = new Map<string, Set<string>>();
    for (const d of deps.rows) parents.set(d.child, (parents.get(d.child) ?? new Set()).add(d.parent));
    // Depth-first: a table comes after every table it references (cycles, if any, keep name order).
    const byName = new Map(rows.map((r) => [r.name, r]));
    const out: TableInfo[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string) => {
      if (state.has(name) || !byName.has(name)) return;
      state.set(name, 'visiting');
      for (const p of [...(parents.get(name) ?? [])].sort()) visit(p);
      state.set(name, 'done');
      out.push(byName.get(name)!);
    };
    for (const r of rows) visit(r.name);
    return out;
  },

  async sequences(c: pg.PoolClient): Promise<SequenceValue[]> {
    const { rows } = await c.query<{ name: string; last_value: string | null; is_called: boolean }>(`
      SELECT s.sequencename AS name, s.last_value::text AS last_value, (s.last_value IS NOT NULL) AS is_called
      FROM pg_sequences s WHERE s.schemaname = 'public' ORDER BY s.sequencename`);
    return rows.map((r) => ({ name: r.name, lastValue: r.last_value, isCalled: r.is_called }));
  },

  async setSequence(c: pg.PoolClient, s: SequenceValue): Promise<void> {
    if (s.lastValue === null) return;
    await c.query('SELECT setval($1::regclass, $2::bigint, $3)', [q(s.name), s.lastValue, s.isCalled]);
  },

  async migrations(c: pg.PoolClient): Promise<Array<{ name: string; checksum: string }>> {
    return (await c.query<{ name: string; checksum: string }>('SELECT name, checksum FROM cairn_migrations ORDER BY name')).rows;
  },

  /**
   * Every blob the database references: dataset files, blobs of open upload sessions and
   * registration documents. Keep in step with the blob garbage collector's list
   * (datasets/datasets.jobs.ts), which must never delete what this would back up.
   */
  async referencedBlobs(c: pg.PoolClient): Promise<string[]> {
    const { rows } = await c.query<{ sha256: string }>(`
      SELECT sha256 FROM dataset_files
      UNION SELECT u.sha256 FROM dataset_uploads u JOIN dataset_upload_sessions s ON s.id = u.session_id WHERE s.status = 'open' AND u.sha256 IS NOT NULL
      UNION SELECT sha256 FROM registration_documents
      ORDER BY 1`);
    return rows.map((r) => r.sha256);
  },

  /** The next transaction id the snapshot's cluster would hand out: every stored xid8 is below it. */
  async xidBound(c: pg.PoolClient): Promise<string> {
    return (await c.query<{ x: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x')).rows[0]!.x;
  },

  async currentXid(c: pg.PoolClient): Promise<string> {
    return (await c.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x')).rows[0]!.x;
  },

  /**
   * Uses up `n` transaction ids (each a subtransaction that writes, rolled back), so ids handed out
   * afterwards are above everything a restored ledger holds. About 30,000 a second here.
   */
  async burnXids(c: pg.PoolClient, n: number): Promise<void> {
    await c.query('CREATE TEMP TABLE IF NOT EXISTS cairn_xid_burn (x int)');
    await c.query(`DO $$ BEGIN FOR i IN 1..${Math.floor(n)} LOOP
      BEGIN INSERT INTO cairn_xid_burn VALUES (1); RAISE EXCEPTION 'burn'; EXCEPTION WHEN raise_exception THEN NULL; END;
      END LOOP; END $$`);
  },

  async isEmpty(c: pg.PoolClient): Promise<boolean> {
    const { rows } = await c.query<{ t: string | null }>(`SELECT to_regclass('public.cairn_migrations')::text AS t`);
    if (!rows[0]!.t) return true;
    return (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM cairn_migrations')).rows[0]!.n === 0;
  },
};
