import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { isCairnError, type LoginResponse, type User } from '@cairn/sdk';
import { api } from './api.js';
import { closeVault, forgetSession, openVault, rememberSession, rememberedSession, wipeVault } from './offline/store.js';

export type SessionState =
  | { status: 'loading' }
  | { status: 'error'; error: unknown }
  | { status: 'setup' }
  /** expired: the session ended by itself; signedOut: the person clicked "Sign out". */
  | { status: 'anonymous'; expired: boolean; signedOut?: boolean }
  /** offline: the server was unreachable and the app opened with the session this device remembers (docs/offline.md). */
  | { status: 'signed-in'; user: User; scopes: string[]; offline?: boolean };

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

/** A session starts: remember it for opening offline, and open the person's vault before any page reads a draft. */
async function enter(user: User, scopes: string[]): Promise<void> {
  rememberSession(user, scopes);
  await openVault(user.id).catch(() => {});
}

/**
 * The session ended by itself (expiry): the device no longer opens offline as this person, but
 * their key and vault stay, so their drafts and outbox are there when they sign in again.
 */
function ended(): void {
  forgetSession();
  closeVault();
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' });
  const stateRef = useRef(state);
  stateRef.current = state;

  const reload = useCallback(async () => {
    try {
      const { needsSetup } = await api.setup.status();
      if (needsSetup) return setState({ status: 'setup' });
      const me = await api.auth.me();
      await enter(me.user, me.scopes);
      setState({ status: 'signed-in', user: me.user, scopes: me.scopes });
    } catch (e) {
      if (isCairnError(e) && e.status === 401) {
        ended();
        setState((s) => ({ status: 'anonymous', expired: s.status === 'signed-in' }));
        return;
      }
      // No network: open with the session this device remembers, and that person's drafts.
      const kept = isCairnError(e) && e.code === 'network_error' ? rememberedSession() : undefined;
      if (kept) {
        await openVault(kept.user.id).catch(() => {});
        setState({ status: 'signed-in', user: kept.user, scopes: kept.scopes, offline: true });
      } else setState({ status: 'error', error: e });
    }
  }, []);

  useEffect(() => {
    api.http.onSessionExpired = () => {
      ended();
      setState((s) => (s.status === 'signed-in' ? { status: 'anonymous', expired: true } : s));
    };
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
      await enter(me.user, me.scopes);
      setState({ status: 'signed-in', user: me.user, scopes: me.scopes });
    } catch {
      await enter(res.user, []);
      setState({ status: 'signed-in', user: res.user, scopes: [] });
    }
  }, []);

  // Signing out ends the person's use of this device: their drafts, outbox and kept definitions
  // are deleted with their key (the sign-out button warns first when something is unsent).
  const signOut = useCallback(async () => {
    const s = stateRef.current;
    if (s.status === 'signed-in') await wipeVault(s.user.id).catch(() => {});
    forgetSession();
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
