import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { CSRF_COOKIE, CSRF_HEADER, locationLabel, type Location, type LocationImportError, type LocationImportResult } from '@cairn/sdk';
import { Alert, Button, DataTable, Section } from '../../components/ui.js';
import { LocationPicker } from '../../components/LocationPicker.js';
import { ControlCentreLayout } from './common.js';

interface Refusal {
  message: string;
  code: string;
  rows?: number;
  invalid?: number;
  errorCount?: number;
  errors: LocationImportError[];
}

type Phase = { kind: 'idle' } | { kind: 'uploading'; percent: number } | { kind: 'processing' } | { kind: 'done'; result: LocationImportResult } | { kind: 'refused'; refusal: Refusal };

function csrf(): string | undefined {
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === CSRF_COOKIE) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/**
 * Sends the file with XMLHttpRequest rather than fetch: only XHR reports upload progress, and a
 * country's list is megabytes on a field office's connection.
 */
function upload(file: File, dryRun: boolean, onProgress: (percent: number) => void, onSent: () => void): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/workspaces/import${dryRun ? '?dryRun=true' : ''}`);
    xhr.setRequestHeader('Content-Type', 'text/csv');
    xhr.setRequestHeader('Accept', 'application/json');
    const token = csrf();
    if (token) xhr.setRequestHeader(CSRF_HEADER, token);
    xhr.withCredentials = true;
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(Math.round((e.loaded / e.total) * 100));
    xhr.upload.onload = onSent;
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: reported below as an unexpected answer
      }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new Error('network'));
    xhr.send(file);
  });
}

export function LocationsPage() {
  return (
    <ControlCentreLayout>
      <Locations />
    </ControlCentreLayout>
  );
}

function Locations() {
  const { t } = useTranslation();
  const [file, setFile] = useState<File | null>(null);
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [picked, setPicked] = useState<Location | null>(null);
  const busy = phase.kind === 'uploading' || phase.kind === 'processing';

  async function run(dryRun: boolean) {
    if (!file) return;
    setPhase({ kind: 'uploading', percent: 0 });
    try {
      const r = await upload(file, dryRun, (percent) => setPhase({ kind: 'uploading', percent }), () => setPhase({ kind: 'processing' }));
      if (r.status === 200) return setPhase({ kind: 'done', result: r.body as LocationImportResult });
      const err = (r.body as { error?: { code: string; message: string; details?: Partial<Refusal> } } | null)?.error;
      setPhase({ kind: 'refused', refusal: { code: err?.code ?? 'unexpected', message: err?.message ?? t('common.unexpected'), rows: err?.details?.rows, invalid: err?.details?.invalid, errorCount: err?.details?.errorCount, errors: Array.isArray(err?.details?.errors) ? err.details.errors : [] } });
    } catch {
      setPhase({ kind: 'refused', refusal: { code: 'network_error', message: t('common.networkError'), errors: [] } });
    }
  }

  return (
    <>
      <h1>{t('locations.import.title')}</h1>
      <p className="muted">{t('locations.import.intro')}</p>
      <Section title={t('locations.import.section')}>
        <div className="field">
          <label htmlFor="locations-file">{t('locations.import.file')}</label>
          <input
            id="locations-file"
            type="file"
            accept=".csv,text/csv"
            aria-describedby="locations-file-hint"
            disabled={busy}
            onChange={(e) => {
              setFile(e.target.files?.[0] ?? null);
              setPhase({ kind: 'idle' });
            }}
          />
          <p className="field-hint" id="locations-file-hint">
            {t('locations.import.fileHint')}
          </p>
        </div>
        <div className="row">
          <Button onClick={() => void run(true)} disabled={!file || busy}>
            {t('locations.import.check')}
          </Button>
          <Button variant="primary" onClick={() => void run(false)} disabled={!file || busy} pending={busy}>
            {t('locations.import.run')}
          </Button>
        </div>
        <div aria-live="polite" data-testid="import-status">
          {phase.kind === 'uploading' && (
            <>
              <progress max={100} value={phase.percent} aria-label={t('locations.import.uploading', { percent: phase.percent })} />
              <p>{t('locations.import.uploading', { percent: phase.percent })}</p>
            </>
          )}
          {phase.kind === 'processing' && (
            <>
              <progress aria-label={t('locations.import.processing')} />
              <p>{t('locations.import.processing')}</p>
            </>
          )}
          {phase.kind === 'done' && <ImportSummary result={phase.result} />}
          {phase.kind === 'refused' && <ImportRefusal refusal={phase.refusal} />}
        </div>
      </Section>
      <Section title={t('locations.import.searchTitle')}>
        <LocationPicker label={t('locations.import.searchLabel')} value={picked?.id ?? null} onChange={(_id, l) => setPicked(l)} />
        {picked && <p data-testid="picked">{t('locations.import.chosen', { label: locationLabel(picked, 5) })}</p>}
      </Section>
    </>
  );
}

function ImportSummary({ result }: { result: LocationImportResult }) {
  const { t } = useTranslation();
  return (
    <>
      <Alert kind="success">{result.dryRun ? t('locations.import.checked', { rows: result.rows }) : t('locations.import.done', { rows: result.rows })}</Alert>
      <DataTable label={t('locations.import.summary')}>
        <thead>
          <tr>
            {(['rows', 'created', 'updated', 'moved', 'unchanged'] as const).map((k) => (
              <th scope="col" className="num" key={k}>
                {t(`locations.import.${k}`)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          <tr>
            {(['rows', 'created', 'updated', 'moved', 'unchanged'] as const).map((k) => (
              <td className="num" key={k} data-testid={`summary-${k}`}>
                {result[k]}
              </td>
            ))}
          </tr>
        </tbody>
      </DataTable>
      {result.ignoredColumns.length > 0 && <p className="muted">{t('locations.import.ignored', { columns: result.ignoredColumns.join(', ') })}</p>}
    </>
  );
}

function ImportRefusal({ refusal }: { refusal: Refusal }) {
  const { t } = useTranslation();
  const rowLevel = refusal.code === 'invalid_import' && refusal.errors.length > 0 && refusal.invalid !== undefined && refusal.invalid > 0;
  return (
    <>
      <Alert kind="error">{rowLevel ? t('locations.import.refused', { invalid: refusal.invalid, rows: refusal.rows }) : t('locations.import.refusedFile', { message: refusal.message })}</Alert>
      {refusal.errors.length > 0 && (
        <DataTable label={t('locations.import.errorsTitle')}>
          <thead>
            <tr>
              <th scope="col" className="num">
                {t('locations.import.line')}
              </th>
              <th scope="col">{t('locations.import.column')}</th>
              <th scope="col">{t('locations.import.problem')}</th>
            </tr>
          </thead>
          <tbody>
            {refusal.errors.map((e, i) => (
              <tr key={i}>
                <td className="num">{e.line || '—'}</td>
                <td>{e.field || '—'}</td>
                <td>
                  <code>{e.code}</code> {e.message}
                </td>
              </tr>
            ))}
          </tbody>
        </DataTable>
      )}
      {(refusal.errorCount ?? 0) > refusal.errors.length && <p className="muted">{t('locations.import.more', { count: refusal.errorCount! - refusal.errors.length })}</p>}
    </>
  );
}
