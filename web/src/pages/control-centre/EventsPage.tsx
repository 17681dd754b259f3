import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { EventHistory, EventPage, LedgerEntry } from '@cairn/sdk';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { useUser } from '../../session.js';
import { Alert, Button, DateTime, Drawer, ErrorAlert, Spinner } from '../../components/ui.js';
import { ControlCentreLayout, JsonView, ccPath } from './common.js';

export function EventsPage() {
  return (
    <ControlCentreLayout>
      <EventBrowser />
    </ControlCentreLayout>
  );
}

const LIMITS = [25, 50, 100, 250];
const DEFAULT_LIMIT = 50;

interface Filters {
  type: string;
  stream: string;
  /** ISO instants (the URL keeps them unambiguous; the inputs show local time). */
  from: string;
  to: string;
  current: boolean;
  limit: number;
}

function readFilters(p: URLSearchParams): Filters {
  const limit = Number(p.get('limit'));
  return {
    type: p.get('type') ?? '',
    stream: p.get('stream') ?? '',
    from: p.get('from') ?? '',
    to: p.get('to') ?? '',
    current: p.get('current') !== '0',
    limit: LIMITS.includes(limit) ? limit : DEFAULT_LIMIT,
  };
}

function writeFilters(f: Filters): Record<string, string> {
  const q: Record<string, string> = {};
  if (f.type) q.type = f.type;
  if (f.stream) q.stream = f.stream;
  if (f.from) q.from = f.from;
  if (f.to) q.to = f.to;
  if (!f.current) q.current = '0';
  if (f.limit !== DEFAULT_LIMIT) q.limit = String(f.limit);
  return q;
}

/** ISO instant → the value of a datetime-local input, in the browser's time zone. */
function toLocalInput(iso: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value (local time) → ISO instant. */
function fromLocalInput(v: string): string {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function EventBrowser() {
  const [params, setParams] = useSearchParams();
  const filters = readFilters(params);
  return <EventBrowserFor key={JSON.stringify(filters)} filters={filters} onApply={(f) => setParams(writeFilters(f))} />;
}

/**
 * One set of filters (keyed: new filters start again at page 1). Pages follow the server's
 * cursor; the cursors of the pages before are kept to go back.
 */
function EventBrowserFor({ filters, onApply }: { filters: Filters; onApply: (f: Filters) => void }) {
  const { t } = useTranslation();
  const ids = { type: useId(), from: useId(), to: useId(), stream: useId(), current: useId(), limit: useId(), types: useId() };
  const types = useLoad(() => api.eventTypes.list());
  const [form, setForm] = useState({ type: filters.type, stream: filters.stream, from: toLocalInput(filters.from), to: toLocalInput(filters.to), current: filters.current, limit: filters.limit });
  const [formError, setFormError] = useState<string | undefined>();
  // Cursors of the pages visited: trail[i] is the `after` of page i+1 (undefined: the start).
  const [trail, setTrail] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<EventPage | undefined>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>();
  const [selected, setSelected] = useState<LedgerEntry | undefined>();
  const close = useCallback(() => setSelected(undefined), []);
  const after = trail[trail.length - 1];

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setError(undefined);
    api.http
      .get<EventPage>(
        '/api/v1/events',
        { type: filters.type, stream: filters.stream, from: filters.from, to: filters.to, after, limit: filters.limit, current: filters.current ? true : undefined },
        { signal: controller.signal },
      )
      .then((p) => {
        setPage(p);
        setLoading(false);
      })
      .catch((e: unknown) => {
        if (controller.signal.aborted) return;
        setError(e);
        setLoading(false);
      });
    return () => controller.abort();
  }, [filters.type, filters.stream, filters.from, filters.to, filters.current, filters.limit, after]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const from = fromLocalInput(form.from);
    const to = fromLocalInput(form.to);
    if (from && to && from >= to) return setFormError(t('controlCentre.events.badRange'));
    setFormError(undefined);
    onApply({ type: form.type.trim(), stream: form.stream.trim(), from, to, current: form.current, limit: form.limit });
  };
  const reset = () => onApply({ type: '', stream: '', from: '', to: '', current: true, limit: DEFAULT_LIMIT });

  const events = page?.events ?? [];
  // A short page is the end for now (the server may still hand a cursor to resume later).
  const hasNext = !!page?.next && events.length === filters.limit;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  return (
    <>
      <h1>{t('controlCentre.events.title')}</h1>
      <p className="muted">{t('controlCentre.events.intro')}</p>

      <form className="card cc-filters" role="search" aria-label={t('controlCentre.events.title')} onSubmit={submit}>
        <div className="cc-filter-grid">
          <div className="field">
            <label htmlFor={ids.type}>{t('controlCentre.events.type')}</label>
            <input id={ids.type} list={ids.types} value={form.type} placeholder={t('controlCentre.events.anyType')} onChange={(e) => setForm({ ...form, type: e.target.value })} />
            <datalist id={ids.types}>
              {types.data?.map((ty) => (
                <option key={ty.name} value={ty.name} />
              ))}
            </datalist>
          </div>
          <div className="field">
            <label htmlFor={ids.from}>{t('controlCentre.events.from')}</label>
            <input id={ids.from} type="datetime-local" value={form.from} aria-describedby={`${ids.from}-hint`} onChange={(e) => setForm({ ...form, from: e.target.value })} />
          </div>
          <div className="field">
            <label htmlFor={ids.to}>{t('controlCentre.events.to')}</label>
            <input id={ids.to} type="datetime-local" value={form.to} aria-describedby={`${ids.from}-hint`} aria-invalid={formError ? true : undefined} onChange={(e) => setForm({ ...form, to: e.target.value })} />
          </div>
          <div className="field">
            <label htmlFor={ids.stream}>{t('controlCentre.events.stream')}</label>
            <input id={ids.stream} value={form.stream} onChange={(e) => setForm({ ...form, stream: e.target.value })} />
          </div>
          <div className="field">
            <label htmlFor={ids.limit}>{t('controlCentre.events.limit')}</label>
            <select id={ids.limit} value={form.limit} onChange={(e) => setForm({ ...form, limit: Number(e.target.value) })}>
              {LIMITS.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </div>
        </div>
        <p className="field-hint" id={`${ids.from}-hint`}>
          {t('controlCentre.events.timesHint', { zone })}
        </p>
        <div className="checks">
          <label>
            <input type="checkbox" checked={form.current} aria-describedby={`${ids.current}-hint`} onChange={(e) => setForm({ ...form, current: e.target.checked })} /> {t('controlCentre.events.current')}
          </label>
          <span className="muted small" id={`${ids.current}-hint`}>
            {t('controlCentre.events.currentHint')}
          </span>
        </div>
        {formError && <Alert kind="error">{formError}</Alert>}
        <div className="row">
          <Button type="submit" variant="primary">
            {t('controlCentre.events.apply')}
          </Button>
          <Button variant="ghost" onClick={reset}>
            {t('controlCentre.events.reset')}
          </Button>
        </div>
      </form>

      <ErrorAlert error={error} />
      <div className="cc-pager-head">
        <span className="muted small" role="status" aria-live="polite">
          {loading ? <Spinner /> : page && `${t('controlCentre.events.page', { page: trail.length })} · ${t('controlCentre.events.shown', { count: events.length })}`}
        </span>
      </div>

      {!loading && !error && events.length === 0 && <p className="empty">{t('controlCentre.events.empty')}</p>}
      {events.length > 0 && (
        <div className="table-wrap">
          <table className="table ledger-table" aria-label={t('controlCentre.events.title')} aria-busy={loading || undefined}>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">{t('controlCentre.events.occurred')}</th>
                <th scope="col">{t('controlCentre.events.type')}</th>
                <th scope="col">{t('controlCentre.events.stream')}</th>
                <th scope="col">{t('controlCentre.events.actor')}</th>
                <th scope="col">{t('controlCentre.events.data')}</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id} data-type={e.type} data-id={e.id}>
                  <td className="num">
                    <button type="button" className="linklike" onClick={() => setSelected(e)} aria-haspopup="dialog" aria-label={t('controlCentre.events.details', { position: e.position })}>
                      {e.position}
                    </button>
                  </td>
                  <td>
                    <DateTime value={e.occurredAt} />
                  </td>
                  <td>
                    <code>{e.type}</code>
                    {e.typeVersion != null && <span className="muted small"> v{e.typeVersion}</span>}
                  </td>
                  <td className="muted">{e.stream ?? '—'}</td>
                  <td className="muted">{t(`controlCentre.events.actorKind.${e.actor.kind}`, { defaultValue: e.actor.kind })}</td>
                  <td className="data-cell" onClick={() => setSelected(e)}>
                    <code>{e.data === null ? t('controlCentre.events.erased') : JSON.stringify(e.data)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <nav className="row cc-pager" aria-label={t('controlCentre.events.title')}>
        <Button disabled={trail.length <= 1 || loading} onClick={() => setTrail([undefined])}>
          {t('controlCentre.events.first')}
        </Button>
        <Button disabled={trail.length <= 1 || loading} onClick={() => setTrail((tr) => tr.slice(0, -1))}>
          ← {t('controlCentre.events.previous')}
        </Button>
        <Button disabled={!hasNext || loading} onClick={() => page?.next && setTrail((tr) => [...tr, page.next!])}>
          {t('controlCentre.events.next')} →
        </Button>
      </nav>

      <Drawer open={!!selected} title={selected ? t('controlCentre.events.details', { position: selected.position }) : ''} onClose={close}>
        {selected && <EntryDetail entry={selected} />}
      </Drawer>
    </>
  );
}

function EntryDetail({ entry }: { entry: LedgerEntry }) {
  const { t } = useTranslation();
  const { can } = useUser();
  const [history, setHistory] = useState<EventHistory | undefined>();
  useEffect(() => {
    let live = true;
    // Only typed events have versions worth showing; others answer one version (or not at all).
    api.eventTypes
      .eventHistory(entry.id)
      .then((h) => live && setHistory(h))
      .catch(() => live && setHistory(undefined));
    return () => {
      live = false;
    };
  }, [entry.id]);
  const actorLink = entry.actor.kind === 'app' && entry.actor.id && can('apps:manage');
  return (
    <>
      <dl className="props">
        <dt>{t('controlCentre.events.id')}</dt>
        <dd>
          <code>{entry.id}</code>
        </dd>
        <dt>{t('controlCentre.events.type')}</dt>
        <dd>
          <Link to={ccPath.type(entry.type)} className="cc-mono">
            {entry.type}
          </Link>
        </dd>
        {entry.typeVersion != null && (
          <>
            <dt>{t('controlCentre.events.typeVersion')}</dt>
            <dd>v{entry.typeVersion}</dd>
          </>
        )}
        <dt>{t('controlCentre.events.stream')}</dt>
        <dd>{entry.stream ? `${entry.stream}${entry.streamSeq != null ? ` #${entry.streamSeq}` : ''}` : '—'}</dd>
        <dt>{t('controlCentre.events.actor')}</dt>
        <dd>
          {actorLink ? (
            <Link to={ccPath.app(entry.actor.id!)}>{t('controlCentre.events.actorKind.app')}</Link>
          ) : (
            t(`controlCentre.events.actorKind.${entry.actor.kind}`, { defaultValue: entry.actor.kind })
          )}
          {entry.actor.id && <code className="small"> {entry.actor.id}</code>}
        </dd>
        <dt>{t('controlCentre.events.occurred')}</dt>
        <dd>
          <DateTime value={entry.occurredAt} />
        </dd>
        <dt>{t('controlCentre.events.recorded')}</dt>
        <dd>
          <DateTime value={entry.recordedAt} />
        </dd>
        {entry.transactionId && (
          <>
            <dt>{t('controlCentre.events.transaction')}</dt>
            <dd>
              <code>{entry.transactionId}</code>
            </dd>
          </>
        )}
        <dt>{t('controlCentre.events.hash')}</dt>
        <dd>
          <code className="hash">{entry.hash}</code>
        </dd>
      </dl>
      <h3>{t('controlCentre.events.data')}</h3>
      {entry.data === null ? <p className="muted">{t('controlCentre.events.erased')}</p> : <JsonView value={entry.data} label={t('controlCentre.events.data')} />}
      {history && (history.versions.length > 1 || history.currentId === null) && (
        <>
          <h3>{t('controlCentre.events.history')}</h3>
          {history.currentId === null && <Alert kind="info">{t('controlCentre.events.historyDeleted')}</Alert>}
          <ol className="cc-history">
            {history.versions.map((v) => (
              <li key={v.id} data-id={v.id}>
                <div className="row small">
                  <DateTime value={v.recordedAt} />
                  <code>{v.id.slice(0, 13)}…</code>
                  {v.id === history.currentId && <span className="badge">{t('controlCentre.events.currentVersion')}</span>}
                </div>
                {v.data === null ? <p className="muted small">{t('controlCentre.events.erased')}</p> : <JsonView value={v.data} />}
              </li>
            ))}
          </ol>
        </>
      )}
    </>
  );
}
