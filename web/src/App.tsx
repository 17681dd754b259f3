import { useEffect } from 'react';
import { Navigate, Route, Routes, useLocation, useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useSession } from './session.js';
import { appRoutes, publicRoutes } from './routes.js';
import { PublicLayout } from './pages/datasets/PublicLayout.js';
import { Shell, BareLayout } from './components/Shell.js';
import { Button, ErrorAlert, PageLoading } from './components/ui.js';
import { SetupPage } from './pages/SetupPage.js';
import { LoginPage } from './pages/LoginPage.js';
import { NotFoundPage } from './pages/NotFoundPage.js';
import { EnrolRequiredPage } from './pages/EnrolRequiredPage.js';

/** Where to go after signing in: only a path on this site (never an open redirect). */
export function safeNext(raw: string | null): string {
  return raw && raw.startsWith('/') && !raw.startsWith('//') && !raw.startsWith('/login') && !raw.startsWith('/setup') ? raw : '/';
}

export function App() {
  const { state, reload } = useSession();
  const { t } = useTranslation();
  const location = useLocation();

  if (state.status === 'loading') return <PageLoading />;

  if (state.status === 'error') {
    return (
      <BareLayout>
        <div className="card narrow">
          <ErrorAlert error={state.error} />
          <Button variant="primary" onClick={() => void reload()}>
            {t('common.retry')}
          </Button>
        </div>
      </BareLayout>
    );
  }

  if (state.status === 'setup') {
    return (
      <Routes>
        <Route path="/setup" element={<SetupPage />} />
        <Route path="*" element={<Navigate to="/setup" replace />} />
      </Routes>
    );
  }

  if (state.status === 'anonymous') {
    const here = location.pathname + location.search;
    return (
      <Routes>
        <Route path="/login" element={<LoginPage expired={state.expired} />} />
        {publicRoutes.map((r) => (
          <Route key={r.path} path={r.path} element={<PublicLayout>{r.element}</PublicLayout>} />
        ))}
        {/* Come back to the page asked for, except after a deliberate sign-out. */}
        <Route path="*" element={<Navigate to={state.signedOut || here === '/' || here.startsWith('/setup') ? '/login' : `/login?next=${encodeURIComponent(here)}`} replace />} />
      </Routes>
    );
  }

  if (state.user.mustEnrolTotp) return <EnrolRequiredPage />;

  const allowed = appRoutes.filter((r) => !r.requires || state.scopes.includes(r.requires));
  return (
    <Routes>
      <Route path="/login" element={<AfterLogin />} />
      <Route path="/setup" element={<Navigate to="/" replace />} />
      <Route element={<Shell />}>
        {allowed.map((r) => (
          <Route key={r.path} path={r.path} element={<TitledPage>{r.element}</TitledPage>} />
        ))}
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}

function AfterLogin() {
  const location = useLocation();
  const navigate = useNavigate();
  useEffect(() => {
    navigate(safeNext(new URLSearchParams(location.search).get('next')), { replace: true });
  }, [location.search, navigate]);
  return <PageLoading />;
}

/** Moves focus to the page on navigation so screen readers announce the new page. */
function TitledPage({ children }: { children: React.ReactNode }) {
  const location = useLocation();
  useEffect(() => {
    const h1 = document.querySelector<HTMLElement>('main h1');
    if (h1) {
      document.title = `${h1.textContent ?? ''} · Cairn`;
    }
  }, [location.pathname]);
  return <>{children}</>;
}
