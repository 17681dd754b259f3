import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../session.js';
import { Button } from '../components/ui.js';
import { useOutbox } from './hooks.js';

/**
 * Sign out. Signing out deletes what this person left on the device (docs/offline.md, "Shared
 * devices"), so with unsent items (outbox or drafts) it first says how many and asks.
 */
export function SignOutButton() {
  const { t } = useTranslation();
  const { signOut } = useSession();
  const { items, drafts } = useOutbox();
  const [asking, setAsking] = useState(false);
  const unsent = items.length + drafts;
  if (asking && unsent > 0) {
    return (
      <div className="signout-warning" role="alertdialog" aria-label={t('nav.signOut')}>
        <p className="small">{t('offline.signOut.warning', { count: unsent })}</p>
        <div className="row">
          <Button variant="danger" onClick={() => void signOut()}>
            {t('offline.signOut.confirm')}
          </Button>
          <Button variant="ghost" onClick={() => setAsking(false)}>
            {t('offline.signOut.cancel')}
          </Button>
        </div>
      </div>
    );
  }
  return (
    <Button variant="ghost" onClick={() => (unsent > 0 ? setAsking(true) : void signOut())}>
      {t('nav.signOut')}
    </Button>
  );
}
