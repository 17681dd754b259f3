import { useCallback, useState } from 'react';
import { DatahubApi } from '@cairn/sdk';
import { api } from '../../api.js';

/** The data hub client, sharing the web app's transport (cookie session, CSRF, silent refresh). */
export const datahub = new DatahubApi(api.http);

const WS_KEY = 'cairn.datahub.workspace';

/** The workspace the person last worked in, remembered on this device. */
export function useCurrentWorkspace(): [string | null, (id: string) => void] {
  const [id, setId] = useState<string | null>(() => localStorage.getItem(WS_KEY));
  const set = useCallback((next: string) => {
    localStorage.setItem(WS_KEY, next);
    setId(next);
  }, []);
  return [id, set];
}

export { formatBytes } from '../../format.js';

/**
 * How a subject is named on screen: its label when it has one ("P-017"), else its identifier, a
 * derived one (a 64-digit hash) cut to its first 12 characters.
 */
export function subjectName(s: { identifier: string; identifierKind?: string; label?: string | null }): string {
  if (s.label) return s.label;
  return s.identifierKind === 'derived' || s.identifier.length > 20 ? `${s.identifier.slice(0, 12)}…` : s.identifier;
}

/** Least-squares line through (x, y) points; null with fewer than two distinct x. */
export function linearTrend(points: { x: number; y: number }[]): { slope: number; intercept: number } | null {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}
