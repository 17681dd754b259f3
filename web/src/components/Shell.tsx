import { NavLink, Outlet } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useUser } from '../session.js';
import { navItems } from '../nav.js';
import { Button } from './ui.js';
import { LanguageSelect } from './LanguageSelect.js';
import { Logo } from './Logo.js';
import { OfflineNotice, OutboxBadge } from '../offline/OutboxBadge.js';
import { SignOutButton } from '../offline/SignOutButton.js';
import { QuickSearch } from './QuickSearch.js';

export function Shell() {
  const { t } = useTranslation();
  const { user, can } = useUser();
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        {t('app.skip')}
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand" aria-label={t('app.name')}>
          <Logo />
          <span>{t('app.name')}</span>
        </NavLink>
        <nav aria-label={t('nav.main')} className="mainnav">
          <ul>
            {navItems
              .filter((item) => !item.requires || can(item.requires))
              .map((item) => (
                <li key={item.to}>
                  <NavLink to={item.to} end={item.end ?? false}>
                    {t(item.label)}
                  </NavLink>
                </li>
              ))}
          </ul>
        </nav>
        {can('registrations:read') && <QuickSearch />}
        <div className="usermenu">
          <LanguageSelect />
          <span className="whoami" title={t('nav.signedInAs', { username: user.username })}>
            <span className="avatar" aria-hidden="true">
              {user.username.slice(0, 1).toUpperCase()}
            </span>
            <span className="whoami-name">{user.username}</span>
            {user.role === 'admin' && <span className="badge">{t('roles.admin')}</span>}
          </span>
          <OutboxBadge />
          <SignOutButton />
        </div>
      </header>
      <main id="main" tabIndex={-1} className="content">
        <OfflineNotice />
        <Outlet />
      </main>
    </div>
  );
}

/** The centred card layout of the signed-out pages (setup, login). */
export function BareLayout({ children }: { children: React.ReactNode }) {
  const { t } = useTranslation();
  return (
    <div className="bare">
      <div className="bare-top">
        <span className="brand">
          <Logo />
          <span>{t('app.name')}</span>
        </span>
        <LanguageSelect />
      </div>
      <main id="main" className="bare-main">
        {children}
      </main>
      <p className="bare-tagline">{t('app.tagline')}</p>
    </div>
  );
}
