import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { Registration, RegistrationProfile, Workqueue } from '@cairn/sdk';
import { useAction, useLoad } from '../../hooks.js';
import { useUser } from '../../session.js';
import { LocationPicker } from '../../components/LocationPicker.js';
import { Button, DateTime, ErrorAlert, LoadedTable, Section, Spinner } from '../../components/ui.js';
import { QUEUES, personName, registrations } from './registrations.api.js';
import { formatDay, StatusBadges, TypeSelect, useTypes } from './common.js';
import { listDrafts, removeDraft } from './drafts.js';

/** The queues each registration role works from; the server counts and lists them all. */
export function queuesFor(profile: RegistrationProfile | undefined): Workqueue[] {
  switch (profile?.role) {
    case 'field-agent':
      return ['in-progress', 'ready-for-review', 'requires-updates'];
    case 'registration-agent':
      return ['assigned-to-me', 'in-progress', 'ready-for-review', 'requires-updates', 'potential-duplicates', 'ready-to-print'];
    default:
      return QUEUES;
  }
}

export function useProfile() {
  return useLoad(() => registrations.profile());
}

export function WorkqueuesPage() {
  const { t, i18n } = useTranslation();
  const { user } = useUser();
  const [params, setParams] = useSearchParams();
  const profile = useProfile();
  const types = useTypes();
  const counts = useLoad(() => registrations.workqueues());
  const queues = queuesFor(profile.data);
  const queue = (queues as string[]).includes(params.get('queue') ?? '') ? (params.get('queue') as Workqueue) : queues[0]!;
  const typeFilter = params.get('type') ?? '';
  const locationFilter = params.get('location') ?? '';
  const [items, setItems] = useState<Registration[] | undefined>();
  const [next, setNext] = useState<string | null>(null);
  const [drafts, setDrafts] = useState(() => listDrafts(user.id));

  const load = useAction(async (after?: string) => {
    const page = await registrations.list({ queue, type: typeFilter || undefined, location: locationFilter || undefined, after, limit: 50 });
    setItems((prev) => (after ? [...(prev ?? []), ...page.items] : page.items));
    setNext(page.next);
  });
  useEffect(() => {
    if (profile.loading) return;
    setItems(undefined);
    void load.run();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [queue, typeFilter, locationFilter, profile.loading]);

  const assign = useAction(async (id: string) => {
    await registrations.action(id, 'assign', { transactionId: crypto.randomUUID() });
    await Promise.all([load.run(), counts.reload()]);
  });

  if (profile.loading) return <Spinner />;
  const p = profile.data;
  const setQuery = (changes: Record<string, string>) => {
    const nextParams = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) nextParams.set(k, v);
      else nextParams.delete(k);
    }
    setParams(nextParams);
  };

  return (
    <div className="page reg-page">
      <div className="page-head">
        <div>
          <h1>{t('registrations.title')}</h1>
          {p?.role ? (
            <p className="muted">{t('registrations.profileLine', { role: t(`registrations.roles.${p.role}`), office: p.office?.name ?? t('registrations.noOffice') })}</p>
          ) : (
            <p className="muted">{t('registrations.noRole')}</p>
          )}
        </div>
        <div className="row">
          {(types.data ?? []).map((ty) => (
            <Link key={ty.id} className="btn btn-primary" to={`/registrations/declare/${encodeURIComponent(ty.id)}`}>
              {t('registrations.declareType', { type: types.label(ty.id) })}
            </Link>
          ))}
          <Link className="btn" to="/registrations/performance">
            {t('registrations.performance.nav')}
          </Link>
          <Link className="btn" to="/registrations/search?mode=advanced">
            {t('search.page.advancedTab')}
          </Link>
          {p?.role && (
            <Link className="btn" to="/registrations/import">
              {t('search.import.nav')}
            </Link>
          )}
        </div>
      </div>
      <ErrorAlert error={profile.error ?? types.error} />

      {drafts.length > 0 && (
        <Section title={t('registrations.drafts.title')}>
          <p className="muted small">{t('registrations.drafts.help')}</p>
          <ul className="links">
            {drafts.map((d) => (
              <li key={d.id} className="row">
                <Link to={`/registrations/declare/${encodeURIComponent(d.type)}?draft=${d.id}`}>
                  {t('registrations.drafts.item', { type: types.label(d.type), name: personName(d.data as Registration['data']) || t('registrations.unnamed') })}
                </Link>
                <span className="muted small">
                  <DateTime value={d.savedAt} />
                </span>
                <Button
                  variant="ghost"
                  onClick={() => {
                    removeDraft(user.id, d.id);
                    setDrafts(listDrafts(user.id));
                  }}
                >
                  {t('registrations.drafts.discard')}
                </Button>
              </li>
            ))}
          </ul>
        </Section>
      )}

      <div className="reg-layout">
        <nav aria-label={t('registrations.queues.label')}>
          <ul className="reg-queues">
            {queues.map((q) => (
              <li key={q}>
                <Link to={`/registrations?${new URLSearchParams({ queue: q, ...(typeFilter ? { type: typeFilter } : {}), ...(locationFilter ? { location: locationFilter } : {}) }).toString()}`} aria-current={q === queue ? 'page' : undefined} data-queue={q}>
                  <span>{t(`registrations.queues.${q}`)}</span>
                  <span className="count-badge" aria-label={t('registrations.queues.count', { count: counts.data?.[q] ?? 0 })}>
                    {counts.data ? counts.data[q] : '…'}
                  </span>
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <Section title={t(`registrations.queues.${queue}`)}>
          <p className="muted small">{t(`registrations.queues.help.${queue}`)}</p>
          <div className="reg-filters">
            <TypeSelect id="queue-type" label={t('registrations.filters.type')} value={typeFilter} types={types} any={t('registrations.filters.anyType')} onChange={(type) => setQuery({ type })} />
            <LocationPicker value={locationFilter || null} onChange={(id) => setQuery({ location: id ?? '' })} label={t('registrations.filters.location')} />
          </div>
          <LoadedTable
            load={{ data: items, loading: load.pending, error: load.error }}
            error={assign.error}
            empty={t('registrations.queues.empty')}
            label={t(`registrations.queues.${queue}`)}
            head={
              <>
                <th scope="col">{t('registrations.columns.tracking')}</th>
                <th scope="col">{t('registrations.columns.name')}</th>
                <th scope="col" className="reg-narrow-hide">{t('registrations.columns.type')}</th>
                <th scope="col">{t('registrations.columns.status')}</th>
                <th scope="col">{t('registrations.columns.eventDate')}</th>
                <th scope="col" className="reg-narrow-hide">{t('registrations.columns.updated')}</th>
                <th scope="col" className="reg-narrow-hide">{t('registrations.columns.assigned')}</th>
                <th scope="col">
                  <span className="visually-hidden">{t('registrations.columns.actions')}</span>
                </th>
              </>
            }
            row={(r) => (
              <tr key={r.id} data-tracking={r.trackingId}>
                <td>
                  <Link to={`/registrations/${r.id}`} className="reg-tracking">
                    {r.trackingId}
                  </Link>
                </td>
                <td>{personName(r.data) || <span className="muted">{t('registrations.unnamed')}</span>}</td>
                <td className="reg-narrow-hide">{types.label(r.type)}</td>
                <td>
                  <StatusBadges status={r.status} flags={r.flags} />
                </td>
                <td>{formatDay(r.eventDate, i18n.language)}</td>
                <td className="reg-narrow-hide">
                  <DateTime value={r.updatedAt} />
                </td>
                <td className="reg-narrow-hide">{r.assignedTo ? (r.assignedTo.id === user.id ? t('registrations.you') : r.assignedTo.username) : '—'}</td>
                <td>
                  <div className="row">
                    <Link className="btn" to={`/registrations/${r.id}`} aria-label={t('registrations.openOne', { tracking: r.trackingId })}>
                      {t('registrations.open')}
                    </Link>
                    {queue === 'potential-duplicates' && (
                      <Link className="btn" to={`/registrations/${r.id}/duplicates`} aria-label={t('search.review.reviewOne', { tracking: r.trackingId })}>
                        {t('search.review.review')}
                      </Link>
                    )}
                    {!r.assignedTo && p?.role && r.status !== 'archived' && (
                      <Button pending={assign.pending} onClick={() => void assign.run(r.id)} aria-label={t('registrations.assignOne', { tracking: r.trackingId })}>
                        {t('registrations.actions.assign')}
                      </Button>
                    )}
                  </div>
                </td>
              </tr>
            )}
          />
          {next && (
            <Button pending={load.pending} onClick={() => void load.run(next)}>
              {t('registrations.more')}
            </Button>
          )}
        </Section>
      </div>
    </div>
  );
}
