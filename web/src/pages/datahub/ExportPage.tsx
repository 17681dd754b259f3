import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { ExportFormat, ExportShape, Subject } from '@cairn/sdk';
import { localise } from '@cairn/sdk/instruments';
import { useAction, useLoad } from '../../hooks.js';
import { Alert, Button, ErrorAlert, Section, TextField } from '../../components/ui.js';
import { datahub, formatBytes, subjectName } from './datahub.api.js';

/** Exports stream from the server; the page counts bytes as they arrive, then saves the file. */
export function ExportPage() {
  const { t, i18n } = useTranslation();
  const { ws } = useParams() as { ws: string };
  const instruments = useLoad(() => datahub.instruments.list({ includeRetired: true }));
  const [instrument, setInstrument] = useState('');
  const [edition, setEdition] = useState('');
  const [format, setFormat] = useState<ExportFormat>('csv');
  const [shape, setShape] = useState<ExportShape>('wide');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [subjects, setSubjects] = useState<Subject[]>([]);
  const [received, setReceived] = useState(0);
  const [finished, setFinished] = useState<number>();
  const forms = (instruments.data ?? []).filter((i) => i.kind === 'form');
  const names = [...new Set(forms.map((i) => i.name))];
  const editions = forms.filter((i) => i.name === instrument).map((i) => i.edition);

  const run = useAction(async () => {
    setReceived(0);
    setFinished(undefined);
    const opts = { format, shape, instrument: instrument || undefined, edition: edition ? Number(edition) : undefined, from: from || undefined, to: to || undefined, subjects: subjects.length ? subjects.map((s) => s.id) : undefined };
    const res = await datahub.export({ workspaceId: ws }, opts);
    const reader = res.body!.getReader();
    const parts: BlobPart[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      total += value.byteLength;
      setReceived(total);
    }
    const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `export.${format}`;
    const url = URL.createObjectURL(new Blob(parts, { type: res.headers.get('content-type') ?? 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setFinished(total);
  });
  const wideNeedsInstrument = shape === 'wide' && format !== 'json' && !instrument;
  const datesReversed = !!from && !!to && from > to;

  return (
    <div className="page">
      <p>
        <Link to="/datahub">← {t('datahub.title')}</Link>
      </p>
      <h1>{t('datahub.export.title')}</h1>
      <Section title={t('datahub.export.title')}>
        <form
          className="narrow"
          onSubmit={(e) => {
            e.preventDefault();
            void run.run();
          }}
        >
          <div className="field">
            <label htmlFor="export-instrument">{t('datahub.export.instrument')}</label>
            <select id="export-instrument" value={instrument} onChange={(e) => (setInstrument(e.target.value), setEdition(''))}>
              <option value="">{t('datahub.export.all')}</option>
              {names.map((n) => {
                const i = forms.find((x) => x.name === n)!;
                return (
                  <option key={n} value={n}>
                    {localise(i.title, i18n.language, i.languages)}
                  </option>
                );
              })}
            </select>
          </div>
          {instrument && (
            <div className="field">
              <label htmlFor="export-edition">{t('datahub.export.edition')}</label>
              <select id="export-edition" value={edition} onChange={(e) => setEdition(e.target.value)}>
                <option value="">{t('datahub.export.allEditions')}</option>
                {editions.map((e) => (
                  <option key={e} value={e}>
                    {e}
                  </option>
                ))}
              </select>
            </div>
          )}
          <fieldset className="field export-dates">
            <legend>{t('datahub.export.dates')}</legend>
            <div className="row">
              <TextField label={t('datahub.export.from')} type="date" value={from} max={to || undefined} onChange={(e) => setFrom(e.target.value)} />
              <TextField label={t('datahub.export.to')} type="date" value={to} min={from || undefined} onChange={(e) => setTo(e.target.value)} error={datesReversed ? t('datahub.export.datesReversed') : undefined} />
            </div>
          </fieldset>
          <SubjectPicker ws={ws} chosen={subjects} onChange={setSubjects} />
          <div className="field">
            <label htmlFor="export-format">{t('datahub.export.format')}</label>
            <select id="export-format" value={format} onChange={(e) => setFormat(e.target.value as ExportFormat)}>
              <option value="csv">CSV</option>
              <option value="tsv">TSV</option>
              <option value="xlsx">Excel (.xlsx)</option>
              <option value="json">JSON</option>
            </select>
          </div>
          <fieldset className="field">
            <legend>{t('datahub.export.shape')}</legend>
            {(['wide', 'long'] as const).map((s) => (
              <label key={s} className="check">
                <input type="radio" name="shape" checked={shape === s} onChange={() => setShape(s)} /> {t(`datahub.export.${s}`)}
              </label>
            ))}
          </fieldset>
          <ErrorAlert error={run.error} />
          {run.pending && <p aria-live="polite">{t('datahub.export.progress', { size: formatBytes(received) })}</p>}
          {finished !== undefined && !run.pending && <Alert kind="success">{t('datahub.export.done', { size: formatBytes(finished) })}</Alert>}
          {/* Never a disabled button without its reason (issue 17): the page opens in this state. */}
          {wideNeedsInstrument && (
            <p id="export-why" className="muted" data-testid="export-why">
              {t('datahub.export.needsInstrument')}
            </p>
          )}
          <Button type="submit" variant="primary" pending={run.pending} disabled={wideNeedsInstrument || datesReversed} aria-describedby={wideNeedsInstrument ? 'export-why' : undefined}>
            {t('datahub.export.download')}
          </Button>
        </form>
      </Section>
    </div>
  );
}

/** Subjects chosen by their identifier or label, searched as on the Subjects page: never a typed id. */
function SubjectPicker({ ws, chosen, onChange }: { ws: string; chosen: Subject[]; onChange: (s: Subject[]) => void }) {
  const { t } = useTranslation();
  const [q, setQ] = useState('');
  const [hits, setHits] = useState<Subject[]>([]);
  const search = useAction(async (text: string) => setHits(text ? (await datahub.subjects(ws, { q: text, limit: 8 })).subjects : []));
  useEffect(() => {
    const timer = setTimeout(() => void search.run(q.trim()), 200);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [q, ws]);
  const picked = new Set(chosen.map((s) => s.id));
  return (
    <fieldset className="field export-subjects">
      <legend>{t('datahub.export.subjects')}</legend>
      <p className="muted small">{chosen.length ? t('datahub.export.subjectsChosen', { count: chosen.length }) : t('datahub.export.allSubjects')}</p>
      {chosen.length > 0 && (
        <ul className="chips" aria-label={t('datahub.export.subjects')}>
          {chosen.map((s) => (
            <li key={s.id} className="chip">
              <span title={s.identifier}>{subjectName(s)}</span>{' '}
              <button type="button" className="linklike" aria-label={t('datahub.export.removeSubject', { name: subjectName(s) })} onClick={() => onChange(chosen.filter((x) => x.id !== s.id))}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <TextField label={t('datahub.export.findSubject')} type="search" value={q} onChange={(e) => setQ(e.target.value)} autoComplete="off" />
      <ErrorAlert error={search.error} />
      {q.trim() !== '' && !search.pending && hits.length === 0 && <p className="muted small">{t('datahub.subjects.none')}</p>}
      {hits.length > 0 && (
        <ul className="subject-hits">
          {hits.map((s) => (
            <li key={s.id}>
              <button type="button" className="btn btn-secondary" disabled={picked.has(s.id)} onClick={() => (onChange([...chosen, s]), setQ(''))}>
                {t('datahub.export.addSubject', { name: subjectName(s) })}
              </button>
            </li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}
