import { useMemo, useState } from 'react';
import { Link, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { Actor } from '@cairn/sdk';
import { api } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { useUser } from '../../session.js';
import { DateTime, ErrorAlert, LoadedTable, PageLoading, Section } from '../../components/ui.js';
import { ControlCentreLayout, JsonView, ccPath } from './common.js';

export function EventTypesPage() {
  return (
    <ControlCentreLayout>
      <EventTypes />
    </ControlCentreLayout>
  );
}

export function EventTypePage() {
  // Keyed by name: moving to another type loads it afresh.
  const name = useParams()['*'] ?? '';
  return (
    <ControlCentreLayout>
      <EventTypeDetailView key={name} name={name} />
    </ControlCentreLayout>
  );
}

function EventTypes() {
  const { t } = useTranslation();
  const { can } = useUser();
  const types = useLoad(() => api.eventTypes.list());
  return (
    <>
      <h1>{t('controlCentre.types.title')}</h1>
      <p className="muted">{t('controlCentre.types.intro')}</p>
      <Section title={t('controlCentre.types.title')}>
        <LoadedTable
          load={types}
          empty={t('controlCentre.types.empty')}
          label={t('controlCentre.types.title')}
          head={
            <>
              <th scope="col">{t('controlCentre.types.name')}</th>
              <th scope="col">{t('controlCentre.types.description')}</th>
              <th scope="col" className="num">
                {t('controlCentre.types.latest')}
              </th>
              <th scope="col">{t('controlCentre.types.owner')}</th>
              <th scope="col">{t('controlCentre.types.created')}</th>
            </>
          }
          row={(ty) => (
            <tr key={ty.name} data-type={ty.name}>
              <th scope="row">
                <Link to={ccPath.type(ty.name)} className="cc-mono">
                  {ty.name}
                </Link>
              </th>
              <td className="cc-clip">{ty.description || '—'}</td>
              <td className="num">v{ty.latestVersion}</td>
              <td>
                {ty.ownerAppId ? (
                  can('apps:manage') ? (
                    <Link to={ccPath.app(ty.ownerAppId)}>{t('controlCentre.types.ownerApp')}</Link>
                  ) : (
                    t('controlCentre.types.ownerApp')
                  )
                ) : (
                  t('controlCentre.types.ownerAdmin')
                )}
              </td>
              <td>
                <DateTime value={ty.createdAt} />
              </td>
            </tr>
          )}
        />
      </Section>
    </>
  );
}

function CreatedBy({ actor }: { actor: Actor }) {
  const { t } = useTranslation();
  const { can } = useUser();
  if (actor.kind === 'app' && actor.id && can('apps:manage')) return <Link to={ccPath.app(actor.id)}>{t('controlCentre.events.actorKind.app')}</Link>;
  return <>{t(`controlCentre.events.actorKind.${actor.kind}`, { defaultValue: actor.kind })}</>;
}

function EventTypeDetailView({ name }: { name: string }) {
  const { t } = useTranslation();
  const { can } = useUser();
  const type = useLoad(() => api.eventTypes.get(name));
  const [chosen, setChosen] = useState<number | undefined>();
  const versions = useMemo(() => [...(type.data?.versions ?? [])].sort((a, b) => b.version - a.version), [type.data]);
  const shown = versions.find((v) => v.version === chosen) ?? versions[0];

  if (type.loading && !type.data) return <PageLoading />;
  if (!type.data) return <ErrorAlert error={type.error} />;
  const ty = type.data;
  return (
    <>
      <p className="small">
        <Link to={ccPath.types}>← {t('controlCentre.types.back')}</Link>
      </p>
      <div className="page-head">
        <div>
          <h1 className="cc-mono">{ty.name}</h1>
          <p className="muted">{ty.description || t('controlCentre.types.noDescription')}</p>
        </div>
        {can('events:read') && (
          <Link className="btn btn-secondary" to={ccPath.events({ type: ty.name })}>
            {t('controlCentre.types.browse')}
          </Link>
        )}
      </div>

      <div className="grid-side">
        <Section title={t('controlCentre.types.versions')}>
          <ol className="cc-versions" reversed>
            {versions.map((v) => {
              const current = v.version === shown?.version;
              return (
                <li key={v.version} className={current ? 'cc-version current' : 'cc-version'}>
                  <button type="button" className="cc-version-button" aria-pressed={current} aria-label={t('controlCentre.types.view', { version: v.version })} onClick={() => setChosen(v.version)}>
                    <span className="cc-version-number">v{v.version}</span>
                    <span className="muted small">
                      <DateTime value={v.createdAt} />
                    </span>
                  </button>
                  <div className="muted small">
                    {t('controlCentre.types.createdBy')}: <CreatedBy actor={v.createdBy} />
                  </div>
                  <div className="muted small">
                    {t('controlCentre.types.hash')}: <code title={v.schemaHash}>{v.schemaHash.slice(0, 12)}…</code>
                  </div>
                </li>
              );
            })}
          </ol>
        </Section>
        {shown && (
          <Section title={t('controlCentre.types.schemaOf', { version: shown.version })}>
            <JsonView value={shown.schema} label={t('controlCentre.types.schemaOf', { version: shown.version })} />
          </Section>
        )}
      </div>
    </>
  );
}
