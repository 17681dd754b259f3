import { useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../../api.js';

/** A place of the administrative tree, as GET /api/v1/locations answers it. */
export interface Place {
  id: string;
  name: string;
  kind: 'area' | 'office';
  externalId: string | null;
  parentId: string | null;
  /** Names of the ancestors, nearest first. */
  ancestors: string[];
}

export const placeLabel = (p: Place) => [p.name, ...p.ancestors].join(', ');

const names = new Map<string, Promise<Place | null>>();

function fetchPlace(id: string): Promise<Place | null> {
  let p = names.get(id);
  if (!p) {
    p = api.http.get<{ location: Place }>(`/api/v1/locations/${encodeURIComponent(id)}`).then(
      (r) => r.location,
      () => null,
    );
    names.set(id, p);
  }
  return p;
}

/** Labels ("Ward 3, Kigali, Rwanda") of the given location ids, fetched once per page load. */
export function useLocationNames(ids: (string | null | undefined)[]): Map<string, string> {
  const key = [...new Set(ids.filter((x): x is string => !!x))].sort().join(',');
  const [map, setMap] = useState<Map<string, string>>(new Map());
  useEffect(() => {
    if (!key) return;
    let live = true;
    void Promise.all(key.split(',').map(async (id) => [id, await fetchPlace(id)] as const)).then((pairs) => {
      if (!live) return;
      setMap(new Map(pairs.filter((x): x is readonly [string, Place] => !!x[1]).map(([id, p]) => [id, placeLabel(p)])));
    });
    return () => {
      live = false;
    };
  }, [key]);
  return map;
}

/**
 * A location picked by name as the person types (the server searches the whole tree, accents and
 * case ignored, so it stays fast with 100,000 places); the answer is the location's id.
 * This is the registration forms' seam for the shared LocationPicker: when that component lands,
 * it can take this one's place without the forms changing.
 */
export function LocationInput({ id, value, onChange, kind, disabled, describedBy, label }: { id: string; value: string | undefined; onChange: (v: string | undefined) => void; kind: 'area' | 'office' | 'any'; disabled?: boolean; describedBy?: string; label: string }) {
  const { t } = useTranslation();
  const listId = useId();
  const [current, setCurrent] = useState<Place | null>(null);
  const [query, setQuery] = useState('');
  const [options, setOptions] = useState<Place[]>([]);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const seq = useRef(0);

  useEffect(() => {
    if (!value) return setCurrent(null);
    let live = true;
    void fetchPlace(value).then((p) => {
      if (!live) return;
      setCurrent(p);
      if (p) setQuery(p.name);
    });
    return () => {
      live = false;
    };
  }, [value]);

  useEffect(() => {
    const q = query.trim();
    if (!open || !q || (current && current.name === query)) return setOptions([]);
    const n = ++seq.current;
    const timer = setTimeout(() => {
      void api.http
        .get<{ locations: Place[] }>('/api/v1/locations', { q, kind: kind === 'any' ? undefined : kind, limit: 10 })
        .then((r) => n === seq.current && (setOptions(r.locations), setActive(-1)))
        .catch(() => n === seq.current && setOptions([]));
    }, 150);
    return () => clearTimeout(timer);
  }, [query, open, kind, current]);

  if (disabled) return <span>{current ? placeLabel(current) : (value ?? '—')}</span>;
  const choose = (p: Place) => {
    setCurrent(p);
    setQuery(p.name);
    setOpen(false);
    setOptions([]);
    onChange(p.id);
  };
  return (
    <div className="location-input">
      <input
        id={id}
        type="search"
        role="combobox"
        aria-expanded={options.length > 0}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={active >= 0 ? `${listId}-${active}` : undefined}
        aria-describedby={describedBy}
        autoComplete="off"
        placeholder={t('registrations.fields.locationSearch')}
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setOpen(true);
          if (value) onChange(undefined);
        }}
        onKeyDown={(e) => {
          if (!options.length) return;
          if (e.key === 'ArrowDown') setActive((a) => Math.min(options.length - 1, a + 1));
          else if (e.key === 'ArrowUp') setActive((a) => Math.max(0, a - 1));
          else if (e.key === 'Enter' && active >= 0) choose(options[active]!);
          else if (e.key === 'Escape') setOptions([]);
          else return;
          e.preventDefault();
        }}
      />
      {options.length > 0 && (
        <ul id={listId} role="listbox" aria-label={label} className="location-options">
          {options.map((p, i) => (
            <li key={p.id} id={`${listId}-${i}`} role="option" aria-selected={i === active} onMouseDown={(e) => e.preventDefault()} onClick={() => choose(p)}>
              {p.name} {p.ancestors.length > 0 && <span className="muted small">{p.ancestors.join(', ')}</span>}
            </li>
          ))}
        </ul>
      )}
      {current && current.ancestors.length > 0 && <p className="field-hint">{placeLabel(current)}</p>}
    </div>
  );
}
