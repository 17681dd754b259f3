import { useTranslation } from 'react-i18next';
import { useSession, useUser } from '../session.js';
import { BareLayout } from '../components/Shell.js';
import { Alert, Button } from '../components/ui.js';
import { TotpSection } from '../account/TotpSection.js';

/** Shown instead of the app while an admin's "require two-step" policy applies to this user. */
export function EnrolRequiredPage() {
  const { t } = useTranslation();
  const { signOut } = useSession();
  const { user } = useUser();
  return (
    <BareLayout>
      <div className="stack narrow-wide">
        <h1>{t('account.totp.title')}</h1>
        <Alert kind="warning">{t('account.totp.required')}</Alert>
        <TotpSection />
        <p className="muted small">
          {t('nav.signedInAs', { username: user.username })} ·{' '}
          <Button variant="ghost" onClick={() => void signOut()}>
            {t('nav.signOut')}
          </Button>
        </p>
      </div>
    </BareLayout>
  );
}
