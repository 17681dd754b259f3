import { createHash, hash } from 'node:crypto';

/**
 * Canonical JSON (keys sorted by UTF-16 code units, no whitespace, JSON.stringify's number and
 * string forms) so that data read back from jsonb hashes exactly as it did when appended:
 * jsonb reorders keys and may rewrite number notation, but the parsed values survive.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + canonicalJson(value[i]);
    return out + ']';
  }
  const keys = Object.keys(value).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(k) + ':' + canonicalJson(v);
    first = false;
  }
  return out + '}';
}

export class JsonValueError extends Error {
  constructor(
    readonly pointer: string,
    message: string,
  ) {
    super(message);
  }
}

const escapePointer = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');
const badText = (s: string) => s.includes('\u0000') || !s.isWellFormed();

/**
 * canonicalJson and the checks that keep PostgreSQL's jsonb from failing (NUL characters, lone
 * surrogates, non-finite numbers, runaway nesting), in one walk: this is the ingest hot path.
 */
export function canonicalJsonChecked(value: unknown, pointer = '', depth = 0): string {
  if (depth > 64) throw new JsonValueError(pointer || '/', 'nests deeper than 64 levels');
  switch (typeof value) {
    case 'string':
      if (badText(value)) throw new JsonValueError(pointer || '/', 'contains a NUL character or invalid Unicode');
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new JsonValueError(pointer || '/', 'is not a finite number');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + canonicalJsonChecked(value[i], `${pointer}/${i}`, depth + 1);
        return out + ']';
      }
      const keys = Object.keys(value).sort();
      let out = '{';
      let first = true;
      for (const k of keys) {
        const v = (value as Record<string, unknown>)[k];
        if (v === undefined) continue;
        if (badText(k)) throw new JsonValueError(pointer || '/', 'has a key with a NUL character or invalid Unicode');
        out += (first ? '' : ',') + JSON.stringify(k) + ':' + canonicalJsonChecked(v, `${pointer}/${escapePointer(k)}`, depth + 1);
        first = false;
      }
      return out + '}';
    }
    default:
      throw new JsonValueError(pointer || '/', 'is not a JSON value');
  }
}

export const dataHash = (data: unknown): Buffer => hash('sha256', canonicalJson(data), 'buffer');
export const jsonHash = (json: string): Buffer => hash('sha256', json, 'buffer');

export interface HashedFields {
  id: string;
  stream: string | null;
  streamSeq: number | null;
  type: string;
  typeVersion: number | null;
  dataHash: Buffer;
  actorKind: string;
  actorId: string | null;
  occurredAt: Date;
  recordedAt: Date;
  transactionId: string | null;
  prevHash: Buffer | null;
}

/**
 * An entry's hash covers every stored field but the position and writing transaction (assigned
 * by the database) and the data itself, through its hash: that lets a deletion erase data while
 * the chain still verifies, and the erasure is itself a ledger entry verify checks against.
 */
export function entryHash(f: HashedFields): Buffer {
  // One string, one one-shot hash: this runs for every appended entry.
  const fields = JSON.stringify([
    f.id,
    f.stream,
    f.streamSeq,
    f.type,
    f.typeVersion,
    f.actorKind,
    f.actorId,
    f.occurredAt.toISOString(),
    f.recordedAt.toISOString(),
    f.transactionId,
  ]);
  return hash('sha256', `${f.prevHash ? f.prevHash.toString('hex') : ''}|${fields}|${f.dataHash.toString('hex')}`, 'buffer');
}

export function checkpointHash(prev: Buffer | null, entryHashes: Iterable<Buffer>): Buffer {
  const h = createHash('sha256');
  h.update(prev ?? Buffer.alloc(32));
  for (const e of entryHashes) h.update(e);
  return h.digest();
}
