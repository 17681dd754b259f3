import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { Alert } from '../components/ui.js';

/** What a form shows once its submission went to the outbox instead of the server. */
export function Queued({ children }: { children?: ReactNode }) {
  const { t } = useTranslation();
  return (
    <>
      <Alert kind="info">
        <strong>{t('offline.queued.title')}</strong> {t('offline.queued.body')}
      </Alert>
      <div className="row" data-testid="queued">
        <Link className="btn btn-primary" to="/outbox">
          {t('offline.queued.open')}
        </Link>
        {children}
      </div>
    </>
  );
}
