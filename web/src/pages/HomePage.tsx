import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { api } from '../api.js';
import { useLoad } from '../hooks.js';
import { useUser } from '../session.js';
import { Alert, ErrorAlert, Section, Spinner } from '../components/ui.js';

export function HomePage() {
  const { t } = useTranslation();
  const { user, can } = useUser();
  const health = useLoad(() => api.system.health());
  return (
    <div className="page">
      <h1>{t('home.title', { username: user.username })}</h1>
      <p className="lead">{t('home.intro')}</p>
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
