import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { CSRF_COOKIE, CSRF_HEADER, isCairnError, type ImportResult } from '@cairn/sdk';
import { localise } from '@cairn/sdk/instruments';
import { errorText } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { Alert, Button, Section, DataTable } from '../../components/ui.js';
import { datahub } from './datahub.api.js';

function csrf(): string | undefined {
  const m = document.cookie.split(';').map((p) => p.trim()).find((p) => p.startsWith(`${CSRF_COOKIE}=`));
  return m ? decodeURIComponent(m.slice(CSRF_COOKIE.length + 1)) : undefined;
}

/** Uploads with XMLHttpRequest because fetch cannot report upload progress. */
function upload(url: string, file: File, onProgress: (p: number) => void): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Content-Type', 'text/csv');
    xhr.setRequestHeader('Accept', 'application/json');
    const token = csrf();
    if (token) xhr.setRequestHeader(CSRF_HEADER, token);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(Math.round((100 * e.loaded) / e.total));
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = undefined;
      }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new Error('network'));
    xhr.send(file);
  });
}

export function ImportPage() {
  const { t, i18n } = useTranslation();
  const { ws } = useParams() as { ws: string };
  const instruments = useLoad(() => datahub.instruments.list());
  const forms = (instruments.data ?? []).filter((i) => i.kind === 'form');
  const [chosen, setChosen] = useState('');
  const [file, setFile] = useState<File | undefined>();
  const [progress, setProgress] = useState<number | undefined>();
  const [report, setReport] = useState<ImportResult | undefined>();
  const [done, setDone] = useState<ImportResult | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [name, edition] = chosen.split('@');

  const send = async (mode: { dryRun?: boolean; onlyValid?: boolean }) => {
    if (!file || !name) return;
    setError(undefined);
    setDone(undefined);
    setProgress(0);
    try {
      const url = new URL(datahub.importTemplateUrl(ws, name, Number(edition)).replace('/imports/template', '/imports'), location.origin);
      if (mode.dryRun) url.searchParams.set('dryRun', 'true');
      if (mode.onlyValid) url.searchParams.set('onlyValid', 'true');
      const r = await upload(url.toString(), file, setProgress);
      const err = (r.body as { error?: { code: string; message: string; details?: ImportResult } } | undefined)?.error;
      if (err?.code === 'invalid_import' && err.details) {
        setReport(err.details);
        if (!err.details.errors.length) setError(err.message);
      } else if (err) setError(errorText(t, Object.assign(new Error(err.message), { code: err.code })));
      else if (mode.dryRun) setReport(r.body as ImportResult);
      else {
        setDone(r.body as ImportResult);
        setReport(undefined);
      }
    } catch (e) {
      setError(isCairnError(e) ? e.message : t('common.networkError'));
    } finally {
      setProgress(undefined);
    }
  };

  return (
    <div className="page">
      <p>
        <Link to="/datahub">← {t('datahub.title')}</Link>
      </p>
      <h1>{t('datahub.import.title')}</h1>
      <p className="lead">{t('datahub.import.intro')}</p>
      <Section title={t('datahub.import.title')}>
        <div className="field narrow">
          <label htmlFor="import-instrument">{t('datahub.export.instrument')}</label>
          <select id="import-instrument" value={chosen} onChange={(e) => (setChosen(e.target.value), setReport(undefined))}>
            <option value="">{t('datahub.capture.choose')}</option>
            {forms.map((i) => (
              <option key={`${i.name}@${i.edition}`} value={`${i.name}@${i.edition}`}>
                {localise(i.title, i18n.language, i.languages)} ({t('datahub.subject.edition', { edition: i.edition })})
              </option>
            ))}
          </select>
        </div>
        {chosen && (
          <p>
            <a className="btn" href={datahub.importTemplateUrl(ws, name!, Number(edition))} download>
              {t('datahub.import.template')}
            </a>
          </p>
        )}
        <div className="field narrow">
          <label htmlFor="import-file">{t('datahub.import.file')}</label>
          <input id="import-file" type="file" accept=".csv,text/csv" onChange={(e) => (setFile(e.target.files?.[0]), setReport(undefined), setDone(undefined))} />
        </div>
        {progress !== undefined && (
          <p aria-live="polite">
            <progress max={100} value={progress} /> {t('datahub.import.uploading', { percent: progress })}
          </p>
        )}
        {error && <Alert kind="error">{error}</Alert>}
        <Button variant="primary" disabled={!file || !chosen || progress !== undefined} onClick={() => void send({ dryRun: true })}>
          {t('datahub.import.check')}
        </Button>
        {report && (
          <div className="import-report">
            {report.invalid === 0 ? <Alert kind="success">{t('datahub.import.allValid', { rows: report.rows })}</Alert> : <Alert kind="warning">{t('datahub.import.checked', { valid: report.valid, rows: report.rows })}</Alert>}
            {report.errors.length > 0 && (
              <div>
                <DataTable label={t('datahub.import.errorsLabel')}>
                  <thead>
                    <tr>
                      <th>{t('datahub.import.row')}</th>
                      <th>{t('datahub.import.field')}</th>
                      <th>{t('datahub.import.message')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {report.errors.map((e, i) => (
                      <tr key={i}>
                        <td className="num">{e.row}</td>
                        <td>
                          <code>{e.field || '—'}</code>
                        </td>
                        <td>{t(`datahub.validation.${e.code}`, { defaultValue: e.message })}</td>
                      </tr>
                    ))}
                  </tbody>
                </DataTable>
                {report.errorCount > report.errors.length && <p className="muted">{t('datahub.import.moreErrors', { count: report.errorCount - report.errors.length })}</p>}
              </div>
            )}
            <div className="row">
              {report.invalid === 0 && report.valid > 0 && (
                <Button variant="primary" onClick={() => void send({})} disabled={progress !== undefined}>
                  {t('datahub.import.importAll')}
                </Button>
              )}
              {report.invalid > 0 && report.valid > 0 && (
                <Button variant="danger" onClick={() => void send({ onlyValid: true })} disabled={progress !== undefined}>
                  {t('datahub.import.importValid', { count: report.valid })}
                </Button>
              )}
            </div>
          </div>
        )}
        {done && <Alert kind="success">{t('datahub.import.imported', { count: done.imported, subjects: done.subjectsCreated })}</Alert>}
      </Section>
    </div>
  );
}
