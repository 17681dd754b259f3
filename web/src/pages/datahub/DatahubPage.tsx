import { useEffect, useMemo, useState } from 'react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { localise } from '@cairn/sdk/instruments';
import { api } from '../../api.js';
import { useAction, useLoad } from '../../hooks.js';
import { useUser } from '../../session.js';
import { Alert, Button, DateTime, ErrorAlert, Section, Spinner } from '../../components/ui.js';
import { datahub, useCurrentWorkspace } from './datahub.api.js';
import { TrendChart } from './TrendChart.js';

/** The workspace dashboard: counts, trends, and the way in to everything else. */
export function DatahubPage() {
  const { t, i18n } = useTranslation();
  const { can } = useUser();
  const workspaces = useLoad(() => api.workspaces.list());
  const instruments = useLoad(() => datahub.instruments.list());
  const [current, setCurrent] = useCurrentWorkspace();
  const ws = workspaces.data?.find((w) => w.id === current) ?? workspaces.data?.[0];
  useEffect(() => {
    if (ws && ws.id !== current) setCurrent(ws.id);
  }, [ws, current, setCurrent]);
  const summary = useLoad(() => (ws ? datahub.summary(ws.id) : Promise.resolve(undefined)));
  useEffect(() => {
    void summary.reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ws?.id]);
  const [demoResult, setDemoResult] = useState<{ subjects: number; records: number }>();
  const demo = useAction(async () => {
    let target = ws;
    if (!target) target = await api.workspaces.create({ name: 'Demo' });
    const r = await datahub.demo(target.id);
    await workspaces.reload();
    setCurrent(target.id);
    await summary.reload();
    setDemoResult(r);
  });
  const titles = useMemo(() => new Map((instruments.data ?? []).map((i) => [i.name, localise(i.title, i18n.language, i18n.language)])), [instruments.data, i18n.language]);
  const weekly = useMemo(() => (summary.data?.weekly ?? []).map((w) => ({ t: Date.parse(`${w.week}T00:00:00Z`) / 1000, v: w.records })), [summary.data]);

  if (workspaces.loading) return <Spinner />;
  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('datahub.title')}</h1>
        {workspaces.data && workspaces.data.length > 0 && (
          <label className="filter">
            {t('datahub.workspace')}{' '}
            <select value={ws?.id ?? ''} onChange={(e) => setCurrent(e.target.value)}>
              {workspaces.data.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <ErrorAlert error={workspaces.error ?? summary.error ?? demo.error} />
      {demo.pending && <Spinner />}
      {workspaces.data?.length === 0 && (
        <Alert kind="info">
          {t('datahub.noWorkspaces')}{' '}
          {can('workspaces:manage') && (
            <Button variant="primary" pending={demo.pending} onClick={() => void demo.run()}>
              {t('datahub.createDemoWorkspace')}
            </Button>
          )}
        </Alert>
      )}
      {ws && summary.data && (
        <>
          {summary.data.subjects === 0 && (
            <Alert kind="info">
              {t('datahub.demoIntro')}{' '}
              <Button variant="primary" pending={demo.pending} onClick={() => void demo.run()}>
                {t('datahub.loadDemo')}
              </Button>
            </Alert>
          )}
          <div className="stat-row">
            {(['subjects', 'sessions', 'activeSessions', 'records'] as const).map((k) => (
              <div className="card stat" key={k} data-stat={k}>
                <div className="stat-value">{summary.data![k].toLocaleString(i18n.language)}</div>
                <div className="muted small">{t(`datahub.counts.${k}`)}</div>
              </div>
            ))}
          </div>
          <nav className="row quick-links">
            <Link className="btn btn-primary" to={`/datahub/w/${ws.id}/subjects`}>
              {t('datahub.links.subjects')}
            </Link>
            <Link className="btn" to={`/datahub/w/${ws.id}/assignments`}>
              {t('assignments.pageTitle')}
            </Link>
            <Link className="btn" to={`/datahub/w/${ws.id}/export`}>
              {t('datahub.links.export')}
            </Link>
            {can('records:write') && (
              <Link className="btn" to={`/datahub/w/${ws.id}/import`}>
                {t('datahub.links.import')}
              </Link>
            )}
            <Link className="btn" to="/datahub/playground">
              {t('datahub.links.playground')}
            </Link>
          </nav>
          <div className="grid-2">
            <Section title={t('datahub.weekly')}>{weekly.length ? <TrendChart points={weekly} label={t('datahub.counts.records')} bars /> : <p className="muted">—</p>}</Section>
            <Section title={t('datahub.byInstrument')}>
              <table className="table">
                <tbody>
                  {summary.data.byInstrument.map((b) => (
                    <tr key={`${b.instrument.name}@${b.instrument.edition}`}>
                      <th scope="row">
                        {titles.get(b.instrument.name) ?? b.instrument.name} <span className="muted small">{t('datahub.subject.edition', { edition: b.instrument.edition })}</span>
                      </th>
                      <td className="num">{b.records.toLocaleString(i18n.language)}</td>
                      <td>
                        <DateTime value={b.lastRecordAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Section>
          </div>
        </>
      )}
      {demoResult && <Alert kind="success">{t('datahub.demoLoaded', demoResult)}</Alert>}
    </div>
  );
}
