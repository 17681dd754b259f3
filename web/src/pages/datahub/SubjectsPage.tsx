import { useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { deriveSubjectIdentifier, isCairnError, type Sex, type Subject } from '@cairn/sdk';
import { useAction, useLoad } from '../../hooks.js';
import { useUser } from '../../session.js';
import { Alert, Button, DataTable, DateTime, ErrorAlert, Section, TextField } from '../../components/ui.js';
import { datahub, subjectName } from './datahub.api.js';

export function SubjectsPage() {
  const { t } = useTranslation();
  const { ws } = useParams() as { ws: string };
  const { can } = useUser();
  const [q, setQ] = useState('');
  const [list, setList] = useState<Subject[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const load = useAction(async (after?: string) => {
    const r = await datahub.subjects(ws, { q: q.trim() || undefined, after, limit: 50 });
    setList((old) => (after ? [...old, ...r.subjects] : r.subjects));
    setNext(r.next);
  });
  useEffect(() => {
    const timer = setTimeout(() => void load.run(), 200);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [q, ws]);

  return (
    <div className="page">
      <p>
        <Link to="/datahub">← {t('datahub.title')}</Link>
      </p>
      <h1>{t('datahub.subjects.title')}</h1>
      <div className="grid-side">
        {can('records:write') ? <AddSubject ws={ws} /> : <div />}
        <Section title={t('datahub.subjects.title')}>
          <TextField label={t('datahub.subjects.search')} type="search" value={q} onChange={(e) => setQ(e.target.value)} />
          <ErrorAlert error={load.error} />
          {list.length === 0 && !load.pending ? (
            <p className="muted">{t('datahub.subjects.none')}</p>
          ) : (
            <DataTable>
              <thead>
                <tr>
                  <th>{t('datahub.subjects.identifier')}</th>
                  <th>{t('datahub.subjects.dateOfBirth')}</th>
                  <th>{t('datahub.subjects.sex')}</th>
                  <th className="num">{t('datahub.subjects.records')}</th>
                  <th>{t('datahub.subjects.lastRecord')}</th>
                </tr>
              </thead>
              <tbody>
                {list.map((s) => (
                  <tr key={s.id}>
                    <th scope="row">
                      <Link to={`/datahub/subjects/${s.id}`} title={s.identifier}>
                        {subjectName(s)}
                      </Link>
                      {s.label && <span className="muted small subject-identifier"> {subjectName({ identifier: s.identifier, identifierKind: s.identifierKind })}</span>}
                    </th>
                    <td>{s.dateOfBirth ?? '—'}</td>
                    <td>{t(`datahub.subjects.sexes.${s.sex ?? 'unknown'}`)}</td>
                    <td className="num">{s.recordCount ?? 0}</td>
                    <td>
                      <DateTime value={s.lastRecordAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </DataTable>
          )}
          {next && (
            <Button pending={load.pending} onClick={() => void load.run(next)}>
              {t('datahub.subjects.more')}
            </Button>
          )}
        </Section>
      </div>
    </div>
  );
}

function AddSubject({ ws }: { ws: string }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const settings = useLoad(() => datahub.settings(ws));
  const [kind, setKind] = useState<'custom' | 'derived'>('custom');
  const [identifier, setIdentifier] = useState('');
  const [first, setFirst] = useState('');
  const [last, setLast] = useState('');
  const [dob, setDob] = useState('');
  const [sex, setSex] = useState<Sex | ''>('');
  const [label, setLabel] = useState('');
  const [existing, setExisting] = useState<string | undefined>();
  // Subjects that look like this one (a custom identifier read as a name): shown once before creating.
  const [similar, setSimilar] = useState<Array<Subject & { score: number }> | null>(null);
  const create = useAction(async (anyway = false) => {
    setExisting(undefined);
    let id = identifier.trim();
    if (kind === 'custom' && !anyway) {
      const found = await datahub.similarSubjects(ws, { identifier: id, ...(dob ? { dateOfBirth: dob } : {}), ...(sex ? { sex } : {}) });
      if (found.length) {
        setSimilar(found);
        return;
      }
    }
    setSimilar(null);
    if (kind === 'derived') {
      // The names stay here: only the digest is sent.
      const { key } = await datahub.identityKey();
      id = await deriveSubjectIdentifier({ firstName: first, lastName: last, dateOfBirth: dob, sex: sex as Sex }, key);
    }
    try {
      const s = await datahub.createSubject(ws, { identifier: id, identifierKind: kind, dateOfBirth: dob || null, sex: sex || null, label: label.trim() || null });
      navigate(`/datahub/subjects/${s.id}`);
    } catch (e) {
      if (isCairnError(e) && e.code === 'conflict') {
        setExisting((e.details as { subjectId?: string } | undefined)?.subjectId);
        return;
      }
      throw e;
    }
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void create.run();
  };
  const derivedReady = first.trim() && last.trim() && dob && sex;
  return (
    <Section title={t('datahub.subjects.add')}>
      <form onSubmit={submit}>
        <fieldset className="field">
          <legend>{t('datahub.subjects.kind')}</legend>
          <label className="check">
            <input type="radio" name="kind" checked={kind === 'custom'} onChange={() => setKind('custom')} /> {t('datahub.subjects.custom')}
          </label>
          <label className="check">
            <input type="radio" name="kind" checked={kind === 'derived'} onChange={() => setKind('derived')} /> {t('datahub.subjects.derived')}
          </label>
        </fieldset>
        {kind === 'custom' ? (
          <TextField
            label={t('datahub.subjects.identifier')}
            value={identifier}
            onChange={(e) => setIdentifier(e.target.value)}
            required
            hint={settings.data?.subjectIdPattern ? t('datahub.subjects.pattern', { pattern: settings.data.subjectIdPattern }) : undefined}
          />
        ) : (
          <>
            <p className="field-hint">{t('datahub.subjects.derivedHint')}</p>
            <TextField label={t('datahub.subjects.firstName')} value={first} onChange={(e) => setFirst(e.target.value)} autoComplete="off" required />
            <TextField label={t('datahub.subjects.lastName')} value={last} onChange={(e) => setLast(e.target.value)} autoComplete="off" required />
          </>
        )}
        <TextField label={t('datahub.subjects.label')} value={label} onChange={(e) => setLabel(e.target.value)} maxLength={60} autoComplete="off" hint={t('datahub.subjects.labelHint')} />
        <TextField label={t('datahub.subjects.dateOfBirth')} type="date" value={dob} onChange={(e) => setDob(e.target.value)} required={kind === 'derived'} />
        <div className="field">
          <label htmlFor="subject-sex">{t('datahub.subjects.sex')}</label>
          <select id="subject-sex" value={sex} onChange={(e) => setSex(e.target.value as Sex | '')} required={kind === 'derived'}>
            <option value="">{t('datahub.subjects.sexes.unknown')}</option>
            {(['female', 'male', 'other'] as const).map((s) => (
              <option key={s} value={s}>
                {t(`datahub.subjects.sexes.${s}`)}
              </option>
            ))}
          </select>
        </div>
        <ErrorAlert error={create.error} />
        {existing && (
          <Alert kind="info">
            {t('datahub.subjects.exists')} <Link to={`/datahub/subjects/${existing}`}>{t('datahub.subjects.open')} →</Link>
          </Alert>
        )}
        {similar && (
          <Alert kind="warning">
            <strong>{t('search.hub.similarTitle')}</strong> {t('search.hub.similarBody')}
            <ul className="links" data-testid="similar-subjects">
              {similar.map((x) => (
                <li key={x.id}>
                  <Link to={`/datahub/subjects/${x.id}`}>
                    {t('search.hub.matchLine', { identifier: x.identifier, dob: x.dateOfBirth ?? '—', sex: x.sex ? t(`datahub.subjects.sexes.${x.sex}`) : '—', score: Math.round(x.score * 100) })}
                  </Link>
                </li>
              ))}
            </ul>
            <Button pending={create.pending} onClick={() => void create.run(true)}>
              {t('search.hub.createAnyway')}
            </Button>
          </Alert>
        )}
        <Button type="submit" variant="primary" pending={create.pending} disabled={kind === 'derived' ? !derivedReady : !identifier.trim()}>
          {t('datahub.subjects.create')}
        </Button>
      </form>
    </Section>
  );
}
