import pg from 'pg';
import type { Logger } from './logger.js';

/** The channel the invalidation triggers (migration 0500) notify, with the changed table's name. */
export const INVALIDATION_CHANNEL = 'cairn_invalidate';
/** How often the listening connection proves it is alive, and how long its answer may take. */
export const HEARTBEAT_MS = 5_000;
export const HEARTBEAT_TIMEOUT_MS = 2_000;

interface Entry<V> {
  value: V;
  at: number;
}

/**
 * A per-process read-through cache of rows that are read on every request and change rarely
 * (who a token belongs to, an app's grants, an event type's latest version). Every request saved
 * from a database round trip matters: on this class of machine a round trip costs more CPU than
 * the rest of a small request.
 *
 * Correctness rests on three rules:
 * - it only serves while the bus is listening for invalidations; otherwise every get loads;
 * - a load that overlapped an invalidation is returned but not stored (the generation check), so
 *   a row read just before a change can never be cached after it;
 * - entries also expire after `ttlMs`, a backstop should a notification ever be missed.
 */
export class ReadThroughCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  private generation = 0;

  constructor(
    private readonly bus: CacheBus,
    readonly tables: readonly string[],
    private readonly opts: { ttlMs: number; max: number },
  ) {}

  async get(key: K, load: () => Promise<V>): Promise<V> {
    if (!this.bus.live) return load();
    const hit = this.entries.get(key);
    const now = Date.now();
    if (hit && now - hit.at < this.opts.ttlMs) return hit.value;
    const generation = this.generation;
    const value = await load();
    if (generation === this.generation && this.bus.live) {
      // A full cache starts over rather than tracking recency: the working set is small and a
      // clear costs one round trip per active key.
      if (this.entries.size >= this.opts.max) this.entries.clear();
      this.entries.set(key, { value, at: now });
    }
    return value;
  }

  /** Many keys with one load of the missing ones; keys the load does not answer get `absent`. */
  async getMany(keys: readonly K[], load: (missing: K[]) => Promise<Map<K, V>>, absent: V): Promise<Map<K, V>> {
    const out = new Map<K, V>();
    const now = Date.now();
    const missing: K[] = [];
    for (const k of keys) {
      const hit = this.bus.live ? this.entries.get(k) : undefined;
      if (hit && now - hit.at < this.opts.ttlMs) out.set(k, hit.value);
      else missing.push(k);
    }
    if (!missing.length) return out;
    const generation = this.generation;
    const loaded = await load(missing);
    const store = generation === this.generation && this.bus.live;
    if (store && this.entries.size + missing.length > this.opts.max) this.entries.clear();
    for (const k of missing) {
      const v = loaded.has(k) ? loaded.get(k)! : absent;
      out.set(k, v);
      if (store) this.entries.set(k, { value: v, at: now });
    }
    return out;
  }

  /** Replaces a cached value this process itself just changed (e.g. a token's last-use stamp). */
  update(key: K, value: V): void {
    const hit = this.entries.get(key);
    if (hit) hit.value = value;
  }

  invalidate(): void {
    this.generation++;
    this.entries.clear();
  }
}

/**
 * Carries invalidations: PostgreSQL triggers on the cached tables NOTIFY the table's name when a
 * transaction that changed them commits, so every server process (and changes made straight in
 * SQL) drops what it cached. The process that made a change also calls `changed()` right after
 * its commit, so its own next request never waits for the notification to come back.
 */
export class CacheBus {
  private readonly caches: ReadThroughCache<unknown, unknown>[] = [];
  private client: pg.Client | undefined;
  private enabled = false;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** True while a LISTEN connection is up; caches serve only then. */
  live = false;

  constructor(
    private readonly connection: pg.ClientConfig,
    private readonly log: Logger,
  ) {}

  cache<K, V>(tables: readonly string[], opts: { ttlMs?: number; max?: number } = {}): ReadThroughCache<K, V> {
    const c = new ReadThroughCache<K, V>(this, tables, { ttlMs: opts.ttlMs ?? 60_000, max: opts.max ?? 10_000 });
    this.caches.push(c as ReadThroughCache<unknown, unknown>);
    return c;
  }

  /** Called after a commit that changed these tables. */
  changed(...tables: string[]): void {
    for (const c of this.caches) if (c.tables.some((t) => tables.includes(t))) c.invalidate();
  }

  private invalidateAll(): void {
    for (const c of this.caches) c.invalidate();
  }

  /**
   * Starts listening; caching begins once the LISTEN is in place. Only a serving process enables
   * it (one-shot CLI commands read straight through, holding no extra connection).
   */
  async enable(): Promise<void> {
    if (this.enabled || this.closed) return;
    this.enabled = true;
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ ...this.connection, keepAlive: true });
    const lost = (e?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.live = false;
      clearInterval(this.heartbeat);
      this.invalidateAll();
      if (this.closed) return;
      this.log.warn({ err: e?.message }, 'cache invalidation listener lost; caching paused until it reconnects');
      this.retry = setTimeout(() => void this.connect(), 1000);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (msg) => {
      if (msg.channel !== INVALIDATION_CHANNEL) return;
      const table = msg.payload ?? '';
      if (table) this.changed(table);
      else this.invalidateAll();
    });
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${INVALIDATION_CHANNEL}`);
    } catch (e) {
      lost(e as Error);
      await client.end().catch(() => {});
      return;
    }
    if (this.client !== client) return;
    // Anything cached before (there is nothing on first start) may have missed notifications.
    this.invalidateAll();
    this.live = true;
    // A connection can die without a word (a half-open TCP connection after a network fault or a
    // fail-over): notifications would silently stop while the caches kept serving. A round trip
    // every HEARTBEAT_MS that must answer within HEARTBEAT_TIMEOUT_MS bounds that window
    // (docs/security.md, "Revocation").
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (this.client !== client) return;
      const timer = setTimeout(() => {
        lost(new Error(`no answer to the listener's heartbeat within ${HEARTBEAT_TIMEOUT_MS} ms`));
        void client.end().catch(() => {});
      }, HEARTBEAT_TIMEOUT_MS);
      client.query('SELECT 1').then(
        () => clearTimeout(timer),
        () => clearTimeout(timer), // a failed query also emits 'error' or 'end', which calls lost()
      );
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.live = false;
    clearTimeout(this.retry);
    clearInterval(this.heartbeat);
    this.invalidateAll();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}
