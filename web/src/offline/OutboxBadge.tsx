import { NavLink } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useSession } from '../session.js';
import './offline.css';
import { useOnline, useOutbox } from './hooks.js';

/** The top bar's "Offline" mark and link to the outbox, with how many items wait. */
export function OutboxBadge() {
  const { t } = useTranslation();
  const online = useOnline();
  const { items } = useOutbox();
  const waiting = items.length;
  return (
    <>
      {!online && (
        <span className="badge offline-badge" role="status">
          {t('offline.offline')}
        </span>
      )}
      <NavLink to="/outbox" className="outbox-link" aria-label={waiting ? t('offline.badgeWaiting', { count: waiting }) : t('offline.badge')}>
        {t('offline.badge')}
        {waiting > 0 && <span className="badge" data-testid="outbox-count">{waiting}</span>}
      </NavLink>
    </>
  );
}

/** Shown at the top of every page when the app opened without reaching the server. */
export function OfflineNotice() {
  const { t } = useTranslation();
  const { state } = useSession();
  const online = useOnline();
  if (state.status !== 'signed-in') return null;
  if (state.offline) return <p className="offline-notice" role="status">{t('offline.openedOffline', { username: state.user.username })}</p>;
  if (!online) return <p className="offline-notice" role="status">{t('offline.offlineHint')}</p>;
  return null;
}
