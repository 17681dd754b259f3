import { sql, type Kysely } from 'kysely';
import type { Database } from '../database/database.js';
import type { LedgerCursor } from '../ledger/ledger.store.js';

type Db = Kysely<Database>;

export interface SubscriptionRow {
  id: string;
  name: string;
  url: string;
  event_types: string[];
  registration_actions: string[];
  secret_sealed: string;
  enabled: boolean;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  cursor_tx: string | null;
  cursor_position: number | null;
  lease_until: Date | null;
}

export interface DeliveryRow {
  id: string;
  seq: number;
  subscription_id: string;
  entry_id: string;
  event_type: string;
  stream: string | null;
  replay_of: string | null;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: Date;
  last_status: number | null;
  last_error: string | null;
  last_body: string | null;
  created_at: Date;
  finished_at: Date | null;
}

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  at: Date;
  status: number | null;
  error: string | null;
  body: string | null;
  duration_ms: number;
}

export interface SubscriptionCounts {
  subscription_id: string;
  pending: number;
  failed: number;
  delivered: number;
}

const SUB_COLS = sql`id, name, url, event_types, registration_actions, secret_sealed, enabled, created_by, created_at, updated_at, cursor_tx::text AS cursor_tx, cursor_position::int AS cursor_position, lease_until`;
const DEL_COLS = sql`id, seq::int AS seq, subscription_id, entry_id, event_type, stream, replay_of, status, attempts, next_attempt_at, last_status, last_error, last_body, created_at, finished_at`;

export const webhooksStore = {
  async insertSubscription(db: Db, s: { id: string; name: string; url: string; eventTypes: string[]; registrationActions: string[]; secretSealed: string; createdBy: string | null; at: Date }): Promise<SubscriptionRow> {
    // The feed starts at the running-transaction horizon: entries committed from now on are sent,
    // none from before (a subscription is not a backfill).
    const r = await sql<SubscriptionRow>`
      INSERT INTO webhook_subscriptions (id, name, url, event_types, registration_actions, secret_sealed, created_by, created_at, updated_at, cursor_tx, cursor_position)
      VALUES (${s.id}, ${s.name}, ${s.url}, ${s.eventTypes}::text[], ${s.registrationActions}::text[], ${s.secretSealed}, ${s.createdBy}, ${s.at}, ${s.at}, pg_snapshot_xmin(pg_current_snapshot()), 0)
      RETURNING ${SUB_COLS}`.execute(db);
    return r.rows[0]!;
  },

  async list(db: Db): Promise<SubscriptionRow[]> {
    return (await sql<SubscriptionRow>`SELECT ${SUB_COLS} FROM webhook_subscriptions ORDER BY created_at, id`.execute(db)).rows;
  },

  async enabledIds(db: Db): Promise<string[]> {
    return (await sql<{ id: string }>`SELECT id FROM webhook_subscriptions WHERE enabled ORDER BY created_at, id`.execute(db)).rows.map((r) => r.id);
  },

  /** Enabled subscriptions with deliveries waiting. */
  async withPending(db: Db): Promise<string[]> {
    return (await sql<{ id: string }>`SELECT s.id FROM webhook_subscriptions s WHERE s.enabled AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.subscription_id = s.id AND d.status = 'pending')`.execute(db)).rows.map((r) => r.id);
  },

  async get(db: Db, id: string, opts: { lock?: 'update' | 'skip' } = {}): Promise<SubscriptionRow | undefined> {
    const lock = opts.lock === 'update' ? sql` FOR UPDATE` : opts.lock === 'skip' ? sql` FOR UPDATE SKIP LOCKED` : sql``;
    return (await sql<SubscriptionRow>`SELECT ${SUB_COLS} FROM webhook_subscriptions WHERE id = ${id}${lock}`.execute(db)).rows[0];
  },

  async update(db: Db, id: string, patch: { name?: string; url?: string; eventTypes?: string[]; registrationActions?: string[]; enabled?: boolean; secretSealed?: string }, at: Date): Promise<SubscriptionRow | undefined> {
    const r = await sql<SubscriptionRow>`
      UPDATE webhook_subscriptions SET
        name = coalesce(${patch.name ?? null}, name),
        url = coalesce(${patch.url ?? null}, url),
        event_types = coalesce(${patch.eventTypes ?? null}::text[], event_types),
        registration_actions = coalesce(${patch.registrationActions ?? null}::text[], registration_actions),
        enabled = coalesce(${patch.enabled ?? null}::boolean, enabled),
        secret_sealed = coalesce(${patch.secretSealed ?? null}, secret_sealed),
        updated_at = ${at}
      WHERE id = ${id} RETURNING ${SUB_COLS}`.execute(db);
    return r.rows[0];
  },

  async advance(db: Db, id: string, cursor: LedgerCursor): Promise<void> {
    await sql`UPDATE webhook_subscriptions SET cursor_tx = ${cursor.tx}::xid8, cursor_position = ${cursor.position} WHERE id = ${id}`.execute(db);
  },

  /** New deliveries for entries, in the order given; an entry already queued for the subscription is skipped. */
  async insertDeliveries(db: Db, subscriptionId: string, rows: Array<{ id: string; entryId: string; type: string; stream: string | null }>, at: Date): Promise<number> {
    if (!rows.length) return 0;
    const r = await sql`
      INSERT INTO webhook_deliveries (id, subscription_id, entry_id, event_type, stream, next_attempt_at, created_at)
      SELECT d.id, ${subscriptionId}, d.entry_id, d.type, d.stream, ${at}, ${at}
      FROM unnest(${rows.map((x) => x.id)}::uuid[], ${rows.map((x) => x.entryId)}::uuid[], ${rows.map((x) => x.type)}::text[], ${rows.map((x) => x.stream)}::text[]) WITH ORDINALITY AS d(id, entry_id, type, stream, n)
      ORDER BY d.n
      ON CONFLICT (subscription_id, entry_id) WHERE replay_of IS NULL DO NOTHING`.execute(db);
    return Number(r.numAffectedRows ?? 0);
  },

  async insertReplay(db: Db, of: DeliveryRow, id: string, at: Date): Promise<DeliveryRow> {
    const r = await sql<DeliveryRow>`
      INSERT INTO webhook_deliveries (id, subscription_id, entry_id, event_type, stream, replay_of, next_attempt_at, created_at)
      VALUES (${id}, ${of.subscription_id}, ${of.entry_id}, ${of.event_type}, ${of.stream}, ${of.id}, ${at}, ${at})
      RETURNING ${DEL_COLS}`.execute(db);
    return r.rows[0]!;
  },

  /**
   * Takes the subscription's delivery lease (one worker at a time, on any node) unless someone
   * holds an unexpired one. A worker that dies leaves a lease that expires by itself.
   */
  async takeLease(db: Db, id: string, now: Date, until: Date): Promise<boolean> {
    const r = await sql`UPDATE webhook_subscriptions SET lease_until = ${until} WHERE id = ${id} AND enabled AND (lease_until IS NULL OR lease_until < ${now})`.execute(db);
    return Number(r.numAffectedRows ?? 0) === 1;
  },

  async extendLease(db: Db, id: string, until: Date): Promise<void> {
    await sql`UPDATE webhook_subscriptions SET lease_until = ${until} WHERE id = ${id}`.execute(db);
  },

  async releaseLease(db: Db, id: string): Promise<void> {
    await sql`UPDATE webhook_subscriptions SET lease_until = NULL WHERE id = ${id}`.execute(db);
  },

  /** The subscription's next delivery in order (the head of its queue), due or not. */
  async head(db: Db, subscriptionId: string): Promise<DeliveryRow | undefined> {
    return (await sql<DeliveryRow>`SELECT ${DEL_COLS} FROM webhook_deliveries WHERE subscription_id = ${subscriptionId} AND status = 'pending' ORDER BY seq LIMIT 1`.execute(db)).rows[0];
  },

  async recordAttempt(db: Db, d: { id: string; attempt: number; at: Date; status: number | null; error: string | null; body: string | null; durationMs: number }, outcome: { status: 'pending' | 'delivered' | 'failed'; nextAttemptAt: Date }): Promise<void> {
    await sql`INSERT INTO webhook_attempts (delivery_id, attempt, at, status, error, body, duration_ms) VALUES (${d.id}, ${d.attempt}, ${d.at}, ${d.status}, ${d.error}, ${d.body}, ${d.durationMs})`.execute(db);
    await sql`
      UPDATE webhook_deliveries SET attempts = ${d.attempt}, status = ${outcome.status}, next_attempt_at = ${outcome.nextAttemptAt},
        last_status = ${d.status}, last_error = ${d.error}, last_body = ${d.body},
        finished_at = ${outcome.status === 'pending' ? null : d.at}
      WHERE id = ${d.id}`.execute(db);
  },

  async deliveries(db: Db, subscriptionId: string, opts: { status?: string; beforeSeq?: number; limit: number }): Promise<DeliveryRow[]> {
    return (
      await sql<DeliveryRow>`SELECT ${DEL_COLS} FROM webhook_deliveries WHERE subscription_id = ${subscriptionId}
        ${opts.status ? sql`AND status = ${opts.status}` : sql``} ${opts.beforeSeq !== undefined ? sql`AND seq < ${opts.beforeSeq}` : sql``}
        ORDER BY seq DESC LIMIT ${opts.limit}`.execute(db)
    ).rows;
  },

  async delivery(db: Db, id: string): Promise<DeliveryRow | undefined> {
    return (await sql<DeliveryRow>`SELECT ${DEL_COLS} FROM webhook_deliveries WHERE id = ${id}`.execute(db)).rows[0];
  },

  async attempts(db: Db, deliveryId: string): Promise<AttemptRow[]> {
    return (await sql<AttemptRow>`SELECT * FROM webhook_attempts WHERE delivery_id = ${deliveryId} ORDER BY attempt`.execute(db)).rows;
  },

  async counts(db: Db): Promise<SubscriptionCounts[]> {
    return (
      await sql<SubscriptionCounts>`SELECT subscription_id, count(*) FILTER (WHERE status = 'pending')::int AS pending,
        count(*) FILTER (WHERE status = 'failed')::int AS failed, count(*) FILTER (WHERE status = 'delivered')::int AS delivered
        FROM webhook_deliveries GROUP BY subscription_id`.execute(db)
    ).rows;
  },
};
