import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation } from 'react-router';
import { LanguageSelect } from '../../components/LanguageSelect.js';
import { Logo } from '../../components/Logo.js';

/**
 * The frame of the pages an outsider reaches without an account (public datasets, reviewer
 * links): the brand, the public list, the language and a way to sign in that comes back here.
 */
export function PublicLayout({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const here = useLocation();
  return (
    <div className="public-layout">
      <header className="public-top">
        <Link to="/datasets" className="brand">
          <Logo />
          <span>{t('app.name')}</span>
        </Link>
        <nav className="row">
          <Link to="/datasets">{t('datasets.publicList')}</Link>
          <Link to={`/login?next=${encodeURIComponent(here.pathname + here.search)}`}>{t('datasets.signIn')}</Link>
          <LanguageSelect />
        </nav>
      </header>
      <main id="main" className="public-main">
        {children}
      </main>
    </div>
  );
}
