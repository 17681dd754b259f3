import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router';
import type { ViewTemplateVersionDetail } from '@cairn/sdk';
import { viewsApi } from './views.api.js';
import { SourceView } from './SourceView.js';
import { TestRunPanel } from './TestRun.js';
import { useAction, useLoad } from '../../hooks.js';
import { Alert, Button, DateTime, ErrorAlert, Section, Spinner } from '../../components/ui.js';

export function ViewTemplatePage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const { id } = useParams() as { id: string };
  const detail = useLoad(() => viewsApi.template(id));
  const [version, setVersion] = useState<number | undefined>();
  const [confirming, setConfirming] = useState(false);
  const shown = useLoad<ViewTemplateVersionDetail | undefined>(async () => (version === undefined ? undefined : viewsApi.templateVersion(id, version)));
  const remove = useAction(async () => {
    await viewsApi.deleteTemplate(id);
    navigate('/views', { replace: true });
  });

  const d = detail.data;
  const selected = version ?? d?.latestVersion;
  const meta = d?.versions.find((v) => v.version === selected);
  const sources = version === undefined || version === d?.latestVersion ? d?.sources : shown.data?.version === version ? shown.data.sources : undefined;

  const reloadShown = shown.reload;
  useEffect(() => {
    if (version !== undefined) void reloadShown();
  }, [version, reloadShown]);
  const pick = (v: number) => setVersion(v);

  return (
    <div className="page">
      <p>
        <Link to="/views">← {t('views.back')}</Link>
      </p>
      <ErrorAlert error={detail.error} />
      {detail.loading && !d && <Spinner />}
      {d && (
        <>
          <h1>{d.name}</h1>
          <div className="view-actions">
            <Link className="btn btn-primary" to={`/views/new?from=${encodeURIComponent(d.id)}`}>
              {t('views.newVersion')}
            </Link>{' '}
            {!confirming ? (
              <Button variant="danger" onClick={() => setConfirming(true)}>
                {t('views.delete')}
              </Button>
            ) : (
              <span className="view-confirm">
                {t('views.confirmDelete', { name: d.name })}{' '}
                <Button variant="danger" pending={remove.pending} onClick={() => void remove.run()}>
                  {t('common.yes')}
                </Button>{' '}
                <Button onClick={() => setConfirming(false)}>{t('common.no')}</Button>
              </span>
            )}
          </div>
          <ErrorAlert error={remove.error} />
          <div className="grid-side">
            <Section title={t('views.versions')}>
              <ul className="view-versions">
                {d.versions.map((v) => (
                  <li key={v.version}>
                    <button type="button" className={`view-version${v.version === selected ? ' active' : ''}`} aria-pressed={v.version === selected} onClick={() => pick(v.version)}>
                      {t('views.version')} {v.version}
                      {v.version === d.latestVersion && <span className="badge">{t('views.latest')}</span>}
                    </button>
                    <div className="muted">
                      <DateTime value={v.createdAt} /> · {t('views.inUse', { count: v.instances ?? 0 })}
                    </div>
                  </li>
                ))}
              </ul>
            </Section>
            <Section title={`${t('views.version')} ${selected ?? ''}`}>
              {meta && (
                <dl className="props">
                  <dt>{t('views.runtime')}</dt>
                  <dd>{t(`views.runtimes.${meta.runtime}`)}</dd>
                  {meta.description && (
                    <>
                      <dt>{t('views.description')}</dt>
                      <dd>{meta.description}</dd>
                    </>
                  )}
                  <dt>{t('views.eventTypes')}</dt>
                  <dd>{meta.eventTypes.length ? meta.eventTypes.map((e) => <code key={e} className="view-type">{e}</code>) : t('views.noEventTypes')}</dd>
                  <dt>{t('views.limits')}</dt>
                  <dd>
                    {(Object.keys(meta.limits) as (keyof typeof meta.limits)[]).map((k) => (
                      <div key={k}>
                        {t(`views.limit.${k}`)}: {meta.limits[k].toLocaleString()}
                      </div>
                    ))}
                  </dd>
                  <dt>{t('views.createdAt')}</dt>
                  <dd>
                    <DateTime value={meta.createdAt} />
                  </dd>
                </dl>
              )}
              <ErrorAlert error={shown.error} />
              {sources ? <SourceView files={sources} entry={meta?.runtime === 'python' ? 'main.py' : 'main.js'} /> : <Spinner />}
            </Section>
          </div>
          {meta && selected !== undefined && <TestRunPanel templateId={d.id} version={selected} eventTypes={meta.eventTypes} />}
        </>
      )}
      {remove.pending && <Alert kind="info">{t('common.working')}</Alert>}
    </div>
  );
}
