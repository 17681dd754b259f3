import { useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import hljs from 'highlight.js/lib/core';
import json from 'highlight.js/lib/languages/json';
import type { LedgerEntry, TailStatus } from '@cairn/sdk';
import { api } from '../api.js';
import { Button, DateTime, Drawer, ErrorAlert } from '../components/ui.js';

hljs.registerLanguage('json', json);

/** How many entries the page keeps; older ones drop off the bottom. */
const KEEP = 500;

export function LedgerPage() {
  const { t } = useTranslation();
  const [entries, setEntries] = useState<LedgerEntry[]>([]);
  const [status, setStatus] = useState<TailStatus>('connecting');
  const [error, setError] = useState<unknown>();
  const [paused, setPaused] = useState(false);
  const [typeInput, setTypeInput] = useState('');
  const [type, setType] = useState('');
  const [selected, setSelected] = useState<LedgerEntry | undefined>();
  // Where to resume after a pause: the tail's cursor when it stopped, for the filter it had. A tail
  // of another filter starts over (with its backlog): resuming a new type after the old filter's
  // cursor showed only entries written later, so "No entries yet" for types that had some.
  const cursor = useRef<{ type: string; after: string | undefined } | undefined>(undefined);
  const typeId = useId();
  const names = useActorNames();

  useEffect(() => {
    if (paused) {
      setStatus('closed');
      return;
    }
    let live = true;
    const tail = api.events.tail({
      type: type || undefined,
      after: cursor.current?.type === type ? cursor.current.after : undefined,
      // Open on the most recent entries rather than an empty page.
      backlog: 50,
      // A closed tail reports 'closed' after the next one started: only the current one speaks.
      onStatus: (s) => live && setStatus(s),
    });
    setError(undefined);
    // Batch the renders: a burst of entries arrives as many SSE messages in one tick.
    let buffer: LedgerEntry[] = [];
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      if (!live || buffer.length === 0) return;
      const fresh = buffer.reverse();
      buffer = [];
      setEntries((old) => [...fresh, ...old].slice(0, KEEP));
    };
    (async () => {
      try {
        for await (const entry of tail) {
          cursor.current = { type, after: tail.cursor };
          buffer.push(entry);
          if (!scheduled) {
            scheduled = true;
            requestAnimationFrame(flush);
          }
        }
      } catch (e) {
        if (live) {
          setError(e);
          setStatus('closed');
        }
      }
    })();
    return () => {
      live = false;
      cursor.current = { type, after: tail.cursor };
      tail.close();
    };
  }, [paused, type]);

  const applyFilter = (e: FormEvent) => {
    e.preventDefault();
    const next = typeInput.trim();
    if (next === type) return;
    cursor.current = undefined;
    setEntries([]);
    setType(next);
  };
  const clearFilter = () => {
    setTypeInput('');
    if (type === '') return;
    cursor.current = undefined;
    setEntries([]);
    setType('');
  };
  const close = useCallback(() => setSelected(undefined), []);

  const shownStatus: TailStatus = paused ? 'closed' : status;
  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>{t('ledger.title')}</h1>
          <p className="muted">{t('ledger.intro')}</p>
        </div>
        <span className={`live live-${shownStatus}`} role="status" aria-live="polite" data-testid="tail-status">
          <span className="live-dot" aria-hidden="true" />
          {t(`ledger.status.${shownStatus}`)}
        </span>
      </div>

      <div className="toolbar">
        <form className="filter" onSubmit={applyFilter} role="search">
          <label htmlFor={typeId}>{t('ledger.type')}</label>
          <input id={typeId} value={typeInput} placeholder={t('ledger.typePlaceholder')} onChange={(e) => setTypeInput(e.target.value)} />
          <Button type="submit">{t('ledger.apply')}</Button>
          {(type || typeInput) && (
            <Button variant="ghost" onClick={clearFilter}>
              {t('ledger.clear')}
            </Button>
          )}
        </form>
        <Button variant={paused ? 'primary' : 'secondary'} onClick={() => setPaused((p) => !p)} aria-pressed={paused}>
          {paused ? `▶ ${t('ledger.resume')}` : `❚❚ ${t('ledger.pause')}`}
        </Button>
      </div>

      <ErrorAlert error={error} />

      {entries.length === 0 ? (
        <p className="empty">{t('ledger.empty')}</p>
      ) : (
        <>
          <p className="muted small">{t('ledger.shown', { count: entries.length })}</p>
          <div className="table-wrap">
            <table className="table ledger-table" aria-label={t('ledger.title')}>
              <thead>
                <tr>
                  <th scope="col">{t('ledger.position')}</th>
                  <th scope="col">{t('ledger.recorded')}</th>
                  <th scope="col">{t('ledger.eventType')}</th>
                  <th scope="col">{t('ledger.stream')}</th>
                  <th scope="col">{t('ledger.actor')}</th>
                  <th scope="col">{t('ledger.data')}</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.id} className="clickable" data-type={e.type}>
                    <td className="num">
                      <button type="button" className="linklike" onClick={() => setSelected(e)} aria-haspopup="dialog">
                        #{e.position}
                      </button>
                    </td>
                    <td>
                      <DateTime value={e.recordedAt} />
                    </td>
                    <td>
                      <code>{e.type}</code>
                    </td>
                    <td className="muted">{e.stream ?? '—'}</td>
                    <td className="muted" data-actor-kind={e.actor.kind}>
                      {actorLabel(t, e.actor, names)}
                    </td>
                    <td className="data-cell" onClick={() => setSelected(e)}>
                      <code>{JSON.stringify(e.data)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}

      <Drawer open={!!selected} title={selected ? `${t('ledger.details')} #${selected.position}` : ''} onClose={close}>
        {selected && <EntryDetail entry={selected} names={names} />}
      </Drawer>
    </div>
  );
}

type Names = ReadonlyMap<string, string>;

/**
 * Who wrote entries, by id: users and apps the caller may list (an administrator can; anyone
 * else sees the kind only). Loaded once; the ledger page is for administrators.
 */
function useActorNames(): Names {
  const [names, setNames] = useState<Names>(new Map());
  useEffect(() => {
    let live = true;
    void Promise.allSettled([api.users.list(), api.apps.list()]).then(([users, apps]) => {
      if (!live) return;
      const m = new Map<string, string>();
      if (users.status === 'fulfilled') for (const u of users.value) m.set(`user:${u.id}`, u.username);
      if (apps.status === 'fulfilled') for (const a of apps.value) m.set(`app:${a.id}`, a.name);
      setNames(m);
    });
    return () => {
      live = false;
    };
  }, []);
  return names;
}

function actorLabel(t: (k: string, o?: Record<string, unknown>) => string, actor: LedgerEntry['actor'], names: Names): string {
  const name = actor.id ? names.get(`${actor.kind}:${actor.id}`) : undefined;
  if (actor.kind === 'app') return name ? t('ledger.actorApp', { name }) : t('ledger.actorKind.app');
  if (name) return name;
  return t(`ledger.actorKind.${actor.kind}`, { defaultValue: actor.kind });
}

function EntryDetail({ entry, names }: { entry: LedgerEntry; names: Names }) {
  const { t } = useTranslation();
  const highlighted = useMemo(() => hljs.highlight(JSON.stringify(entry.data, null, 2), { language: 'json' }).value, [entry]);
  return (
    <>
      <dl className="props">
        <dt>{t('ledger.id')}</dt>
        <dd>
          <code>{entry.id}</code>
        </dd>
        <dt>{t('ledger.eventType')}</dt>
        <dd>
          <code>{entry.type}</code>
          {entry.typeVersion != null && <span className="muted"> v{entry.typeVersion}</span>}
        </dd>
        <dt>{t('ledger.stream')}</dt>
        <dd>{entry.stream ? `${entry.stream}${entry.streamSeq != null ? ` #${entry.streamSeq}` : ''}` : '—'}</dd>
        <dt>{t('ledger.actor')}</dt>
        <dd>
          {actorLabel(t, entry.actor, names)}
          {entry.actor.id && <code> {entry.actor.id}</code>}
        </dd>
        <dt>{t('ledger.occurred')}</dt>
        <dd>
          <DateTime value={entry.occurredAt} />
        </dd>
        <dt>{t('ledger.recorded')}</dt>
        <dd>
          <DateTime value={entry.recordedAt} />
        </dd>
        {entry.transactionId && (
          <>
            <dt>{t('ledger.transaction')}</dt>
            <dd>
              <code>{entry.transactionId}</code>
            </dd>
          </>
        )}
        <dt>{t('ledger.hash')}</dt>
        <dd>
          <code className="hash">{entry.hash}</code>
        </dd>
      </dl>
      <h3>{t('ledger.data')}</h3>
      {/* highlight.js escapes the text it highlights; the HTML holds only its own spans. */}
      <pre className="json hljs">
        <code dangerouslySetInnerHTML={{ __html: highlighted }} />
      </pre>
    </>
  );
}
