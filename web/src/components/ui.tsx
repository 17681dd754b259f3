import { useEffect, useId, useLayoutEffect, useRef, useState, type ButtonHTMLAttributes, type InputHTMLAttributes, type ReactNode, type Ref } from 'react';
import { useTranslation } from 'react-i18next';
import { errorText } from '../api.js';

export function Spinner({ label }: { label?: string }) {
  const { t } = useTranslation();
  return (
    <span className="spinner" role="status">
      <span className="spinner-dot" aria-hidden="true" />
      <span className="visually-hidden">{label ?? t('app.loading')}</span>
    </span>
  );
}

export function PageLoading() {
  const { t } = useTranslation();
  return (
    <div className="page-loading">
      <Spinner />
      <span aria-hidden="true">{t('app.loading')}</span>
    </div>
  );
}

type ButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & { pending?: boolean; variant?: 'primary' | 'secondary' | 'danger' | 'ghost' };

export function Button({ pending, variant = 'secondary', className, disabled, children, type = 'button', ...rest }: ButtonProps) {
  const { t } = useTranslation();
  return (
    <button type={type} className={`btn btn-${variant}${className ? ` ${className}` : ''}`} disabled={disabled || pending} aria-busy={pending || undefined} {...rest}>
      {pending && <span className="spinner-dot" aria-hidden="true" />}
      {children}
      {pending && <span className="visually-hidden">{t('common.working')}</span>}
    </button>
  );
}

/**
 * A list loaded with useLoad: a spinner on the first load, the error (or `error`, an action's
 * error shown in the same place), the `empty` message, or the items rendered by `children`
 * (without `empty`, an empty list is rendered by `children` too).
 */
export function LoadedList<T>({ load, error, empty, children }: { load: Loaded<T>; error?: unknown; empty?: string; children: (items: T[]) => ReactNode }) {
  return (
    <>
      {load.loading && !load.data && <Spinner />}
      <ErrorAlert error={error ?? load.error} />
      {load.data && (load.data.length === 0 && empty !== undefined ? <p className="empty">{empty}</p> : children(load.data))}
    </>
  );
}

type Loaded<T> = { data: T[] | undefined; loading: boolean; error: unknown };

/** A table's header cells and, one per item of `rows`, its body rows drawn by `row`. */
type TableParts<T> = { head?: ReactNode; rows?: readonly T[]; row?: (item: T) => ReactNode };

/**
 * A table; `label` names it for screen readers. `head` (the header row's cells) and `rows` with
 * `row` (one `<tr>` an item) draw the usual one-header, one-body table; `children` anything else.
 * On a phone it reflows: each row becomes a block whose cells carry their column's heading
 * (copied from the header row into `data-label`, which styles.css shows before each cell), so
 * nothing scrolls sideways.
 */
export function DataTable<T>({ label, head, rows, row, children }: { label?: string; children?: ReactNode } & TableParts<T>) {
  const ref = useRef<HTMLTableElement>(null);
  useLayoutEffect(() => {
    const table = ref.current;
    if (!table) return;
    const heads = Array.from(table.querySelectorAll('thead tr:first-child > th')).map((th) => th.textContent?.trim() ?? '');
    for (const tr of Array.from(table.querySelectorAll('tbody tr'))) {
      Array.from(tr.children).forEach((cell, i) => {
        const text = heads[i];
        if (text) cell.setAttribute('data-label', text);
        else cell.removeAttribute('data-label');
      });
    }
  });
  return (
    <div className="table-wrap reflow">
      <table className="table" aria-label={label} ref={ref}>
        {head && (
          <thead>
            <tr>{head}</tr>
          </thead>
        )}
        {rows && row && <tbody>{rows.map((item) => row(item))}</tbody>}
        {children}
      </table>
    </div>
  );
}

/** A LoadedList drawn as a DataTable (see both): the spinner, the error, `empty`, or the table of the items. */
export function LoadedTable<T>({ load, error, empty, label, head, row }: { load: Loaded<T>; error?: unknown; empty?: string; label?: string; head: ReactNode; row: (item: T) => ReactNode }) {
  return (
    <LoadedList load={load} error={error} empty={empty}>
      {(items) => <DataTable label={label} head={head} rows={items} row={row} />}
    </LoadedList>
  );
}

/**
 * The inline "are you sure?" step of a destructive action: the question, the action, cancel.
 * `block` lays it out as a panel (page-level actions) rather than inline in a table cell.
 */
type ConfirmProps = { question: string; action: string; pending?: boolean; onConfirm: () => void; onCancel: () => void; block?: boolean };

export function ConfirmInline({ question, action, pending, onConfirm, onCancel, block }: ConfirmProps) {
  const { t } = useTranslation();
  const buttons = (
    <>
      <Button variant="danger" pending={pending} onClick={onConfirm}>
        {action}
      </Button>
      <Button variant="ghost" onClick={onCancel}>
        {t('common.cancel')}
      </Button>
    </>
  );
  if (block) {
    return (
      <div className="confirm" role="group" aria-label={action}>
        <p className="small">{question}</p>
        <div className="row">{buttons}</div>
      </div>
    );
  }
  return (
    <span className="confirm">
      <span className="small">{question}</span>
      {buttons}
    </span>
  );
}

/**
 * An action that asks first: its button (`variant`, named `label` for screen readers) calls
 * `onAsk`; while `open`, ConfirmInline asks in its place. The caller keeps what is being
 * confirmed, so one question at a time shows in a list.
 */
export function ConfirmButton({ open, onAsk, label, variant, ...confirm }: ConfirmProps & { open: boolean; onAsk: () => void; label?: string; variant?: ButtonProps['variant'] }) {
  if (open) return <ConfirmInline {...confirm} />;
  return (
    <Button variant={variant} onClick={onAsk} aria-label={label}>
      {confirm.action}
    </Button>
  );
}

type TextFieldProps = InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: ReactNode; error?: string; ref?: Ref<HTMLInputElement> };

export function TextField({ label, hint, error, id, className, ref, ...input }: TextFieldProps) {
  const autoId = useId();
  const inputId = id ?? autoId;
  const hintId = hint ? `${inputId}-hint` : undefined;
  const errorId = error ? `${inputId}-error` : undefined;
  return (
    <div className={`field${className ? ` ${className}` : ''}`}>
      <label htmlFor={inputId}>{label}</label>
      <input ref={ref} id={inputId} aria-invalid={error ? true : undefined} aria-describedby={[hintId, errorId].filter(Boolean).join(' ') || undefined} {...input} />
      {hint && (
        <p className="field-hint" id={hintId}>
          {hint}
        </p>
      )}
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}

export function Alert({ kind, children }: { kind: 'error' | 'success' | 'info' | 'warning'; children: ReactNode }) {
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** Shows a failed API call's message (translated when we know the code). Renders nothing without an error. */
export function ErrorAlert({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (!error) return null;
  return <Alert kind="error">{errorText(t, error)}</Alert>;
}

export function Section({ title, children, actions, id }: { title: string; children: ReactNode; actions?: ReactNode; id?: string }) {
  const headingId = useId();
  return (
    <section className="card" aria-labelledby={headingId} id={id}>
      <header className="card-header">
        <h2 id={headingId}>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function CopyButton({ text, label }: { text: string; label?: string }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(timer);
  }, [copied]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard API unavailable (plain http on another host): fall back to a selection copy.
      const area = document.createElement('textarea');
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    setCopied(true);
  };
  return (
    <Button onClick={copy} aria-label={label ?? t('common.copy')}>
      <span aria-live="polite">{copied ? t('common.copied') : t('common.copy')}</span>
    </Button>
  );
}

/** A side panel dialog: focus moves in on open, Escape or the close button closes, focus returns. */
export function Drawer({ open, title, onClose, children }: { open: boolean; title: string; onClose: () => void; children: ReactNode }) {
  const { t } = useTranslation();
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  useEffect(() => {
    if (!open) return;
    const previous = document.activeElement as HTMLElement | null;
    ref.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      previous?.focus?.();
    };
  }, [open, onClose]);
  if (!open) return null;
  return (
    <div className="drawer-backdrop" onClick={onClose}>
      <div className="drawer" role="dialog" aria-modal="true" aria-labelledby={titleId} ref={ref} tabIndex={-1} onClick={(e) => e.stopPropagation()}>
        <header className="drawer-header">
          <h2 id={titleId}>{title}</h2>
          <Button variant="ghost" onClick={onClose} aria-label={t('common.close')}>
            ✕
          </Button>
        </header>
        <div className="drawer-body">{children}</div>
      </div>
    </div>
  );
}

/** Formats an ISO timestamp for people, in their language; '—' for none. */
export function DateTime({ value, fallback = '—' }: { value: string | null | undefined; fallback?: string }) {
  const { i18n } = useTranslation();
  if (!value) return <>{fallback}</>;
  const d = new Date(value);
  return (
    <time dateTime={value} title={value}>
      {d.toLocaleString(i18n.language, { dateStyle: 'medium', timeStyle: 'short' })}
    </time>
  );
}
