import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

/**
 * What this device keeps for one person (docs/offline.md, "Storage and encryption"): their drafts,
 * their outbox and the definitions they read online, in IndexedDB, each value encrypted with
 * AES-GCM under a key that belongs to that person on this device.
 *
 * The key is a WebCrypto key created non-extractable: script can use it but never read its bytes,
 * and IndexedDB stores it as an opaque handle. It is deleted, with every row, when the person signs
 * out, so what was written cannot be read again by anyone. Rows carry the user id in clear (to
 * list one person's rows) and nothing else readable.
 */

/** `file`: the bytes of a document picked offline, waiting in the outbox to be uploaded (attachments.ts). */
export type RowKind = 'draft' | 'outbox' | 'cache' | 'file';

interface Row {
  /** `${userId}|${kind}|${key}` */
  id: string;
  userId: string;
  kind: RowKind;
  iv: Uint8Array;
  data: ArrayBuffer;
  at: number;
}

interface Schema extends DBSchema {
  keys: { key: string; value: { userId: string; key: CryptoKey } };
  rows: { key: string; value: Row; indexes: { byUser: string; byUserKind: [string, RowKind] } };
}

const DB_NAME = 'cairn-offline';
/** Definitions read online and kept for offline use; the oldest go first past this many. */
const MAX_CACHE_ROWS = 3000;

let dbPromise: Promise<IDBPDatabase<Schema>> | undefined;
function db(): Promise<IDBPDatabase<Schema>> {
  dbPromise ??= openDB<Schema>(DB_NAME, 1, {
    upgrade(d) {
      d.createObjectStore('keys', { keyPath: 'userId' });
      const rows = d.createObjectStore('rows', { keyPath: 'id' });
      rows.createIndex('byUser', 'userId');
      rows.createIndex('byUserKind', ['userId', 'kind']);
    },
  });
  return dbPromise;
}

const rowId = (userId: string, kind: RowKind, key: string) => `${userId}|${kind}|${key}`;
const keyOf = (row: Row) => row.id.slice(row.userId.length + row.kind.length + 2);

async function userKey(userId: string): Promise<CryptoKey> {
  const d = await db();
  const found = await d.get('keys', userId);
  if (found) return found.key;
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  // Two tabs may race to create it: the first stored wins, and both use that one.
  const tx = d.transaction('keys', 'readwrite');
  const again = await tx.store.get(userId);
  if (again) {
    await tx.done;
    return again.key;
  }
  await tx.store.put({ userId, key });
  await tx.done;
  return key;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * One person's vault. Drafts and the outbox are read once when it opens and kept in memory, so a
 * form reads its draft synchronously; every change is written through at once (encrypted),
 * in order.
 */
export class Vault {
  private readonly mem: Record<'draft' | 'outbox', Map<string, unknown>> = { draft: new Map(), outbox: new Map() };
  private writes: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<() => void>();
  private closed = false;

  private constructor(
    readonly userId: string,
    private readonly key: CryptoKey,
  ) {}

  static async open(userId: string): Promise<Vault> {
    const v = new Vault(userId, await userKey(userId));
    const d = await db();
    for (const kind of ['draft', 'outbox'] as const) {
      for (const row of await d.getAllFromIndex('rows', 'byUserKind', [userId, kind])) {
        const value = await v.decrypt(row);
        if (value !== undefined) v.mem[kind].set(keyOf(row), value);
      }
    }
    return v;
  }

  private async encrypt(value: unknown): Promise<{ iv: Uint8Array; data: ArrayBuffer }> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, this.key, enc.encode(JSON.stringify(value)));
    return { iv, data };
  }

  private async decrypt(row: Row): Promise<unknown> {
    try {
      const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: row.iv as Uint8Array<ArrayBuffer> }, this.key, row.data);
      return JSON.parse(dec.decode(plain)) as unknown;
    } catch {
      // Written under a key that no longer exists: unreadable by design.
      return undefined;
    }
  }

  private persist(kind: RowKind, key: string, value: unknown | undefined): Promise<unknown> {
    const id = rowId(this.userId, kind, key);
    // Writes asked for before close() still land; none is accepted after it.
    if (this.closed) return this.writes;
    this.writes = this.writes
      .then(async () => {
        const d = await db();
        if (value === undefined) return d.delete('rows', id);
        const { iv, data } = await this.encrypt(value);
        // Committed at once rather than when the browser notices the transaction is idle: a tab
        // closed right after a keystroke has the best chance of keeping it.
        const tx = d.transaction('rows', 'readwrite');
        void tx.store.put({ id, userId: this.userId, kind, iv, data, at: Date.now() });
        tx.commit();
        return tx.done;
      })
      .catch((e: unknown) => {
        this.failed = e;
      });
    return this.writes;
  }

  /** The last write the device refused (storage full, private mode), for the page to say so. */
  failed: unknown;

  /** Resolves when every change so far is on disk. */
  flushed(): Promise<unknown> {
    return this.writes;
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  private changed() {
    for (const fn of this.listeners) fn();
  }

  get<T>(kind: 'draft' | 'outbox', key: string): T | undefined {
    return this.mem[kind].get(key) as T | undefined;
  }
  list<T>(kind: 'draft' | 'outbox'): Array<[string, T]> {
    return [...this.mem[kind].entries()] as Array<[string, T]>;
  }
  put(kind: 'draft' | 'outbox', key: string, value: unknown): Promise<unknown> {
    this.mem[kind].set(key, value);
    this.changed();
    return this.persist(kind, key, value);
  }
  remove(kind: 'draft' | 'outbox', key: string): Promise<unknown> {
    if (!this.mem[kind].delete(key)) return this.writes;
    this.changed();
    return this.persist(kind, key, undefined);
  }

  async cacheGet<T>(key: string): Promise<T | undefined> {
    const row = await (await db()).get('rows', rowId(this.userId, 'cache', key));
    return row ? ((await this.decrypt(row)) as T | undefined) : undefined;
  }
  cachePut(key: string, value: unknown): Promise<unknown> {
    return this.persist('cache', key, value);
  }

  /** Keeps the definitions cache bounded: the least recently written rows go first. */
  async trimCache(): Promise<void> {
    const d = await db();
    const keys = await d.getAllKeysFromIndex('rows', 'byUserKind', [this.userId, 'cache']);
    if (keys.length <= MAX_CACHE_ROWS) return;
    const rows = await d.getAllFromIndex('rows', 'byUserKind', [this.userId, 'cache']);
    rows.sort((a, b) => a.at - b.at);
    const tx = d.transaction('rows', 'readwrite');
    await Promise.all(rows.slice(0, rows.length - MAX_CACHE_ROWS).map((r) => tx.store.delete(r.id)));
    await tx.done;
  }

  /**
   * Keeps a file's bytes (a photo of a document picked offline), encrypted as they are, under the
   * same key. Not kept in memory: read back only when it is uploaded or shown. Rejects when the
   * device refuses to store it (storage full), so the form can say so instead of losing it.
   */
  filePut(key: string, bytes: ArrayBuffer): Promise<void> {
    if (this.closed) return Promise.reject(new Error('The vault is closed'));
    const id = rowId(this.userId, 'file', key);
    const done = this.writes.then(async () => {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, this.key, bytes);
      const d = await db();
      const tx = d.transaction('rows', 'readwrite');
      void tx.store.put({ id, userId: this.userId, kind: 'file', iv, data, at: Date.now() });
      tx.commit();
      await tx.done;
    });
    this.writes = done.catch(() => undefined);
    return done;
  }
  async fileGet(key: string): Promise<ArrayBuffer | undefined> {
    await this.writes;
    const row = await (await db()).get('rows', rowId(this.userId, 'file', key));
    if (!row) return undefined;
    try {
      return await crypto.subtle.decrypt({ name: 'AES-GCM', iv: row.iv as Uint8Array<ArrayBuffer> }, this.key, row.data);
    } catch {
      return undefined;
    }
  }
  fileRemove(key: string): Promise<unknown> {
    return this.persist('file', key, undefined);
  }
  /** The keys of every file kept for this person. */
  async fileKeys(): Promise<string[]> {
    await this.writes;
    const ids = await (await db()).getAllKeysFromIndex('rows', 'byUserKind', [this.userId, 'file']);
    const prefix = rowId(this.userId, 'file', '');
    return ids.map((id) => String(id).slice(prefix.length));
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
  }
}

/** Deletes a person's key and every row they left on this device: nothing of it can be read again. */
export async function wipeUser(userId: string): Promise<void> {
  const d = await db();
  const tx = d.transaction(['keys', 'rows'], 'readwrite');
  await tx.objectStore('keys').delete(userId);
  let cursor = await tx.objectStore('rows').index('byUser').openCursor(userId);
  while (cursor) {
    await cursor.delete();
    cursor = await cursor.continue();
  }
  await tx.done;
}
