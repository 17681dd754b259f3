import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { isCairnError } from '@cairn/sdk';
import { localise, type FormInstrument, type SubmissionError } from '@cairn/sdk/instruments';
import { useAction, useLoad } from '../../hooks.js';
import { useUser } from '../../session.js';
import { Alert, Button, DateTime, ErrorAlert, Section, Spinner, TextField } from '../../components/ui.js';
import { InstrumentRenderer, MeasuresTable, type Answers } from '../../components/instrument-renderer/InstrumentRenderer.js';
import { datahub, subjectName } from './datahub.api.js';

/** A record, always shown with the edition it was captured with; its history; edit and delete. */
export function RecordPage() {
  const { t, i18n } = useTranslation();
  const { id } = useParams() as { id: string };
  const { can } = useUser();
  const view = useLoad(() => datahub.record(id));
  const history = useLoad(() => datahub.history(id));
  const [editing, setEditing] = useState<Answers | undefined>();
  const [errors, setErrors] = useState<SubmissionError[]>([]);
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState(false);
  const reload = async () => {
    await Promise.all([view.reload(), history.reload()]);
  };
  const save = useAction(async () => {
    try {
      await datahub.updateRecord(id, editing, view.data!.record.version);
      setEditing(undefined);
      setErrors([]);
      await reload();
    } catch (e) {
      if (isCairnError(e) && e.code === 'invalid_submission') return setErrors((e.details as { errors: SubmissionError[] }).errors);
      throw e;
    }
  });
  const remove = useAction(async () => {
    await datahub.deleteRecord(id, reason);
    setConfirming(false);
    await reload();
  });

  if (view.loading) return <Spinner />;
  if (view.error || !view.data) return <ErrorAlert error={view.error} />;
  const { record, subject } = view.data;
  const form = view.data.definition as FormInstrument;
  const language = form.languages.find((l) => l === i18n.language) ?? form.languages[0]!;
  const title = localise(form.details.title, language, form.languages);
  return (
    <div className="page">
      <p>
        <Link to={`/datahub/subjects/${subject.id}`}>← {t('datahub.capture.backToSubject')}</Link>
      </p>
      <h1>{t('datahub.record.title', { instrument: title, subject: subjectName(subject) })}</h1>
      <p className="muted">
        {t('datahub.record.captured')}: <DateTime value={record.date} /> · {t('datahub.record.edition')}: {form.edition} · {t('datahub.record.version', { version: record.version })}
      </p>
      {record.deleted && <Alert kind="warning">{t('datahub.record.deleted', { reason: record.deletedReason })}</Alert>}
      <div className="grid-side">
        <Section title={t('datahub.record.measures')}>
          <MeasuresTable form={form} language={language} measures={record.measures} />
        </Section>
        <Section
          title={t('datahub.record.answers')}
          actions={
            can('records:write') && !record.deleted && !editing ? (
              <span className="row">
                <Button onClick={() => setEditing(record.data as Answers)}>{t('datahub.record.edit')}</Button>
                <Button variant="danger" onClick={() => setConfirming(true)}>
                  {t('datahub.record.delete')}
                </Button>
              </span>
            ) : undefined
          }
        >
          {confirming && (
            <form
              className="confirm"
              onSubmit={(e) => {
                e.preventDefault();
                void remove.run();
              }}
            >
              <TextField label={t('datahub.record.deleteReason')} value={reason} onChange={(e) => setReason(e.target.value)} required />
              <ErrorAlert error={remove.error} />
              <div className="row">
                <Button type="submit" variant="danger" pending={remove.pending} disabled={!reason.trim()}>
                  {t('datahub.record.confirmDelete')}
                </Button>
                <Button onClick={() => setConfirming(false)}>{t('common.cancel')}</Button>
              </div>
            </form>
          )}
          {editing ? (
            <form
              onSubmit={(e) => {
                e.preventDefault();
                void save.run();
              }}
              noValidate
            >
              <InstrumentRenderer form={form} language={language} answers={editing} onChange={setEditing} errors={errors} />
              <ErrorAlert error={save.error} />
              <div className="row">
                <Button type="submit" variant="primary" pending={save.pending}>
                  {t('datahub.record.saveEdit')}
                </Button>
                <Button onClick={() => setEditing(undefined)}>{t('common.cancel')}</Button>
              </div>
            </form>
          ) : (
            <InstrumentRenderer form={form} language={language} answers={record.data as Answers} readOnly />
          )}
        </Section>
      </div>
      <Section title={t('datahub.record.history')}>
        <ErrorAlert error={history.error} />
        <ol className="history">
          {(history.data ?? []).map((h) => (
            <li key={h.entryId}>
              <strong>{t(`datahub.record.types.${h.type}`)}</strong> · {t('datahub.record.version', { version: h.version })} · <DateTime value={h.at} /> {h.actor.username ? t('datahub.record.by', { who: h.actor.username }) : ''}
              {h.reason && <span> — {h.reason}</span>}
              {h.measures && <span className="muted small"> {JSON.stringify(h.measures)}</span>}
            </li>
          ))}
        </ol>
      </Section>
    </div>
  );
}
