import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { SystemOverview, VerifyReport } from '@cairn/sdk';
import { api } from '../../api.js';
import { useAction, useLoad } from '../../hooks.js';
import { formatBytes } from '../../format.js';
import { Alert, Button, DataTable, DateTime, ErrorAlert, PageLoading, Section } from '../../components/ui.js';

/** The admin's System page: nodes, projection and checkpoint lags, job queue, storage, ledger verification. */
export function SystemPage() {
  const { t, i18n } = useTranslation();
  const overview = useLoad(() => api.system.overview());
  const [report, setReport] = useState<VerifyReport | undefined>();
  const verify = useAction(async () => {
    setReport(await api.ledger.verify());
    await overview.reload();
  });
  const num = (n: number) => new Intl.NumberFormat(i18n.language).format(n);
  const o = overview.data;
  // The Control Centre's "Ledger verification" tab links here (#ledger-verification).
  const loaded = !!o;
  useEffect(() => {
    if (loaded && location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
  }, [loaded]);

  return (
    <div className="page system-page">
      <div className="page-head">
        <div>
          <h1>{t('system.title')}</h1>
          <p className="muted">{t('system.intro')}</p>
        </div>
        <Button onClick={() => void overview.reload()} pending={overview.loading && o !== undefined}>
          {t('system.refresh')}
        </Button>
      </div>
      <ErrorAlert error={overview.error} />
      {!o && overview.loading && <PageLoading />}
      {o && (
        <>
          <Verification o={o} report={report} run={() => void verify.run()} pending={verify.pending} error={verify.error} num={num} />
          <Nodes o={o} />
          <Section title={t('system.lags.title')}>
            <p>
              <strong>{t('system.lags.checkpoint')}: </strong>
              {o.checkpoint.ageSeconds === null
                ? t('system.lags.noCheckpoint')
                : t('system.lags.checkpointAge', { seconds: num(Math.round(o.checkpoint.ageSeconds)), unsealed: num(o.checkpoint.unsealed) })}
            </p>
            {o.projections.length === 0 ? (
              <p className="muted">{t('system.lags.none')}</p>
            ) : (
              <DataTable label={t('system.lags.title')}>
                <thead>
                  <tr>
                    <th scope="col">{t('system.lags.name')}</th>
                    <th scope="col">{t('system.lags.behind')}</th>
                    <th scope="col">{t('system.lags.seconds')}</th>
                    <th scope="col">{t('system.lags.state')}</th>
                  </tr>
                </thead>
                <tbody>
                  {o.projections.map((p) => (
                    <tr key={p.name}>
                      <td>
                        <code>{p.name}</code>
                      </td>
                      <td>{num(p.behind)}</td>
                      <td>{num(p.secondsBehind)}</td>
                      <td>{t(p.failingEntry ? 'system.lags.failing' : p.rebuilding ? 'system.lags.rebuilding' : p.behind > 0 ? 'system.lags.lagging' : 'system.lags.ok')}</td>
                    </tr>
                  ))}
                </tbody>
              </DataTable>
            )}
          </Section>
          <Section title={t('system.jobs.title')}>
            <dl className="system-figures">
              {(['waiting', 'running', 'failed'] as const).map((k) => (
                <div key={k}>
                  <dt>{t(`system.jobs.${k}`)}</dt>
                  <dd data-testid={`jobs-${k}`}>{num(o.jobs[k])}</dd>
                </div>
              ))}
            </dl>
          </Section>
          <Section title={t('system.storage.title')}>
            <p data-testid="storage">{t('system.storage.blobs', { count: o.storage.blobs, size: formatBytes(o.storage.bytes, i18n.language) })}</p>
            <p className="muted">{t('system.storage.hint')}</p>
          </Section>
        </>
      )}
    </div>
  );
}

function Nodes({ o }: { o: SystemOverview }) {
  const { t } = useTranslation();
  return (
    <Section title={t('system.nodes.title')}>
      <p className="muted">{t('system.nodes.hint')}</p>
      {o.nodes.length === 0 ? (
        <p>{t('system.nodes.none')}</p>
      ) : (
        <DataTable label={t('system.nodes.title')}>
          <thead>
            <tr>
              <th scope="col">{t('system.nodes.host')}</th>
              <th scope="col">{t('system.nodes.version')}</th>
              <th scope="col">{t('system.nodes.started')}</th>
              <th scope="col">{t('system.nodes.seen')}</th>
            </tr>
          </thead>
          <tbody>
            {o.nodes.map((n) => (
              <tr key={n.id} data-testid="node">
                <td>
                  {n.hostname} <span className="muted">({n.pid})</span>
                  {/* Not a .badge: those are hidden on a phone. */}
                  {n.thisNode && <strong className="system-this-node">{t('system.nodes.thisNode')}</strong>}
                </td>
                <td>{n.version}</td>
                <td>
                  <DateTime value={n.startedAt} />
                </td>
                <td>
                  <DateTime value={n.seenAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </DataTable>
      )}
    </Section>
  );
}

function Verification({ o, report, run, pending, error, num }: { o: SystemOverview; report: VerifyReport | undefined; run: () => void; pending: boolean; error: unknown; num: (n: number) => string }) {
  const { t } = useTranslation();
  const last = o.lastVerification;
  return (
    <Section
      id="ledger-verification"
      title={t('system.verify.title')}
      actions={
        <Button variant="primary" onClick={run} pending={pending}>
          {pending ? t('system.verify.running') : t('system.verify.run')}
        </Button>
      }
    >
      <ErrorAlert error={error} />
      {!last ? (
        <p data-testid="last-verification">{t('system.verify.never')}</p>
      ) : (
        <div data-testid="last-verification">
          <p>
            <strong>{t('system.verify.last')}: </strong>
            <DateTime value={last.ranAt} /> {last.by && t('system.verify.by', { name: last.by })}
          </p>
          <Alert kind={last.ok ? 'success' : 'error'}>
            {last.ok
              ? t('system.verify.ok', { checked: num(last.checked), checkpoints: num(last.checkpoints), ms: num(last.durationMs) })
              : t('system.verify.problems', { count: last.problems, checked: num(last.checked) })}
          </Alert>
        </div>
      )}
      {report && report.problems.length > 0 && (
        <ul className="system-problems">
          {report.problems.map((p, i) => (
            <li key={i}>
              <code>{p.kind}</code> {p.message}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}
