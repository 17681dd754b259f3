import type { Db } from '../database/database.js';
import { AppError, fail } from '../kernel/errors.js';
import type { AuthContext } from '../kernel/access.js';
import { authorize } from '../policies/policies.js';
import { isUuid, sha256 } from '../kernel/ids.js';
import type { Logger } from '../kernel/logger.js';
import type { GrantsService } from '../apps/apps.grants.js';
import { clampLimits, createSandbox, type Sandbox, type SandboxLimits, type SandboxOptions, type ViewRuntime } from './sandbox/sandbox.js';
import { viewsStore, type StatsDelta, type StoredResult } from './views.store.js';
import { MAX_INPUT_BYTES, jsonArgument, requireApp, toAppError } from './views.shared.js';
import { eventsReader } from './view-runs.events.js';

/** Results above this are returned but not cached: the cache is for the cheap, frequent case. */
export const MAX_CACHED_RESULT_BYTES = 1024 * 1024;
/** Distinct inputs remembered per instance; older ones are forgotten first. */
export const CACHED_INPUTS_PER_INSTANCE = 32;
/** Results kept in this process's memory in front of the table, all instances together. */
const MEMORY_CACHE_BYTES = 32 * 1024 * 1024;
const MEMORY_CACHE_ENTRIES = 4096;
/** Instance definitions kept in memory (they never change; a deleted one is noticed on its next run). */
const DEFINITIONS_KEPT = 2000;
/** Result text waiting to be written, all instances together (UTF-16 units). */
const MAX_PENDING_RESULT_CHARS = 16 * 1024 * 1024;
/** How long run counters and results wait to be written together (see scheduleWrite). */
const WRITE_DELAY_MS = 100;
/** Stored results per instance between two prunes of its older inputs. */
const STORES_PER_PRUNE = 8;

/** What running an instance needs and never changes (instances are immutable, versions too). */
interface Definition {
  id: string;
  appId: string;
  templateId: string;
  templateVersion: number;
  runtime: ViewRuntime;
  eventTypes: string[];
  limits: SandboxLimits;
  configuration: unknown;
}

interface HeldResult {
  key: string;
  resultJson: string;
  eventsRead: number;
  bytes: number;
}

export interface RunOutcome {
  /** The result exactly as the view serialised it. */
  resultJson: string;
  stats: { durationMs: number; eventsRead: number; cached: boolean };
}

/**
 * Running view instances: the one sandbox of this process (also used by templates' compile checks
 * and test runs), a result cache keyed on the state of the events the view may read (held in
 * memory in front of the shared table), and run counters written behind the answers. See
 * docs/views.md.
 */
export class ViewRunsService {
  private sandboxInstance: Sandbox | undefined;
  private closed = false;
  /** Template versions are immutable, so their sources can be kept once loaded. */
  private readonly filesCache = new Map<string, Record<string, string>>();
  private readonly definitions = new Map<string, Definition>();
  /**
   * Results this process computed or read, by instance and input hash, in front of the shared
   * table. An entry only ever answers when its state key equals the one read for the run.
   */
  private readonly held = new Map<string, HeldResult>();
  private heldBytes = 0;
  /** Run counters and results not written yet: written after the answers, many at a time. */
  private pendingStats = new Map<string, StatsDelta>();
  private pendingResults = new Map<string, StoredResult>();
  private pendingResultBytes = 0;
  private readonly storesSincePrune = new Map<string, number>();
  private writing: Promise<void> | undefined;
  private writeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly grants: GrantsService,
    private readonly log: Logger,
    private readonly sandboxOptions: SandboxOptions = { pythonWorkers: 1 },
  ) {}

  // --- sandbox lifecycle -----------------------------------------------------------------

  /**
   * One sandbox per process, started on first need (or by `warmUp` at boot): a server that never
   * runs a view, a CLI command or a test of another domain pays nothing for it (an idle Python
   * process costs ~180 MB).
   */
  sandbox(): Sandbox {
    if (this.closed) throw new AppError('view_unavailable', 'The server is shutting down');
    // Python processes start on the first Python template or run, JavaScript workers now.
    this.sandboxInstance ??= createSandbox({ lazyPython: true, ...this.sandboxOptions });
    return this.sandboxInstance;
  }

  warmUp(): void {
    if (!this.closed) this.sandbox();
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.sandboxInstance;
    this.sandboxInstance = undefined;
    await s?.close();
    // Counters of the last runs go to the database before it closes.
    await this.settleWrites();
  }

  // --- what is kept in memory --------------------------------------------------------------

  private async filesOf(templateId: string, version: number): Promise<Record<string, string>> {
    const key = `${templateId}@${version}`;
    let files = this.filesCache.get(key);
    if (!files) {
      files = await viewsStore.files(this.db, templateId, version);
      if (!files) throw fail('not_found', 'No such view template');
      if (this.filesCache.size >= 200) this.filesCache.delete(this.filesCache.keys().next().value!);
      this.filesCache.set(key, files);
    }
    return files;
  }

  private async definition(id: string): Promise<Definition | undefined> {
    const known = this.definitions.get(id);
    if (known) return known;
    const row = await viewsStore.definition(this.db, id);
    if (!row) return undefined;
    const def: Definition = {
      id: row.id,
      appId: row.app_id,
      templateId: row.template_id,
      templateVersion: row.template_version,
      runtime: row.runtime,
      eventTypes: row.event_types,
      limits: clampLimits(row.limits),
      configuration: row.configuration,
    };
    if (this.definitions.size >= DEFINITIONS_KEPT) this.definitions.delete(this.definitions.keys().next().value!);
    this.definitions.set(id, def);
    return def;
  }

  /** Drops what this process keeps of an instance (deleted, or found gone on a run). */
  forgetInstance(id: string): void {
    this.definitions.delete(id);
    for (const [k, r] of this.pendingResults) {
      if (r.instanceId === id) {
        this.pendingResults.delete(k);
        this.pendingResultBytes -= r.resultJson.length;
      }
    }
    for (const [k, h] of this.held) {
      if (k.startsWith(`${id}:`)) {
        this.held.delete(k);
        this.heldBytes -= h.bytes;
      }
    }
  }

  /** Drops the kept sources of a deleted template's versions. */
  forgetTemplate(id: string): void {
    for (const k of this.filesCache.keys()) if (k.startsWith(`${id}@`)) this.filesCache.delete(k);
  }

  private hold(k: string, h: HeldResult): void {
    const old = this.held.get(k);
    if (old) {
      this.held.delete(k);
      this.heldBytes -= old.bytes;
    }
    this.held.set(k, h);
    this.heldBytes += h.bytes;
    // Map order is insertion order, and a use re-inserts: the first entries are the least recent.
    while (this.heldBytes > MEMORY_CACHE_BYTES || this.held.size > MEMORY_CACHE_ENTRIES) {
      const [oldest, e] = this.held.entries().next().value!;
      this.held.delete(oldest);
      this.heldBytes -= e.bytes;
    }
  }

  // --- runs ------------------------------------------------------------------------------

  /**
   * Runs an instance for its app. The same input over the same events answers from the cache;
   * otherwise the view runs in the sandbox, reading only the template's types, all of which the
   * app must hold a read grant on right now.
   *
   * One database round trip on the way (the state of the events, whether the instance still
   * exists, what the cache holds), with the app's grants from GrantsService. Definitions and
   * sources are immutable and kept in memory; counters and results are written after the answer.
   */
  async run(ctx: AuthContext, id: string, input: unknown): Promise<RunOutcome> {
    requireApp(ctx);
    const inputJson = jsonArgument(input ?? null, '/input', MAX_INPUT_BYTES);
    const inputHash = sha256(inputJson);
    const started = performance.now();
    const def = isUuid(id) ? await this.definition(id) : undefined;
    if (!def) throw fail('not_found', 'No such view');
    authorize(ctx, 'run', { kind: 'view-instance', appId: def.appId });
    const heldKey = `${def.id}:${inputHash.toString('base64')}`;
    const held = this.held.get(heldKey);
    const [state, grants] = await Promise.all([
      viewsStore.runState(this.db, { id: def.id, types: def.eventTypes, inputHash, heldKey: held?.key ?? null }),
      this.grants.grantsFor(ctx),
    ]);
    if (!state.present) {
      this.forgetInstance(def.id);
      throw fail('not_found', 'No such view');
    }
    // Checked on every run, before any cache: a revoke stops the view on the very next request.
    const missing = def.eventTypes.filter((t) => !grants?.get(t)?.read);
    if (missing.length) {
      throw new AppError('view_not_approved', `This view needs a read grant on ${missing.join(', ')}; an administrator has not approved it (yet)`, { missingGrants: missing });
    }

    const hit =
      held && held.key === state.key
        ? held
        : state.resultJson !== null
          ? { key: state.key, resultJson: state.resultJson, eventsRead: state.storedEventsRead, bytes: Buffer.byteLength(state.resultJson, 'utf8') }
          : undefined;
    if (hit) {
      this.hold(heldKey, hit);
      const durationMs = Math.round(performance.now() - started);
      this.count(def.id, { cached: true, ok: true, durationMs, eventsRead: 0, errorCode: null });
      return { resultJson: hit.resultJson, stats: { durationMs, eventsRead: 0, cached: true } };
    }

    const allowed = new Set(def.eventTypes);
    let outcome;
    try {
      outcome = await this.sandbox().run({
        runtime: def.runtime,
        files: await this.filesOf(def.templateId, def.templateVersion),
        configuration: def.configuration,
        input: JSON.parse(inputJson),
        limits: def.limits,
        queryEvents: eventsReader(this.db, this.log, allowed),
      });
    } catch (e) {
      const err = toAppError(e);
      const durationMs = Math.round(performance.now() - started);
      this.count(def.id, { cached: false, ok: false, durationMs, eventsRead: 0, errorCode: err instanceof AppError ? err.code : 'internal_error' });
      throw err;
    }
    const { resultJson, stats } = outcome;
    const durationMs = Math.round(performance.now() - started);
    // Only a key no late transaction can slip under may vouch for a result (see viewsStore.runState).
    const bytes = Buffer.byteLength(resultJson, 'utf8');
    if (state.stable && bytes <= MAX_CACHED_RESULT_BYTES) {
      this.hold(heldKey, { key: state.key, resultJson, eventsRead: stats.eventsRead, bytes });
      // While the database lags behind, results beyond a bound are only held here (the cache
      // is an optimisation; memory must not grow with the backlog).
      const replaced = this.pendingResults.get(heldKey);
      if (replaced || this.pendingResultBytes + resultJson.length <= MAX_PENDING_RESULT_CHARS) {
        this.pendingResultBytes += resultJson.length - (replaced?.resultJson.length ?? 0);
        this.pendingResults.set(heldKey, { instanceId: def.id, inputHash, stateKey: state.key, resultJson, eventsRead: stats.eventsRead });
      }
    }
    this.count(def.id, { cached: false, ok: true, durationMs, eventsRead: stats.eventsRead, errorCode: null });
    return { resultJson, stats: { durationMs, eventsRead: stats.eventsRead, cached: false } };
  }

  // --- counters and stored results, written behind the answers ---------------------------

  /** Runs by outcome in this process (`cached`, `ok` or the error code), for /metrics. */
  readonly runOutcomes = new Map<string, number>();

  private count(id: string, run: { cached: boolean; ok: boolean; durationMs: number; eventsRead: number; errorCode: string | null }): void {
    const outcome = run.cached ? 'cached' : run.ok ? 'ok' : (run.errorCode ?? 'failed');
    this.runOutcomes.set(outcome, (this.runOutcomes.get(outcome) ?? 0) + 1);
    const d = this.pendingStats.get(id) ?? { id, runs: 0, cacheHits: 0, failures: 0, eventsRead: 0, totalDurationMs: 0, lastRunAt: new Date(), lastDurationMs: 0, lastErrorCode: null };
    d.runs++;
    if (run.cached) d.cacheHits++;
    if (!run.ok) d.failures++;
    d.eventsRead += run.eventsRead;
    d.totalDurationMs += run.durationMs;
    d.lastRunAt = new Date();
    d.lastDurationMs = run.durationMs;
    d.lastErrorCode = run.errorCode;
    this.pendingStats.set(id, d);
    this.scheduleWrite();
  }

  /**
   * Writes start a moment after the first unwritten run, so that every run in that moment goes in
   * one statement: a write per run cost the server as much CPU as the run itself. Reading the
   * counters (ViewInstancesService's instance, listInstances) or closing writes at once.
   */
  private scheduleWrite(): void {
    if (this.writing || this.writeTimer) return; // the coming write takes what arrives meanwhile
    this.writeTimer = setTimeout(() => this.startWrite(), WRITE_DELAY_MS);
    this.writeTimer.unref();
  }

  private startWrite(): Promise<void> {
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    this.writing ??= this.writeLoop().finally(() => {
      this.writing = undefined;
      if (this.pendingStats.size || this.pendingResults.size) this.scheduleWrite();
    });
    return this.writing;
  }

  private async writeLoop(): Promise<void> {
    let failures = 0;
    while (this.pendingStats.size || this.pendingResults.size) {
      const stats = [...this.pendingStats.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
      const results = [...this.pendingResults.values()];
      this.pendingStats = new Map();
      this.pendingResults = new Map();
      this.pendingResultBytes = 0;
      try {
        await viewsStore.writeRuns(this.db, stats, results);
        failures = 0;
      } catch (err) {
        // Counters are put back and tried again; results are only a cache and may be dropped.
        for (const d of stats) this.restoreStats(d);
        failures++;
        this.log.warn({ err, failures }, 'writing view run counters failed');
        if (this.closed || failures >= 5) {
          if (this.closed) this.log.warn({ lost: this.pendingStats.size }, 'view run counters not written at shutdown');
          this.pendingStats.clear();
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * failures));
        continue;
      }
      const prune: string[] = [];
      for (const r of results) {
        const n = (this.storesSincePrune.get(r.instanceId) ?? 0) + 1;
        if (n >= STORES_PER_PRUNE) {
          prune.push(r.instanceId);
          this.storesSincePrune.delete(r.instanceId);
        } else this.storesSincePrune.set(r.instanceId, n);
      }
      if (this.storesSincePrune.size > DEFINITIONS_KEPT) this.storesSincePrune.clear();
      if (prune.length) await viewsStore.pruneResults(this.db, [...new Set(prune)], CACHED_INPUTS_PER_INSTANCE).catch((err: unknown) => this.log.warn({ err }, 'pruning view results failed'));
    }
  }

  /** Puts back counters whose write failed, under any that arrived since (which are newer). */
  private restoreStats(d: StatsDelta): void {
    const newer = this.pendingStats.get(d.id);
    if (!newer) {
      this.pendingStats.set(d.id, d);
      return;
    }
    newer.runs += d.runs;
    newer.cacheHits += d.cacheHits;
    newer.failures += d.failures;
    newer.eventsRead += d.eventsRead;
    newer.totalDurationMs += d.totalDurationMs;
  }

  /** Resolves once every counter and result recorded so far is written (or given up on). */
  async settleWrites(): Promise<void> {
    while (this.writing || this.pendingStats.size || this.pendingResults.size) await this.startWrite();
  }
}
