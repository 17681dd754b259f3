import type { Kysely } from 'kysely';
import type { Database, Db } from '../database/database.js';
import { AppError, fail } from '../kernel/errors.js';
import { requireAuthenticated, requireScope, type AuthContext } from '../kernel/access.js';
import { sha256 } from '../kernel/ids.js';
import type { CacheBus, ReadThroughCache } from '../kernel/cache.js';
import { canonicalJson } from '../ledger/ledger.hash.js';
import { TYPE_RE, isSystemType, type LedgerService, type PreparedEntry } from '../ledger/ledger.service.js';
import { guardSchema, type SchemaProblem } from './event-types.schema-guard.js';
import { compileType, EVENT_VALIDATION_BUDGET_MS, ValidationBudgetExceeded, type CompiledType } from './event-types.validator.js';
import { eventTypesStore, type EventTypeRow, type EventTypeVersionRow } from './event-types.store.js';

const MAX_DESCRIPTION = 2000;
const CACHE_SIZE = 1000;
/** Problems reported for one batch; enough to fix a client, bounded for a 10,000-event batch. */
const MAX_BATCH_PROBLEMS = 100;
const YIELD_EVERY_MS = 10;

export function presentType(t: EventTypeRow & { versions?: number }) {
  return {
    name: t.name,
    description: t.description,
    latestVersion: t.latest_version,
    versionCount: t.versions ?? t.latest_version,
    ownerAppId: t.owner_app_id,
    createdAt: t.created_at.toISOString(),
  };
}

export function presentVersion(v: EventTypeVersionRow) {
  return {
    version: v.version,
    schema: v.schema,
    schemaHash: v.schema_hash.toString('hex'),
    createdBy: { kind: v.created_by_kind, id: v.created_by_id },
    createdAt: v.created_at.toISOString(),
  };
}

export function checkTypeName(name: unknown, pointer = '/name'): string {
  if (typeof name !== 'string' || name.length > 200 || !TYPE_RE.test(name)) {
    throw fail('validation_failed', 'Event type names are namespaced lower-case names such as calendar.example/event', [{ pointer, message: 'invalid type name' }]);
  }
  if (isSystemType(name)) throw fail('forbidden', `The ${name.split('.')[0]}.* types are Cairn's own`, [{ pointer, message: 'reserved type' }]);
  return name;
}

/**
 * Event types: named, versioned JSON Schemas. Versions are immutable; registering a changed
 * schema adds the next version, registering the latest schema again changes nothing. Every
 * append of a registered type is validated against its latest version (stamped on the entry as
 * typeVersion) through the ledger's beforeAppend hook, so no write path can skip it.
 */
export class EventTypesService {
  /** Compiled validators by "name@version"; versions never change, so entries never go stale. */
  private readonly cache = new Map<string, CompiledType>();

  /** Type name → its latest version, or null for a type nobody registered (most appends). */
  private readonly latest: ReadThroughCache<string, number | null>;

  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly bus: CacheBus,
  ) {
    this.latest = bus.cache(['event_types', 'event_type_versions']);
    ledger.hooks.beforeAppend.push((_ctx, entries, trx) => this.validateBatch(entries, trx));
  }

  async register(ctx: AuthContext, input: { name: string; schema: unknown; description?: string; version?: number }) {
    requireAuthenticated(ctx);
    const appId = ctx.actor.kind === 'app' ? ctx.actor.appId : null;
    if (!appId) requireScope(ctx, 'event-types:manage');
    const name = checkTypeName(input.name);
    const description = input.description ?? '';
    if (typeof description !== 'string' || description.length > MAX_DESCRIPTION) {
      throw fail('validation_failed', `The description is at most ${MAX_DESCRIPTION} characters`, [{ pointer: '/description', message: 'too long' }]);
    }
    const { problems, keyPatterns } = guardSchema(input.schema);
    if (problems.length) throw fail('invalid_schema', `The schema is refused: ${problems[0]!.pointer} ${problems[0]!.message}`, problems);
    const schema = input.schema as Record<string, unknown>;
    try {
      compileType(name, 0, schema, keyPatterns).validate({});
    } catch (e) {
      throw fail('invalid_schema', `The schema cannot be compiled: ${(e as Error).message}`.slice(0, 300), [{ pointer: '/schema', message: 'cannot be compiled' }]);
    }
    const schemaJson = canonicalJson(schema);
    const schemaHash = sha256(schemaJson);

    const result = await this.db.transaction().execute(async (trx) => {
      await eventTypesStore.lockName(trx, name);
      const existing = await eventTypesStore.type(trx, name);
      if (existing) {
        if (appId ? existing.owner_app_id !== appId : false) {
          throw fail('forbidden', `${name} belongs to another app; only it (or an administrator) can add versions`);
        }
        const target = input.version ?? existing.latest_version;
        const current = await eventTypesStore.version(trx, name, target);
        if (current) {
          if (current.schema_hash.equals(schemaHash)) {
            if (input.description !== undefined && description !== existing.description) await eventTypesStore.setDescription(trx, name, description);
            return { created: false, version: current.version };
          }
          if (input.version !== undefined) {
            throw fail('conflict', `Version ${target} of ${name} already exists with a different schema; versions never change: register version ${existing.latest_version + 1} instead`, {
              latestVersion: existing.latest_version,
            });
          }
        } else if (target !== existing.latest_version + 1) {
          throw fail('conflict', `The next version of ${name} is ${existing.latest_version + 1}`, { latestVersion: existing.latest_version });
        }
        const version = existing.latest_version + 1;
        await eventTypesStore.insertVersion(trx, { name, version, schemaJson, schemaHash, byKind: ctx.actor.kind, byId: actorId(ctx) });
        if (input.description !== undefined && description !== existing.description) await eventTypesStore.setDescription(trx, name, description);
        await this.audit(ctx, trx, name, version, schemaHash);
        return { created: true, version };
      }
      if (input.version !== undefined && input.version !== 1) throw fail('conflict', `${name} is new: its first version is 1`, { latestVersion: 0 });
      await eventTypesStore.insertType(trx, { name, description, ownerAppId: appId });
      await eventTypesStore.insertVersion(trx, { name, version: 1, schemaJson, schemaHash, byKind: ctx.actor.kind, byId: actorId(ctx) });
      await this.audit(ctx, trx, name, 1, schemaHash);
      return { created: true, version: 1 };
    });
    if (result.created) {
      this.bus.changed('event_types', 'event_type_versions');
      this.ledger.notifyAppended();
    }
    const t = (await eventTypesStore.type(this.db, name))!;
    return { ...presentType(t), version: result.version, created: result.created, schemaHash: schemaHash.toString('hex') };
  }

  private audit(ctx: AuthContext, trx: Kysely<Database>, name: string, version: number, hash: Buffer) {
    return this.ledger.append(ctx, this.ledger.prepare(ctx, [{ type: 'cairn.event_type.registered', stream: `event-type:${name}`, data: { name, version, schemaHash: hash.toString('hex') } }], { allowSystemTypes: true }), { db: trx });
  }

  async list(ctx: AuthContext) {
    requireAuthenticated(ctx);
    return (await eventTypesStore.types(this.db)).map(presentType);
  }

  async get(ctx: AuthContext, name: string, version?: number) {
    requireAuthenticated(ctx);
    const t = typeof name === 'string' && name.length <= 200 ? await eventTypesStore.type(this.db, name) : undefined;
    if (!t) throw fail('not_found', 'No such event type');
    let versions = await eventTypesStore.versions(this.db, name);
    if (version !== undefined) {
      versions = versions.filter((v) => v.version === version);
      if (!versions.length) throw fail('not_found', `${name} has no version ${version}`);
    }
    return { ...presentType({ ...t, versions: t.latest_version }), versions: versions.map(presentVersion) };
  }

  async exists(name: string, db: Kysely<Database> = this.db): Promise<boolean> {
    return (await eventTypesStore.latest(db, [name])).has(name);
  }

  private async compiled(db: Kysely<Database>, name: string, version: number): Promise<CompiledType> {
    const key = `${name}@${version}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const row = await eventTypesStore.version(db, name, version);
    if (!row) throw new AppError('internal_error', `event type ${key} vanished`);
    const c = compileType(name, version, row.schema, guardSchema(row.schema).keyPatterns);
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, c);
    return c;
  }

  /** Validates every entry of a registered type against its latest version; all or nothing. */
  async validateBatch(entries: PreparedEntry[], db: Kysely<Database>): Promise<void> {
    const names = new Set<string>();
    for (const e of entries) if (!isSystemType(e.type)) names.add(e.type);
    if (!names.size) return;
    // Cached per process and dropped on every committed registration (kernel/cache.ts); inside a
    // caller's transaction, read through, since it may hold a registration not yet committed.
    const latest = db === this.db ? await this.latest.getMany([...names], (missing) => eventTypesStore.latest(db, missing), null) : await eventTypesStore.latest(db, [...names]);
    const validators = new Map<string, CompiledType>();
    for (const [name, version] of latest) if (version !== null) validators.set(name, await this.compiled(db, name, version));
    if (!validators.size) return;
    const problems: SchemaProblem[] = [];
    // A batch of 10,000 events may take longer to check than anyone should hold the event loop:
    // give other requests a turn every YIELD_EVERY_MS. One event has EVENT_VALIDATION_BUDGET_MS.
    let slice = performance.now();
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const v = validators.get(e.type);
      if (!v) continue;
      if (performance.now() - slice > YIELD_EVERY_MS) {
        await new Promise((r) => setImmediate(r));
        slice = performance.now();
      }
      let p: SchemaProblem[] | null;
      try {
        p = v.validate(e.data, EVENT_VALIDATION_BUDGET_MS);
      } catch (err) {
        if (!(err instanceof ValidationBudgetExceeded)) throw err;
        throw fail('validation_budget_exceeded', `Checking /events/${i}/data against its type's schema took more than ${EVENT_VALIDATION_BUDGET_MS} ms; send smaller values`, [{ pointer: `/events/${i}/data`, message: `validation exceeded ${EVENT_VALIDATION_BUDGET_MS} ms` }]);
      }
      if (p) {
        for (const x of p) if (problems.length < MAX_BATCH_PROBLEMS) problems.push({ pointer: `/events/${i}/data${x.pointer}`, message: x.message });
      } else {
        e.typeVersion = v.version;
      }
    }
    if (problems.length) {
      throw fail('schema_violation', `Event data does not match its type's schema: ${problems[0]!.pointer || '/'} ${problems[0]!.message}`, problems);
    }
  }
}

function actorId(ctx: AuthContext): string | null {
  const a = ctx.actor;
  return a.kind === 'user' ? a.userId : a.kind === 'app' ? a.appId : null;
}
