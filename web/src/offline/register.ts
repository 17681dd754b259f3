import { Workbox } from 'workbox-window';

/**
 * Registers the service worker vite-plugin-pwa generates (vite.config.ts). It precaches the shell
 * and every page's code, answers navigations with the cached shell, and never answers the API.
 * A new build's worker takes over at once (skipWaiting, clientsClaim): the next navigation or
 * reload gets the new shell, and a page still running the old code reloads itself when it asks for
 * a chunk that is gone (lazyPage.ts).
 */
export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator) || import.meta.env.DEV) return;
  const wb = new Workbox('/sw.js', { scope: '/' });
  window.addEventListener('load', () => {
    void wb.register().catch(() => {
      /* no worker (private mode, http on a non-local host): the app still works online */
    });
  });
}
