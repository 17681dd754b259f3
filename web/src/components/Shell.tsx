import { useEffect, useState } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useUser } from '../session.js';
import { navItems } from '../nav.js';
import { LanguageSelect } from './LanguageSelect.js';
import { Logo } from './Logo.js';
import { QuickSearch } from './QuickSearch.js';
import { OfflineNotice, OutboxBadge } from '../offline/OutboxBadge.js';
import { SignOutButton } from '../offline/SignOutButton.js';

export function Shell() {
  const { t } = useTranslation();
  const { user, can } = useUser();
  // On a phone the navigation folds behind a menu button; following a link folds it again.
  const [menuOpen, setMenuOpen] = useState(false);
  const { pathname } = useLocation();
  useEffect(() => setMenuOpen(false), [pathname]);
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
        <button type="button" className="menu-button" aria-expanded={menuOpen} aria-controls="mainnav" onClick={() => setMenuOpen((o) => !o)}>
          <span aria-hidden="true">{menuOpen ? '✕' : '☰'}</span> {menuOpen ? t('people.shell.closeMenu') : t('people.shell.menu')}
        </button>
        <nav aria-label={t('nav.main')} id="mainnav" className={`mainnav${menuOpen ? ' open' : ''}`}>
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
