import { stringify } from 'csv-stringify/sync';
import type { RegistrationFigures as Figures, RegistrationStats } from '@cairn/sdk';
import type { Db } from '../database/database.js';
import type { AuthContext } from '../kernel/access.js';
import type { Clock } from '../kernel/clock.js';
import { AppError, fail } from '../kernel/errors.js';
import type { RegistrationsService } from './registrations.service.js';
import { registrationStatsStore as store } from './registration-stats.store.js';

const DAY = 86_400_000;
/** Longest period one request may cover: the figures stay one index range scan of bounded size. */
const MAX_YEARS = 20;
const isoDay = (d: Date) => d.toISOString().slice(0, 10);

function parseDay(value: string, pointer: string): Date {
  const d = new Date(`${value}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || isoDay(d) !== value) throw fail('validation_failed', `${value} is not a date (YYYY-MM-DD)`, [{ pointer, message: 'not a date' }]);
  return d;
}

const segments = (path: string) => path.split('/').filter(Boolean).length;

export class RegistrationStatsService {
  constructor(
    private readonly db: Db,
    private readonly registrations: RegistrationsService,
    private readonly clock: Clock,
  ) {}

  /**
   * Registered records per month of registration and place within the caller's jurisdiction, and
   * completeness: the share registered within a year of the event. `to` is inclusive; by default
   * the twelve months up to today.
   */
  async stats(ctx: AuthContext, q: { type?: string; from?: string; to?: string; location?: string }): Promise<RegistrationStats> {
    const c = await this.registrations.caller(ctx);
    const today = new Date(`${isoDay(this.clock.now())}T00:00:00Z`);
    const to = q.to ? parseDay(q.to, '/to') : today;
    const from = q.from ? parseDay(q.from, '/from') : new Date(Date.UTC(to.getUTCFullYear(), to.getUTCMonth() - 11, 1));
    if (from > to) throw fail('validation_failed', 'from must not be after to', [{ pointer: '/from', message: 'after to' }]);
    if (to.getTime() - from.getTime() > MAX_YEARS * 366 * DAY) throw fail('validation_failed', `At most ${MAX_YEARS} years at once`, [{ pointer: '/from', message: 'range too long' }]);
    if (q.type) {
      await this.registrations.typeDocument(q.type).catch((e: unknown) => {
        if (e instanceof AppError && e.status === 404) throw fail('validation_failed', `No registration type ${q.type}`, [{ pointer: '/type', message: 'unknown type' }]);
        throw e;
      });
    }
    let root: { id: string; name: string; path: string } | undefined;
    if (q.location) {
      root = await store.workspace(this.db, q.location);
      if (!root) throw fail('validation_failed', 'No such location', [{ pointer: '/location', message: 'unknown location' }]);
    } else if (c.reach !== null) root = await store.workspace(this.db, c.reach.split('/').filter(Boolean).pop()!);
    else root = await store.country(this.db);
    const cells = await store.cells(this.db, {
      from: isoDay(from),
      to: isoDay(new Date(to.getTime() + DAY)),
      type: q.type,
      reach: c.reach,
      placePrefix: q.location ? root!.path : null,
      rootDepth: root ? segments(root.path) : 0,
    });

    const names = await store.names(this.db, [...new Set(cells.map((x) => x.place).filter((p) => /^[0-9a-f-]{36}$/.test(p)))]);
    const placeOf = (p: string) => (p === '' && root ? root.id : p);
    const nameOf = (id: string) => (root && id === root.id ? root.name : (names.get(id) ?? id));
    const months = new Map<string, Figures>();
    for (let m = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1)); m <= to; m = new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 1))) {
      months.set(isoDay(m).slice(0, 7), { registered: 0, withinYear: 0 });
    }
    const places = new Map<string, Figures>();
    const total: Figures = { registered: 0, withinYear: 0 };
    const add = (f: Figures, x: { registered: number; within_year: number }) => {
      f.registered += x.registered;
      f.withinYear += x.within_year;
    };
    for (const x of cells) {
      add(total, x);
      add(months.get(x.month) ?? months.set(x.month, { registered: 0, withinYear: 0 }).get(x.month)!, x);
      const id = placeOf(x.place);
      add(places.get(id) ?? places.set(id, { registered: 0, withinYear: 0 }).get(id)!, x);
    }
    return {
      type: q.type ?? null,
      from: isoDay(from),
      to: isoDay(to),
      root: root ? { id: root.id, name: root.name } : null,
      total,
      months: [...months].map(([month, f]) => ({ month, ...f })),
      places: [...places].map(([id, f]) => ({ id, name: nameOf(id), ...f })).sort((a, b) => b.registered - a.registered || a.name.localeCompare(b.name)),
      cells: cells.map((x) => ({ month: x.month, placeId: placeOf(x.place), registered: x.registered, withinYear: x.within_year })),
    };
  }

  /** The same figures as CSV, one row per month and place (no personal data: counts only). */
  csv(s: RegistrationStats): string {
    const names = new Map(s.places.map((p) => [p.id, p.name]));
    // A spreadsheet must not run a place's name as a formula.
    const text = (v: string) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
    const rows = s.cells.map((x) => [x.month, x.placeId, text(names.get(x.placeId) ?? x.placeId), x.registered, x.withinYear, x.registered ? (x.withinYear / x.registered).toFixed(4) : '']);
    return stringify([['month', 'location_id', 'location', 'registered', 'registered_within_a_year', 'completeness'], ...rows], { record_delimiter: '\r\n' });
  }
}
