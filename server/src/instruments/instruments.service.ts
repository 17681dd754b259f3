import type { Db } from '../database/database.js';
import { fail } from '../kernel/errors.js';
import { actorRef, requireScope, requireAuthenticated, systemContext, type AuthContext } from '../kernel/access.js';
import type { Clock } from '../kernel/clock.js';
import type { Logger } from '../kernel/logger.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import { canonicalJson, jsonHash } from '../ledger/ledger.hash.js';
import { validateDefinition, isForm, usePatternAccelerator, type FormInstrument, type InstrumentDefinition } from '@cairn/sdk/instruments';
import { wholeValueMatcher } from '../kernel/linear-regex.js';
import { LIBRARY_INSTRUMENTS } from './library/index.js';
import { instrumentsStore, type InstrumentsTable } from './instruments.store.js';

// Instrument and subject-identifier patterns are matched on the server by re2js (kernel/linear-regex.ts);
// the SDK's own linear engine still decides which patterns are accepted, here and in browsers.
usePatternAccelerator(wholeValueMatcher);

export const NAME_RE = /^[a-z0-9]+(-[a-z0-9]+)*$/;

export interface InstrumentSummary {
  name: string;
  edition: number;
  kind: 'form' | 'series';
  title: unknown;
  languages: unknown;
  source: string;
  createdAt: string;
  retiredAt: string | null;
  retiredReason: string | null;
}

const summary = (r: Pick<InstrumentsTable, 'name' | 'edition' | 'kind' | 'source' | 'created_at' | 'retired_at' | 'retired_reason'> & { details?: unknown; languages?: unknown; definition?: unknown }): InstrumentSummary => {
  const def = r.definition as InstrumentDefinition | undefined;
  return {
    name: r.name,
    edition: r.edition,
    kind: r.kind,
    title: def ? def.details.title : (r.details as { title?: unknown } | null)?.title ?? r.name,
    languages: def ? def.languages : r.languages,
    source: r.source,
    createdAt: r.created_at.toISOString(),
    retiredAt: r.retired_at?.toISOString() ?? null,
    retiredReason: r.retired_reason,
  };
};

/**
 * Instruments are instance-wide definitions (like the shipped library): anyone signed in may read
 * them, holders of instruments:manage publish and retire. An edition, once published, never
 * changes; a change is a new edition.
 */
export class InstrumentsService {
  /** Published editions are immutable, so they can be cached forever once read. */
  private readonly cache = new Map<string, InstrumentDefinition>();

  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly clock: Clock,
  ) {}

  async list(ctx: AuthContext, opts: { includeRetired?: boolean } = {}) {
    requireAuthenticated(ctx);
    return (await instrumentsStore.list(this.db, { includeRetired: opts.includeRetired ?? false })).map(summary);
  }

  async get(ctx: AuthContext, name: string) {
    requireAuthenticated(ctx);
    const rows = NAME_RE.test(name) ? await instrumentsStore.editions(this.db, name) : [];
    if (!rows.length) throw fail('not_found', 'No such instrument');
    const latest = rows[rows.length - 1]!;
    return { ...summary(latest), definition: latest.definition as InstrumentDefinition, editions: rows.map(summary).reverse() };
  }

  async edition(ctx: AuthContext, name: string, edition: number) {
    requireAuthenticated(ctx);
    const row = NAME_RE.test(name) && Number.isSafeInteger(edition) ? await instrumentsStore.get(this.db, name, edition) : undefined;
    if (!row) throw fail('not_found', 'No such instrument edition');
    return { ...summary(row), definition: row.definition as InstrumentDefinition };
  }

  /** The definition of an edition for capture or rendering; cached. */
  async definition(name: string, edition: number): Promise<InstrumentDefinition | undefined> {
    const key = `${name}@${edition}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    if (!NAME_RE.test(name) || !Number.isSafeInteger(edition)) return undefined;
    const row = await instrumentsStore.get(this.db, name, edition);
    if (!row) return undefined;
    const def = row.definition as InstrumentDefinition;
    this.cache.set(key, def);
    return def;
  }

  /** A form edition that may receive new records: exists, is a form, is not retired. */
  async formForCapture(name: unknown, edition: unknown): Promise<FormInstrument> {
    if (typeof name !== 'string' || !NAME_RE.test(name) || !Number.isSafeInteger(edition)) throw fail('not_found', 'No such instrument edition');
    const row = await instrumentsStore.captureState(this.db, name, edition as number);
    if (!row) throw fail('not_found', `No instrument ${name} edition ${String(edition)}`);
    if (row.kind !== 'form') throw fail('unprocessable', `${name} is a series: submit each of its forms`);
    if (row.retired_at) throw fail('instrument_retired', `${name} edition ${String(edition)} is retired and takes no new records`);
    return (await this.definition(name, edition as number)) as FormInstrument;
  }

  /** Checks a definition without storing it (the playground). Series are checked against stored forms. */
  async validate(ctx: AuthContext, def: unknown) {
    requireAuthenticated(ctx);
    return this.check(def);
  }

  private async check(def: unknown) {
    const refs: { name: string; edition: number }[] = [];
    if (def && typeof def === 'object' && (def as { kind?: unknown }).kind === 'series' && Array.isArray((def as { content?: unknown }).content)) {
      for (const e of (def as { content: unknown[] }).content.slice(0, 100)) {
        const { name, edition } = (e ?? {}) as { name?: unknown; edition?: unknown };
        if (typeof name === 'string' && NAME_RE.test(name) && Number.isSafeInteger(edition) && (edition as number) > 0 && (edition as number) < 2 ** 31) refs.push({ name, edition: edition as number });
      }
    }
    const forms = await instrumentsStore.forms(this.db, refs);
    return validateDefinition(def, {
      resolveForm: (name, edition) => forms.find((f) => f.name === name && f.edition === edition)?.definition as InstrumentDefinition | undefined,
    });
  }

  /**
   * Publishes a definition. `expectName` set means "a new edition of this instrument" (the name
   * must exist and the edition must be newer); unset means "a new instrument" (the name must be free).
   */
  async publish(ctx: AuthContext, def: unknown, opts: { expectName?: string } = {}) {
    requireScope(ctx, 'instruments:manage');
    const result = await this.check(def);
    if (!result.ok) throw fail('invalid_instrument_definition', `The definition has ${result.errors.length} error(s); the first: ${result.errors[0]!.pointer || '/'} ${result.errors[0]!.message}`, { errors: result.errors });
    const d = result.definition;
    if (d.edition >= 2 ** 31) throw fail('invalid_instrument_definition', 'edition is too large', { errors: [{ pointer: '/edition', message: 'must be below 2147483648' }] });
    if (opts.expectName !== undefined && d.name !== opts.expectName) {
      throw fail('invalid_instrument_definition', `The definition is named ${d.name}, not ${opts.expectName}`, { errors: [{ pointer: '/name', message: `must be ${opts.expectName}` }] });
    }
    const json = canonicalJson(d);
    const entries = this.ledger.prepare(ctx, [{ type: 'instrument.published', stream: `instrument:${d.name}`, data: { name: d.name, edition: d.edition, kind: d.kind, definitionHash: jsonHash(json).toString('hex'), definition: d as unknown as Record<string, unknown> } }], { allowSystemTypes: true });
    const actor = actorRef(ctx);
    const now = this.clock.now();
    await this.db.transaction().execute(async (trx) => {
      await instrumentsStore.lockName(trx, d.name);
      const existing = await instrumentsStore.editions(trx, d.name);
      if (opts.expectName === undefined && existing.length) {
        throw fail('conflict', `An instrument named ${d.name} exists; publish a new edition of it instead`, { latestEdition: existing[existing.length - 1]!.edition });
      }
      if (opts.expectName !== undefined) {
        if (!existing.length) throw fail('not_found', 'No such instrument');
        const latest = existing[existing.length - 1]!;
        if (latest.kind !== d.kind) throw fail('invalid_instrument_definition', `${d.name} is a ${latest.kind}; a new edition cannot change its kind`, { errors: [{ pointer: '/kind', message: `must be ${latest.kind}` }] });
        if (d.edition <= latest.edition) {
          throw fail('conflict', `Edition ${d.edition} is not newer than the latest edition (${latest.edition})`, { latestEdition: latest.edition, errors: [{ pointer: '/edition', message: `must be greater than ${latest.edition}` }] });
        }
      }
      await instrumentsStore.insert(trx, { name: d.name, edition: d.edition, kind: d.kind, definition: d, definition_hash: jsonHash(json), source: 'upload', created_by_kind: actor.kind, created_by_id: actor.id, created_at: now, retired_at: null, retired_reason: null });
      await this.ledger.append(ctx, entries, { db: trx });
    });
    this.ledger.notifyAppended();
    return this.edition(ctx, d.name, d.edition);
  }

  async retire(ctx: AuthContext, name: string, edition: number | undefined, reason: string | undefined) {
    requireScope(ctx, 'instruments:manage');
    if (!NAME_RE.test(name)) throw fail('not_found', 'No such instrument');
    if (reason !== undefined && (reason.includes('\u0000') || !reason.isWellFormed())) throw fail('validation_failed', 'The reason contains a NUL character', [{ pointer: '/reason', message: 'invalid character' }]);
    const entriesFor = (editions: number[]) => this.ledger.prepare(ctx, [{ type: 'instrument.retired', stream: `instrument:${name}`, data: { name, editions, reason: reason ?? null } }], { allowSystemTypes: true });
    const retired = await this.db.transaction().execute(async (trx) => {
      await instrumentsStore.lockName(trx, name);
      const existing = await instrumentsStore.editions(trx, name);
      if (!existing.length || (edition !== undefined && !existing.some((e) => e.edition === edition))) throw fail('not_found', 'No such instrument edition');
      const done = await instrumentsStore.retire(trx, name, edition, this.clock.now(), reason ?? null);
      if (done.length) await this.ledger.append(ctx, entriesFor(done.sort((a, b) => a - b)), { db: trx });
      return done;
    });
    if (retired.length) this.ledger.notifyAppended();
    return this.get(ctx, name);
  }

  /**
   * Installs the shipped library: each edition once, whatever the number of starts or servers
   * (insert-if-absent under the name's lock). An installed edition is never overwritten; a library
   * change without a new edition is logged and ignored, because records point at what was stored.
   */
  async installLibrary(log?: Logger): Promise<string[]> {
    const installed: string[] = [];
    for (const def of LIBRARY_INSTRUMENTS) {
      const json = canonicalJson(def);
      const hash = jsonHash(json);
      const done = await this.db.transaction().execute(async (trx) => {
        await instrumentsStore.lockName(trx, def.name);
        const prior = await instrumentsStore.get(trx, def.name, def.edition);
        if (prior) {
          if (!prior.definition_hash.equals(hash)) log?.warn({ instrument: def.name, edition: def.edition }, 'library instrument differs from the installed edition; publish a new edition instead of editing one');
          return false;
        }
        await instrumentsStore.insert(trx, { name: def.name, edition: def.edition, kind: def.kind, definition: def, definition_hash: hash, source: 'library', created_by_kind: 'system', created_by_id: null, created_at: this.clock.now(), retired_at: null, retired_reason: null });
        await this.ledger.append(systemContext, this.ledger.prepare(systemContext, [{ type: 'instrument.published', stream: `instrument:${def.name}`, data: { name: def.name, edition: def.edition, kind: def.kind, definitionHash: hash.toString('hex'), definition: def as unknown as Record<string, unknown>, library: true } }], { allowSystemTypes: true }), { db: trx });
        return true;
      });
      if (done) installed.push(`${def.name}@${def.edition}`);
    }
    if (installed.length) this.ledger.notifyAppended();
    return installed;
  }
}

export { isForm };
