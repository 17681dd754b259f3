import { lazy, type ComponentType, type LazyExoticComponent } from 'react';

const RELOADED_AT = 'cairn:chunk-reload';

/**
 * A page component loaded on first use, so its code (and the libraries only it needs: uplot,
 * highlight.js, tus-js-client) stays out of the bundle a phone downloads on first visit. Pages are
 * named exports; React.lazy wants a default one. The Suspense fallback is set once for every route
 * in routes.tsx.
 *
 * A chunk fails to load when a new version was deployed since this tab opened (the old hashed
 * files are gone): reload once, which fetches the new index.html (served no-cache) and its chunks.
 * The timestamp guard keeps a chunk that is really missing from reloading in a loop.
 */
export function lazyPage<M extends Record<K, ComponentType<any>>, K extends keyof M & string>(load: () => Promise<M>, name: K): LazyExoticComponent<M[K]> {
  return lazy(async () => {
    try {
      return { default: (await load())[name] };
    } catch (e) {
      const last = Number(sessionStorage.getItem(RELOADED_AT) ?? 0);
      if (Date.now() - last < 10_000) throw e;
      sessionStorage.setItem(RELOADED_AT, String(Date.now()));
      window.location.reload();
      return new Promise<never>(() => {});
    }
  });
}
