import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { isCairnError, type CaptureRecord } from '@cairn/sdk';
import { localise, measuresSoFar, validateSubmission, type FormInstrument, type InstrumentDefinition, type SubmissionError } from '@cairn/sdk/instruments';
import { useAction, useLoad } from '../../hooks.js';
import { Alert, Button, ErrorAlert, Section, Spinner } from '../../components/ui.js';
import { InstrumentRenderer, MeasuresTable, type Answers } from '../../components/instrument-renderer/InstrumentRenderer.js';
import { datahub } from './datahub.api.js';
import { vault } from '../../offline/store.js';
import { enqueue, unreachable } from '../../offline/outbox.js';
import { Queued } from '../../offline/Queued.js';

interface Draft {
  answers: Answers;
  /** Reused on every retry, so a submission that reached the server before the session expired is not stored twice. */
  transactionId: string;
  savedAt: string;
}

/** Drafts live in the signed-in person's encrypted vault (web/src/offline/, docs/offline.md). */
const draftKey = (sessionId: string, name: string, edition: number) => `record.${sessionId}.${name}@${edition}`;

function readDraft(key: string): Draft | undefined {
  const d = vault()?.get<Draft>('draft', key);
  return d && typeof d.answers === 'object' && typeof d.transactionId === 'string' ? d : undefined;
}

export function CapturePage() {
  const { t, i18n } = useTranslation();
  const { id } = useParams() as { id: string };
  const [params, setParams] = useSearchParams();
  const session = useLoad(() => datahub.session(id));
  const list = useLoad(() => datahub.instruments.list());
  const chosen = params.get('instrument') ?? '';
  const [name, editionText] = chosen.split('@');
  const edition = Number(editionText);
  const def = useLoad(() => (name && edition ? datahub.instruments.edition(name, edition).then((e) => e.definition) : Promise.resolve(undefined)));
  useEffect(() => {
    void def.reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [chosen]);

  if (session.loading || list.loading) return <Spinner />;
  if (session.error || !session.data) return <ErrorAlert error={session.error ?? list.error} />;
  const s = session.data;
  return (
    <div className="page">
      <p>
        <Link to={`/datahub/subjects/${s.subjectId}`}>← {t('datahub.capture.backToSubject')}</Link>
      </p>
      <h1>{t('datahub.capture.title')}</h1>
      {!s.active && <Alert kind="warning">{t('datahub.capture.sessionEnded')}</Alert>}
      <div className="field narrow">
        <label htmlFor="capture-instrument">{t('datahub.capture.instrument')}</label>
        <select id="capture-instrument" value={chosen} onChange={(e) => setParams(e.target.value ? { instrument: e.target.value } : {})}>
          <option value="">{t('datahub.capture.choose')}</option>
          {(list.data ?? []).map((i) => (
            <option key={`${i.name}@${i.edition}`} value={`${i.name}@${i.edition}`}>
              {localise(i.title, i18n.language, i.languages)} ({t('datahub.subject.edition', { edition: i.edition })})
            </option>
          ))}
        </select>
      </div>
      {def.loading && chosen && <Spinner />}
      <ErrorAlert error={def.error} />
      {def.data && <Capture key={chosen} sessionId={id} subjectId={s.subjectId} definition={def.data} onPick={(v) => setParams({ instrument: v })} />}
    </div>
  );
}

function Capture({ sessionId, subjectId, definition, onPick }: { sessionId: string; subjectId: string; definition: InstrumentDefinition; onPick: (v: string) => void }) {
  const { t, i18n } = useTranslation();
  if (definition.kind === 'series') {
    return (
      <Section title={localise(definition.details.title, i18n.language, definition.languages)}>
        <p>{t('datahub.capture.series')}</p>
        <ol>
          {definition.content.map((f) => (
            <li key={f.name}>
              <Button variant="ghost" onClick={() => onPick(`${f.name}@${f.edition}`)}>
                {f.name} ({t('datahub.subject.edition', { edition: f.edition })})
              </Button>
            </li>
          ))}
        </ol>
      </Section>
    );
  }
  return <FormCapture sessionId={sessionId} subjectId={subjectId} form={definition} />;
}

function FormCapture({ sessionId, subjectId, form }: { sessionId: string; subjectId: string; form: FormInstrument }) {
  const { t, i18n } = useTranslation();
  const key = draftKey(sessionId, form.name, form.edition);
  const initial = useMemo(() => readDraft(key), [key]);
  const [answers, setAnswers] = useState<Answers>(initial?.answers ?? {});
  const [restored, setRestored] = useState(!!initial && Object.keys(initial.answers).length > 0);
  const txId = useRef(initial?.transactionId ?? crypto.randomUUID());
  const [errors, setErrors] = useState<SubmissionError[]>([]);
  const [saved, setSaved] = useState<CaptureRecord | undefined>();
  const [queued, setQueued] = useState(false);
  const [language, setLanguage] = useState(() => form.languages.find((l) => l === i18n.language || l.startsWith(`${i18n.language}-`)) ?? form.languages[0]!);
  // The score as the person answers, from the engine the server scores submissions with: a measure
  // with a missing or invalid input is null ("—"), never a partial sum.
  const live = useMemo(() => measuresSoFar(form, answers), [form, answers]);
  const hasMeasures = Object.keys(form.measures ?? {}).length > 0;

  // Every change goes to this device first: an expired login, a crash or a closed tab loses nothing.
  useEffect(() => {
    if (saved || queued) return;
    void vault()?.put('draft', key, { answers, transactionId: txId.current, savedAt: new Date().toISOString() } satisfies Draft);
  }, [answers, key, saved, queued]);

  const submit = useAction(async () => {
    const local = validateSubmission(form, answers);
    if (!local.ok) {
      setErrors(local.errors);
      focusFirstError();
      return;
    }
    setErrors([]);
    const body = { instrument: { name: form.name, edition: form.edition }, data: answers, transactionId: txId.current, occurredAt: new Date().toISOString() };
    // No server to reach: the outbox keeps it, dated now, and sends it when the network is back.
    const keep = async () => {
      await enqueue({ id: body.transactionId, kind: 'record.create', path: `/api/v1/sessions/${encodeURIComponent(sessionId)}/records`, body, title: t('offline.kinds.record', { instrument: localise(form.details.title, language, form.languages) }), occurredAt: body.occurredAt, link: `/datahub/subjects/${subjectId}` });
      void vault()?.remove('draft', key);
      setQueued(true);
    };
    if (!navigator.onLine) return keep();
    try {
      const record = await datahub.submit(sessionId, body);
      void vault()?.remove('draft', key);
      setSaved(record);
    } catch (e) {
      if (unreachable(e)) return keep();
      if (isCairnError(e) && e.code === 'invalid_submission') {
        setErrors((e.details as { errors: SubmissionError[] }).errors);
        focusFirstError();
        return;
      }
      throw e;
    }
  });
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void submit.run();
  };

  if (queued) {
    return (
      <Section title={localise(form.details.title, language, form.languages)}>
        <Queued>
          <Link className="btn" to={`/datahub/subjects/${subjectId}`}>
            {t('datahub.capture.backToSubject')}
          </Link>
        </Queued>
      </Section>
    );
  }

  if (saved) {
    return (
      <Section title={localise(form.details.title, language, form.languages)}>
        <Alert kind="success">{t('datahub.capture.submitted')}</Alert>
        <MeasuresTable form={form} language={language} measures={saved.measures} />
        <div className="row">
          <Link className="btn btn-primary" to={`/datahub/records/${saved.id}`}>
            {t('datahub.subject.view')}
          </Link>
          <Link className="btn" to={`/datahub/subjects/${subjectId}`}>
            {t('datahub.capture.backToSubject')}
          </Link>
        </div>
      </Section>
    );
  }

  return (
    <form onSubmit={onSubmit} noValidate>
      <Section
        title={localise(form.details.title, language, form.languages)}
        actions={
          form.languages.length > 1 ? (
            <label className="filter">
              {t('datahub.capture.language')}{' '}
              <select value={language} onChange={(e) => setLanguage(e.target.value)}>
                {form.languages.map((l) => (
                  <option key={l} value={l}>
                    {l}
                  </option>
                ))}
              </select>
            </label>
          ) : undefined
        }
      >
        {form.details.description && <p className="lead">{localise(form.details.description, language, form.languages)}</p>}
        {restored && (
          <Alert kind="info">
            {t('datahub.capture.draftRestored')}{' '}
            <button
              type="button"
              className="linklike"
              onClick={() => {
                setAnswers({});
                setRestored(false);
              }}
            >
              {t('datahub.capture.discardDraft')}
            </button>
          </Alert>
        )}
        {errors.length > 0 && <Alert kind="error">{t('datahub.capture.fixErrors', { count: errors.length })}</Alert>}
        <InstrumentRenderer form={form} language={language} answers={answers} onChange={setAnswers} errors={errors} />
        {hasMeasures && (
          <div className="live-measures" data-testid="live-measures" aria-live="polite">
            <h3>{t('datahub.capture.liveMeasures')}</h3>
            <p className="muted small">{t('datahub.capture.liveMeasuresHint')}</p>
            <MeasuresTable form={form} language={language} measures={live} />
          </div>
        )}
        <ErrorAlert error={submit.error} />
        <p className="muted small">{t('datahub.capture.draftSaved')}</p>
        <Button type="submit" variant="primary" pending={submit.pending}>
          {t('datahub.capture.submit')}
        </Button>
      </Section>
    </form>
  );
}

function focusFirstError() {
  setTimeout(() => {
    const el = document.querySelector<HTMLElement>('.has-error input, .has-error select, .has-error textarea');
    el?.focus();
  }, 0);
}
