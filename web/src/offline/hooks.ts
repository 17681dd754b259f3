import { useEffect, useState, useSyncExternalStore } from 'react';
import { onSent, outboxItems, recentlySent, type OutboxItem, type SentNote } from './outbox.js';
import { onVaultChange, vault } from './store.js';

/** The open vault's outbox, re-rendered on every change. */
export function useOutbox(): { items: OutboxItem[]; sent: SentNote[]; drafts: number } {
  const [, bump] = useState(0);
  useEffect(() => {
    const a = onVaultChange(() => bump((n) => n + 1));
    const b = onSent(() => bump((n) => n + 1));
    return () => {
      a();
      b();
    };
  }, []);
  return { items: outboxItems(), sent: [...recentlySent()], drafts: vault()?.list('draft').length ?? 0 };
}

function subscribeOnline(fn: () => void) {
  window.addEventListener('online', fn);
  window.addEventListener('offline', fn);
  return () => {
    window.removeEventListener('online', fn);
    window.removeEventListener('offline', fn);
  };
}

export function useOnline(): boolean {
  return useSyncExternalStore(subscribeOnline, () => navigator.onLine);
}
