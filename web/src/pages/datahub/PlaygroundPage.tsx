import { useMemo, useRef, useState } from 'react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { isCairnError } from '@cairn/sdk';
import { computeMeasures, validateDefinition, validateSubmission, type DefinitionError, type FormInstrument } from '@cairn/sdk/instruments';
import { useAction, useLoad } from '../../hooks.js';
import { useUser } from '../../session.js';
import { Alert, Button, ErrorAlert, Section } from '../../components/ui.js';
import { InstrumentRenderer, type Answers } from '../../components/instrument-renderer/InstrumentRenderer.js';
import { datahub } from './datahub.api.js';
import { findSpan, lineCol, locatePointers } from './json-locate.js';

const STARTER = {
  kind: 'form',
  name: 'my-instrument',
  edition: 1,
  languages: ['en', 'fr'],
  details: { title: { en: 'My instrument', fr: 'Mon instrument' }, license: 'CC-BY-4.0' },
  content: [
    { kind: 'number', name: 'hours', label: { en: 'Hours slept', fr: 'Heures de sommeil' }, min: 0, max: 24, required: true },
    { kind: 'boolean', name: 'woke', label: { en: 'Woke during the night', fr: 'Réveil nocturne' } },
    { kind: 'number', name: 'wakings', integer: true, min: 1, required: true, label: { en: 'How many times?', fr: 'Combien de fois ?' }, visibleWhen: { '==': [{ var: 'woke' }, true] } },
  ],
  measures: { hours: { kind: 'ref', label: { en: 'Sleep', fr: 'Sommeil' }, field: 'hours' } },
};

const PLAYGROUND_KEY = 'cairn.playground';

export function PlaygroundPage() {
  const { t, i18n } = useTranslation();
  const { can } = useUser();
  const [text, setText] = useState(() => localStorage.getItem(PLAYGROUND_KEY) ?? JSON.stringify(STARTER, null, 2));
  const [answers, setAnswers] = useState<Answers>({});
  const area = useRef<HTMLTextAreaElement>(null);
  const library = useLoad(() => datahub.instruments.list());
  const [serverErrors, setServerErrors] = useState<DefinitionError[] | undefined>();
  const [published, setPublished] = useState<{ name: string; edition: number }>();

  const checked = useMemo(() => {
    localStorage.setItem(PLAYGROUND_KEY, text);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      return { parseError: (e as Error).message };
    }
    const spans = locatePointers(text);
    const r = validateDefinition(parsed);
    return { spans, result: r };
  }, [text]);
  const errors = serverErrors ?? (checked.result && !checked.result.ok ? checked.result.errors : []);
  const form = checked.result?.ok && checked.result.definition.kind === 'form' ? (checked.result.definition as FormInstrument) : undefined;
  const language = form ? (form.languages.find((l) => l === i18n.language) ?? form.languages[0]!) : 'en';
  const submission = useMemo(() => (form ? validateSubmission(form, answers) : undefined), [form, answers]);

  const select = (pointer: string) => {
    const span = checked.spans ? findSpan(checked.spans, pointer) : undefined;
    if (!span || !area.current) return;
    area.current.focus();
    area.current.setSelectionRange(span[0], span[1]);
  };
  const load = useAction(async (value: string) => {
    const [name, edition] = value.split('@');
    const e = await datahub.instruments.edition(name!, Number(edition));
    setText(JSON.stringify(e.definition, null, 2));
    setAnswers({});
  });
  const publish = useAction(async () => {
    setServerErrors(undefined);
    const def = JSON.parse(text) as { name: string };
    try {
      const exists = library.data?.some((i) => i.name === def.name);
      const r = exists ? await datahub.instruments.publishEdition(def.name, def) : await datahub.instruments.upload(def);
      await library.reload();
      setPublished(r);
    } catch (e) {
      if (isCairnError(e) && e.code === 'invalid_instrument_definition') setServerErrors((e.details as { errors: DefinitionError[] }).errors);
      throw e;
    }
  });

  return (
    <div className="page">
      <p>
        <Link to="/datahub">← {t('datahub.title')}</Link>
      </p>
      <h1>{t('datahub.playground.title')}</h1>
      <p className="lead">{t('datahub.playground.intro')}</p>
      <div className="grid-2 playground">
        <Section
          title={t('datahub.playground.definition')}
          actions={
            <label className="filter">
              {t('datahub.playground.load')}{' '}
              <select value="" onChange={(e) => e.target.value && void load.run(e.target.value)}>
                <option value="">—</option>
                {(library.data ?? []).map((i) => (
                  <option key={`${i.name}@${i.edition}`} value={`${i.name}@${i.edition}`}>
                    {i.name} ({i.edition})
                  </option>
                ))}
              </select>
            </label>
          }
        >
          <textarea
            ref={area}
            className="code-editor"
            aria-label={t('datahub.playground.definition')}
            spellCheck={false}
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              setServerErrors(undefined);
            }}
            rows={30}
          />
          {checked.parseError ? (
            <Alert kind="error">{t('datahub.playground.invalidJson', { message: checked.parseError })}</Alert>
          ) : errors.length ? (
            <div className="alert alert-error" role="alert">
              <strong>{t('datahub.playground.errors', { count: errors.length })}</strong>
              <ul className="definition-errors">
                {errors.map((e, i) => {
                  const span = checked.spans ? findSpan(checked.spans, e.pointer) : undefined;
                  const at = span ? lineCol(text, span[0]) : undefined;
                  return (
                    <li key={i}>
                      <button type="button" className="linklike" onClick={() => select(e.pointer)}>
                        <code>{e.pointer || '/'}</code>
                        {at ? ` (${at.line}:${at.col})` : ''}
                      </button>{' '}
                      {e.message}
                    </li>
                  );
                })}
              </ul>
            </div>
          ) : (
            <Alert kind="success">{t('datahub.playground.valid')}</Alert>
          )}
          <ErrorAlert error={load.error} />
          {can('instruments:manage') && (
            <>
              {publish.error && !serverErrors ? <ErrorAlert error={publish.error} /> : null}
              {published && <Alert kind="success">{t('datahub.playground.published', published)}</Alert>}
              <Button variant="primary" pending={publish.pending} disabled={!checked.result?.ok} onClick={() => void publish.run()}>
                {t('datahub.playground.publish')}
              </Button>
            </>
          )}
        </Section>
        <Section title={t('datahub.playground.preview')}>
          {form && (
            <>
              <InstrumentRenderer form={form} language={language} answers={answers} onChange={setAnswers} errors={submission && !submission.ok ? submission.errors : []} />
              <h3>{t('datahub.playground.answers')}</h3>
              <pre className="code small">{JSON.stringify({ answers, measures: submission?.ok ? submission.measures : computeMeasures(form, {}) }, null, 2)}</pre>
            </>
          )}
        </Section>
      </div>
    </div>
  );
}
