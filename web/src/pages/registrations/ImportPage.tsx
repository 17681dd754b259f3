import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { CairnError, CSRF_COOKIE, CSRF_HEADER, type RegistrationImportReport } from '@cairn/sdk';
import { Button, ErrorAlert, Section } from '../../components/ui.js';
import { BackToQueues, TypeSelect, useTypes } from './common.js';

/**
 * Sends the file with XMLHttpRequest for its upload progress: the server reads the file as it
 * arrives and holds the upload while it writes each batch, so the bytes sent follow the rows
 * imported.
 */
function upload(file: File, type: string, onProgress: (fraction: number) => void): Promise<RegistrationImportReport> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/registrations/import?${new URLSearchParams({ type, action: 'declare' }).toString()}`);
    xhr.setRequestHeader('Content-Type', 'text/csv');
    xhr.setRequestHeader('Accept', 'application/json');
    const csrf = document.cookie.split(';').map((p) => p.trim().split('=')).find(([k]) => k === CSRF_COOKIE)?.[1];
    if (csrf) xhr.setRequestHeader(CSRF_HEADER, decodeURIComponent(csrf));
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(new CairnError(0, 'network_error', 'Cannot reach the server'));
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        return reject(new CairnError(xhr.status, 'invalid_response', `HTTP ${xhr.status}`));
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body as RegistrationImportReport);
      const err = (body as { error?: { code?: string; message?: string; details?: unknown } }).error ?? {};
      reject(new CairnError(xhr.status, err.code ?? 'internal_error', err.message ?? `HTTP ${xhr.status}`, err.details));
    };
    xhr.send(file);
  });
}

export function ImportPage() {
  const { t } = useTranslation();
  const types = useTypes();
  const [type, setType] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [report, setReport] = useState<RegistrationImportReport | null>(null);
  const [error, setError] = useState<unknown>();
  const chosen = type || types.data?.[0]?.id || '';
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file || !chosen) return;
    setError(undefined);
    setReport(null);
    setProgress(0);
    try {
      setReport(await upload(file, chosen, setProgress));
    } catch (err) {
      setError(err);
    } finally {
      setProgress(null);
    }
  };
  const details = (error as { details?: { errors?: Array<{ pointer: string; message: string }> } } | undefined)?.details?.errors;
  return (
    <div className="page reg-page">
      <BackToQueues />
      <h1>{t('search.import.title')}</h1>
      <p className="muted">{t('search.import.help')}</p>
      <form className="stack card" onSubmit={(e) => void submit(e)}>
        <TypeSelect id="import-type" label={t('search.import.type')} value={chosen} types={types} onChange={setType} />
        <div className="field">
          <label htmlFor="import-file">{t('search.import.file')}</label>
          <input id="import-file" type="file" accept=".csv,text/csv" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </div>
        <div>
          <Button type="submit" variant="primary" pending={progress !== null} disabled={!file}>
            {t('search.import.start')}
          </Button>
        </div>
        {progress !== null && (
          <div>
            <progress max={1} value={progress} aria-label={t('search.import.uploading', { percent: Math.round(progress * 100) })} />
            <p className="muted small" aria-live="polite">
              {t('search.import.uploading', { percent: Math.round(progress * 100) })}
            </p>
          </div>
        )}
      </form>
      <ErrorAlert error={error} />
      {details && (
        <ul className="small">
          {details.map((d, i) => (
            <li key={i}>
              <code>{d.pointer}</code> {d.message}
            </li>
          ))}
        </ul>
      )}
      {report && <ImportReportView report={report} />}
    </div>
  );
}

function ImportReportView({ report }: { report: RegistrationImportReport }) {
  const { t } = useTranslation();
  return (
    <div className="stack" data-testid="import-report">
      <Section title={t('search.import.title')}>
        <dl className="props">
          <dt>{t('search.import.rows')}</dt>
          <dd data-testid="import-rows">{report.rows}</dd>
          <dt>{t('search.import.created')}</dt>
          <dd data-testid="import-created">{report.created}</dd>
          <dt>{t('search.import.refused')}</dt>
          <dd data-testid="import-refused">{report.refusedCount}</dd>
          <dt>{t('search.import.duplicates')}</dt>
          <dd data-testid="import-duplicates">{report.duplicatesCount}</dd>
          <dt>{t('search.import.already')}</dt>
          <dd>{report.alreadyImported}</dd>
        </dl>
        {report.truncated && <p className="muted small">{t('search.import.truncated')}</p>}
      </Section>
      {report.refused.length > 0 && (
        <Section title={t('search.import.refusedTitle')}>
          <ul className="links">
            {report.refused.map((r) => (
              <li key={r.row}>
                <strong>{t('search.import.row', { row: r.row, line: r.line })}</strong>
                {r.legacyId ? ` (${r.legacyId})` : ''}:{' '}
                {r.errors.map((e) => `${e.field || e.pointer}: ${e.message}`).join('; ')}
              </li>
            ))}
          </ul>
        </Section>
      )}
      {report.duplicates.length > 0 && (
        <Section title={t('search.import.duplicatesTitle')}>
          <ul className="links">
            {report.duplicates.map((d) => (
              <li key={d.id}>
                <Link to={`/registrations/${d.id}/duplicates`}>
                  {t('search.import.rowOnly', { row: d.row })} · {d.trackingId}
                  {d.legacyId ? ` (${d.legacyId})` : ''}
                </Link>{' '}
                {t('search.import.matchOf', { list: d.matches.map((m) => m.legacyId ?? m.trackingId).join(', ') })}
              </li>
            ))}
          </ul>
        </Section>
      )}
    </div>
  );
}
