import { useEffect, useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { CaptureRecord, ExportFormat, InstrumentEdition, SessionKind } from '@cairn/sdk';
import { localise } from '@cairn/sdk/instruments';
import { useAction, useLoad } from '../../hooks.js';
import { useUser } from '../../session.js';
import { Button, DateTime, ErrorAlert, Section, Spinner, TextField } from '../../components/ui.js';
import { formatValue } from '../../components/instrument-renderer/InstrumentRenderer.js';
import { datahub, linearTrend, subjectName } from './datahub.api.js';
import { TrendChart } from './TrendChart.js';
import { SubjectAssignments } from './RemoteAssignments.js';

/** A form's measures (series instruments have none of their own). */
const measuresOf = (e: InstrumentEdition): Record<string, { kind?: string; label?: Parameters<typeof localise>[0] }> => ('measures' in e.definition && e.definition.measures) || {};

export function SubjectPage() {
  const { t, i18n } = useTranslation();
  const { id } = useParams() as { id: string };
  const { can } = useUser();
  const navigate = useNavigate();
  const subject = useLoad(() => datahub.subject(id));
  const records = useLoad(() => datahub.records(id));
  const instruments = useLoad(() => datahub.instruments.list({ includeRetired: true }));
  const [kind, setKind] = useState<SessionKind>('in_person');
  const [date, setDate] = useState('');
  const start = useAction(async () => {
    const s = await datahub.startSession(id, kind === 'retrospective' ? { kind, date } : { kind });
    navigate(`/datahub/sessions/${s.id}/capture`);
  });
  const end = useAction(async (sessionId: string) => {
    await datahub.endSession(sessionId);
    await subject.reload();
  });

  const groups = useMemo(() => {
    const m = new Map<string, CaptureRecord[]>();
    for (const r of records.data ?? []) {
      const k = `${r.instrument.name}@${r.instrument.edition}`;
      m.set(k, [...(m.get(k) ?? []), r]);
    }
    return [...m.entries()];
  }, [records.data]);
  const title = (name: string) => {
    const i = instruments.data?.find((x) => x.name === name);
    return i ? localise(i.title, i18n.language, i.languages) : name;
  };
  // The definitions of the editions this subject has records of: measure labels and their order.
  const editionKeys = useMemo(() => [...new Set((records.data ?? []).map((r) => `${r.instrument.name}@${r.instrument.edition}`))].sort(), [records.data]);
  const definitions = useLoad(async () => {
    const out = new Map<string, InstrumentEdition>();
    await Promise.all(
      editionKeys.map(async (k) => {
        const [name, ed] = k.split('@');
        out.set(k, await datahub.instruments.edition(name!, Number(ed)));
      }),
    );
    return out;
  });
  const editionList = editionKeys.join(',');
  const reloadDefinitions = definitions.reload;
  useEffect(() => {
    if (editionList) void reloadDefinitions();
  }, [editionList, reloadDefinitions]);
  /** A measure as people read it: its label in their language (`ITEM9POSITIVE` → "Item 9 endorsed …"). */
  const measureLabel = (name: string, key: string) => {
    for (const [k, e] of definitions.data ?? []) {
      if (!k.startsWith(`${name}@`)) continue;
      const m = measuresOf(e)[key];
      if (m?.label) return localise(m.label, i18n.language, e.languages);
    }
    return key;
  };
  /** Measures in the order the definitions list them, then any the definitions no longer list. */
  const orderOf = (name: string, keys: string[]) => {
    const defined: string[] = [];
    for (const [k, e] of definitions.data ?? []) if (k.startsWith(`${name}@`)) for (const m of Object.keys(measuresOf(e))) if (!defined.includes(m)) defined.push(m);
    return [...defined.filter((m) => keys.includes(m)), ...keys.filter((m) => !defined.includes(m)).sort()];
  };

  // Every numeric measure of every instrument, for the graph; the most recent record's instrument first.
  const measureKeys = useMemo(() => {
    const byInstrument = new Map<string, string[]>();
    const latest = [...(records.data ?? [])].sort((a, b) => b.date.localeCompare(a.date));
    for (const r of latest) {
      const keys = byInstrument.get(r.instrument.name) ?? [];
      for (const [k, v] of Object.entries(r.measures)) if (typeof v === 'number' && !keys.includes(k)) keys.push(k);
      byInstrument.set(r.instrument.name, keys);
    }
    // Scores are computed measures: they come first, so the default is the main score (PHQ-9's total), not an item.
    const computed = (name: string, key: string) => [...(definitions.data ?? [])].some(([k, e]) => k.startsWith(`${name}@`) && measuresOf(e)[key]?.kind === 'computed');
    return [...byInstrument.entries()].flatMap(([name, keys]) => {
      const ordered = orderOf(name, keys);
      return [...ordered.filter((k) => computed(name, k)), ...ordered.filter((k) => !computed(name, k))].map((k) => `${name}:${k}`);
    });
  }, [records.data, definitions.data]); // orderOf reads definitions.data
  const [measure, setMeasure] = useState<string>('');
  // Default: the main score (first computed measure) of the instrument captured last.
  const chosen = measure && measureKeys.includes(measure) ? measure : measureKeys[0] || '';
  const number = new Intl.NumberFormat(i18n.language, { maximumFractionDigits: 2 });
  const cell = (v: unknown) => (typeof v === 'number' ? number.format(v) : formatValue(v as never, t));
  const points = useMemo(() => {
    const [name, key] = chosen.split(':');
    return (records.data ?? [])
      .filter((r) => r.instrument.name === name && typeof r.measures[key!] === 'number')
      .map((r) => ({ t: Date.parse(r.date) / 1000, v: r.measures[key!] as number }));
  }, [chosen, records.data]);
  const trend = linearTrend(points.map((p) => ({ x: p.t, y: p.v })));

  if (subject.loading) return <Spinner />;
  if (subject.error || !subject.data) return <ErrorAlert error={subject.error} />;
  const s = subject.data;
  const active = s.activeSession;
  return (
    <div className="page">
      <p>
        <Link to={`/datahub/w/${s.workspaceId}/subjects`}>← {t('datahub.subjects.title')}</Link>
      </p>
      <h1>
        {t('datahub.subject.title', { identifier: subjectName(s) })}
        {s.identifierKind === 'derived' && <span className="badge">{t('datahub.subject.derivedId')}</span>}
      </h1>
      {s.label && (
        <p className="muted small subject-identifier" title={s.identifier}>
          {t('datahub.subject.identifier', { identifier: subjectName({ identifier: s.identifier, identifierKind: s.identifierKind }) })}
        </p>
      )}
      {can('records:write') && <LabelForm subjectId={s.id} label={s.label} onSaved={() => void subject.reload()} />}
      <p className="muted">
        {t('datahub.subjects.dateOfBirth')}: {s.dateOfBirth ?? '—'} · {t('datahub.subjects.sex')}: {t(`datahub.subjects.sexes.${s.sex ?? 'unknown'}`)}
      </p>
      <div className="grid-2">
        <Section title={t('datahub.subject.session')}>
          <ErrorAlert error={start.error ?? end.error} />
          {active ? (
            <>
              <p>
                {t('datahub.subject.active', { kind: t(`datahub.subject.kinds.${active.kind}`), when: new Date(active.startedAt).toLocaleString(i18n.language) })}
              </p>
              {can('records:write') && (
                <div className="row">
                  <Link className="btn btn-primary" to={`/datahub/sessions/${active.id}/capture`}>
                    {t('datahub.subject.capture')}
                  </Link>
                  <Button pending={end.pending} onClick={() => void end.run(active.id)}>
                    {t('datahub.subject.end')}
                  </Button>
                </div>
              )}
            </>
          ) : (
            <>
              <p className="muted">{t('datahub.subject.noSession')}</p>
              {can('records:write') && (
                <form
                  onSubmit={(e) => {
                    e.preventDefault();
                    void start.run();
                  }}
                >
                  <div className="field">
                    <label htmlFor="session-kind">{t('datahub.subject.kind')}</label>
                    <select id="session-kind" value={kind} onChange={(e) => setKind(e.target.value as SessionKind)}>
                      {(['in_person', 'retrospective', 'remote'] as const).map((k) => (
                        <option key={k} value={k}>
                          {t(`datahub.subject.kinds.${k}`)}
                        </option>
                      ))}
                    </select>
                  </div>
                  {kind === 'retrospective' && (
                    <div className="field">
                      <label htmlFor="session-date">{t('datahub.subject.date')}</label>
                      <input id="session-date" type="date" required value={date} max={new Date().toISOString().slice(0, 10)} onChange={(e) => setDate(e.target.value)} />
                    </div>
                  )}
                  <Button type="submit" variant="primary" pending={start.pending}>
                    {t('datahub.subject.start')}
                  </Button>
                </form>
              )}
            </>
          )}
        </Section>
        <Section title={t('datahub.subject.graph')}>
          {measureKeys.length === 0 ? (
            <p className="muted">{t('datahub.subject.noRecords')}</p>
          ) : (
            <>
              <div className="field">
                <label htmlFor="graph-measure">{t('datahub.subject.measure')}</label>
                <select id="graph-measure" value={chosen} onChange={(e) => setMeasure(e.target.value)}>
                  {measureKeys.map((k) => (
                    <option key={k} value={k}>
                      {title(k.split(':')[0]!)} — {measureLabel(k.split(':')[0]!, k.split(':')[1]!)}
                    </option>
                  ))}
                </select>
              </div>
              <TrendChart points={points} label={chosen ? measureLabel(chosen.split(':')[0]!, chosen.split(':')[1]!) : ''} trendLabel={t('datahub.subject.trend')} language={i18n.language} />
              {trend && <p className="muted small" data-testid="trend-slope">{t('datahub.subject.slope', { slope: (trend.slope * 30 * 86400).toFixed(2) })}</p>}
            </>
          )}
        </Section>
      </div>
      <Section
        title={t('datahub.subject.records')}
        actions={
          <span className="row">
            {(['csv', 'xlsx', 'json'] as ExportFormat[]).map((f) => (
              <a key={f} className="btn btn-ghost" href={datahub.exportUrl({ subjectId: id }, { format: f, shape: f === 'json' ? 'wide' : 'long' })} download>
                {f.toUpperCase()}
              </a>
            ))}
          </span>
        }
      >
        <ErrorAlert error={records.error} />
        {groups.length === 0 && <p className="muted">{t('datahub.subject.noRecords')}</p>}
        {groups.map(([key, rs]) => {
          const [name, edition] = key.split('@');
          const measureNames = orderOf(name!, [...new Set(rs.flatMap((r) => Object.keys(r.measures)))]);
          return (
            <div key={key} className="record-group">
              <h3>
                {title(name!)} <span className="muted small">{t('datahub.subject.edition', { edition })}</span>
              </h3>
              <div className="table-wrap">
                <table className="table" data-instrument={key}>
                  <thead>
                    <tr>
                      <th>{t('datahub.record.captured')}</th>
                      {measureNames.map((m) => (
                        <th key={m} title={m}>
                          {measureLabel(name!, m)}
                        </th>
                      ))}
                      <th />
                    </tr>
                  </thead>
                  <tbody>
                    {rs.map((r) => (
                      <tr key={r.id}>
                        <td>
                          <DateTime value={r.date} />
                        </td>
                        {measureNames.map((m) =>
                          // A yes/no measure that is "yes" is a flag (PHQ-9 item 9 endorsed): it must not be missed.
                          r.measures[m] === true ? (
                            <td key={m} className="measure-flag" data-flag={m}>
                              <span aria-hidden="true">⚑ </span>
                              {t('datahub.subject.flagged')}
                            </td>
                          ) : (
                            <td key={m}>{cell(r.measures[m])}</td>
                          ),
                        )}
                        <td className="actions">
                          <Link to={`/datahub/records/${r.id}`}>{t('datahub.subject.view')}</Link>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </div>
          );
        })}
      </Section>
      <SubjectAssignments subjectId={id} />
    </div>
  );
}

/** The subject's label: set, changed or removed by members (PATCH /subjects/{id}); the heading shows the result. */
function LabelForm({ subjectId, label, onSaved }: { subjectId: string; label: string | null; onSaved: () => void }) {
  const { t } = useTranslation();
  const [value, setValue] = useState(label ?? '');
  useEffect(() => setValue(label ?? ''), [label]);
  const save = useAction(async () => {
    await datahub.setSubjectLabel(subjectId, value.trim() || null);
    onSaved();
  });
  return (
    <form
      className="label-form"
      onSubmit={(e) => {
        e.preventDefault();
        void save.run();
      }}
    >
      <TextField label={t('datahub.subject.label')} value={value} onChange={(e) => setValue(e.target.value)} maxLength={60} autoComplete="off" hint={t('datahub.subject.labelHint')} />
      <Button type="submit" pending={save.pending} disabled={value.trim() === (label ?? '')}>
        {t('datahub.subject.saveLabel')}
      </Button>
      <ErrorAlert error={save.error} />
    </form>
  );
}
