import { api } from '../api.js';
import { startOutbox } from './outbox.js';
import { installReadCache } from './readCache.js';
import { registerServiceWorker } from './register.js';

/** Offline-first capture (docs/offline.md): the service worker, the kept definitions, the outbox. */
export function startOffline(): void {
  registerServiceWorker();
  installReadCache(api.http);
  startOutbox();
}
