import { useEffect, useState } from 'react';
import type { Location } from '@cairn/sdk';
import { api } from '../../api.js';
import { LocationPicker } from '../LocationPicker.js';

/** "Kacyiru Hospital, Gasabo, Kigali, Rwanda": the place and every level above it. */
export const placeLabel = (p: Pick<Location, 'name' | 'ancestors'>) => [p.name, ...p.ancestors].join(', ');

const places = new Map<string, Promise<Location | null>>();

function fetchPlace(id: string): Promise<Location | null> {
  let p = places.get(id);
  if (!p) {
    p = api.locations.get(id).catch(() => null);
    places.set(id, p);
  }
  return p;
}

/** Labels of the given location ids, fetched once per page load (for read-only display). */
export function useLocationNames(ids: (string | null | undefined)[]): Map<string, string> {
  const key = [...new Set(ids.filter((x): x is string => !!x))].sort().join(',');
  const [map, setMap] = useState<Map<string, string>>(new Map());
  useEffect(() => {
    if (!key) return;
    let live = true;
    void Promise.all(key.split(',').map(async (id) => [id, await fetchPlace(id)] as const)).then((pairs) => {
      if (!live) return;
      setMap(new Map(pairs.filter((x): x is readonly [string, Location] => !!x[1]).map(([id, p]) => [id, placeLabel(p)])));
    });
    return () => {
      live = false;
    };
  }, [key]);
  return map;
}

/**
 * A location field of a registration form: the shared LocationPicker (search as you type over the
 * whole tree, so it stays fast with 100,000 places), answering the location's id. The picker
 * draws its own label, hint and error.
 */
export function LocationInput({ id, value, onChange, kind, disabled, label, hint, error, required }: { id: string; value: string | undefined; onChange: (v: string | undefined) => void; kind: 'area' | 'office' | 'any'; disabled?: boolean; label: string; hint?: string; error?: string; required?: boolean }) {
  return <LocationPicker id={id} value={value ?? null} onChange={(v) => onChange(v ?? undefined)} label={label} kind={kind === 'any' ? undefined : kind} hint={hint} error={error} required={required} disabled={disabled} />;
}
