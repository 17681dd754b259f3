import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { ViewTestRunResult } from '@cairn/sdk';
import { viewsApi } from './views.api.js';
import { Button, ErrorAlert, Section } from '../../components/ui.js';

const pretty = (v: unknown) => JSON.stringify(v, null, 2);

/** One JSON text field; answers the parsed value or marks itself invalid. */
function parse(label: string, text: string, errors: string[]): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    errors.push(`${label}: ${(e as Error).message}`);
    return undefined;
  }
}

/**
 * Test-run a template version (issue 17): sample events, configuration and input as JSON, run in
 * the server's sandbox with the template's limits. Only the samples are read, never stored events.
 */
export function TestRunPanel({ templateId, version, eventTypes }: { templateId: string; version: number; eventTypes: string[] }) {
  const { t } = useTranslation();
  const [configuration, setConfiguration] = useState('{}');
  const [input, setInput] = useState('{}');
  const [events, setEvents] = useState('');
  const [result, setResult] = useState<ViewTestRunResult>();
  const [error, setError] = useState<unknown>();
  const [invalid, setInvalid] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    // A starting point the administrator edits: one sample of each type the template reads.
    setEvents(pretty(eventTypes.map((type, i) => ({ type, occurredAt: new Date(Date.UTC(2026, 0, 1, 9 + i)).toISOString(), data: {} }))));
    setResult(undefined);
  }, [eventTypes, version]);
  const run = async (e: FormEvent) => {
    e.preventDefault();
    const errors: string[] = [];
    const req = {
      version,
      configuration: parse(t('views.testRun.configuration'), configuration, errors),
      input: parse(t('views.testRun.input'), input, errors),
      events: parse(t('views.testRun.events'), events, errors) as { type: string; data: unknown }[] | undefined,
    };
    setInvalid(errors);
    setResult(undefined);
    setError(undefined);
    if (errors.length) return;
    setBusy(true);
    try {
      setResult(await viewsApi.testRun(templateId, req));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title={t('views.testRun.title', { version })}>
      <p className="muted">{t('views.testRun.intro')}</p>
      <form className="stack" onSubmit={run}>
        <label className="field">
          {t('views.testRun.events')}
          <textarea className="mono" rows={8} value={events} onChange={(e) => setEvents(e.target.value)} spellCheck={false} />
        </label>
        <label className="field">
          {t('views.testRun.configuration')}
          <textarea className="mono" rows={3} value={configuration} onChange={(e) => setConfiguration(e.target.value)} spellCheck={false} />
        </label>
        <label className="field">
          {t('views.testRun.input')}
          <textarea className="mono" rows={3} value={input} onChange={(e) => setInput(e.target.value)} spellCheck={false} />
        </label>
        {invalid.map((m) => (
          <p key={m} className="field-error" role="alert">
            {m}
          </p>
        ))}
        <ErrorAlert error={error} />
        <Button type="submit" variant="primary" pending={busy}>
          {t('views.testRun.run')}
        </Button>
      </form>
      {result && (
        <div data-testid="test-run-result">
          <p>{t('views.testRun.stats', { ms: result.stats.durationMs, events: result.stats.eventsRead })}</p>
          <pre className="mono">{pretty(result.result)}</pre>
        </div>
      )}
    </Section>
  );
}
