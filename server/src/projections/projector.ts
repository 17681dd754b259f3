import type { Kysely } from 'kysely';
import type { ProjectionInfo } from '@cairn/sdk';
import type { Database, Db } from '../database/database.js';
import type { Logger } from '../kernel/logger.js';
import { fail } from '../kernel/errors.js';
import { PollLoop } from '../kernel/idle-wait.js';
import type { ConsumedEntry, LedgerService } from '../ledger/ledger.service.js';
import type { LedgerCursor } from '../ledger/ledger.store.js';
import type { Projection, ProjectionTables } from './projection.js';
import { cursorOf, projectionsStore, shadowName, type ProjectionRow } from './projections.store.js';

const NAME_RE = /^[a-z][a-z0-9_.-]{0,62}$/;
const TABLE_RE = /^[a-z_][a-z0-9_]{0,53}$/;
const LAG_CAP = 100_000;

export interface ProjectorOptions {
  /** How often an idle node looks for work appended through other nodes (appends here wake it at once). */
  pollMs?: number;
  /** How long a failing projection waits before trying its entry again. */
  retryMs?: number;
}

const compare = (a: LedgerCursor, b: LedgerCursor) => {
  const ta = BigInt(a.tx);
  const tb = BigInt(b.tx);
  return ta === tb ? a.position - b.position : ta < tb ? -1 : 1;
};

const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 1000);

/**
 * Runs projections (see projection.ts and docs/architecture.md, "Projections").
 *
 * Exactly once: an async projection's position lives in its `projections` row, and a batch is
 * applied in the same transaction that moves it, under that row's lock: a crash rolls both back,
 * and a node that gets the lock next reads the position the last commit left. Several nodes:
 * they all poll, `FOR UPDATE SKIP LOCKED` lets one apply while the others skip. Gap-free: entries
 * are read with the ledger's own read-after-cursor query, below the running-transaction horizon.
 */
export class Projector {
  private readonly projections = new Map<string, Projection>();
  private ensured: Promise<void> | undefined;
  private readonly loop: PollLoop;
  private readonly retryMs: number;
  /** Rebuilds this node is driving (so two calls do not drive the same one twice here). */
  private readonly driving = new Map<string, Promise<void>>();
  private readonly onAppend = () => this.wake();
  /** Set when the process stops: rebuilds driven here pause between steps (any node resumes them). */
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly log: Logger,
    opts: ProjectorOptions = {},
  ) {
    const pollMs = opts.pollMs ?? 500;
    this.loop = new PollLoop({ round: () => this.round(), pollMs: () => pollMs, log, failure: 'projector round failed' });
    this.retryMs = opts.retryMs ?? 5000;
  }

  /** Adds a projection. Inline ones start applying in writers' transactions at once. */
  register(p: Projection): void {
    if (!NAME_RE.test(p.name)) throw new Error(`projection name ${p.name} must match ${NAME_RE}`);
    if (this.projections.has(p.name)) throw new Error(`projection ${p.name} is registered twice`);
    if (!Number.isInteger(p.version) || p.version < 1) throw new Error(`projection ${p.name}: version must be a positive integer`);
    if (!p.tables.length || p.tables.some((t) => !TABLE_RE.test(t))) throw new Error(`projection ${p.name}: tables must be plain lower-case table names`);
    if (!p.consumes.types?.length && !p.consumes.typePrefixes?.length) throw new Error(`projection ${p.name} consumes no types`);
    this.projections.set(p.name, p);
    this.ensured = undefined;
    if (p.mode === 'inline') {
      const wants = matcher(p);
      const live = liveTables(p);
      this.ledger.hooks.inTransaction.push({ wants, run: (trx, entries) => p.apply(trx, entries.filter((e) => e.data !== null), live) });
    }
    if (this.loop.running) this.wake();
  }

  registered(): Projection[] {
    return [...this.projections.values()];
  }

  private get(name: string): Projection {
    const p = this.projections.get(name);
    if (!p) throw fail('not_found', `No projection named ${name}`);
    return p;
  }

  private ensure(): Promise<void> {
    this.ensured ??= projectionsStore.ensure(this.db, this.registered().map((p) => ({ name: p.name, version: p.version, mode: p.mode }))).catch((e: unknown) => {
      this.ensured = undefined;
      throw e;
    });
    return this.ensured;
  }

  // --- the background loop ---------------------------------------------------------------

  /** Starts applying async projections and driving rebuilds on this node; a version change starts a rebuild. */
  async start(): Promise<void> {
    if (this.loop.running) return;
    this.stopped = false;
    await this.ensure();
    for (const row of await projectionsStore.all(this.db)) {
      const p = this.projections.get(row.name);
      if (p && row.version !== p.version && row.rebuild_version !== p.version) {
        this.log.info({ projection: p.name, from: row.version, to: p.version }, 'projection version changed: rebuilding');
        await this.beginRebuild(p.name);
      }
    }
    this.ledger.appended.on('append', this.onAppend);
    this.loop.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.ledger.appended.off('append', this.onAppend);
    await this.loop.stop();
    await Promise.allSettled([...this.driving.values()]);
  }

  private wake(): void {
    this.loop.wake();
  }

  /** One turn of the loop: each async projection's next batch, each rebuild's next step; true if any did work. */
  private async round(): Promise<boolean> {
    let busy = false;
    await this.ensure();
    const rows = await projectionsStore.all(this.db);
    for (const row of rows) {
      if (!this.loop.running) break;
      const p = this.projections.get(row.name);
      if (!p) continue;
      if (p.mode === 'async') busy = (await this.runOnce(p.name)) > 0 || busy;
      if (row.rebuild_version !== null && !this.driving.has(p.name)) busy = (await this.rebuildStep(p.name)) === 'progress' || busy;
    }
    return busy;
  }

  /**
   * Applies the next batch of one async projection if this node gets its lock; answers how many
   * entries it applied (0: caught up, failing, or another node is at it).
   */
  async runOnce(name: string): Promise<number> {
    const p = this.get(name);
    if (p.mode !== 'async') return 0;
    await this.ensure();
    return this.db.transaction().execute(async (trx) => {
      const row = await projectionsStore.lock(trx, name, { skipLocked: true });
      if (!row) return 0;
      // A failing projection tries its entry again now and then, not on every wake-up.
      if (row.failing_entry && Date.now() - row.updated_at.getTime() < this.retryMs) return 0;
      const after = cursorOf(row.cursor_tx, row.cursor_position);
      const limit = p.batchSize ?? 1000;
      const page = await this.ledger.readAfter(trx, after, p.consumes, limit);
      if (!page.entries.length) {
        // Nothing of ours below the horizon: move up to it, so the next read starts there
        // instead of rescanning entries of other types.
        const upTo = { tx: page.horizon, position: 0 };
        if (!after || compare(upTo, after) > 0) await projectionsStore.advance(trx, name, upTo, 0);
        return 0;
      }
      const done = await this.applyBatch(trx, p, page.entries, liveTables(p));
      if (done.applied) await projectionsStore.advance(trx, name, done.cursor!, done.applied);
      if (done.failed) {
        await projectionsStore.setFailing(trx, name, done.failed.entry.id, done.failed.error);
        if (row.failing_entry !== done.failed.entry.id) this.reportFailure(p.name, done.failed.entry, done.failed.error);
      }
      return done.applied;
    });
  }

  /** Applies async projections until each is caught up (tests and the CLI's one-shot use). */
  async catchUp(): Promise<void> {
    for (const p of this.registered()) if (p.mode === 'async') while ((await this.runOnce(p.name)) > 0);
  }

  /**
   * Applies a batch; when it throws, finds the first entry that fails (each entry under a
   * savepoint) and applies the ones before it, so the projection stops exactly there.
   */
  private async applyBatch(trx: Kysely<Database>, p: Projection, entries: ConsumedEntry[], tables: ProjectionTables): Promise<{ applied: number; cursor?: LedgerCursor; failed?: { entry: ConsumedEntry; error: string } }> {
    const live = entries.filter((e) => e.data !== null);
    await projectionsStore.savepoint(trx, 'projection_batch');
    try {
      if (live.length) await p.apply(trx, live, tables);
      await projectionsStore.releaseSavepoint(trx, 'projection_batch');
      return { applied: entries.length, cursor: entries[entries.length - 1]!.cursor };
    } catch {
      await projectionsStore.rollbackToSavepoint(trx, 'projection_batch');
    }
    let applied = 0;
    for (const e of entries) {
      if (e.data !== null) {
        await projectionsStore.savepoint(trx, 'projection_entry');
        try {
          await p.apply(trx, [e], tables);
          await projectionsStore.releaseSavepoint(trx, 'projection_entry');
        } catch (err) {
          await projectionsStore.rollbackToSavepoint(trx, 'projection_entry');
          return { applied, cursor: applied ? entries[applied - 1]!.cursor : undefined, failed: { entry: e, error: message(err) } };
        }
      }
      applied++;
    }
    return { applied, cursor: entries[entries.length - 1]!.cursor };
  }

  /** One line per new failure: which projection, which entry (it stops there and retries it). */
  private reportFailure(projection: string, entry: ConsumedEntry, error: string): void {
    this.log.error({ projection, entryId: entry.id, entryType: entry.type, error }, `projection ${projection} stopped at entry ${entry.id} (${entry.type}): ${error}`);
  }

  // --- status ------------------------------------------------------------------------------

  async list(): Promise<ProjectionInfo[]> {
    await this.ensure();
    const rows = (await projectionsStore.all(this.db)).filter((r) => this.projections.has(r.name));
    return Promise.all(rows.map((r) => this.status(r)));
  }

  async statusOf(name: string): Promise<ProjectionInfo> {
    this.get(name);
    await this.ensure();
    return this.status((await projectionsStore.get(this.db, name))!);
  }

  private async status(r: ProjectionRow): Promise<ProjectionInfo> {
    const p = this.projections.get(r.name)!;
    let behind = 0;
    let secondsBehind = 0;
    if (r.mode === 'async') {
      const lag = await this.ledger.lag(this.db, cursorOf(r.cursor_tx, r.cursor_position), p.consumes, LAG_CAP);
      behind = lag.behind;
      secondsBehind = lag.oldest ? Math.max(0, Math.round((Date.now() - lag.oldest.getTime()) / 100) / 10) : 0;
    }
    return {
      name: r.name,
      mode: r.mode,
      version: r.version,
      behind,
      secondsBehind,
      applied: r.applied,
      failing: r.failing_entry ? { entryId: r.failing_entry, error: r.failing_error ?? '', since: (r.failing_since ?? r.updated_at).toISOString() } : null,
      rebuild:
        r.rebuild_version !== null
          ? {
              version: r.rebuild_version,
              applied: r.rebuild_applied ?? 0,
              total: Math.max(r.rebuild_total ?? 0, r.rebuild_applied ?? 0),
              startedAt: (r.rebuild_started_at ?? r.updated_at).toISOString(),
              failing: r.rebuild_failing_entry ? { entryId: r.rebuild_failing_entry, error: r.rebuild_failing_error ?? '' } : null,
            }
          : null,
      rebuiltAt: r.rebuilt_at?.toISOString() ?? null,
    };
  }

  // --- rebuilds ----------------------------------------------------------------------------

  /**
   * Starts building the projection's state anew beside the live one (shadow tables), and drives
   * it on this node in the background; any node's loop resumes it if this one stops. Answers at
   * once. A rebuild already under way is left alone (this answers its status).
   */
  async rebuild(name: string): Promise<ProjectionInfo> {
    await this.beginRebuild(name);
    this.drive(name);
    return this.statusOf(name);
  }

  /** Drives a rebuild to its swap and waits for it (tests, benches, one-shot tools). */
  async rebuildNow(name: string): Promise<void> {
    await this.beginRebuild(name);
    this.drive(name);
    await this.driving.get(name);
    const row = await projectionsStore.get(this.db, name);
    if (row?.rebuild_failing_entry) throw new Error(`rebuild of ${name} stopped at entry ${row.rebuild_failing_entry}: ${row.rebuild_failing_error}`);
    if (row?.rebuild_version !== null) throw new Error(`rebuild of ${name} is still under way (another node is driving it, or its swap kept giving way to writers)`);
  }

  /** Creates the shadow tables and records the rebuild; does not drive it (rebuild, rebuildNow and every node's loop do). */
  async beginRebuild(name: string): Promise<void> {
    const p = this.get(name);
    await this.ensure();
    await this.db.transaction().execute(async (trx) => {
      const row = (await projectionsStore.lock(trx, name, { skipLocked: false }))!;
      // A rebuild of this version is under way: joined. One of an older version (an upgrade
      // arrived mid-rebuild) starts over: its shadows have the old tables' shape, which the new
      // version's migrations may have changed since.
      if (row.rebuild_version === p.version) return;
      for (const t of p.tables) {
        const fks = await projectionsStore.foreignKeys(trx, t);
        if (fks.length) throw new Error(`projection ${name}: table ${t} has foreign keys (${fks.join(', ')}); a projection's tables can have none`);
        await projectionsStore.createShadow(trx, t);
        if (p.deferIndexes) for (const idx of await projectionsStore.plainIndexes(trx, shadowName(t))) await projectionsStore.dropIndex(trx, idx.name);
      }
      const shadows = shadowTables(p);
      await p.reset?.(trx, shadows);
      const total = await this.ledger.lag(trx, undefined, p.consumes, 2 ** 31 - 1);
      await projectionsStore.startRebuild(trx, name, p.version, total.behind);
    });
    this.log.info({ projection: name }, 'projection rebuild started');
  }

  private drive(name: string): void {
    if (this.driving.has(name)) return;
    const run = (async () => {
      try {
        for (let idle = 0; ; ) {
          if (this.stopped) return;
          const step = await this.rebuildStep(name);
          if (step === 'done' || step === 'idle' || step === 'failing') return;
          if (step === 'busy' || step === 'locked') {
            // Another node is at it, or writers kept the tables busy: try again shortly.
            if (++idle > 600) return;
            await new Promise((r) => setTimeout(r, step === 'locked' ? 50 + Math.random() * 200 : 100));
          } else idle = 0;
        }
      } catch (err) {
        this.log.warn({ err, projection: name }, 'projection rebuild step failed');
      } finally {
        this.driving.delete(name);
      }
    })();
    this.driving.set(name, run);
  }

  /**
   * One step of a rebuild: the next batch into the shadow tables (under the projection's row
   * lock, so one node at a time), or, once caught up, the swap.
   */
  async rebuildStep(name: string): Promise<'progress' | 'done' | 'idle' | 'busy' | 'locked' | 'failing' | 'caught-up'> {
    const p = this.get(name);
    const shadows = shadowTables(p);
    const step = await this.db.transaction().execute(async (trx) => {
      const row = await projectionsStore.lock(trx, name, { skipLocked: true });
      if (!row) return 'busy' as const;
      if (row.rebuild_version === null) return 'idle' as const;
      if (row.rebuild_failing_entry && Date.now() - row.updated_at.getTime() < this.retryMs) return 'failing' as const;
      if (p.bulkRebuild && row.rebuild_cursor_tx === null && !row.rebuild_applied) {
        // Everything below the running-transaction horizon has finished: the bulk pass covers it,
        // and the ordinary batches go on from there (a declined bulk leaves the cursor unset).
        const horizon = await this.ledger.horizon(trx);
        await projectionsStore.savepoint(trx, 'projection_bulk');
        let covered: number | null = null;
        try {
          covered = await p.bulkRebuild(trx, shadows, horizon);
        } catch (err) {
          // The batches find and report the very entry that fails.
          this.log.warn({ err, projection: name }, 'bulk rebuild failed: rebuilding entry batch by entry batch');
        }
        if (covered !== null) {
          await projectionsStore.releaseSavepoint(trx, 'projection_bulk');
          await projectionsStore.advanceRebuild(trx, name, { tx: horizon, position: 0 }, covered);
          return 'progress' as const;
        }
        await projectionsStore.rollbackToSavepoint(trx, 'projection_bulk');
      }
      const limit = p.batchSize ?? 1000;
      const page = await this.ledger.readAfter(trx, cursorOf(row.rebuild_cursor_tx, row.rebuild_cursor_position), p.consumes, limit);
      if (page.entries.length) {
        const done = await this.applyBatch(trx, p, page.entries, shadows);
        if (done.applied) await projectionsStore.advanceRebuild(trx, name, done.cursor!, done.applied);
        if (done.failed) {
          await projectionsStore.setRebuildFailing(trx, name, done.failed.entry.id, done.failed.error);
          if (row.rebuild_failing_entry !== done.failed.entry.id) this.reportFailure(`${name} (rebuild)`, done.failed.entry, done.failed.error);
          return 'failing' as const;
        }
      }
      return page.entries.length < limit ? ('caught-up' as const) : ('progress' as const);
    });
    if (step !== 'caught-up') return step;
    if (p.deferIndexes) {
      // Built outside the swap, so the live tables are locked only for the last few entries.
      await this.db.transaction().execute(async (trx) => {
        if (!(await projectionsStore.lock(trx, name, { skipLocked: true }))) return;
        for (const t of p.tables) await projectionsStore.completeShadowIndexes(trx, t);
      });
    }
    return (await this.swap(p)) ? 'done' : 'locked';
  }

  /**
   * Makes the rebuilt state live, atomically. For an inline projection, writers apply inside
   * their own transactions, so the swap first locks the live tables (every writer that touched
   * them has committed; the next ones wait), then applies every committed entry past the rebuild's
   * position (past the horizon too: writers still uncommitted will apply their entries
   * themselves, to the new table). For an async projection the row lock already excludes the live
   * projector, and the rebuild's position becomes the live one. A lock that cannot be had quickly
   * makes the swap give way (answers false) rather than hold up writers; it is tried again.
   */
  private async swap(p: Projection): Promise<boolean> {
    const shadows = shadowTables(p);
    try {
      await this.db.transaction().execute(async (trx) => {
        await projectionsStore.setLockTimeout(trx, '500ms');
        const row = await projectionsStore.lock(trx, p.name, { skipLocked: false });
        if (!row || row.rebuild_version === null) return;
        if (p.mode === 'inline') await projectionsStore.lockTables(trx, p.tables);
        let cursor = cursorOf(row.rebuild_cursor_tx, row.rebuild_cursor_position);
        const limit = p.batchSize ?? 1000;
        for (;;) {
          const page = await this.ledger.readAfter(trx, cursor, p.consumes, limit, { unbounded: p.mode === 'inline' });
          if (!page.entries.length) break;
          const done = await this.applyBatch(trx, p, page.entries, shadows);
          if (done.failed) throw new Error(`entry ${done.failed.entry.id}: ${done.failed.error}`);
          cursor = done.cursor;
          await projectionsStore.advanceRebuild(trx, p.name, cursor!, done.applied);
          if (page.entries.length < limit) break;
        }
        if (p.deferIndexes) for (const t of p.tables) await projectionsStore.completeShadowIndexes(trx, t);
        for (const t of p.tables) await projectionsStore.swap(trx, t);
        await projectionsStore.finishRebuild(trx, p.name, p.mode === 'async' ? cursor : undefined);
      });
    } catch (e) {
      if ((e as { code?: string }).code === '55P03') return false; // lock_timeout
      throw e;
    }
    this.log.info({ projection: p.name }, 'projection rebuilt and swapped in');
    return true;
  }
}

function matcher(p: Projection): (type: string) => boolean {
  const types = new Set(p.consumes.types ?? []);
  const prefixes = p.consumes.typePrefixes ?? [];
  return (t) => types.has(t) || prefixes.some((x) => t.startsWith(x));
}

const liveTables = (p: Projection): ProjectionTables => Object.fromEntries(p.tables.map((t) => [t, t]));
const shadowTables = (p: Projection): ProjectionTables => Object.fromEntries(p.tables.map((t) => [t, shadowName(t)]));
