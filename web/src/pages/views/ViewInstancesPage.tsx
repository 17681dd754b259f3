import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import type { ViewInstance } from '@cairn/sdk';
import { viewsApi } from './views.api.js';
import { JsonView } from './SourceView.js';
import { useAction, useLoad } from '../../hooks.js';
import { Button, DataTable, DateTime, ErrorAlert, Section, Spinner } from '../../components/ui.js';

/** Every app's view instances with their approval status and run statistics. */
export function ViewInstancesPage() {
  const { t } = useTranslation();
  const list = useLoad(() => viewsApi.list());
  const [confirm, setConfirm] = useState<string | undefined>();
  const remove = useAction(async (id: string) => {
    await viewsApi.delete(id);
    setConfirm(undefined);
    list.setData((l) => l?.filter((v) => v.id !== id));
  });
  const byApp = new Map<string, ViewInstance[]>();
  for (const v of list.data ?? []) byApp.set(v.appId, [...(byApp.get(v.appId) ?? []), v]);

  return (
    <div className="page">
      <p>
        <Link to="/views">← {t('views.back')}</Link>
      </p>
      <h1>{t('views.instancesTitle')}</h1>
      <p className="lead">{t('views.instancesIntro')}</p>
      <ErrorAlert error={list.error ?? remove.error} />
      {list.loading && !list.data && <Spinner />}
      {list.data && list.data.length === 0 && <p>{t('views.noInstances')}</p>}
      {[...byApp.values()].map((views) => (
        <Section key={views[0]!.appId} title={views[0]!.appName ?? views[0]!.appId}>
          <DataTable
            head={
              <>
                <th scope="col">{t('views.template')}</th>
                <th scope="col">{t('views.status')}</th>
                <th scope="col" className="num">{t('views.runs')}</th>
                <th scope="col" className="num">{t('views.cacheHits')}</th>
                <th scope="col" className="num">{t('views.failures')}</th>
                <th scope="col" className="num">{t('views.avgDuration')}</th>
                <th scope="col">{t('views.lastRun')}</th>
                <th scope="col">{t('views.lastError')}</th>
                <th scope="col">
                  <span className="visually-hidden">{t('views.deleteInstance')}</span>
                </th>
              </>
            }
            rows={views}
            row={(v) => (
              <tr key={v.id}>
                <th scope="row">
                  <Link to={`/views/templates/${v.templateId}`}>{v.templateName}</Link> <span className="muted">v{v.templateVersion}</span>
                  <details>
                    <summary className="muted">{t('views.configuration')}</summary>
                    <JsonView value={v.configuration} />
                  </details>
                </th>
                <td>
                  <span className={`badge view-status-${v.status}`}>{t(`views.statuses.${v.status}`)}</span>
                  {v.missingGrants.length > 0 && <div className="muted">{t('views.missing', { types: v.missingGrants.join(', ') })}</div>}
                </td>
                <td className="num">{v.stats.runs}</td>
                <td className="num">{v.stats.cacheHits}</td>
                <td className="num">{v.stats.failures}</td>
                <td className="num">{v.stats.averageDurationMs === null ? '—' : t('views.ms', { value: v.stats.averageDurationMs })}</td>
                <td>
                  <DateTime value={v.stats.lastRunAt} />
                </td>
                <td>{v.stats.lastErrorCode ? <code>{v.stats.lastErrorCode}</code> : '—'}</td>
                <td className="actions">
                  {confirm === v.id ? (
                    <>
                      <span className="visually-hidden">{t('views.confirmDeleteInstance', { app: v.appName ?? v.appId })}</span>
                      <Button variant="danger" pending={remove.pending} onClick={() => void remove.run(v.id)}>
                        {t('common.yes')}
                      </Button>{' '}
                      <Button onClick={() => setConfirm(undefined)}>{t('common.no')}</Button>
                    </>
                  ) : (
                    <Button variant="ghost" onClick={() => setConfirm(v.id)}>
                      {t('views.deleteInstance')}
                    </Button>
                  )}
                </td>
              </tr>
            )}
          />
        </Section>
      ))}
    </div>
  );
}
