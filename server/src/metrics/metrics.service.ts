import os from 'node:os';
import { timingSafeEqual, createHash } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AuthContext } from '../kernel/access.js';
import { requireScope } from '../kernel/access.js';
import { newId } from '../kernel/ids.js';
import type { Services } from '../services.js';
import { ledgerStore } from '../ledger/ledger.store.js';
import { metricsStore } from './metrics.store.js';

/** Entries counted at most when measuring a lag, so a scrape stays cheap on a large backlog. */
const LAG_CAP = 100_000;
/** How often a node writes its heartbeat, and how long it counts as seen after one. */
export const HEARTBEAT_MS = 15_000;
const SEEN_WITHIN_S = 60;

type Deps = Pick<Services, 'db' | 'pool' | 'ledger' | 'viewRuns' | 'projections' | 'config' | 'log'>;

/**
 * Prometheus metrics of one process, and the admin's System overview. Counters that must be
 * counted where things happen (requests, ledger appends, view runs, upload bytes) are counted in
 * this process; everything shared by the cluster (lags, queue) is read from PostgreSQL at scrape
 * time, so every node reports the same figure for those.
 */
export class MetricsService {
  readonly registry = new Registry();
  readonly nodeId = newId();
  private readonly startedAt = new Date();
  private readonly tokenHash: Buffer | undefined;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly uploadBytes: Counter;

  constructor(
    private readonly deps: Deps,
    private readonly version: string,
  ) {
    const { pool, ledger, viewRuns } = deps;
    const registers = [this.registry];
    // Compared as hashes so the comparison takes the same time whatever the length sent.
    this.tokenHash = deps.config.metricsToken ? sha256(deps.config.metricsToken) : undefined;
    collectDefaultMetrics({ register: this.registry, prefix: 'cairn_' });
    this.httpRequests = new Counter({ name: 'cairn_http_requests_total', help: 'HTTP requests answered, by route pattern and status', labelNames: ['method', 'route', 'status'], registers });
    this.httpDuration = new Histogram({
      name: 'cairn_http_request_duration_seconds',
      help: 'Time to answer HTTP requests, by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.uploadBytes = new Counter({ name: 'cairn_upload_bytes_total', help: 'Bytes received by resumable (tus) dataset uploads in this process', registers });
    new Gauge({ name: 'cairn_db_pool_total', help: 'PostgreSQL connections open in this process pool', registers, collect() { this.set(pool.totalCount); } });
    new Gauge({ name: 'cairn_db_pool_idle', help: 'PostgreSQL connections idle in this process pool', registers, collect() { this.set(pool.idleCount); } });
    new Gauge({ name: 'cairn_db_pool_waiting', help: 'Queries waiting for a PostgreSQL connection in this process', registers, collect() { this.set(pool.waitingCount); } });
    new Counter({
      name: 'cairn_ledger_entries_appended_total',
      help: 'Ledger entries appended by this process (retries answered from a transactionId are not counted)',
      registers,
      collect() {
        this.reset();
        this.inc(ledger.entriesAppended);
      },
    });
    new Counter({
      name: 'cairn_view_runs_total',
      help: 'View runs in this process by outcome: ok, cached, or the error code',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset();
        for (const [outcome, n] of viewRuns.runOutcomes) this.inc({ outcome }, n);
      },
    });
    this.projectionBehind = new Gauge({ name: 'cairn_projection_behind_entries', help: `Ledger entries a projection has not applied yet (counted up to ${LAG_CAP})`, labelNames: ['projection'], registers });
    this.projectionSeconds = new Gauge({ name: 'cairn_projection_lag_seconds', help: 'Age of the oldest ledger entry a projection has not applied yet', labelNames: ['projection'], registers });
    this.projectionFailing = new Gauge({ name: 'cairn_projection_failing', help: '1 when a projection is stopped on an entry it fails to apply', labelNames: ['projection'], registers });
    this.checkpointAge = new Gauge({ name: 'cairn_ledger_checkpoint_age_seconds', help: 'Seconds since the last ledger checkpoint was sealed (-1 before the first)', registers });
    this.unsealed = new Gauge({ name: 'cairn_ledger_unsealed_entries', help: `Ledger entries past the last checkpoint (counted up to ${LAG_CAP})`, registers });
    this.jobQueue = new Gauge({ name: 'cairn_job_queue_depth', help: 'Background jobs by state: waiting (to run or retry), running, failed (out of attempts)', labelNames: ['state'], registers });
    this.scrapeErrors = new Counter({ name: 'cairn_metrics_read_errors_total', help: 'Scrapes where a figure read from PostgreSQL could not be read (the gauge keeps its last value)', labelNames: ['figure'], registers });
  }

  private readonly projectionBehind: Gauge<'projection'>;
  private readonly projectionSeconds: Gauge<'projection'>;
  private readonly projectionFailing: Gauge<'projection'>;
  private readonly checkpointAge: Gauge;
  private readonly unsealed: Gauge;
  private readonly jobQueue: Gauge<'state'>;
  private readonly scrapeErrors: Counter<'figure'>;

  /** The cluster-wide figures, read from PostgreSQL at scrape time; one failing does not fail the scrape. */
  private async refresh(): Promise<void> {
    const { db } = this.deps;
    const attempt = async (figure: string, read: () => Promise<void>) => {
      try {
        await read();
      } catch (e) {
        this.scrapeErrors.inc({ figure });
        this.deps.log.warn({ err: e, component: 'metrics', figure }, 'metric not read');
      }
    };
    await Promise.all([
      attempt('projections', async () => {
        const all = await this.deps.projections.health();
        for (const g of [this.projectionBehind, this.projectionSeconds, this.projectionFailing]) g.reset();
        for (const p of all) {
          this.projectionBehind.set({ projection: p.name }, p.behind);
          this.projectionSeconds.set({ projection: p.name }, p.secondsBehind);
          this.projectionFailing.set({ projection: p.name }, p.failingEntry ? 1 : 0);
        }
      }),
      attempt('checkpoint', async () => {
        const lag = await ledgerStore.checkpointLag(db, LAG_CAP);
        this.checkpointAge.set(lag.ageSeconds ?? -1);
        this.unsealed.set(lag.unsealed);
      }),
      attempt('jobs', async () => {
        const q = await metricsStore.jobQueue(db);
        for (const [state, n] of Object.entries(q)) this.jobQueue.set({ state }, n);
      }),
    ]);
  }

  /** Whether `sent` is the metrics token; false too when no token is set. */
  tokenMatches(sent: string): boolean {
    return this.tokenHash !== undefined && timingSafeEqual(sha256(sent), this.tokenHash);
  }

  get enabled(): boolean {
    return this.tokenHash !== undefined;
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }

  async scrape(): Promise<{ contentType: string; body: string }> {
    await this.refresh();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  // --- nodes -------------------------------------------------------------------------------

  private heartbeatTimer: NodeJS.Timeout | undefined;

  async startHeartbeat(): Promise<void> {
    const beat = () =>
      metricsStore
        .heartbeat(this.deps.db, { nodeId: this.nodeId, hostname: os.hostname(), pid: process.pid, version: this.version, startedAt: this.startedAt })
        .catch((e: unknown) => this.deps.log.warn({ err: e, component: 'metrics' }, 'heartbeat not written'));
    await beat();
    this.heartbeatTimer = setInterval(beat, HEARTBEAT_MS).unref();
  }

  async stopHeartbeat(): Promise<void> {
    if (!this.heartbeatTimer) return;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    // A node shut down cleanly leaves the list at once; a killed one after SEEN_WITHIN_S.
    await metricsStore.forgetNode(this.deps.db, this.nodeId).catch(() => undefined);
  }

  // --- the admin's System page -------------------------------------------------------------

  async system(ctx: AuthContext) {
    requireScope(ctx, 'settings:manage');
    const { db } = this.deps;
    const [nodes, projections, jobs, storage, checkpoint, last] = await Promise.all([
      metricsStore.nodes(db, SEEN_WITHIN_S),
      this.deps.projections.health(),
      metricsStore.jobQueue(db),
      metricsStore.storage(db),
      ledgerStore.checkpointLag(db, LAG_CAP),
      ledgerStore.lastVerification(db),
    ]);
    return {
      nodes: nodes.map((n) => ({ id: n.node_id, hostname: n.hostname, pid: n.pid, version: n.version, startedAt: n.started_at.toISOString(), seenAt: n.seen_at.toISOString(), thisNode: n.node_id === this.nodeId })),
      projections,
      jobs,
      storage,
      checkpoint,
      lastVerification: last
        ? { ranAt: last.ran_at.toISOString(), durationMs: last.duration_ms, ok: last.ok, checked: Number(last.checked), checkpoints: Number(last.checkpoints), problems: last.problems, by: last.actor }
        : null,
    };
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();
