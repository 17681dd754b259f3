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

/** A bad value found by checkedJson: the keys from it up to the top are added as the error unwinds. */
class BadValue {
  readonly path: string[] = [];
  constructor(readonly message: string) {}
}

/**
 * canonicalJson and the checks that keep PostgreSQL's jsonb from failing (NUL characters, lone
 * surrogates, non-finite numbers, runaway nesting), in one walk: this is the ingest hot path.
 * The pointer to a bad value is built only when there is one.
 */
export function canonicalJsonChecked(value: unknown, pointer = ''): string {
  try {
    return checkedJson(value, 0);
  } catch (e) {
    if (!(e instanceof BadValue)) throw e;
    let at = pointer;
    for (let i = e.path.length - 1; i >= 0; i--) at += `/${escapePointer(e.path[i]!)}`;
    throw new JsonValueError(at || '/', e.message);
  }
}

function checkedJson(value: unknown, depth: number): string {
  if (depth > 64) throw new BadValue('nests deeper than 64 levels');
  switch (typeof value) {
    case 'string':
      if (badText(value)) throw new BadValue('contains a NUL character or invalid Unicode');
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new BadValue('is not a finite number');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          try {
            out += (i ? ',' : '') + checkedJson(value[i], depth + 1);
          } catch (e) {
            if (e instanceof BadValue) e.path.push(String(i));
            throw e;
          }
        }
        return out + ']';
      }
      const keys = Object.keys(value).sort();
      let out = '{';
      let first = true;
      for (const k of keys) {
        const v = (value as Record<string, unknown>)[k];
        if (v === undefined) continue;
        if (badText(k)) throw new BadValue('has a key with a NUL character or invalid Unicode');
        try {
          out += (first ? '' : ',') + JSON.stringify(k) + ':' + checkedJson(v, depth + 1);
        } catch (e) {
          if (e instanceof BadValue) e.path.push(k);
          throw e;
        }
        first = false;
      }
      return out + '}';
    }
    default:
      throw new BadValue('is not a JSON value');
  }
}

export const dataHash = (data: unknown): Buffer => hash('sha256', canonicalJson(data), 'buffer');
export const jsonHash = (json: string): Buffer => hash('sha256', json, 'buffer');
export const jsonHashHex = (json: string): string => hash('sha256', json, 'hex');

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

/**
 * entryHash in parts, for appends that fix everything but an entry's place in its stream before
 * taking the stream's lock: `pre` and `post` surround the stream sequence in the hashed text,
 * and chainedHashHex(prev, seq, parts) hashes exactly the text entryHash would. What the
 * stream's head decides (seq, previous hash) is then the only work left while the lock is held.
 */
export interface HashParts {
  pre: string;
  post: string;
}

/**
 * The hashed fields after the stream sequence (type to transactionId), as entryHash writes them;
 * a batch's entries of one type and time share it.
 */
export const entryHashRest = (f: Pick<HashedFields, 'type' | 'typeVersion' | 'actorKind' | 'actorId' | 'occurredAt' | 'recordedAt' | 'transactionId'>): string =>
  // JSON.stringify of the array entryHash hashes, from its fourth element on.
  JSON.stringify([f.type, f.typeVersion, f.actorKind, f.actorId, f.occurredAt.toISOString(), f.recordedAt.toISOString(), f.transactionId]).slice(1);

export const entryHashParts = (id: string, stream: string | null, rest: string, dataHashHex: string): HashParts => ({
  pre: `|[${JSON.stringify(id)},${JSON.stringify(stream)},`,
  post: `,${rest}|${dataHashHex}`,
});

/** The entry's hash (hex) from its parts, its stream sequence and its predecessor's hash (hex; '' for none). */
export const chainedHashHex = (prevHex: string, streamSeq: number | null, parts: HashParts): string =>
  hash('sha256', `${prevHex}${parts.pre}${streamSeq === null ? 'null' : streamSeq}${parts.post}`, 'hex');

export function checkpointHash(prev: Buffer | null, entryHashes: Iterable<Buffer>): Buffer {
  const h = createHash('sha256');
  h.update(prev ?? Buffer.alloc(32));
  for (const e of entryHashes) h.update(e);
  return h.digest();
}
