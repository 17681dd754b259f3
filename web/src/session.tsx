import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { isCairnError, type LoginResponse, type User } from '@cairn/sdk';
import { api } from './api.js';

export type SessionState =
  | { status: 'loading' }
  | { status: 'error'; error: unknown }
  | { status: 'setup' }
  /** expired: the session ended by itself; signedOut: the person clicked "Sign out". */
  | { status: 'anonymous'; expired: boolean; signedOut?: boolean }
  | { status: 'signed-in'; user: User; scopes: string[] };

interface SessionApi {
  state: SessionState;
  /** Re-reads setup state and the signed-in user from the server. */
  reload(): Promise<void>;
  /** After login or setup: the server set the cookies; fetch scopes and enter the app. */
  signedIn(res: LoginResponse): Promise<void>;
  signOut(): Promise<void>;
  updateUser(user: User): void;
}

const SessionContext = createContext<SessionApi | undefined>(undefined);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' });

  const reload = useCallback(async () => {
    try {
      const { needsSetup } = await api.setup.status();
      if (needsSetup) return setState({ status: 'setup' });
      const me = await api.auth.me();
      setState({ status: 'signed-in', user: me.user, scopes: me.scopes });
    } catch (e) {
      if (isCairnError(e) && e.status === 401) setState((s) => ({ status: 'anonymous', expired: s.status === 'signed-in' }));
      else setState({ status: 'error', error: e });
    }
  }, []);

  useEffect(() => {
    api.http.onSessionExpired = () => setState((s) => (s.status === 'signed-in' ? { status: 'anonymous', expired: true } : s));
    api.http.onRefresh = (body) => {
      const user = (body as Partial<LoginResponse> | undefined)?.user;
      if (user) setState((s) => (s.status === 'signed-in' ? { ...s, user } : s));
    };
    // An admin may switch on "require two-step" while we are signed in: re-read the user so the
    // app shows the enrolment page instead of failing calls.
    api.http.onError = (e) => {
      if (e.code === 'totp_enrolment_required') void reload();
    };
    void reload();
    return () => {
      api.http.onSessionExpired = undefined;
      api.http.onRefresh = undefined;
      api.http.onError = undefined;
    };
  }, [reload]);

  const signedIn = useCallback(async (res: LoginResponse) => {
    try {
      const me = await api.auth.me();
      setState({ status: 'signed-in', user: me.user, scopes: me.scopes });
    } catch {
      setState({ status: 'signed-in', user: res.user, scopes: [] });
    }
  }, []);

  const signOut = useCallback(async () => {
    await api.auth.logout().catch(() => {});
    setState({ status: 'anonymous', expired: false, signedOut: true });
  }, []);

  const updateUser = useCallback((user: User) => {
    setState((s) => (s.status === 'signed-in' ? { ...s, user } : s));
  }, []);

  const value = useMemo(() => ({ state, reload, signedIn, signOut, updateUser }), [state, reload, signedIn, signOut, updateUser]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionApi {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** For pages inside the signed-in shell. */
export function useUser(): { user: User; scopes: string[]; can: (scope: string) => boolean } {
  const { state } = useSession();
  if (state.status !== 'signed-in') throw new Error('useUser outside the signed-in shell');
  return { user: state.user, scopes: state.scopes, can: (scope) => state.scopes.includes(scope) };
}
