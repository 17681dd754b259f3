import { useTranslation } from 'react-i18next';
import { useUser } from '../session.js';
import { DateTime, Section } from '../components/ui.js';
import { PasswordSection } from '../account/PasswordSection.js';
import { TotpSection } from '../account/TotpSection.js';
import { TokensSection } from '../account/TokensSection.js';

export function AccountPage() {
  const { t } = useTranslation();
  const { user } = useUser();
  return (
    <div className="page">
      <h1>{t('account.title')}</h1>
      <Section title={t('account.profile')}>
        <dl className="props">
          <dt>{t('account.username')}</dt>
          <dd>{user.username}</dd>
          <dt>{t('account.role')}</dt>
          <dd>{t(`roles.${user.role}`)}</dd>
          <dt>{t('account.memberSince')}</dt>
          <dd>
            <DateTime value={user.createdAt} />
          </dd>
        </dl>
      </Section>
      <div className="grid-2">
        <PasswordSection />
        <TotpSection />
      </div>
      <TokensSection />
    </div>
  );
}
