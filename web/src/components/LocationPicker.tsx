import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { locationLabel, type Location, type LocationKind } from '@cairn/sdk';
import { api } from '../api.js';
import './LocationPicker.css';

export interface LocationPickerProps {
  /** The chosen location's id, or null. */
  value: string | null;
  onChange: (id: string | null, location: Location | null) => void;
  label: string;
  /** Only areas or only offices. */
  kind?: LocationKind;
  /** Only places below this location (its id). */
  within?: string;
  hint?: string;
  error?: string;
  required?: boolean;
  disabled?: boolean;
  /** The input's id (a label elsewhere may point at it); generated when absent. */
  id?: string;
  name?: string;
}

/** Waits this long after the last key before asking the server: one request per pause, not per key. */
const DEBOUNCE_MS = 180;

/**
 * Picks a location by name as you type (ARIA 1.2 combobox with a listbox popup): accents and case
 * do not matter, each choice shows where it is ("Ibombo, Central Province"), arrows move, Enter
 * picks, Escape closes. Answers that arrive out of order are dropped. Works at 390 px: the list is
 * as wide as the field and each option is a full-height touch target.
 */
export function LocationPicker({ value, onChange, label, kind, within, hint, error, required, disabled, id, name }: LocationPickerProps) {
  const { t } = useTranslation();
  const auto = useId();
  const inputId = id ?? `loc-${auto}`;
  const listId = `${inputId}-list`;
  const [text, setText] = useState('');
  const [selected, setSelected] = useState<Location | null>(null);
  const [results, setResults] = useState<Location[]>([]);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [loading, setLoading] = useState(false);
  const [failed, setFailed] = useState(false);
  const seq = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  // Show the chosen location's name (and where it is) when the value comes from outside.
  useEffect(() => {
    if (!value) {
      setSelected(null);
      return;
    }
    if (selected?.id === value) return;
    let live = true;
    api.locations
      .get(value)
      .then((l) => {
        if (!live) return;
        setSelected(l);
        setText(locationLabel(l));
      })
      .catch(() => {});
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);

  useEffect(() => () => clearTimeout(timer.current), []);

  function search(q: string) {
    clearTimeout(timer.current);
    const mine = ++seq.current;
    setLoading(true);
    setFailed(false);
    timer.current = setTimeout(() => {
      api.locations
        .search({ q, kind, within, limit: 10 })
        .then((list) => {
          if (mine !== seq.current) return; // a newer search is under way
          setResults(list);
          setActive(list.length ? 0 : -1);
          setOpen(true);
        })
        .catch(() => {
          if (mine === seq.current) setFailed(true);
        })
        .finally(() => {
          if (mine === seq.current) setLoading(false);
        });
    }, DEBOUNCE_MS);
  }

  function choose(l: Location) {
    seq.current++; // a search still in flight must not reopen the list
    clearTimeout(timer.current);
    setSelected(l);
    setText(locationLabel(l));
    setOpen(false);
    setLoading(false);
    setActive(-1);
    onChange(l.id, l);
  }

  function clear() {
    setSelected(null);
    setText('');
    setResults([]);
    setOpen(false);
    onChange(null, null);
  }

  function onKeyDown(e: KeyboardEvent<HTMLInputElement>) {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (!open) {
        search(selected ? '' : text);
        return;
      }
      setActive((i) => (results.length ? (i + 1) % results.length : -1));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((i) => (results.length ? (i <= 0 ? results.length - 1 : i - 1) : -1));
    } else if (e.key === 'Enter') {
      if (open && active >= 0 && results[active]) {
        e.preventDefault();
        choose(results[active]);
      }
    } else if (e.key === 'Escape') {
      if (open) {
        e.preventDefault();
        setOpen(false);
      }
    }
  }

  const describedBy = [hint ? `${inputId}-hint` : '', error ? `${inputId}-error` : ''].filter(Boolean).join(' ') || undefined;
  const activeId = open && active >= 0 ? `${listId}-${active}` : undefined;
  const q = text.trim();

  return (
    <div className={`field location-picker${error ? ' has-error' : ''}`}>
      <label htmlFor={inputId}>
        {label}
        {required && <span aria-hidden="true"> *</span>}
      </label>
      {hint && (
        <p className="field-hint" id={`${inputId}-hint`}>
          {hint}
        </p>
      )}
      <div className="lp-control">
        <input
          id={inputId}
          name={name}
          type="text"
          role="combobox"
          autoComplete="off"
          spellCheck={false}
          aria-autocomplete="list"
          aria-expanded={open}
          aria-controls={listId}
          aria-activedescendant={activeId}
          aria-describedby={describedBy}
          aria-invalid={error ? true : undefined}
          aria-required={required || undefined}
          placeholder={t('locations.picker.placeholder')}
          value={text}
          disabled={disabled}
          onChange={(e) => {
            setText(e.target.value);
            if (selected) {
              // Typing over a choice starts a new search; the old choice no longer holds.
              setSelected(null);
              onChange(null, null);
            }
            search(e.target.value);
          }}
          onFocus={() => {
            if (!selected && !open) search(text);
          }}
          onBlur={() => setTimeout(() => setOpen(false), 150)}
          onKeyDown={onKeyDown}
        />
        {(text || selected) && !disabled && (
          <button type="button" className="lp-clear" onClick={clear} aria-label={t('locations.picker.clear')}>
            ×
          </button>
        )}
        <ul id={listId} role="listbox" aria-label={label} className="lp-list" hidden={!open}>
          {results.map((l, i) => (
            <li
              key={l.id}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              className={i === active ? 'active' : undefined}
              // mousedown, not click: the input's blur must not close the list before the choice lands.
              onMouseDown={(e) => {
                e.preventDefault();
                choose(l);
              }}
              onMouseEnter={() => setActive(i)}
            >
              <span className="lp-name">{l.name}</span>
              {l.ancestors.length > 0 && <span className="lp-where">{l.ancestors.slice(0, 3).join(', ')}</span>}
              <span className={`lp-kind lp-kind-${l.kind}`}>{t(`locations.picker.kind.${l.kind}`)}</span>
            </li>
          ))}
          {open && !results.length && q && <li className="lp-empty" role="presentation">{t('locations.picker.none', { q })}</li>}
        </ul>
      </div>
      <p className="visually-hidden" role="status" aria-live="polite">
        {loading ? t('locations.picker.searching') : open && results.length ? t('locations.picker.results', { count: results.length }) : ''}
      </p>
      {failed && (
        <p className="field-error" role="alert">
          {t('locations.picker.failed')}
        </p>
      )}
      {error && (
        <p className="field-error" id={`${inputId}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}
