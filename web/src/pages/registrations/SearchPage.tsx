import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { RegistrationField, RegistrationSearchFilter, RegistrationSearchPage, RegistrationSearchResult, RegistrationTypeDocument } from '@cairn/sdk';
import { useAction } from '../../hooks.js';
import { LocationPicker } from '../../components/LocationPicker.js';
import { Alert, Button, ErrorAlert, Section, TextField } from '../../components/ui.js';
import { registrations, registrationTypes, typeText } from './registrations.api.js';
import { BackToQueues, formatDay, StatusBadges, TypeSelect, useTypes } from './common.js';

/** Kinds an advanced search can filter on, and how. */
const OP_OF: Record<string, RegistrationSearchFilter['op']> = { personName: 'fuzzy', text: 'exact', nationalId: 'exact', phone: 'exact', email: 'exact', date: 'range', location: 'within' };

/** Type documents by id (latest version), loaded once each: field labels for results and the form. */
export function useTypeDocs(ids: string[]) {
  const [docs, setDocs] = useState<Record<string, RegistrationTypeDocument>>({});
  const key = [...new Set(ids)].sort().join(',');
  useEffect(() => {
    let live = true;
    for (const id of key ? key.split(',') : []) {
      if (docs[id]) continue;
      registrationTypes
        .get(id)
        .then((v) => live && setDocs((d) => ({ ...d, [id]: v.document })))
        .catch(() => {});
    }
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return docs;
}

/** A field's label in the reader's language, or its id. */
export function useFieldLabel(docs: Record<string, RegistrationTypeDocument>) {
  const { t, i18n } = useTranslation();
  return (type: string, field: string): string => {
    if (field === 'legacyId') return t('search.page.legacyId');
    if (field === 'trackingId') return t('search.page.trackingId');
    if (field === 'registrationNumber') return t('search.page.registrationNumber');
    const doc = docs[type];
    const f = doc?.form.pages.flatMap((p) => p.fields).find((x) => x.name === field);
    return f && doc ? typeText(doc, f.label, i18n.language) : field;
  };
}

export function SearchPage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const mode = params.get('mode') === 'advanced' ? 'advanced' : 'quick';
  const q = params.get('q') ?? '';
  const set = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) (v ? next.set(k, v) : next.delete(k));
    setParams(next);
  };
  return (
    <div className="page reg-page">
      <BackToQueues />
      <h1>{t('search.page.title')}</h1>
      <div className="row search-modes" role="tablist" aria-label={t('search.page.title')}>
        <button type="button" role="tab" aria-selected={mode === 'quick'} className={`btn ${mode === 'quick' ? 'btn-primary' : ''}`} onClick={() => set({ mode: '' })}>
          {t('search.page.quickTab')}
        </button>
        <button type="button" role="tab" aria-selected={mode === 'advanced'} className={`btn ${mode === 'advanced' ? 'btn-primary' : ''}`} onClick={() => set({ mode: 'advanced' })}>
          {t('search.page.advancedTab')}
        </button>
      </div>
      {mode === 'quick' ? <QuickResults q={q} onSearch={(text) => set({ q: text })} /> : <AdvancedSearch />}
    </div>
  );
}

function QuickResults({ q, onSearch }: { q: string; onSearch: (q: string) => void }) {
  const { t } = useTranslation();
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);
  const search = (cursor?: string) => registrations.search(q, { cursor, limit: 20 });
  return (
    <Section title={t('search.page.quickTab')}>
      <form
        className="row search-form"
        role="search"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          if (text.trim()) onSearch(text.trim());
        }}
      >
        <TextField label={t('search.quick.label')} hint={t('search.page.quickHelp')} type="search" value={text} onChange={(e) => setText(e.target.value)} maxLength={200} />
        <Button type="submit" variant="primary">
          {t('search.quick.submit')}
        </Button>
      </form>
      {q && <Results load={search} reloadKey={q} />}
    </Section>
  );
}

/** A ranked, paged list of results, each with why it matched. */
function Results({ load, reloadKey }: { load: (cursor?: string) => Promise<RegistrationSearchPage>; reloadKey: string }) {
  const { t, i18n } = useTranslation();
  const types = useTypes();
  const [items, setItems] = useState<RegistrationSearchResult[] | undefined>();
  const [next, setNext] = useState<string | null>(null);
  const run = useAction(async (cursor?: string) => {
    const page = await load(cursor);
    setItems((prev) => (cursor ? [...(prev ?? []), ...page.results] : page.results));
    setNext(page.next);
  });
  useEffect(() => {
    setItems(undefined);
    void run.run();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [reloadKey]);
  const docs = useTypeDocs((items ?? []).map((r) => r.type));
  const label = useFieldLabel(docs);
  return (
    <div className="search-results" aria-live="polite">
      <ErrorAlert error={run.error} />
      {items && items.length === 0 && <p className="muted">{t('search.page.none')}</p>}
      {items && items.length > 0 && (
        <ol className="search-list" aria-label={t('search.page.results')}>
          {items.map((r) => {
            const name = ['child', 'deceased', 'groom', 'person'].map((p) => [r.summary[`${p}.firstName`], r.summary[`${p}.lastName`]].filter(Boolean).join(' ')).find(Boolean);
            return (
              <li key={r.id} className="search-item" data-id={r.id}>
                <div className="row search-head">
                  <Link to={`/registrations/${r.id}`} className="reg-tracking">
                    {r.trackingId}
                  </Link>
                  <strong>{name || t('registrations.unnamed')}</strong>
                  <span className="muted small">
                    {types.label(r.type)} · {formatDay(r.eventDate, i18n.language)}
                    {r.legacyId ? ` · ${t('search.page.legacyId')} ${r.legacyId}` : ''}
                  </span>
                  <StatusBadges status={r.status} flags={r.flags} />
                </div>
                {r.matched.length > 0 && (
                  <p className="small search-why">
                    <span className="visually-hidden">{t('search.page.why')}: </span>
                    {r.matched.map((m, i) => (
                      <span key={i} className={`search-chip search-chip-${m.how}`}>
                        {m.query
                          ? t('search.page.matchedQuery', { query: m.query, field: label(r.type, m.field), value: m.value, how: t(`search.page.how.${m.how}`) })
                          : t('search.page.matchedId', { field: label(r.type, m.field), value: m.value, how: t(`search.page.how.${m.how}`) })}
                      </span>
                    ))}
                  </p>
                )}
              </li>
            );
          })}
        </ol>
      )}
      {next && (
        <Button pending={run.pending} onClick={() => void run.run(next)}>
          {t('search.page.more')}
        </Button>
      )}
    </div>
  );
}

interface FilterRow extends RegistrationSearchFilter {
  key: number;
}

function AdvancedSearch() {
  const { t } = useTranslation();
  const types = useTypes();
  const [type, setType] = useState('');
  const chosen = type || types.data?.[0]?.id || '';
  const docs = useTypeDocs(chosen ? [chosen] : []);
  const doc = docs[chosen];
  const label = useFieldLabel(docs);
  const fields: Array<Pick<RegistrationField, 'name' | 'kind'>> = doc ? [...doc.form.pages.flatMap((p) => p.fields).filter((f) => OP_OF[f.kind]), { name: 'legacyId', kind: 'text' }] : [];
  const [pick, setPick] = useState('');
  const [filters, setFilters] = useState<FilterRow[]>([]);
  const [submitted, setSubmitted] = useState<{ key: string; filters: RegistrationSearchFilter[] } | null>(null);
  const [missing, setMissing] = useState(false);
  const add = () => {
    const f = fields.find((x) => x.name === (pick || fields[0]?.name));
    if (!f) return;
    setFilters((fs) => [...fs, { key: Date.now() + Math.random(), field: f.name, op: OP_OF[f.kind]! }]);
  };
  const update = (key: number, change: Partial<RegistrationSearchFilter>) => setFilters((fs) => fs.map((f) => (f.key === key ? { ...f, ...change } : f)));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const ready = filters.filter((f) => (f.op === 'range' ? f.from || f.to : f.value?.trim())).map(({ key: _key, ...f }) => f);
    setMissing(!ready.length);
    if (ready.length) setSubmitted({ key: JSON.stringify([chosen, ready]), filters: ready });
  };
  return (
    <Section title={t('search.page.advancedTab')}>
      <p className="muted small">{t('search.advanced.help')}</p>
      <form onSubmit={submit} className="stack search-advanced">
        <TypeSelect
          id="adv-type"
          label={t('search.advanced.type')}
          value={chosen}
          types={types}
          onChange={(v) => {
            setType(v);
            setFilters([]);
            setSubmitted(null);
          }}
        />
        <div className="row search-add">
          <div className="field">
            <label htmlFor="adv-field">{t('search.advanced.addField')}</label>
            <select id="adv-field" value={pick || fields[0]?.name || ''} onChange={(e) => setPick(e.target.value)}>
              {fields.map((f) => (
                <option key={f.name} value={f.name}>
                  {label(chosen, f.name)}
                </option>
              ))}
            </select>
          </div>
          <Button onClick={add}>{t('search.advanced.add')}</Button>
        </div>
        {filters.map((f) => {
          const name = label(chosen, f.field);
          const id = `adv-${f.key}`;
          return (
            <fieldset key={f.key} className="search-filter" data-field={f.field}>
              <legend>{name}</legend>
              {f.op === 'range' ? (
                <div className="row">
                  <TextField label={t('search.advanced.from')} type="date" value={f.from ?? ''} onChange={(e) => update(f.key, { from: e.target.value || undefined })} />
                  <TextField label={t('search.advanced.to')} type="date" value={f.to ?? ''} onChange={(e) => update(f.key, { to: e.target.value || undefined })} />
                </div>
              ) : f.op === 'within' ? (
                <LocationPicker id={id} label={t('search.advanced.within')} value={f.value ?? null} onChange={(v) => update(f.key, { value: v ?? undefined })} />
              ) : (
                <TextField id={id} label={f.op === 'fuzzy' ? t('search.advanced.fuzzy') : t('search.advanced.exact')} value={f.value ?? ''} maxLength={200} onChange={(e) => update(f.key, { value: e.target.value })} />
              )}
              <Button variant="ghost" onClick={() => setFilters((fs) => fs.filter((x) => x.key !== f.key))} aria-label={t('search.advanced.remove', { field: name })}>
                ✕
              </Button>
            </fieldset>
          );
        })}
        {missing && <Alert kind="error">{t('search.advanced.noFilters')}</Alert>}
        <div>
          <Button type="submit" variant="primary">
            {t('search.advanced.search')}
          </Button>
        </div>
      </form>
      {submitted && <Results key={submitted.key} reloadKey={submitted.key} load={(cursor) => registrations.advancedSearch({ type: chosen, filters: submitted.filters, cursor, limit: 20 })} />}
    </Section>
  );
}
