import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { Registration } from '@cairn/sdk';
import { useLoad } from '../../hooks.js';
import { Alert, Button, DataTable, ErrorAlert, LoadedList, Section, Spinner } from '../../components/ui.js';
import { useLocationNames } from '../../components/registration-fields/LocationInput.js';
import { LocationPicker } from '../../components/LocationPicker.js';
import { registrations } from './registrations.api.js';
import { useTypes } from './common.js';
import { MonthlyChart } from './MonthlyChart.js';

/**
 * Until the server has an aggregate endpoint the figures are computed here from the list API,
 * over at most this many registered records (the page says so when it stops there).
 */
const CAP = 5000;

export interface Figures {
  months: string[];
  byMonth: Map<string, { registered: number; withinYear: number }>;
  byLocation: { id: string | null; registered: number; withinYear: number }[];
  rows: { month: string; location: string | null; registered: number; withinYear: number }[];
  total: number;
  withinYear: number;
}

/**
 * Completeness is the share registered within a year of the event. The list gives no registration
 * date, so "within a year" is "not flagged late-registration" (the type's rule compares the event
 * date with the declaration date); records of types without that rule count as timely.
 */
export function computeFigures(items: Registration[]): Figures {
  const byMonth = new Map<string, { registered: number; withinYear: number }>();
  const byLoc = new Map<string | null, { registered: number; withinYear: number }>();
  const cells = new Map<string, { month: string; location: string | null; registered: number; withinYear: number }>();
  let withinYear = 0;
  for (const r of items) {
    const month = (r.eventDate ?? r.createdAt).slice(0, 7);
    const timely = !r.flags.includes('late-registration');
    const loc = r.eventLocationId ?? r.officeId ?? null;
    const m = byMonth.get(month) ?? { registered: 0, withinYear: 0 };
    m.registered++;
    if (timely) m.withinYear++;
    byMonth.set(month, m);
    const l = byLoc.get(loc) ?? { registered: 0, withinYear: 0 };
    l.registered++;
    if (timely) l.withinYear++;
    byLoc.set(loc, l);
    const key = `${month}|${loc}`;
    const c = cells.get(key) ?? { month, location: loc, registered: 0, withinYear: 0 };
    c.registered++;
    if (timely) c.withinYear++;
    cells.set(key, c);
    if (timely) withinYear++;
  }
  const months = [...byMonth.keys()].sort();
  return {
    months,
    byMonth,
    byLocation: [...byLoc.entries()].map(([id, v]) => ({ id, ...v })).sort((a, b) => b.registered - a.registered),
    rows: [...cells.values()].sort((a, b) => a.month.localeCompare(b.month) || String(a.location).localeCompare(String(b.location))),
    total: items.length,
    withinYear,
  };
}

const csvCell = (v: string | number) => (typeof v === 'number' ? String(v) : /[",\n\r]/.test(v) || /^[=+\-@]/.test(v) ? `"${v.replace(/^([=+\-@])/, "'$1").replace(/"/g, '""')}"` : v);

export function PerformancePage() {
  const { t, i18n } = useTranslation();
  const types = useTypes();
  const [type, setType] = useState('');
  const [location, setLocation] = useState<string | null>(null);
  const data = useLoad(async () => {
    const items: Registration[] = [];
    for await (const r of registrations.iterate({ status: 'registered', type: type || undefined, location: location ?? undefined, limit: 200 })) {
      items.push(r);
      if (items.length >= CAP) break;
    }
    return items;
  });
  const figures = useMemo(() => (data.data ? computeFigures(data.data) : undefined), [data.data]);
  const places = useLocationNames(figures?.byLocation.map((l) => l.id) ?? []);
  const place = (id: string | null) => (id ? (places.get(id) ?? t('registrations.performance.otherPlace')) : t('registrations.performance.unknownPlace'));
  const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toLocaleString(i18n.language, { maximumFractionDigits: 1 })} %` : '—');
  const series = useMemo(
    () =>
      figures
        ? [
            { label: t('registrations.performance.registered'), values: figures.months.map((m) => figures.byMonth.get(m)!.registered), color: '#2f6d5b' },
            { label: t('registrations.performance.withinYear'), values: figures.months.map((m) => figures.byMonth.get(m)!.withinYear), color: '#b45309' },
          ]
        : [],
    [figures, t],
  );

  const download = () => {
    if (!figures) return;
    const lines = [['month', 'location', 'registered', 'registered_within_a_year', 'completeness'].join(',')];
    for (const r of figures.rows) lines.push([r.month, place(r.location), r.registered, r.withinYear, r.registered ? Number((r.withinYear / r.registered).toFixed(4)) : 0].map(csvCell).join(','));
    const blob = new Blob([lines.join('\r\n') + '\r\n'], { type: 'text/csv;charset=utf-8' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `registrations-performance${type ? `-${type}` : ''}.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };

  return (
    <div className="page reg-page">
      <p>
        <Link to="/registrations">← {t('registrations.backToQueues')}</Link>
      </p>
      <div className="page-head">
        <h1>{t('registrations.performance.title')}</h1>
        <div className="reg-filters">
          <label className="filter">
            {t('registrations.filters.type')}{' '}
            <select
              value={type}
              onChange={(e) => {
                setType(e.target.value);
                setTimeout(() => void data.reload(), 0);
              }}
            >
              <option value="">{t('registrations.filters.anyType')}</option>
              {(types.data ?? []).map((ty) => (
                <option key={ty.id} value={ty.id}>
                  {types.label(ty.id)}
                </option>
              ))}
            </select>
          </label>
          <LocationPicker
            value={location}
            onChange={(id) => {
              setLocation(id);
              setTimeout(() => void data.reload(), 0);
            }}
            label={t('registrations.filters.location')}
          />
          <Button onClick={download} disabled={!figures || figures.total === 0}>
            {t('registrations.performance.csv')}
          </Button>
        </div>
      </div>
      <p className="muted">{t('registrations.performance.help')}</p>
      <ErrorAlert error={data.error} />
      {data.loading && <Spinner />}
      {figures && (
        <>
          {figures.total >= CAP && <Alert kind="info">{t('registrations.performance.capped', { count: CAP })}</Alert>}
          <div className="reg-stats">
            <div className="card">
              <div className="muted small">{t('registrations.performance.registered')}</div>
              <div className="reg-stat-value" data-testid="registered-total">
                {figures.total.toLocaleString(i18n.language)}
              </div>
            </div>
            <div className="card">
              <div className="muted small">{t('registrations.performance.completeness')}</div>
              <div className="reg-stat-value" data-testid="completeness">
                {pct(figures.withinYear, figures.total)}
              </div>
            </div>
          </div>
          <Section title={t('registrations.performance.perMonth')}>
            {figures.months.length ? <MonthlyChart months={figures.months} series={series} label={t('registrations.performance.perMonth')} monthLabel={t('registrations.performance.month')} /> : <p className="empty">{t('registrations.performance.none')}</p>}
          </Section>
          <Section title={t('registrations.performance.perLocation')}>
            <LoadedList load={{ data: figures.byLocation, loading: false, error: undefined }} empty={t('registrations.performance.none')}>
              {(rows) => (
                <DataTable label={t('registrations.performance.perLocation')}>
                  <thead>
                    <tr>
                      <th scope="col">{t('registrations.performance.location')}</th>
                      <th scope="col" className="num">
                        {t('registrations.performance.registered')}
                      </th>
                      <th scope="col" className="num">
                        {t('registrations.performance.completeness')}
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((r) => (
                      <tr key={String(r.id)}>
                        <td>{place(r.id)}</td>
                        <td className="num">{r.registered.toLocaleString(i18n.language)}</td>
                        <td className="num">{pct(r.withinYear, r.registered)}</td>
                      </tr>
                    ))}
                  </tbody>
                </DataTable>
              )}
            </LoadedList>
          </Section>
        </>
      )}
    </div>
  );
}
