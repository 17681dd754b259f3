import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { HomeAttention, HomeRecent, HomeTrend } from '@cairn/sdk';
import { api } from '../api.js';
import { useLoad } from '../hooks.js';
import { useUser } from '../session.js';
import { Alert, DateTime, ErrorAlert, Section, Spinner } from '../components/ui.js';
import { Sparkline } from '../components/Sparkline.js';
import './home.css';

const TRENDS = [
  { key: 'subjects', to: '/datahub' },
  { key: 'records', to: '/datahub' },
  { key: 'datasets', to: '/datasets' },
  { key: 'registrations', to: '/registrations' },
] as const;

function recentLink(r: HomeRecent): string {
  if (r.kind === 'record') return `/datahub/records/${r.id}`;
  if (r.kind === 'dataset') return `/datasets/${r.id}`;
  return `/registrations/${r.id}`;
}

function attentionLink(a: HomeAttention): string {
  if (a.kind === 'app_requests') return '/control-centre/requests';
  if (a.kind === 'workqueue') return `/registrations?queue=${encodeURIComponent(a.queue)}`;
  return '/account';
}

/** The start page: the work within the caller's reach (counts, trends, recent changes, what needs them), then the server's health. */
export function HomePage() {
  const { t } = useTranslation();
  const { user, can } = useUser();
  const summary = useLoad(() => api.home.summary());
  const health = useLoad(() => api.system.health());
  const s = summary.data;
  const attentionText = (a: HomeAttention) => {
    switch (a.kind) {
      case 'app_requests':
        return t('people.home.appRequests', { count: a.count });
      case 'workqueue':
        return t('people.home.workqueue', { queue: t(`registrations.queues.${a.queue}`, { defaultValue: a.queue }), count: a.count });
      case 'enrol_totp':
        return t('people.home.enrolTotp');
      case 'recovery_codes_low':
        return t('people.home.recoveryLow', { count: a.count });
    }
  };
  return (
    <div className="page">
      <h1>{t('home.title', { username: user.displayName ?? user.username })}</h1>
      <ErrorAlert error={summary.error} />
      {summary.loading && !s && <Spinner />}
      {s && (
        <>
          <section aria-label={t('people.home.counts')} className="home-tiles">
            {TRENDS.map(({ key, to }) => {
              const trend: HomeTrend | undefined = s.counts[key];
              if (!trend) return null;
              const title = t(`people.home.${key}`);
              return (
                <Link key={key} to={to} className="home-tile card">
                  <span className="home-tile-title">{title}</span>
                  <span className="home-tile-count">{trend.total.toLocaleString()}</span>
                  <Sparkline values={trend.weekly} label={t('people.home.trend', { title, weeks: trend.weekly.length, values: trend.weekly.join(', ') })} />
                  <span className="muted small">{t('people.home.newThisWeek', { count: trend.weekly[trend.weekly.length - 1] ?? 0 })}</span>
                </Link>
              );
            })}
            {s.counts.pendingRequests !== undefined && (
              <Link to="/control-centre/requests" className="home-tile card">
                <span className="home-tile-title">{t('people.home.pendingRequests')}</span>
                <span className="home-tile-count">{s.counts.pendingRequests.toLocaleString()}</span>
              </Link>
            )}
          </section>
          <div className="grid-2">
            <Section title={t('people.home.attention')}>
              {s.attention.length === 0 ? (
                <p className="empty">{t('people.home.attentionNone')}</p>
              ) : (
                <ul className="links">
                  {s.attention.map((a, i) => (
                    <li key={i}>
                      <Link to={attentionLink(a)}>{attentionText(a)} →</Link>
                    </li>
                  ))}
                </ul>
              )}
            </Section>
            <Section title={t('people.home.recent')}>
              {s.recent.length === 0 ? (
                <p className="empty">{t('people.home.recentEmpty')}</p>
              ) : (
                <ul className="home-recent">
                  {s.recent.map((r) => (
                    <li key={`${r.kind}:${r.id}`}>
                      <span className="badge">{t(`people.home.kind.${r.kind}`)}</span>{' '}
                      <Link to={recentLink(r)}>{r.label}</Link> <span className="muted small">{r.detail}</span>{' '}
                      <span className="muted small">
                        <DateTime value={r.at} />
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </Section>
          </div>
        </>
      )}
      <div className="grid-2">
        <Section title={t('home.health')}>
          {health.loading && <Spinner />}
          <ErrorAlert error={health.error} />
          {health.data && (
            <>
              {health.data.database.ok ? (
                <Alert kind="success">{t('home.healthy', { ms: Math.round(health.data.database.latencyMs) })}</Alert>
              ) : (
                <Alert kind="error">{t('home.unhealthy')}</Alert>
              )}
              <p className="muted small">{t('home.version', { version: health.data.version })}</p>
            </>
          )}
        </Section>
        <Section title={t('nav.account')}>
          <ul className="links">
            {can('workspaces:read') && (
              <li>
                <Link to="/workspaces">{t('people.home.workspaces')} →</Link>
              </li>
            )}
            {can('events:read') && (
              <li>
                <Link to="/ledger">{t('home.openLedger')} →</Link>
              </li>
            )}
            <li>
              <Link to="/account">{t('home.openAccount')} →</Link>
            </li>
          </ul>
        </Section>
      </div>
    </div>
  );
}
