import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestApp } from '../../test/harness.js';
import type { Services } from '../services.js';
import { sealCheckpoint, verifyLedger } from './ledger.verify.js';
import { userContext } from '../kernel/access.js';

/**
 * Checkpoints seal by commit: a transaction held open delays only its own entries, and a
 * stream-less entry deleted after the next seal is named by verify, whatever else is running.
 */
let services: Services;
let pool: pg.Pool;
let stop: () => Promise<void>;
const ctx = userContext({ id: '00000000-0000-0000-0000-0000000000cc', username: 'sealer', role: 'admin' }, 'session');

beforeAll(async () => {
  ({ services, pool, stop } = await createTestApp());
});
afterAll(() => stop());

const appendFree = async (n: number, type = 'free.seal') => services.ledger.append(ctx, services.ledger.prepare(ctx, Array.from({ length: n }, (_, i) => ({ type, data: { i } }))));

/** Deletes a row (as someone with SQL access would) and answers a function that puts it back exactly. */
async function deleteRow(id: string): Promise<() => Promise<void>> {
  const c = await pool.connect();
  try {
    const saved = (await c.query('SELECT * FROM ledger_entries WHERE id = $1', [id])).rows[0] as Record<string, unknown>;
    expect(saved).toBeDefined();
    await c.query('DELETE FROM ledger_entries WHERE id = $1', [id]);
    return async () => {
      const cols = Object.keys(saved);
      await pool.query(`INSERT INTO ledger_entries (${cols.join(', ')}) OVERRIDING SYSTEM VALUE VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, cols.map((k) => saved[k]));
    };
  } finally {
    c.release();
  }
}

/** A writing transaction held open (it appended one stream-less entry) until `release` is called. */
function holdOpen() {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let entryId = '';
  let started!: () => void;
  const ready = new Promise<void>((r) => (started = r));
  const done = services.db.transaction().execute(async (trx) => {
    const rows = await services.ledger.append(ctx, services.ledger.prepare(ctx, [{ type: 'free.late', data: { late: true } }]), { db: trx });
    entryId = rows[0]!.id;
    started();
    await gate;
  });
  return { ready, release, done, entryId: () => entryId };
}

describe('commit seals', () => {
  it('a stream-less entry deleted while another transaction is held open is detected once the next seal ran', async () => {
    await appendFree(2);
    await sealCheckpoint(services.db);
    const held = holdOpen();
    await held.ready;
    try {
      const rows = await appendFree(3);
      const sealed = await sealCheckpoint(services.db);
      // Sealed although an older transaction is still open.
      expect(sealed?.sealed).toBe(3);
      expect(await verifyLedger(services.db)).toMatchObject({ ok: true, unsealed: 0 });

      const restore = await deleteRow(rows[1]!.id);
      const r = await verifyLedger(services.db);
      expect(r.ok).toBe(false);
      expect(r.problems).toEqual([expect.objectContaining({ kind: 'checkpoint_mismatch' })]);
      await restore();
      expect((await verifyLedger(services.db)).ok).toBe(true);
    } finally {
      held.release();
      await held.done;
    }

    // The held transaction's own entry, committed late, behind entries already sealed: not sealed
    // yet (reported), then sealed by the next seal, and its deletion detected.
    expect(await verifyLedger(services.db)).toMatchObject({ ok: true, unsealed: 1 });
    expect((await sealCheckpoint(services.db))?.sealed).toBe(1);
    expect(await verifyLedger(services.db)).toMatchObject({ ok: true, unsealed: 0 });
    const restore = await deleteRow(held.entryId());
    expect((await verifyLedger(services.db)).problems).toEqual([expect.objectContaining({ kind: 'checkpoint_mismatch' })]);
    await restore();
    expect((await verifyLedger(services.db)).ok).toBe(true);
  });

  it('the window: an entry committed after the last seal is reported as unsealed until the next seal covers it', async () => {
    await sealCheckpoint(services.db);
    const [row] = await appendFree(1);
    expect(await verifyLedger(services.db)).toMatchObject({ ok: true, unsealed: 1 });
    expect((await sealCheckpoint(services.db))?.sealed).toBe(1);
    expect(await verifyLedger(services.db)).toMatchObject({ ok: true, unsealed: 0 });
    const restore = await deleteRow(row!.id);
    expect((await verifyLedger(services.db)).ok).toBe(false);
    await restore();
  });

  it('every committed entry lands in exactly one seal while writers hold transactions open at random and seals run meanwhile', async () => {
    let writing = true;
    const sealer = (async () => {
      while (writing) {
        await sealCheckpoint(services.db);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    let appended = 0;
    await Promise.all(
      Array.from({ length: 6 }, async (_, w) => {
        for (let i = 0; i < 12; i++) {
          await services.db.transaction().execute(async (trx) => {
            await services.ledger.append(ctx, services.ledger.prepare(ctx, [{ type: 'free.race', data: { w, i } }, { type: 'free.race', data: { w, i, second: true } }]), { db: trx });
            await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 40)));
          });
          appended += 2;
        }
      }),
    );
    writing = false;
    await sealer;
    await sealCheckpoint(services.db);
    const r = await verifyLedger(services.db);
    expect(r.problems).toEqual([]);
    expect(r.unsealed).toBe(0);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ledger_entries WHERE type = 'free.race'`);
    expect(rows[0].n).toBe(appended);
    // The seals' counts add up to every entry: none sealed twice, none left out.
    const sum = await pool.query('SELECT sum(entry_count)::int AS n FROM ledger_checkpoints');
    const all = await pool.query('SELECT count(*)::int AS n FROM ledger_entries');
    expect(sum.rows[0].n).toBe(all.rows[0].n);
  });
});

describe('range seals from before commit seals', () => {
  it('still verify, and commit seals continue after them', async () => {
    const s = await createTestApp();
    try {
      const c = userContext({ id: '00000000-0000-0000-0000-0000000000dd', username: 'old', role: 'admin' }, 'session');
      const early = await s.services.ledger.append(c, s.services.ledger.prepare(c, [1, 2, 3].map((n) => ({ type: 'free.old', data: { n } }))));
      // A seal of the older kind, as the previous version wrote it: a ledger-order range, no snapshot.
      await s.pool.query(`INSERT INTO ledger_checkpoints (upto_tx, upto_position, entry_count, prev_hash, hash)
        SELECT max(tx), (SELECT position FROM ledger_entries ORDER BY tx DESC, position DESC LIMIT 1), count(*), NULL,
               sha256('\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea || string_agg(hash, ''::bytea ORDER BY tx, position))
        FROM ledger_entries`);
      expect((await verifyLedger(s.services.db)).ok).toBe(true);
      const later = await s.services.ledger.append(c, s.services.ledger.prepare(c, [4, 5].map((n) => ({ type: 'free.new', data: { n } }))));
      expect((await sealCheckpoint(s.services.db))?.sealed).toBe(2);
      expect(await verifyLedger(s.services.db)).toMatchObject({ ok: true, unsealed: 0, checkpoints: 2 });
      await s.pool.query('DELETE FROM ledger_entries WHERE id = $1', [later[0]!.id]);
      await s.pool.query('DELETE FROM ledger_entries WHERE id = $1', [early[0]!.id]);
      const r = await verifyLedger(s.services.db);
      expect(r.problems.map((p) => p.kind)).toEqual(['checkpoint_mismatch', 'checkpoint_mismatch']);
    } finally {
      await s.stop();
    }
  });
});
