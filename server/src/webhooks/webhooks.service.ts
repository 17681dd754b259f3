import type { Kysely } from 'kysely';
import type { WebhookAttempt, WebhookDelivery, WebhookInput, WebhookSubscription } from '@cairn/sdk';
import type { Database, Db } from '../database/database.js';
import { requireScope, type AuthContext } from '../kernel/access.js';
import type { Clock } from '../kernel/clock.js';
import { SecretBox } from '../kernel/crypto.js';
import { fail } from '../kernel/errors.js';
import { PollLoop } from '../kernel/idle-wait.js';
import { isUuid, newId } from '../kernel/ids.js';
import type { Logger } from '../kernel/logger.js';
import { newWebhookSecret, postSigned } from '../kernel/signed-post.js';
import type { JobRunner } from '../jobs/jobs.runner.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import { ledgerStore } from '../ledger/ledger.store.js';
import { cursorOf } from '../projections/projections.store.js';
import { webhooksStore as store, type AttemptRow, type DeliveryRow, type SubscriptionRow } from './webhooks.store.js';

export const DELIVER_TASK = 'webhooks:deliver';
const REGISTRATION_PREFIX = 'registration.';
/** Registration entries that record a read, not a change: never sent. */
const NOT_SENT_ACTIONS = new Set(['read']);

export interface WebhookOptions {
  /**
   * Waits before the 2nd, 3rd... attempt of a delivery; once they are used up the delivery is
   * marked failed (replayable) and the queue moves on. The default spans about 40 hours.
   */
  retryScheduleMs: number[];
  timeoutMs: number;
  /** How often an idle node looks for entries appended through other nodes. */
  pollMs: number;
  /** Entries turned into deliveries per feed step. */
  batchSize: number;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = {
  retryScheduleMs: [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000, 43_200_000, 43_200_000],
  timeoutMs: 10_000,
  pollMs: 500,
  batchSize: 500,
};

const MAX_ANSWER = 64 * 1024;
const EXCERPT = 1000;

// The API's shapes are the SDK's, declared once.
type Subscription = WebhookSubscription;
type Delivery = WebhookDelivery;
type Attempt = WebhookAttempt;
type SubscriptionInput = WebhookInput;

/** The ledger types a subscription follows. */
export const subscribedTypes = (s: { event_types: string[]; registration_actions: string[] }): string[] => [
  ...new Set([...s.event_types, ...s.registration_actions.map((a) => `${REGISTRATION_PREFIX}${a}`)]),
];

/**
 * Outbound webhooks (docs/webhooks.md). Two halves:
 * - the feed: each enabled subscription has a position in the ledger, like an async projection;
 *   a node locks the subscription's row (SKIP LOCKED), reads the entries it follows after that
 *   position with the projector's gap-free read (`ledger.readAfter`), queues one delivery per
 *   entry and moves the position, in one transaction. Nothing is missed across restarts or
 *   nodes, nothing is queued twice. It is not a rebuildable projection: a delivery is a side
 *   effect outside Cairn, so a rebuild would re-send history.
 * - delivery: a graphile-worker job per subscription sends its queue head first, one at a time
 *   (so order within the subscription, and therefore within every stream, is ledger order),
 *   records every attempt, and on failure schedules itself again after the back-off.
 */
export class WebhooksService {
  readonly options: WebhookOptions;
  private readonly box: SecretBox;
  private readonly loop: PollLoop;
  private readonly onAppend = () => this.wake();

  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly jobs: JobRunner,
    private readonly clock: Clock,
    secret: string,
    private readonly log: Logger,
    options: Partial<WebhookOptions> = {},
  ) {
    this.options = { ...DEFAULT_WEBHOOK_OPTIONS, ...options };
    this.box = new SecretBox(secret, 'webhook-subscriptions');
    this.loop = new PollLoop({ round: () => this.feedRound(), pollMs: () => this.options.pollMs, log, failure: 'webhook feed round failed' });
    jobs.register(DELIVER_TASK, async (payload) => {
      const id = (payload as { subscriptionId?: unknown } | null)?.subscriptionId;
      if (typeof id === 'string' && isUuid(id)) await this.deliverQueue(id);
    });
  }

  // --- subscriptions -------------------------------------------------------------------------

  async create(ctx: AuthContext, input: SubscriptionInput): Promise<{ subscription: Subscription; secret: string }> {
    requireScope(ctx, 'webhooks:manage');
    const clean = checkInput(input);
    const secret = newWebhookSecret();
    const row = await this.withAudit(ctx, async (trx) => {
      const r = await store.insertSubscription(trx, {
        id: newId(),
        ...clean,
        secretSealed: this.box.seal(secret),
        createdBy: ctx.actor.kind === 'user' ? ctx.actor.userId : null,
        at: this.clock.now(),
      });
      return { row: r, audit: { type: 'cairn.webhook.created', id: r.id, data: { name: r.name, url: r.url, eventTypes: r.event_types, registrationActions: r.registration_actions } } };
    });
    this.wake();
    return { subscription: present(row, undefined), secret };
  }

  async list(ctx: AuthContext): Promise<Subscription[]> {
    requireScope(ctx, 'webhooks:manage');
    const [rows, counts] = await Promise.all([store.list(this.db), store.counts(this.db)]);
    const byId = new Map(counts.map((c) => [c.subscription_id, c]));
    return rows.map((r) => present(r, byId.get(r.id)));
  }

  async get(ctx: AuthContext, id: string): Promise<Subscription> {
    requireScope(ctx, 'webhooks:manage');
    const row = await this.subscription(id);
    const counts = (await store.counts(this.db)).find((c) => c.subscription_id === id);
    return present(row, counts);
  }

  /** Changes a subscription; `enabled: false` stops feeding and delivering, `true` resumes where it stopped. */
  async update(ctx: AuthContext, id: string, patch: Partial<SubscriptionInput> & { enabled?: boolean }): Promise<Subscription> {
    requireScope(ctx, 'webhooks:manage');
    const before = await this.subscription(id);
    const merged = checkInput({
      name: patch.name ?? before.name,
      url: patch.url ?? before.url,
      eventTypes: patch.eventTypes ?? before.event_types,
      registrationActions: patch.registrationActions ?? before.registration_actions,
    });
    const row = await this.withAudit(ctx, async (trx) => {
      const r = await store.update(trx, id, { ...merged, enabled: patch.enabled }, this.clock.now());
      if (!r) throw fail('not_found', 'No such webhook subscription');
      return { row: r, audit: { type: 'cairn.webhook.updated', id, data: { name: r.name, url: r.url, eventTypes: r.event_types, registrationActions: r.registration_actions, enabled: r.enabled } } };
    });
    if (row.enabled) await this.kick(id);
    return this.get(ctx, row.id);
  }

  /** A new signing secret (shown once); the old one stops signing at once. */
  async rotateSecret(ctx: AuthContext, id: string): Promise<{ secret: string }> {
    requireScope(ctx, 'webhooks:manage');
    await this.subscription(id);
    const secret = newWebhookSecret();
    await this.withAudit(ctx, async (trx) => {
      await store.update(trx, id, { secretSealed: this.box.seal(secret) }, this.clock.now());
      return { row: undefined, audit: { type: 'cairn.webhook.secret_rotated', id, data: {} } };
    });
    return { secret };
  }

  async deliveries(ctx: AuthContext, id: string, opts: { status?: 'pending' | 'delivered' | 'failed'; beforeSeq?: number; limit?: number }): Promise<{ deliveries: Delivery[]; next: number | null }> {
    requireScope(ctx, 'webhooks:manage');
    await this.subscription(id);
    const limit = opts.limit ?? 50;
    const rows = await store.deliveries(this.db, id, { status: opts.status, beforeSeq: opts.beforeSeq, limit });
    return { deliveries: rows.map(presentDelivery), next: rows.length === limit ? rows[rows.length - 1]!.seq : null };
  }

  async delivery(ctx: AuthContext, id: string): Promise<{ delivery: Delivery; attempts: Attempt[] }> {
    requireScope(ctx, 'webhooks:manage');
    const d = isUuid(id) ? await store.delivery(this.db, id) : undefined;
    if (!d) throw fail('not_found', 'No such delivery');
    return { delivery: presentDelivery(d), attempts: (await store.attempts(this.db, id)).map(presentAttempt) };
  }

  /**
   * Sends a logged delivery again: a new delivery of the same entry (same webhook-id, so a
   * receiver that already has it can tell), queued behind what is pending.
   */
  async replay(ctx: AuthContext, deliveryId: string): Promise<Delivery> {
    requireScope(ctx, 'webhooks:manage');
    const d = isUuid(deliveryId) ? await store.delivery(this.db, deliveryId) : undefined;
    if (!d) throw fail('not_found', 'No such delivery');
    if (d.status === 'pending') throw fail('conflict', 'This delivery is still pending; it will be sent without a replay');
    await this.jobs.ready();
    const row = await this.withAudit(ctx, async (trx) => {
      const r = await store.insertReplay(trx, d, newId(), this.clock.now());
      await this.jobs.enqueue(trx, DELIVER_TASK, { subscriptionId: d.subscription_id }, { jobKey: jobKey(d.subscription_id) });
      return { row: r, audit: { type: 'cairn.webhook.replayed', id: d.subscription_id, data: { deliveryId: d.id, replayId: r.id, entryId: d.entry_id } } };
    });
    return presentDelivery(row);
  }

  private async subscription(id: string): Promise<SubscriptionRow> {
    const row = isUuid(id) ? await store.get(this.db, id) : undefined;
    if (!row) throw fail('not_found', 'No such webhook subscription');
    return row;
  }

  private async withAudit<T>(ctx: AuthContext, fn: (trx: Kysely<Database>) => Promise<{ row: T; audit: { type: string; id: string; data: Record<string, unknown> } }>): Promise<T> {
    const row = await this.db.transaction().execute(async (trx) => {
      const r = await fn(trx);
      await this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type: r.audit.type, stream: `webhook:${r.audit.id}`, data: { subscriptionId: r.audit.id, ...r.audit.data } }], { allowSystemTypes: true }), { db: trx });
      return r.row;
    });
    this.ledger.notifyAppended();
    return row;
  }

  /** Queues the delivery job at once (after an enable, or when a replay is added). */
  private async kick(id: string): Promise<void> {
    await this.jobs.ready();
    await this.jobs.enqueue(this.db, DELIVER_TASK, { subscriptionId: id }, { jobKey: jobKey(id) });
    this.wake();
  }

  // --- the feed ------------------------------------------------------------------------------

  /** Starts following the ledger on this node (any number of nodes may run it). */
  async start(): Promise<void> {
    if (this.loop.running) return;
    await this.jobs.ready();
    // The job queue is not in backups (docs/operations.md): after a restore, deliveries that were
    // waiting get their job again. A job already queued is only replaced (same key).
    for (const id of await store.withPending(this.db)) await this.jobs.enqueue(this.db, DELIVER_TASK, { subscriptionId: id }, { jobKey: jobKey(id) });
    this.ledger.appended.on('append', this.onAppend);
    this.loop.start();
  }

  async stop(): Promise<void> {
    this.ledger.appended.off('append', this.onAppend);
    await this.loop.stop();
  }

  private wake(): void {
    this.loop.wake();
  }

  /** One turn of the feed: the next page of every enabled subscription; true if any had entries. */
  private async feedRound(): Promise<boolean> {
    let busy = false;
    for (const id of await store.enabledIds(this.db)) {
      if (!this.loop.running) break;
      busy = (await this.feedOnce(id)) > 0 || busy;
    }
    return busy;
  }

  /**
   * Queues deliveries for the next page of entries a subscription follows, if this node gets its
   * row; answers how many entries it read (0: caught up, disabled, or another node is at it).
   */
  async feedOnce(id: string): Promise<number> {
    await this.jobs.ready();
    return this.db.transaction().execute(async (trx) => {
      const sub = await store.get(trx, id, { lock: 'skip' });
      if (!sub || !sub.enabled) return 0;
      const after = cursorOf(sub.cursor_tx, sub.cursor_position);
      const page = await this.ledger.readAfter(trx, after, { types: subscribedTypes(sub) }, this.options.batchSize);
      if (!page.entries.length) {
        // Nothing below the horizon: move up to it so the next read does not rescan.
        if (!after || BigInt(page.horizon) > BigInt(after.tx)) await store.advance(trx, id, { tx: page.horizon, position: 0 });
        return 0;
      }
      const inserted = await store.insertDeliveries(
        trx,
        id,
        page.entries.map((e) => ({ id: newId(), entryId: e.id, type: e.type, stream: e.stream })),
        this.clock.now(),
      );
      await store.advance(trx, id, page.entries[page.entries.length - 1]!.cursor);
      if (inserted) await this.jobs.enqueue(trx, DELIVER_TASK, { subscriptionId: id }, { jobKey: jobKey(id) });
      return page.entries.length;
    });
  }

  /** Feeds every enabled subscription until caught up (tests and one-shot CLI use). */
  async catchUp(): Promise<void> {
    for (const id of await store.enabledIds(this.db)) while ((await this.feedOnce(id)) > 0);
  }

  // --- delivery ------------------------------------------------------------------------------

  /**
   * Sends a subscription's due deliveries in order under its lease. Stops at the first failure
   * (later ones wait behind it) and schedules itself for when that one is due again.
   */
  async deliverQueue(id: string): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      if (!(await store.takeLease(this.db, id, now, this.leaseEnd()))) {
        // Another worker is delivering (or died holding the lease): look again when it would expire.
        const sub = await store.get(this.db, id);
        if (sub?.enabled && sub.lease_until) await this.jobs.enqueue(this.db, DELIVER_TASK, { subscriptionId: id }, { jobKey: jobKey(id), runAt: new Date(sub.lease_until.getTime() + 1000) });
        return;
      }
      // When the head is not due yet, the job that will send it is queued only after the lease is
      // released: queued before, it could start while this one still holds the lease, find it
      // taken and wait for the lease to expire (half a minute) instead of the retry's delay.
      let dueAt: Date | null = null;
      try {
        for (;;) {
          const sub = await store.get(this.db, id);
          if (!sub?.enabled) return;
          const head = await store.head(this.db, id);
          if (!head) break;
          if (head.next_attempt_at > this.clock.now()) {
            dueAt = head.next_attempt_at;
            break;
          }
          const outcome = await this.attempt(sub, head);
          if (outcome === 'retry') continue; // the loop finds it not due yet and schedules the job
          await store.extendLease(this.db, id, this.leaseEnd());
        }
      } finally {
        await store.releaseLease(this.db, id);
      }
      if (dueAt) {
        await this.jobs.enqueue(this.db, DELIVER_TASK, { subscriptionId: id }, { jobKey: jobKey(id), runAt: dueAt });
        return;
      }
      // A delivery queued while we held the lease woke a job that found the lease taken: look once more.
      const head = await store.head(this.db, id);
      if (!head || head.next_attempt_at > this.clock.now()) return;
    }
  }

  private leaseEnd(): Date {
    return new Date(this.clock.now().getTime() + this.options.timeoutMs + 30_000);
  }

  private async attempt(sub: SubscriptionRow, d: DeliveryRow): Promise<'delivered' | 'failed' | 'retry'> {
    const entry = await ledgerStore.getById(this.db, d.entry_id);
    const n = d.attempts + 1;
    const started = this.clock.now();
    const t0 = performance.now();
    let status: number | null = null;
    let error: string | null = null;
    let body: string | null = null;
    if (!entry) {
      error = 'the entry is no longer in the ledger';
    } else {
      const payload = {
        type: entry.type,
        timestamp: entry.recorded_at.toISOString(),
        data: {
          id: entry.id,
          type: entry.type,
          typeVersion: entry.type_version,
          stream: entry.stream,
          streamSeq: entry.stream_seq,
          actor: { kind: entry.actor_kind, id: entry.actor_id },
          occurredAt: entry.occurred_at.toISOString(),
          recordedAt: entry.recorded_at.toISOString(),
          // Built from the ledger at send time: an erased entry is sent without its data.
          data: entry.data,
          ...(d.replay_of ? { replay: true } : {}),
        },
      };
      const answer = await postSigned(sub.url, this.box.open(sub.secret_sealed), `msg_${entry.id}`, JSON.stringify(payload), { timeoutMs: this.options.timeoutMs, maxAnswer: MAX_ANSWER });
      if (answer.kind === 'unreachable') error = answer.message;
      else {
        status = answer.status;
        body = answer.text.slice(0, EXCERPT);
        if (status < 200 || status >= 300) error = `answered HTTP ${status}`;
      }
    }
    const durationMs = Math.round(performance.now() - t0);
    const ok = error === null;
    const schedule = this.options.retryScheduleMs;
    const final = ok || !entry || n > schedule.length;
    const outcome = ok ? 'delivered' : final ? 'failed' : 'pending';
    const next = outcome === 'pending' ? new Date(started.getTime() + schedule[n - 1]!) : started;
    await store.recordAttempt(this.db, { id: d.id, attempt: n, at: started, status, error, body, durationMs }, { status: outcome, nextAttemptAt: next });
    if (outcome === 'failed') this.log.warn({ subscription: sub.id, delivery: d.id, entry: d.entry_id, attempts: n }, 'webhook delivery failed for good; it stays replayable');
    return outcome === 'pending' ? 'retry' : outcome;
  }
}

const jobKey = (subscriptionId: string) => `${DELIVER_TASK}:${subscriptionId}`;

const TYPE_RE = /^[a-z0-9][a-z0-9_.-]*(\/[a-z0-9][a-z0-9_.-]*)?$/;
const ACTION_RE = /^[a-z][a-z0-9-]{0,62}$/;

function checkInput(input: SubscriptionInput): { name: string; url: string; eventTypes: string[]; registrationActions: string[] } {
  const name = input.name.trim();
  if (!name) throw fail('validation_failed', 'A name is required', [{ pointer: '/name', message: 'must not be blank' }]);
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw fail('validation_failed', 'The URL is not valid', [{ pointer: '/url', message: 'must be an absolute http or https URL' }]);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
    throw fail('validation_failed', 'The URL must be http or https, without credentials in it', [{ pointer: '/url', message: 'must be an absolute http or https URL without user:password' }]);
  }
  const eventTypes = [...new Set(input.eventTypes ?? [])];
  const registrationActions = [...new Set(input.registrationActions ?? [])];
  eventTypes.forEach((t, i) => {
    if (!TYPE_RE.test(t)) throw fail('validation_failed', `"${t}" is not an event type name`, [{ pointer: `/eventTypes/${i}`, message: 'not an event type name' }]);
    if (t.startsWith(REGISTRATION_PREFIX)) throw fail('validation_failed', 'Registration entries are chosen by action', [{ pointer: `/eventTypes/${i}`, message: 'use registrationActions' }]);
  });
  registrationActions.forEach((a, i) => {
    if (!ACTION_RE.test(a) || NOT_SENT_ACTIONS.has(a)) throw fail('validation_failed', `"${a}" is not a registration action that can be sent`, [{ pointer: `/registrationActions/${i}`, message: 'not a registration action' }]);
  });
  if (!eventTypes.length && !registrationActions.length) {
    throw fail('validation_failed', 'Choose at least one event type or registration action', [{ pointer: '/eventTypes', message: 'choose at least one event type or registration action' }]);
  }
  return { name, url: url.toString(), eventTypes, registrationActions };
}

function present(r: SubscriptionRow, c: { pending: number; failed: number; delivered: number } | undefined): Subscription {
  return {
    id: r.id,
    name: r.name,
    url: r.url,
    eventTypes: r.event_types,
    registrationActions: r.registration_actions,
    enabled: r.enabled,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    pending: c?.pending ?? 0,
    failed: c?.failed ?? 0,
    delivered: c?.delivered ?? 0,
  };
}

function presentDelivery(d: DeliveryRow): Delivery {
  return {
    id: d.id,
    seq: d.seq,
    subscriptionId: d.subscription_id,
    entryId: d.entry_id,
    eventType: d.event_type,
    stream: d.stream,
    replayOf: d.replay_of,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.status === 'pending' ? d.next_attempt_at.toISOString() : null,
    lastStatus: d.last_status,
    lastError: d.last_error,
    lastBody: d.last_body,
    createdAt: d.created_at.toISOString(),
    finishedAt: d.finished_at?.toISOString() ?? null,
  };
}

const presentAttempt = (a: AttemptRow): Attempt => ({ attempt: a.attempt, at: a.at.toISOString(), status: a.status, error: a.error, body: a.body, durationMs: a.duration_ms });
