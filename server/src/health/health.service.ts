import type { Db } from '../database/database.js';
import type { BlobStore } from '../blobs/blobs.store.js';
import type { ProjectionsService } from '../projections/projections.service.js';
import { migrationFiles } from '../database/migrations.js';
import { AppError } from '../kernel/errors.js';
import { VERSION } from '../kernel/version.js';
import { healthStore } from './health.store.js';

/** sha256 of no bytes: a blob address that is cheap to look up in any store. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** A check that takes longer counts as failed, so a hung dependency cannot hang the probe. */
const CHECK_TIMEOUT_MS = 3000;

export interface Check {
  ok: boolean;
  latencyMs: number;
}

async function check(run: () => Promise<unknown>): Promise<Check> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([run(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS)))]);
    return { ok: true, latencyMs: Math.round((performance.now() - start) * 100) / 100 };
  } catch {
    return { ok: false, latencyMs: Math.round(performance.now() - start) };
  } finally {
    clearTimeout(timer);
  }
}

/** Readiness (for a load balancer) and liveness (with the projections' lag) of this node. */
export class HealthService {
  /** Migration files are fixed for the life of the process. */
  private readonly shipped = migrationFiles();

  constructor(
    private readonly db: Db,
    private readonly blobs: Pick<BlobStore, 'stat'>,
    private readonly projections: Pick<ProjectionsService, 'health'>,
  ) {}

  /** Ready: the database answers, the blob store answers, every migration of this build is applied; otherwise `unavailable`. */
  async ready() {
    let pending: string[] = [];
    const [database, blobStore, migrations] = await Promise.all([
      check(() => healthStore.ping(this.db)),
      // A lookup reaches the store (a directory or a bucket) without writing anything.
      check(() => this.blobs.stat(EMPTY_SHA256)),
      check(async () => {
        const applied = await healthStore.appliedMigrations(this.db);
        pending = this.shipped.filter((f) => !applied.has(f));
        if (pending.length) throw new Error('pending');
      }),
    ]);
    const checks = { database, blobs: blobStore, migrations };
    const failed = Object.entries(checks).filter(([, c]) => !c.ok).map(([name]) => name);
    if (failed.length) {
      throw new AppError('unavailable', `Not ready: ${failed.join(', ')}`, { failed, checks, ...(pending.length ? { pendingMigrations: pending } : {}) });
    }
    return { status: 'ready' as const, version: VERSION, checks };
  }

  /** Alive: `degraded` only when the database does not answer; a lagging or failing projection shows in `projections`. */
  async live() {
    const start = performance.now();
    try {
      await healthStore.ping(this.db);
      const latencyMs = Math.round((performance.now() - start) * 100) / 100;
      return { status: 'ok' as const, version: VERSION, database: { ok: true, latencyMs }, projections: await this.projections.health().catch(() => undefined) };
    } catch {
      return { status: 'degraded' as const, version: VERSION, database: { ok: false, latencyMs: Math.round(performance.now() - start) } };
    }
  }
}
