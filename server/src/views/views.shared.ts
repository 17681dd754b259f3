import type { Kysely } from 'kysely';
import type { Database, Db } from '../database/database.js';
import { AppError, fail } from '../kernel/errors.js';
import { requireAuthenticated, type AuthContext } from '../kernel/access.js';
import { isUuid } from '../kernel/ids.js';
import { JsonValueError, canonicalJsonChecked } from '../ledger/ledger.hash.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import { isSandboxError } from './sandbox/sandbox.js';
import { viewsStore, type TemplateRow } from './views.store.js';

/**
 * What the views services (templates, instances, runs) share: argument checks, the audit entry,
 * the template lookup and the mapping of sandbox failures to HTTP errors.
 */

export const MAX_INPUT_BYTES = 256 * 1024;

export const bad = (pointer: string, message: string) => fail('validation_failed', message, [{ pointer, message }]);

/** The view's failures keep their own stable codes on the HTTP side. */
export function toAppError(e: unknown): unknown {
  if (isSandboxError(e)) return new AppError(e.code, e.message, undefined, e.retryAfterSeconds ? { 'retry-after': String(e.retryAfterSeconds) } : undefined);
  return e;
}

export function requireApp(ctx: AuthContext) {
  requireAuthenticated(ctx);
  if (ctx.actor.kind !== 'app') throw fail('forbidden', 'Only an app can do this');
  return ctx.actor;
}

/** A view entry in the ledger, in the transaction that made the change. */
export async function audit(ledger: LedgerService, ctx: AuthContext, db: Kysely<Database>, type: string, stream: string, data: Record<string, unknown>) {
  await ledger.append(ctx, ledger.prepare(ctx, [{ type, stream, data }], { allowSystemTypes: true }), { db });
}

export async function templateById(db: Db, id: string): Promise<TemplateRow> {
  const t = isUuid(id) ? await viewsStore.templateById(db, id) : undefined;
  if (!t) throw fail('not_found', 'No such view template');
  return t;
}

/** Checks a JSON argument the database will store or hash, and answers its canonical text. */
export function jsonArgument(value: unknown, pointer: string, maxBytes: number): string {
  let text: string;
  try {
    text = canonicalJsonChecked(value);
  } catch (e) {
    if (e instanceof JsonValueError) throw bad(`${pointer}${e.pointer === '/' ? '' : e.pointer}`, `${pointer.slice(1)} ${e.message}`);
    throw e;
  }
  if (Buffer.byteLength(text, 'utf8') > maxBytes) throw bad(pointer, `${pointer.slice(1)} is larger than ${maxBytes} bytes`);
  return text;
}
