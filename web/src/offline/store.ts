import type { User } from '@cairn/sdk';
import { Vault, wipeUser } from './vault.js';

/**
 * The signed-in person's vault, opened when the session starts (session.tsx) and closed when it
 * ends. Only one person's vault is open at a time: another person signing in on this browser opens
 * theirs, and nothing of the first one's is read.
 */
let current: Vault | undefined;
let opening: { userId: string; p: Promise<Vault> } | undefined;
const listeners = new Set<() => void>();

export function vault(): Vault | undefined {
  return current;
}

export async function openVault(userId: string): Promise<Vault> {
  if (current?.userId === userId) return current;
  if (opening?.userId === userId) return opening.p;
  const p = Vault.open(userId).then((v) => {
    current?.close();
    current = v;
    opening = undefined;
    v.subscribe(() => listeners.forEach((fn) => fn()));
    listeners.forEach((fn) => fn());
    return v;
  });
  opening = { userId, p };
  return p;
}

export function closeVault(): void {
  current?.close();
  current = undefined;
  listeners.forEach((fn) => fn());
}

/** Called on every change to the open vault (drafts, outbox) and when it opens or closes. */
export function onVaultChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Signing out: the person's key and rows are deleted, so nothing they left can be read again. */
export async function wipeVault(userId: string): Promise<void> {
  if (current?.userId === userId) {
    await current.flushed();
    closeVault();
  }
  await wipeUser(userId);
}

/**
 * Who was signed in, so the app opens offline on this device without asking the server. Cleared
 * when the session ends (sign-out or expiry): then the app asks for a sign-in, which needs the
 * network. Holds the user and their scopes, nothing secret.
 */
const SESSION_KEY = 'cairn.offline.session';

export function rememberSession(user: User, scopes: string[]): void {
  try {
    localStorage.setItem(SESSION_KEY, JSON.stringify({ user, scopes }));
  } catch {
    /* storage refused: the app then needs the network to open */
  }
}

export function rememberedSession(): { user: User; scopes: string[] } | undefined {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null') as { user?: User; scopes?: unknown } | null;
    return s?.user && typeof s.user.id === 'string' && Array.isArray(s.scopes) ? { user: s.user, scopes: s.scopes as string[] } : undefined;
  } catch {
    return undefined;
  }
}

/** Prefix of the signature pad's redraw previews (registration-fields), removed at sign-out. */
export const SIGNATURE_PREVIEW_PREFIX = 'cairn.signature-preview.';

export function forgetSession(): void {
  localStorage.removeItem(SESSION_KEY);
  // Signature previews (registration-fields): personal data, never left for the next person.
  for (const store of [sessionStorage, localStorage]) {
    for (const key of Object.keys(store)) if (key.startsWith(SIGNATURE_PREVIEW_PREFIX)) store.removeItem(key);
  }
}
