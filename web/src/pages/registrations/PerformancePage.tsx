import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useLoad } from '../../hooks.js';
import { ErrorAlert, LoadedTable, Section, Spinner } from '../../components/ui.js';
import { LocationPicker } from '../../components/LocationPicker.js';
import { registrations } from './registrations.api.js';
import { BackToQueues, TypeOptions, useTypes } from './common.js';
import { MonthlyChart } from './MonthlyChart.js';

/** The period: an empty end means the server's default (the twelve months up to today). */
function PeriodFilter({ from, to, onChange }: { from: string; to: string; onChange: (from: string, to: string) => void }) {
  const { t } = useTranslation();
  return (
    <>
      <label className="filter">
        {t('registrations.performance.from')} <input type="date" value={from} max={to || undefined} onChange={(e) => onChange(e.target.value, to)} />
      </label>
      <label className="filter">
        {t('registrations.performance.to')} <input type="date" value={to} min={from || undefined} onChange={(e) => onChange(from, e.target.value)} />
      </label>
    </>
  );
}

/**
 * The performance dashboard: the server counts (GET /registrations/stats, within the caller's
 * jurisdiction, over the whole register) and offers the same figures as CSV; this page only draws
 * them. Places are one level below the chosen location (or the caller's area, or the country).
 */
export function PerformancePage() {
  const { t, i18n } = useTranslation();
  const types = useTypes();
  const [type, setType] = useState('');
  const [location, setLocation] = useState<string | null>(null);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const query = { type: type || undefined, location: location ?? undefined, from: from || undefined, to: to || undefined };
  const data = useLoad(() => registrations.stats(query));
  const figures = data.data;
  const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toLocaleString(i18n.language, { maximumFractionDigits: 1 })} %` : '—');
  const series = useMemo(
    () =>
      figures
        ? [
            { label: t('registrations.performance.registered'), values: figures.months.map((m) => m.registered), color: '#2f6d5b' },
            { label: t('registrations.performance.withinYear'), values: figures.months.map((m) => m.withinYear), color: '#b45309' },
          ]
        : [],
    [figures, t],
  );
  const reload = () => setTimeout(() => void data.reload(), 0);

  return (
    <div className="page reg-page">
      <BackToQueues />
      <div className="page-head">
        <h1>{t('registrations.performance.title')}</h1>
        <div className="reg-filters">
          <label className="filter">
            {t('registrations.filters.type')}{' '}
            <select
              value={type}
              onChange={(e) => {
                setType(e.target.value);
                reload();
              }}
            >
              <TypeOptions types={types} any={t('registrations.filters.anyType')} />
            </select>
          </label>
          <LocationPicker
            value={location}
            onChange={(id) => {
              setLocation(id);
              reload();
            }}
            label={t('registrations.filters.location')}
          />
          <PeriodFilter
            from={from}
            to={to}
            onChange={(f, t2) => {
              setFrom(f);
              setTo(t2);
              reload();
            }}
          />
          <a className="btn" href={registrations.statsCsvUrl(query)} download aria-disabled={!figures || figures.total.registered === 0}>
            {t('registrations.performance.csv')}
          </a>
        </div>
      </div>
      <p className="muted">{t('registrations.performance.help')}</p>
      <ErrorAlert error={data.error} />
      {data.loading && <Spinner />}
      {figures && (
        <>
          <p className="muted small" data-testid="period">
            {t('registrations.performance.period', { from: figures.from, to: figures.to, place: figures.root?.name ?? '—' })}
          </p>
          <div className="reg-stats">
            <div className="card">
              <div className="muted small">{t('registrations.performance.registered')}</div>
              <div className="reg-stat-value" data-testid="registered-total">
                {figures.total.registered.toLocaleString(i18n.language)}
              </div>
            </div>
            <div className="card">
              <div className="muted small">{t('registrations.performance.completeness')}</div>
              <div className="reg-stat-value" data-testid="completeness">
                {pct(figures.total.withinYear, figures.total.registered)}
              </div>
            </div>
          </div>
          <Section title={t('registrations.performance.perMonth')}>
            {figures.total.registered ? <MonthlyChart months={figures.months.map((m) => m.month)} series={series} label={t('registrations.performance.perMonth')} monthLabel={t('registrations.performance.month')} /> : <p className="empty">{t('registrations.performance.none')}</p>}
          </Section>
          <Section title={t('registrations.performance.perLocation')}>
            <LoadedTable
              load={{ data: figures.places, loading: false, error: undefined }}
              empty={t('registrations.performance.none')}
              label={t('registrations.performance.perLocation')}
              head={
                <>
                  <th scope="col">{t('registrations.performance.location')}</th>
                  <th scope="col" className="num">
                    {t('registrations.performance.registered')}
                  </th>
                  <th scope="col" className="num">
                    {t('registrations.performance.completeness')}
                  </th>
                </>
              }
              row={(r) => (
                <tr key={r.id}>
                  <td>{r.name}</td>
                  <td className="num">{r.registered.toLocaleString(i18n.language)}</td>
                  <td className="num">{pct(r.withinYear, r.registered)}</td>
                </tr>
              )}
            />
          </Section>
        </>
      )}
    </div>
  );
}
