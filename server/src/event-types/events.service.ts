import type { Kysely } from 'kysely';
import type { Database, Db } from '../database/database.js';
import { AppError, fail, isAppError } from '../kernel/errors.js';
import { requireAuthenticated, type AuthContext } from '../kernel/access.js';
import { isUuid } from '../kernel/ids.js';
import { toPublicEntry, type LedgerService, type PublicEntry } from '../ledger/ledger.service.js';
import { ledgerStore, type EntryRow } from '../ledger/ledger.store.js';
import { ERASURE_TYPE } from '../ledger/ledger.verify.js';
import type { GrantsService } from '../apps/apps.grants.js';
import { SUPERSEDED_TYPE } from './events.projection.js';
import { eventTypesStore } from './event-types.store.js';

/**
 * Modifying and deleting events without ever rewriting the ledger.
 *
 * - A modification appends a new entry (same type, same stream, validated like any append) and a
 *   `cairn.event.superseded` entry, which the inline supersededProjection folds into
 *   `ledger_superseded` (the old entry is no longer current) in the same transaction. Old versions stay
 *   readable by id and through /events/{id}/versions; listings for apps show current versions.
 *   Only the current version can be modified (409 otherwise), so two writers cannot both
 *   "win" from the same starting point.
 * - A deletion erases the data of every version (the rows keep their hashes, so the chain still
 *   verifies) and appends one `ledger.erased` entry per version, which is what `verify` accepts
 *   as the reason a row has no data.
 * Both are judged on the stored entry's own type against the caller's grants.
 */
export class EventsService {
  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly grants: GrantsService,
  ) {}

  private async load(ctx: AuthContext, id: string): Promise<EntryRow> {
    requireAuthenticated(ctx);
    const row = isUuid(id) ? await ledgerStore.getById(this.db, id) : undefined;
    if (!row) throw fail('not_found', 'No such event');
    return row;
  }

  private async rootOf(db: Kysely<Database>, id: string): Promise<string> {
    return (await eventTypesStore.supersededRoot(db, id)) ?? id;
  }

  private async successorOf(db: Kysely<Database>, id: string): Promise<string | undefined> {
    return eventTypesStore.successorOf(db, id);
  }

  /** Serialises changes to one event (all its versions share the root id). */
  private async lock(db: Kysely<Database>, rootId: string) {
    await eventTypesStore.lockEvent(db, rootId);
  }

  private async requireCurrent(db: Kysely<Database>, row: EntryRow) {
    if (row.data === null) throw fail('not_found', 'This event was deleted');
    const next = await this.successorOf(db, row.id);
    if (next) throw fail('conflict', 'This is not the current version of the event; modify or delete the current one', { currentId: await this.currentOf(db, next) });
  }

  private async currentOf(db: Kysely<Database>, id: string): Promise<string> {
    let cur = id;
    for (let i = 0; i < 10_000; i++) {
      const next = await this.successorOf(db, cur);
      if (!next) return cur;
      cur = next;
    }
    return cur;
  }

  async modify(ctx: AuthContext, id: string, input: { data: Record<string, unknown>; occurredAt?: string }): Promise<PublicEntry & { previousId: string; rootId: string }> {
    const row = await this.load(ctx, id);
    await this.grants.authorise(ctx, row, 'modify');
    await this.requireCurrent(this.db, row);
    let prepared;
    try {
      prepared = this.ledger.prepare(ctx, [{ type: row.type, stream: row.stream, data: input.data, occurredAt: input.occurredAt ?? row.occurred_at }]);
    } catch (e) {
      throw rebase(e);
    }
    for (const p of prepared) this.grants.authorisedModifications.add(p);
    let newId = '';
    let rootId = '';
    try {
      await this.db.transaction().execute(async (trx) => {
        rootId = await this.rootOf(trx, row.id);
        await this.lock(trx, rootId);
        await this.requireCurrent(trx, (await ledgerStore.getById(trx, row.id))!);
        const [res] = await this.ledger.append(ctx, prepared, { db: trx });
        newId = res!.id;
        // The supersededProjection (events.projection.ts) writes ledger_superseded from this entry, in this transaction.
        await this.ledger.append(
          ctx,
          this.ledger.prepare(ctx, [{ type: SUPERSEDED_TYPE, stream: row.stream, data: { entryId: row.id, supersededBy: newId, rootId, type: row.type } }], { allowSystemTypes: true }),
          { db: trx },
        );
      });
    } catch (e) {
      throw rebase(e);
    }
    this.ledger.notifyAppended();
    const created = (await ledgerStore.getById(this.db, newId))!;
    return { ...toPublicEntry(created), previousId: row.id, rootId };
  }

  async delete(ctx: AuthContext, id: string): Promise<void> {
    const row = await this.load(ctx, id);
    await this.grants.authorise(ctx, row, 'delete');
    await this.requireCurrent(this.db, row);
    await this.db.transaction().execute(async (trx) => {
      const rootId = await this.rootOf(trx, row.id);
      await this.lock(trx, rootId);
      await this.requireCurrent(trx, (await ledgerStore.getById(trx, row.id))!);
      const versions = await this.versionIds(trx, rootId);
      const erasures = [];
      for (const v of versions) {
        await ledgerStore.eraseData(trx, v);
        erasures.push({ type: ERASURE_TYPE, stream: row.stream, data: { entryId: v, rootId, type: row.type, reason: 'deleted' } });
      }
      await this.ledger.append(ctx, this.ledger.prepare(ctx, erasures, { allowSystemTypes: true }), { db: trx });
    });
    this.ledger.notifyAppended();
  }

  private async versionIds(db: Kysely<Database>, rootId: string): Promise<string[]> {
    const rows = await eventTypesStore.supersessions(db, rootId);
    return [...new Set([rootId, ...rows.flatMap((x) => [x.entry_id, x.superseded_by])])];
  }

  /**
   * The current version of an event, from the id of any of its versions (an app keeps the first
   * one, the root id). Visible exactly when GET /events/{id} is, for the version asked and the
   * current one alike; a deleted event is not found.
   */
  async current(ctx: AuthContext, id: string): Promise<PublicEntry> {
    await this.ledger.get(ctx, id);
    const currentId = await this.currentOf(this.db, id);
    const entry = await this.ledger.get(ctx, currentId);
    if (entry.data === null) throw fail('not_found', 'This event was deleted');
    return entry;
  }

  /** Every version of the event, oldest first; the current one last (none when deleted). */
  async versions(ctx: AuthContext, id: string) {
    const row = await this.load(ctx, id);
    await this.grants.authorise(ctx, row, 'read');
    const rootId = await this.rootOf(this.db, row.id);
    const ids = await this.versionIds(this.db, rootId);
    const rows = (await Promise.all(ids.map((v) => ledgerStore.getById(this.db, v)))).filter((r): r is EntryRow => !!r).sort((a, b) => a.position - b.position);
    const last = rows[rows.length - 1];
    const currentId = last && last.data !== null && !(await this.successorOf(this.db, last.id)) ? last.id : null;
    return { rootId, currentId, versions: rows.map(toPublicEntry) };
  }
}

/** Errors about the one event of a PATCH point into its body (`/data/...`), not into a batch. */
function rebase(e: unknown): unknown {
  if (!isAppError(e) || !Array.isArray(e.details)) return e;
  const details = (e.details as { pointer?: string; message?: string }[]).map((d) => ({ ...d, pointer: typeof d.pointer === 'string' ? d.pointer.replace(/^\/events\/0/, '') || '/' : d.pointer }));
  return new AppError(e.code, e.message.replace(/\/events\/0/g, '').replace(/^Event 0: /, ''), details, e.headers);
}
