import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';
import { uuidv7 } from 'uuidv7';

/** Time-sortable ids for every row the system creates. */
export const newId = (): string => uuidv7();

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => UUID_RE.test(s);

/** A high-entropy secret, URL-safe. 32 bytes unless told. */
export const randomSecret = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/**
 * High-entropy secrets (tokens, client secrets) are stored as SHA-256: a slow KDF buys nothing
 * against 256 random bits and would cost every request. Passwords use argon2id instead.
 */
export const sha256 = (s: string | Buffer): Buffer => createHash('sha256').update(s).digest();
export const sha256Hex = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
