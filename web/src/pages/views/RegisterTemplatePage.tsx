import { useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useSearchParams } from 'react-router';
import type { ViewLimits, ViewRuntime } from '@cairn/sdk';
import { viewsApi } from './views.api.js';
import { useAction } from '../../hooks.js';
import { Button, ErrorAlert, Section, TextField } from '../../components/ui.js';

const SAMPLES: Record<ViewRuntime, string> = {
  javascript: `export default async function ({ configuration, input, events }) {
  let count = 0;
  let after = null;
  do {
    const page = await events.query({ type: configuration.eventType, from: input.from, to: input.to, after });
    count += page.events.length;
    after = page.next;
  } while (after);
  return { count };
}
`,
  python: `async def main(configuration, input, events):
    count = 0
    after = None
    while True:
        page = await events.query(type=configuration["eventType"], from_=input.get("from"), to=input.get("to"), after=after)
        count += len(page["events"])
        after = page["next"]
        if after is None:
            return {"count": count}
`,
};
const LIMIT_KEYS: (keyof ViewLimits)[] = ['memoryMb', 'cpuMs', 'maxResultBytes', 'maxQueryLimit'];
const entryOf = (r: ViewRuntime) => (r === 'javascript' ? 'main.js' : 'main.py');

interface FileDraft {
  key: number;
  name: string;
  source: string;
}

/** Register a template, or (with ?from=<id>) a new version of one, starting from its latest sources. */
export function RegisterTemplatePage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const from = params.get('from');
  const [name, setName] = useState('');
  const [runtime, setRuntime] = useState<ViewRuntime>('javascript');
  const [description, setDescription] = useState('');
  const [eventTypes, setEventTypes] = useState('');
  const [limits, setLimits] = useState<Record<string, string>>({});
  const [files, setFiles] = useState<FileDraft[]>([{ key: 0, name: 'main.js', source: SAMPLES.javascript }]);
  const [nextKey, setNextKey] = useState(1);
  const runtimeId = useId();
  const descriptionId = useId();

  useEffect(() => {
    if (!from) return;
    let live = true;
    void viewsApi.template(from).then((d) => {
      if (!live) return;
      const latest = d.versions.find((v) => v.version === d.latestVersion);
      setName(d.name);
      if (latest) {
        setRuntime(latest.runtime);
        setDescription(latest.description);
        setEventTypes(latest.eventTypes.join(', '));
        setLimits(Object.fromEntries(LIMIT_KEYS.map((k) => [k, String(latest.limits[k])])));
      }
      if (d.sources) {
        const entries = Object.entries(d.sources);
        setFiles(entries.map(([n, source], i) => ({ key: i, name: n, source })));
        setNextKey(entries.length);
      }
    });
    return () => {
      live = false;
    };
  }, [from]);

  const changeRuntime = (r: ViewRuntime) => {
    setRuntime(r);
    // Swap the untouched sample for the other language's.
    setFiles((fs) => (fs.length === 1 && fs[0]!.source === SAMPLES[runtime] ? [{ key: fs[0]!.key, name: entryOf(r), source: SAMPLES[r] }] : fs));
  };

  const submit = useAction(async () => {
    const lim: Partial<ViewLimits> = {};
    for (const k of LIMIT_KEYS) {
      const v = limits[k]?.trim();
      if (v) lim[k] = Number(v);
    }
    const r = await viewsApi.registerTemplate({
      name: name.trim(),
      runtime,
      description: description.trim(),
      eventTypes: eventTypes.split(',').map((s) => s.trim()).filter(Boolean),
      files: Object.fromEntries(files.map((f) => [f.name.trim(), f.source])),
      limits: lim,
    });
    navigate(`/views/templates/${r.id}`);
  });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void submit.run();
  };

  return (
    <div className="page">
      <p>
        <Link to="/views">← {t('views.back')}</Link>
      </p>
      <h1>{from ? t('views.newVersion') : t('views.register')}</h1>
      <form onSubmit={onSubmit} className="view-form">
        <Section title={t('views.register')}>
          <ErrorAlert error={submit.error} />
          <TextField label={t('views.name')} required maxLength={100} value={name} readOnly={!!from} onChange={(e) => setName(e.target.value)} />
          <div className="field">
            <label htmlFor={runtimeId}>{t('views.runtime')}</label>
            <select id={runtimeId} value={runtime} onChange={(e) => changeRuntime(e.target.value as ViewRuntime)}>
              <option value="javascript">{t('views.runtimes.javascript')}</option>
              <option value="python">{t('views.runtimes.python')}</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor={descriptionId}>{t('views.description')}</label>
            <textarea id={descriptionId} rows={2} maxLength={2000} value={description} onChange={(e) => setDescription(e.target.value)} />
          </div>
          <TextField label={t('views.eventTypes')} hint={t('views.eventTypesHint')} value={eventTypes} onChange={(e) => setEventTypes(e.target.value)} placeholder="activity.example/steps" />
          <fieldset className="view-limits">
            <legend>{t('views.limits')}</legend>
            <p className="field-hint">{t('views.limitsHint')}</p>
            {LIMIT_KEYS.map((k) => (
              <TextField key={k} label={t(`views.limit.${k}`)} type="number" min={1} inputMode="numeric" value={limits[k] ?? ''} onChange={(e) => setLimits((l) => ({ ...l, [k]: e.target.value }))} />
            ))}
          </fieldset>
        </Section>
        <Section title={t('views.files')}>
          <p className="field-hint">{t('views.entryHint', { entry: entryOf(runtime) })}</p>
          {files.map((f, i) => (
            <div key={f.key} className="view-file">
              <div className="view-file-header">
                <TextField label={t('views.fileName')} required value={f.name} onChange={(e) => setFiles((fs) => fs.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))} />
                {files.length > 1 && (
                  <Button variant="ghost" onClick={() => setFiles((fs) => fs.filter((_, j) => j !== i))} aria-label={t('views.removeFile', { name: f.name })}>
                    ✕
                  </Button>
                )}
              </div>
              <textarea
                className="view-code-input"
                aria-label={`${t('views.file')} ${f.name}`}
                spellCheck={false}
                rows={Math.min(30, Math.max(8, f.source.split('\n').length + 1))}
                value={f.source}
                onChange={(e) => setFiles((fs) => fs.map((x, j) => (j === i ? { ...x, source: e.target.value } : x)))}
              />
            </div>
          ))}
          {files.length < 20 && (
            <Button
              onClick={() => {
                setFiles((fs) => [...fs, { key: nextKey, name: runtime === 'javascript' ? `lib${nextKey}.js` : `lib${nextKey}.py`, source: '' }]);
                setNextKey((k) => k + 1);
              }}
            >
              {t('views.addFile')}
            </Button>
          )}
        </Section>
        <Button type="submit" variant="primary" pending={submit.pending}>
          {t('views.submit')}
        </Button>
      </form>
    </div>
  );
}
