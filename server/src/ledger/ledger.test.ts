import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestApp, setupAdmin } from '../../test/harness.js';
import type { App } from '../app.js';
import type { Services } from '../services.js';
import { sealCheckpoint, verifyLedger } from './ledger.verify.js';
import { userContext } from '../kernel/access.js';
import { systemClock } from '../kernel/clock.js';
import { LedgerService } from './ledger.service.js';

let app: App;
let services: Services;
let pool: pg.Pool;
let stop: () => Promise<void>;
let auth: string;

beforeAll(async () => {
  ({ app, services, pool, stop } = await createTestApp());
  auth = (await setupAdmin(app)).authorization;
});
afterAll(() => stop());

const append = (events: unknown[], authorization = auth) =>
  app.inject({ method: 'POST', url: '/api/v1/events', headers: { authorization }, payload: { events } });

describe('appending', () => {
  it('appends a batch and answers ids and positions', async () => {
    const r = await append([
      { type: 'note.created', stream: 'note-1', data: { text: 'a' } },
      { type: 'note.edited', stream: 'note-1', data: { text: 'b' } },
    ]);
    expect(r.statusCode).toBe(201);
    const { events } = r.json();
    expect(events).toHaveLength(2);
    expect(events[1].position).toBeGreaterThan(events[0].position);
    const got = await app.inject({ url: `/api/v1/events/${events[1].id}`, headers: { authorization: auth } });
    expect(got.json()).toMatchObject({ type: 'note.edited', stream: 'note-1', streamSeq: 2, data: { text: 'b' } });
  });

  it('returns the original result for a repeated transactionId and writes nothing', async () => {
    const first = await append([{ type: 'pay.made', data: { amount: 5 }, transactionId: 'tx-42' }]);
    const again = await append([{ type: 'pay.made', data: { amount: 999 }, transactionId: 'tx-42' }]);
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(200);
    expect(again.json().events[0]).toMatchObject({ id: first.json().events[0].id, replayed: true });
    // The replay answers the original cursor (it answered "" once), so a client can read on from it.
    expect(first.json().events[0].cursor).not.toBe('');
    expect(again.json().events[0].cursor).toBe(first.json().events[0].cursor);
    const after = await app.inject({ url: `/api/v1/events?type=pay.made&after=${encodeURIComponent(again.json().events[0].cursor)}`, headers: { authorization: auth } });
    expect(after.statusCode).toBe(200);
    expect(after.json().events).toHaveLength(0);
    const list = await app.inject({ url: '/api/v1/events?type=pay.made', headers: { authorization: auth } });
    expect(list.json().events).toHaveLength(1);
    expect(list.json().events[0].data).toEqual({ amount: 5 });
  });

  it('concurrent retries of one transactionId write it once', async () => {
    const rs = await Promise.all(Array.from({ length: 8 }, () => append([{ type: 'pay.retry', stream: 'acct-9', data: { n: 1 }, transactionId: 'same' }])));
    expect(new Set(rs.map((r) => r.json().events[0].id)).size).toBe(1);
    const list = await app.inject({ url: '/api/v1/events?type=pay.retry', headers: { authorization: auth } });
    expect(list.json().events).toHaveLength(1);
  });

  it('groups concurrent simple batches, and a failing batch in a group fails alone', async () => {
    // A row the database itself refuses, as a constraint or a full disk would: only in this test database.
    await pool.query(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'poison'; END $$`);
    await pool.query(`CREATE TRIGGER refuse_poison BEFORE INSERT ON ledger_entries FOR EACH ROW WHEN (NEW.type = 'group.poison') EXECUTE FUNCTION refuse_poison()`);
    try {
      const ctx = userContext({ id: '00000000-0000-4000-8000-000000000001', username: 'grouper', role: 'admin' }, 'session');
      const batch = (type: string, n: number) => services.ledger.prepare(ctx, Array.from({ length: n }, (_, i) => ({ type, data: { i } })));
      // Batches that arrive together share statements (one transaction id per statement).
      const together = (await Promise.all(Array.from({ length: 20 }, () => services.ledger.append(ctx, batch('group.warm', 1))))).flat();
      const txs = new Set(together.map((w) => Buffer.from(w.cursor, 'base64url').toString().split('.')[0]));
      expect(txs.size).toBeLessThan(20);
      const results = await Promise.allSettled([
        ...Array.from({ length: 30 }, (_, i) => services.ledger.append(ctx, batch('group.ok', 1 + (i % 3)))),
        services.ledger.append(ctx, batch('group.poison', 2)),
        ...Array.from({ length: 10 }, () => services.ledger.append(ctx, batch('group.ok', 1))),
      ]);
      expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
      expect(results[30]!.status).toBe('rejected');
      const written = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
      const expected = Array.from({ length: 30 }, (_, i) => 1 + (i % 3)).reduce((a, b) => a + b, 0) + 10;
      expect(written).toHaveLength(expected);
      expect(new Set(written.map((w) => w.position)).size).toBe(expected);
      const counts = await pool.query(`SELECT type, count(*)::int AS n FROM ledger_entries WHERE type IN ('group.ok', 'group.poison') GROUP BY type`);
      expect(counts.rows).toEqual([{ type: 'group.ok', n: expected }]);
      // Each answer names its own rows.
      const ids = await pool.query(`SELECT id, position FROM ledger_entries WHERE type = 'group.ok'`);
      const stored = new Map(ids.rows.map((r: { id: string; position: number }) => [r.id, r.position]));
      for (const w of written) expect(stored.get(w.id)).toBe(w.position);
    } finally {
      await pool.query('DROP TRIGGER refuse_poison ON ledger_entries; DROP FUNCTION refuse_poison()');
    }
  });

  it('groups concurrent batches into shared streams: every stream stays a gap-free chain, a failing batch fails alone', async () => {
    await pool.query(`CREATE FUNCTION refuse_poison_s() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'poison'; END $$`);
    await pool.query(`CREATE TRIGGER refuse_poison_s BEFORE INSERT ON ledger_entries FOR EACH ROW WHEN (NEW.type = 'sgroup.poison') EXECUTE FUNCTION refuse_poison_s()`);
    try {
      const ctx = userContext({ id: '00000000-0000-4000-8000-000000000002', username: 'streamer', role: 'admin' }, 'session');
      // 40 batches of 10 events over the same 5 streams, arriving together, plus one poisoned batch.
      const batch = (type: string, b: number) => services.ledger.prepare(ctx, Array.from({ length: 10 }, (_, i) => ({ type, stream: `sg-${i % 5}`, data: { b, i } })));
      const first = (await Promise.all(Array.from({ length: 20 }, (_, b) => services.ledger.append(ctx, batch('sgroup.ok', b))))).flat();
      // Fewer transactions than batches: they were grouped.
      const txs = new Set(first.map((w) => Buffer.from(w.cursor, 'base64url').toString().split('.')[0]));
      expect(txs.size).toBeLessThan(20);
      const results = await Promise.allSettled([
        ...Array.from({ length: 10 }, (_, b) => services.ledger.append(ctx, batch('sgroup.ok', 20 + b))),
        services.ledger.append(ctx, batch('sgroup.poison', 99)),
        ...Array.from({ length: 10 }, (_, b) => services.ledger.append(ctx, batch('sgroup.ok', 30 + b))),
      ]);
      expect(results.map((r) => r.status).filter((s) => s === 'rejected')).toHaveLength(1);
      expect(results[10]!.status).toBe('rejected');
      const written = [...first, ...results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []))];
      expect(written).toHaveLength(400);
      // Each stream: sequences 1..80 in ledger order, each entry's batch order kept, heads agree.
      const rows = await pool.query(`SELECT stream, stream_seq, data FROM ledger_entries WHERE stream LIKE 'sg-%' ORDER BY tx, position`);
      const byStream = new Map<string, { seq: number; b: number; i: number }[]>();
      for (const r of rows.rows) byStream.set(r.stream, [...(byStream.get(r.stream) ?? []), { seq: r.stream_seq, b: r.data.b, i: r.data.i }]);
      expect(byStream.size).toBe(5);
      for (const list of byStream.values()) {
        expect(list.map((e) => e.seq)).toEqual(Array.from({ length: 80 }, (_, k) => k + 1));
        for (let k = 1; k < list.length; k++) if (list[k]!.b === list[k - 1]!.b) expect(list[k]!.i).toBeGreaterThan(list[k - 1]!.i);
      }
      const heads = await pool.query(`SELECT stream, seq FROM ledger_streams WHERE stream LIKE 'sg-%' ORDER BY stream`);
      expect(heads.rows.map((h: { seq: number }) => h.seq)).toEqual([80, 80, 80, 80, 80]);
      expect((await verifyLedger(services.db)).problems).toEqual([]);
    } finally {
      await pool.query('DROP TRIGGER refuse_poison_s ON ledger_entries; DROP FUNCTION refuse_poison_s()');
    }
  });

  it('keeps every stream a gap-free chain when two servers group batches into the same streams', async () => {
    // Each server chains a group on the heads its last group left; the other server moves them
    // meanwhile, so groups find their heads stale (before or while taking the locks) and must
    // fall back to reading them. Nothing may fork, gap or be lost.
    const other = new LedgerService(services.db, systemClock);
    const ctx = userContext({ id: '00000000-0000-4000-8000-000000000003', username: 'twin', role: 'admin' }, 'session');
    const batch = (ledger: LedgerService, b: number) => ledger.prepare(ctx, Array.from({ length: 12 }, (_, i) => ({ type: 'twin.ok', stream: `tw-${(i + b) % 6}`, data: { b, i } })));
    const written: unknown[] = [];
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(Array.from({ length: 16 }, (_, b) => (b % 2 ? other : services.ledger).append(ctx, batch(b % 2 ? other : services.ledger, round * 16 + b))));
      written.push(...results.flat());
    }
    expect(written).toHaveLength(5 * 16 * 12);
    const rows = await pool.query(`SELECT stream, stream_seq, data FROM ledger_entries WHERE stream LIKE 'tw-%' ORDER BY tx, position`);
    const byStream = new Map<string, { seq: number; b: number; i: number }[]>();
    for (const r of rows.rows) byStream.set(r.stream, [...(byStream.get(r.stream) ?? []), { seq: r.stream_seq, b: r.data.b, i: r.data.i }]);
    expect(byStream.size).toBe(6);
    for (const list of byStream.values()) {
      // In ledger order, each stream's sequence runs 1..n without a gap, and each batch keeps its order.
      expect(list.map((e) => e.seq)).toEqual(Array.from({ length: list.length }, (_, k) => k + 1));
      for (let k = 1; k < list.length; k++) if (list[k]!.b === list[k - 1]!.b) expect(list[k]!.i).toBeGreaterThan(list[k - 1]!.i);
    }
    expect([...byStream.values()].reduce((n, l) => n + l.length, 0)).toBe(5 * 16 * 12);
    expect((await verifyLedger(services.db)).problems).toEqual([]);
  });

  it('writes nothing of a batch when one event is bad', async () => {
    const r = await append([
      { type: 'batch.ok', data: { i: 1 } },
      { type: 'batch.ok', data: { bad: 'nul\u0000' } },
    ]);
    expect(r.statusCode).toBe(422);
    expect(r.json().error.details.pointer).toBe('/events/1/data/bad');
    const list = await app.inject({ url: '/api/v1/events?type=batch.ok', headers: { authorization: auth } });
    expect(list.json().events).toHaveLength(0);
  });

  it('refuses reserved system types and malformed names', async () => {
    expect((await append([{ type: 'auth.login', data: {} }])).json().error.code).toBe('forbidden');
    expect((await append([{ type: 'Bad Type', data: {} }])).json().error.code).toBe('validation_failed');
    expect((await append([{ type: 'a.b', data: [] }])).json().error.code).toBe('validation_failed');
    expect((await append([{ type: 'a.b', data: {}, occurredAt: 'yesterday' }])).json().error.code).toBe('validation_failed');
  });

  it('refuses data over 1 MiB', async () => {
    const r = await append([{ type: 'big.blob', data: { s: 'x'.repeat(1024 * 1024 + 10) } }]);
    expect(r.statusCode).toBe(413);
    expect(r.json().error.code).toBe('payload_too_large');
  });
});

describe('reading', () => {
  it('pages with an opaque cursor and filters by type, stream and occurredAt', async () => {
    const evs = Array.from({ length: 25 }, (_, i) => ({ type: 'page.item', stream: 'pages', data: { i }, occurredAt: new Date(Date.UTC(2026, 0, 1 + i)).toISOString() }));
    expect((await append(evs)).statusCode).toBe(201);
    const seen: number[] = [];
    let after: string | undefined;
    for (let guard = 0; guard < 10; guard++) {
      const r = await app.inject({ url: `/api/v1/events?type=page.item&limit=10${after ? `&after=${after}` : ''}`, headers: { authorization: auth } });
      const body = r.json();
      if (!body.events.length) break;
      seen.push(...body.events.map((e: { data: { i: number } }) => e.data.i));
      after = body.next;
    }
    expect(seen).toEqual([...Array(25).keys()]);
    const window = await app.inject({ url: '/api/v1/events?type=page.item&from=2026-01-05T00:00:00Z&to=2026-01-08T00:00:00Z', headers: { authorization: auth } });
    expect(window.json().events.map((e: { data: { i: number } }) => e.data.i)).toEqual([4, 5, 6]);
  });

  it('a listed entry is exactly the entry fetched by id (the list is rendered by PostgreSQL)', async () => {
    await append([{ type: 'same.shape', stream: 'shape-1', data: { n: 1.5, big: 12345678901234, s: 'é\u2028"q"', nested: { b: [1, null, true] } }, occurredAt: '2026-03-04T05:06:07.089Z', transactionId: 'shape-tx' }]);
    const listed = (await app.inject({ url: '/api/v1/events?type=same.shape', headers: { authorization: auth } })).json().events[0];
    const one = (await app.inject({ url: `/api/v1/events/${listed.id}`, headers: { authorization: auth } })).json();
    expect(listed).toEqual(one);
    expect(listed.occurredAt).toBe('2026-03-04T05:06:07.089Z');
    // Early years, nulls and every escape JSON has.
    await append([{ type: 'same.shape2', data: { s: '\\ \b\f\n\r\t \u0001 \u007f \ud83d\ude00' }, occurredAt: '0999-12-31T23:59:59.999Z' }]);
    const early = (await app.inject({ url: '/api/v1/events?type=same.shape2', headers: { authorization: auth } })).json().events[0];
    expect(early).toEqual((await app.inject({ url: `/api/v1/events/${early.id}`, headers: { authorization: auth } })).json());
    expect(early.occurredAt).toBe('0999-12-31T23:59:59.999Z');
    expect(early.stream).toBeNull();
  });

  it('rejects forged cursors with invalid_cursor', async () => {
    for (const bad of ['abc', 'MTIz', Buffer.from('1.x').toString('base64url'), 'A'.repeat(60)]) {
      const r = await app.inject({ url: `/api/v1/events?after=${bad}`, headers: { authorization: auth } });
      expect(r.statusCode).toBe(400);
      expect(r.json().error.code).toBe('invalid_cursor');
    }
  });

  it('members read only their own entries, never the audit trail', async () => {
    await app.inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: auth }, payload: { username: 'mem', password: 'member password 1', role: 'member' } });
    const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'mem', password: 'member password 1' } });
    const member = `Bearer ${login.json().accessToken}`;
    await append([{ type: 'mine.note', data: { x: 1 } }], member);
    const r = await app.inject({ url: '/api/v1/events?limit=1000', headers: { authorization: member } });
    expect(r.json().events.map((e: { type: string }) => e.type)).toEqual(['mine.note']);
    const adminEntry = (await append([{ type: 'admin.note', data: {} }])).json().events[0].id;
    expect((await app.inject({ url: `/api/v1/events/${adminEntry}`, headers: { authorization: member } })).statusCode).toBe(404);
  });
});

describe('the live tail never skips or repeats under concurrent writers', () => {
  it('races writers against a tailing reader', async () => {
    const scope = await services.ledger.readScope(userContext({ id: '00000000-0000-0000-0000-000000000000', username: 'x', role: 'admin' }, 'session'));
    const writers = 8;
    const perWriter = 40;
    const seen: string[] = [];
    let cursor: { tx: string; position: number } | undefined = { tx: '0', position: 0 };
    let done = false;
    const reader = (async () => {
      for (;;) {
        const page = await services.ledger.page(scope, cursor, { type: 'race.tick' }, 50);
        for (const p of page) {
          seen.push(p.entry.id);
          cursor = p.cursor;
        }
        if (done && page.length === 0) {
          // One more read after the writers finished, to drain anything committed last.
          const tail = await services.ledger.page(scope, cursor, { type: 'race.tick' }, 1000);
          if (!tail.length) break;
          for (const p of tail) {
            seen.push(p.entry.id);
            cursor = p.cursor;
          }
        }
      }
    })();
    // Writers hold their transactions open for random times so commits land out of id order.
    const written: string[] = [];
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const client = await pool.connect();
        try {
          for (let i = 0; i < perWriter; i++) {
            const ctx = userContext({ id: '00000000-0000-0000-0000-00000000000' + (w % 10), username: 'w', role: 'admin' }, 'session');
            const ids = await services.ledger.append(ctx, services.ledger.prepare(ctx, [{ type: 'race.tick', stream: i % 3 === 0 ? `s-${w}` : undefined, data: { w, i } }]));
            written.push(...ids.map((r) => r.id));
            if (i % 5 === 0) await client.query('SELECT pg_sleep($1)', [Math.random() * 0.01]);
          }
        } finally {
          client.release();
        }
      }),
    );
    // Also race raw transactions that stay open across other commits.
    done = true;
    await reader;
    const dupes = seen.filter((id, i) => seen.indexOf(id) !== i);
    expect(dupes).toEqual([]);
    expect(seen.length).toBe(written.length);
    expect(new Set(seen).size).toBe(seen.length);
    expect(new Set(seen)).toEqual(new Set(written));
  });

  it('an entry committed late by a long transaction is still delivered after the cursor passed newer ones', async () => {
    const scope = { kind: 'all' } as const;
    const start = await services.ledger.page(scope, { tx: '0', position: 0 }, { type: 'late.one' }, 1000);
    expect(start).toHaveLength(0);
    // Open a transaction, append inside it, but do not commit yet.
    const ctx = userContext({ id: '00000000-0000-0000-0000-0000000000aa', username: 'late', role: 'admin' }, 'session');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = services.db.transaction().execute(async (trx) => {
      await services.ledger.append(ctx, services.ledger.prepare(ctx, [{ type: 'late.one', data: { which: 'slow' } }]), { db: trx });
      await gate;
    });
    await new Promise((r) => setTimeout(r, 50));
    await services.ledger.append(ctx, services.ledger.prepare(ctx, [{ type: 'late.one', data: { which: 'fast' } }]));
    // While the slow transaction is open, the fast entry (newer id) is held back: a reader must
    // not move its cursor past the slow one's place.
    const during = await services.ledger.page(scope, { tx: '0', position: 0 }, { type: 'late.one' }, 1000);
    expect(during).toHaveLength(0);
    release();
    await slow;
    const after = await services.ledger.page(scope, { tx: '0', position: 0 }, { type: 'late.one' }, 1000);
    expect(after.map((p) => (p.entry.data as { which: string }).which)).toEqual(['slow', 'fast']);
  });
});

describe('tamper evidence', () => {
  it('verify passes on an untouched ledger, with and without checkpoints', async () => {
    const first = await verifyLedger(services.db); expect(first.problems).toEqual([]);
    await sealCheckpoint(services.db);
    const r = await verifyLedger(services.db);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.checkpoints).toBeGreaterThan(0);
  });

  it('seals in ledger order when transaction ids cross a power of ten (numeric, not text, order)', async () => {
    const xid = Number((await pool.query('SELECT pg_current_xact_id()::text AS x')).rows[0].x);
    const boundary = 10 ** String(xid + 20).length;
    // Burn transaction ids (one committed transaction each) up to just below the boundary.
    await pool.query(`DO $$ BEGIN FOR i IN 1..${boundary - xid - 3} LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$`);
    for (let i = 0; i < 6; i++) await append([{ type: 'seal.order', data: { i } }]);
    await sealCheckpoint(services.db);
    const cp = (await pool.query('SELECT upto_tx::text AS tx FROM ledger_checkpoints ORDER BY id DESC LIMIT 1')).rows[0];
    expect(Number(cp.tx)).toBeGreaterThanOrEqual(boundary);
    expect((await verifyLedger(services.db)).problems).toEqual([]);
  });

  it('names the entry whose data was changed in SQL', async () => {
    const id = (await append([{ type: 'tamper.target', stream: 'tamper', data: { amount: 10 } }])).json().events[0].id;
    await append([{ type: 'tamper.target', stream: 'tamper', data: { amount: 11 } }]);
    await pool.query(`UPDATE ledger_entries SET data = '{"amount": 1000}' WHERE id = $1`, [id]);
    const r = await app.inject({ method: 'POST', url: '/api/v1/ledger/verify', headers: { authorization: auth } });
    expect(r.json().ok).toBe(false);
    expect(r.json().problems).toContainEqual(expect.objectContaining({ kind: 'data_modified', entryId: id }));
    await pool.query(`UPDATE ledger_entries SET data = '{"amount": 10}' WHERE id = $1`, [id]);
    expect((await verifyLedger(services.db)).ok).toBe(true);
  });

  it('catches a changed field other than data', async () => {
    const id = (await append([{ type: 'tamper.meta', data: { a: 1 } }])).json().events[0].id;
    await pool.query(`UPDATE ledger_entries SET occurred_at = occurred_at - interval '1 day' WHERE id = $1`, [id]);
    const r = await verifyLedger(services.db);
    expect(r.problems).toContainEqual(expect.objectContaining({ kind: 'entry_modified', entryId: id }));
    await pool.query(`UPDATE ledger_entries SET occurred_at = occurred_at + interval '1 day' WHERE id = $1`, [id]);
    expect((await verifyLedger(services.db)).ok).toBe(true);
  });

  it('catches a deleted row inside a stream', async () => {
    const ids = (await append([1, 2, 3].map((n) => ({ type: 'tamper.del', stream: 'del-stream', data: { n } })))).json().events.map((e: { id: string }) => e.id);
    await pool.query('ALTER TABLE ledger_entries DISABLE TRIGGER ALL');
    await pool.query('DELETE FROM ledger_entries WHERE id = $1', [ids[1]]);
    const r = await verifyLedger(services.db);
    expect(r.ok).toBe(false);
    expect(r.problems).toContainEqual(expect.objectContaining({ kind: 'entry_missing', stream: 'del-stream', entryId: ids[2] }));
  });

  it('catches a deleted stream-less row through the checkpoint seal', async () => {
    const { stop: stop2, services: s2, pool: pool2 } = await createTestApp();
    try {
      const ctx = userContext({ id: '00000000-0000-0000-0000-0000000000bb', username: 'x', role: 'admin' }, 'session');
      const rows = await s2.ledger.append(ctx, s2.ledger.prepare(ctx, [1, 2, 3].map((n) => ({ type: 'free.entry', data: { n } }))));
      await sealCheckpoint(s2.db);
      expect((await verifyLedger(s2.db)).ok).toBe(true);
      await pool2.query('DELETE FROM ledger_entries WHERE id = $1', [rows[1]!.id]);
      const r = await verifyLedger(s2.db);
      expect(r.ok).toBe(false);
      expect(r.problems[0]).toMatchObject({ kind: 'checkpoint_mismatch' });
    } finally {
      await stop2();
    }
  });
});

describe('array literal encoding', () => {
  it('reads back exactly what was encoded, whatever the text', async () => {
    const { arrayText } = await import('./ledger.store.js');
    const fc = (await import('fast-check')).default;
    // Quotes, backslashes, braces, commas, spaces, NULL-like words and any Unicode (no NUL, which text cannot hold).
    const text = fc.oneof(fc.string({ unit: fc.constantFrom('"', '\\', '{', '}', ',', ' ', 'a', 'N', 'U', 'L') }), fc.string({ unit: 'grapheme' }), fc.constant('NULL'));
    const values = fc.array(fc.oneof(text.map((s) => s.replaceAll('\u0000', '')), fc.constant(null)), { maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(values, async (xs) => {
        const { rows } = await pool.query<{ a: Array<string | null> }>('SELECT $1::text[] AS a', [`{${xs.map(arrayText).join(',')}}`]);
        expect(rows[0]!.a).toEqual(xs);
      }),
      { numRuns: 300 },
    );
  });
});
