import type { ReactNode } from 'react';

/**
 * One page of the signed-in app. Each area's routes.tsx builds a list of these and web/src/routes.tsx
 * gathers them; the type lives apart so an area never imports the file that imports it.
 * `requires` is the scope needed; without it the page answers "not found" like any unknown path.
 */
export interface AppRoute {
  path: string;
  element: ReactNode;
  requires?: string;
}
