import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import './LocationPicker.css';

/** The texts a picker shows around its list, in the caller's language. */
export interface ComboboxTexts {
  placeholder: string;
  clear: string;
  searching: string;
  results: (count: number) => string;
  none: (q: string) => string;
  failed: string;
}

/** What every picker field takes besides its value: label, help, error and form attributes. */
export interface PickerFieldProps {
  label: string;
  hint?: string;
  error?: string;
  required?: boolean;
  disabled?: boolean;
  /** The input's id (a label elsewhere may point at it); generated when absent. */
  id?: string;
  name?: string;
}

export interface ComboboxProps<T> extends PickerFieldProps {
  /** The chosen item's key, or null. */
  value: string | null;
  onChange: (key: string | null, item: T | null) => void;
  /** Answers the items matching typed text ('' when the field is focused empty). */
  search: (q: string) => Promise<T[]>;
  /** Loads the item for a key that came from outside (to show its text). */
  resolve?: (key: string) => Promise<T>;
  itemKey: (item: T) => string;
  /** What the field shows once an item is chosen. */
  itemText: (item: T) => string;
  renderOption: (item: T) => ReactNode;
  texts: ComboboxTexts;
  className?: string;
}

/** Waits this long after the last key before asking the server: one request per pause, not per key. */
const DEBOUNCE_MS = 180;

/**
 * Picks one thing by name as you type (ARIA 1.2 combobox with a listbox popup): arrows move,
 * Enter picks, Escape closes. Answers that arrive out of order are dropped. Works at 390 px: the
 * list is as wide as the field and each option is a full-height touch target. The location and
 * user pickers are this with their own search and option layout.
 */
export function Combobox<T>({ label, value, onChange, search: find, resolve, itemKey, itemText, renderOption, texts, hint, error, required, disabled, id, name, className }: ComboboxProps<T>) {
  const auto = useId();
  const inputId = id ?? `cb-${auto}`;
  const listId = `${inputId}-list`;
  const [text, setText] = useState('');
  const [selected, setSelected] = useState<T | null>(null);
  const [results, setResults] = useState<T[]>([]);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [loading, setLoading] = useState(false);
  const [failed, setFailed] = useState(false);
  const seq = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  // Show the chosen item's text when the value comes from outside; clear when it is reset.
  useEffect(() => {
    if (!value) {
      if (selected) {
        setSelected(null);
        setText('');
      }
      return;
    }
    if (selected && itemKey(selected) === value) return;
    if (!resolve) return;
    let live = true;
    resolve(value)
      .then((item) => {
        if (!live) return;
        setSelected(item);
        setText(itemText(item));
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
      find(q)
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

  function choose(item: T) {
    seq.current++; // a search still in flight must not reopen the list
    clearTimeout(timer.current);
    setSelected(item);
    setText(itemText(item));
    setOpen(false);
    setLoading(false);
    setActive(-1);
    onChange(itemKey(item), item);
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
    <div className={`field location-picker${className ? ` ${className}` : ''}${error ? ' has-error' : ''}`}>
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
          placeholder={texts.placeholder}
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
          <button type="button" className="lp-clear" onClick={clear} aria-label={texts.clear}>
            ×
          </button>
        )}
        <ul id={listId} role="listbox" aria-label={label} className="lp-list" hidden={!open}>
          {results.map((item, i) => (
            <li
              key={itemKey(item)}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              className={i === active ? 'active' : undefined}
              // mousedown, not click: the input's blur must not close the list before the choice lands.
              onMouseDown={(e) => {
                e.preventDefault();
                choose(item);
              }}
              onMouseEnter={() => setActive(i)}
            >
              {renderOption(item)}
            </li>
          ))}
          {open && !results.length && q && (
            <li className="lp-empty" role="presentation">
              {texts.none(q)}
            </li>
          )}
        </ul>
      </div>
      <p className="visually-hidden" role="status" aria-live="polite">
        {loading ? texts.searching : open && results.length ? texts.results(results.length) : ''}
      </p>
      {failed && (
        <p className="field-error" role="alert">
          {texts.failed}
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
