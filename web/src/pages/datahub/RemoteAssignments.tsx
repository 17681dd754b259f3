import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { AssignmentsApi, ASSIGNMENT_STATUSES, type Assignment, type AssignmentStatus, type InstrumentSummary, type Subject } from '@cairn/sdk';
import { localise } from '@cairn/sdk/instruments';
import { api } from '../../api.js';
import { useAction, useLoad } from '../../hooks.js';
import { useUser } from '../../session.js';
import { Alert, Button, CopyButton, DataTable, DateTime, ErrorAlert, Section, TextField } from '../../components/ui.js';
import { datahub, subjectName } from './datahub.api.js';

/** Remote capture (docs/remote-capture.md): send an instrument or a series to fill at home. */
export const assignments = new AssignmentsApi(api.http);

function StatusBadge({ status }: { status: AssignmentStatus }) {
  const { t } = useTranslation();
  return (
    <span className={`badge assignment-${status}`} data-status={status}>
      {t(`assignments.status.${status}`)}
    </span>
  );
}

/** A QR code of the link, drawn in the browser (the encoder loads only when one is shown). */
function LinkQr({ link }: { link: string }) {
  const { t } = useTranslation();
  const [src, setSrc] = useState<string>();
  useEffect(() => {
    let live = true;
    import('qrcode')
      .then(({ default: QRCode }) => QRCode.toDataURL(link, { margin: 1, width: 220, errorCorrectionLevel: 'M' }))
      .then((url) => live && setSrc(url))
      .catch(() => live && setSrc(undefined));
    return () => {
      live = false;
    };
  }, [link]);
  return src ? <img src={src} width={220} height={220} alt={t('assignments.qr')} className="assignment-qr" /> : null;
}

/** The instrument/series, language and expiry chooser shared by "send remotely" and bulk sending. */
function useAssignChoice() {
  const { i18n } = useTranslation();
  const instruments = useLoad(() => datahub.instruments.list());
  const [key, setKey] = useState('');
  const [language, setLanguage] = useState('');
  const [days, setDays] = useState(14);
  const chosen: InstrumentSummary | undefined = instruments.data?.find((i) => `${i.name}@${i.edition}` === key);
  const languages = chosen?.languages ?? [];
  const lang = languages.includes(language) ? language : (languages.find((l) => l === i18n.language) ?? languages[0] ?? '');
  const input = chosen ? { instrument: { name: chosen.name, edition: chosen.edition }, language: lang, expiresInDays: days } : undefined;
  return { instruments, key, setKey, lang, setLanguage, languages, days, setDays, input };
}

function ChoiceFields({ c, idPrefix }: { c: ReturnType<typeof useAssignChoice>; idPrefix: string }) {
  const { t, i18n } = useTranslation();
  return (
    <>
      <div className="field">
        <label htmlFor={`${idPrefix}-instrument`}>{t('assignments.instrument')}</label>
        <select id={`${idPrefix}-instrument`} required value={c.key} onChange={(e) => c.setKey(e.target.value)}>
          <option value="">{t('assignments.pick')}</option>
          {(c.instruments.data ?? []).map((i) => (
            <option key={`${i.name}@${i.edition}`} value={`${i.name}@${i.edition}`}>
              {localise(i.title, i18n.language, i.languages)}
              {i.kind === 'series' ? ` (${t('assignments.series')})` : ''}
            </option>
          ))}
        </select>
      </div>
      <div className="row">
        <div className="field">
          <label htmlFor={`${idPrefix}-language`}>{t('assignments.language')}</label>
          <select id={`${idPrefix}-language`} value={c.lang} onChange={(e) => c.setLanguage(e.target.value)} disabled={!c.languages.length}>
            {c.languages.map((l) => (
              <option key={l} value={l}>
                {t(`assignments.languages.${l}`, { defaultValue: l })}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${idPrefix}-days`}>{t('assignments.expiresInDays')}</label>
          <input id={`${idPrefix}-days`} type="number" min={1} max={365} value={c.days} onChange={(e) => c.setDays(Math.max(1, Math.min(365, Number(e.target.value) || 1)))} />
        </div>
      </div>
    </>
  );
}

function AssignmentRows({ list, onChanged, showSubject }: { list: Assignment[]; onChanged: () => void; showSubject?: boolean }) {
  const { t } = useTranslation();
  const { can } = useUser();
  const [open, setOpen] = useState<string>();
  const cancel = useAction(async (id: string) => {
    await assignments.cancel(id);
    onChanged();
  });
  return (
    <>
      <ErrorAlert error={cancel.error} />
      <DataTable>
        <thead>
          <tr>
            {showSubject && <th>{t('assignments.subject')}</th>}
            <th>{t('assignments.instrument')}</th>
            <th>{t('assignments.statusLabel')}</th>
            <th>{t('assignments.expires')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.map((a) => (
            <tr key={a.id} data-assignment={a.id}>
              {showSubject && (
                <td>
                  <Link to={`/datahub/subjects/${a.subject.id}`}>{a.subject.identifier ? subjectName({ identifier: a.subject.identifier, label: a.subject.label }) : a.subject.identifier}</Link>
                </td>
              )}
              <td>
                {a.instrument.name}
                {a.parts > 1 && <span className="muted small"> {t('assignments.progress', { done: a.partsReceived, total: a.parts })}</span>}
                {a.invalidParts > 0 && (
                  <button type="button" className="linklike field-error" onClick={() => setOpen(open === a.id ? undefined : a.id)}>
                    {' '}
                    {t('assignments.invalidParts', { count: a.invalidParts })}
                  </button>
                )}
                {open === a.id && <InvalidParts id={a.id} />}
              </td>
              <td>
                <StatusBadge status={a.status} />
              </td>
              <td>
                <DateTime value={a.expiresAt} />
              </td>
              <td className="row">
                {['sent', 'opened', 'partly_done'].includes(a.status) && <CopyButton text={a.link} label={t('assignments.copyLink')} />}
                {can('records:write') && ['sent', 'opened', 'partly_done'].includes(a.status) && (
                  <Button variant="ghost" pending={cancel.pending} onClick={() => void cancel.run(a.id)}>
                    {t('assignments.cancel')}
                  </Button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </DataTable>
    </>
  );
}

/** Parts that arrived but could not be recorded: kept aside, shown with why (never dropped). */
function InvalidParts({ id }: { id: string }) {
  const { t } = useTranslation();
  const detail = useLoad(() => assignments.get(id));
  if (!detail.data) return <ErrorAlert error={detail.error} />;
  return (
    <ul className="invalid-parts">
      {detail.data.parts
        .filter((p) => p.status === 'invalid')
        .map((p) => (
          <li key={p.part}>
            {p.instrument.name}: {t(`assignments.problems.${p.problem ?? 'invalid_submission'}`)}
            {p.errors && <span className="muted small"> ({p.errors.map((e) => `${e.field}: ${e.message}`).join('; ')})</span>}
            {p.data !== null && <pre className="small">{JSON.stringify(p.data, null, 2)}</pre>}
          </li>
        ))}
    </ul>
  );
}

/** On a subject's page: send remotely (link, QR code, optional email) and the subject's assignments. */
export function SubjectAssignments({ subjectId }: { subjectId: string }) {
  const { t } = useTranslation();
  const { can } = useUser();
  const status = useLoad(() => assignments.status());
  const list = useLoad(() => assignments.forSubject(subjectId));
  const c = useAssignChoice();
  const [email, setEmail] = useState('');
  const send = useAction(async () => {
    const r = await assignments.create(subjectId, { ...c.input!, ...(email.trim() ? { email: email.trim() } : {}) });
    await list.reload();
    return r;
  });
  const [sent, setSent] = useState<Awaited<ReturnType<typeof assignments.create>>>();
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setSent(await send.run());
  };
  if (status.data && !status.data.enabled) return null;
  return (
    <Section title={t('assignments.title')} id="remote">
      {can('records:write') && (
        <form onSubmit={(e) => void onSubmit(e)} className="assignment-form">
          <ChoiceFields c={c} idPrefix="remote" />
          {status.data?.mail && <TextField label={t('assignments.email')} hint={t('assignments.emailHint')} type="email" autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} />}
          <ErrorAlert error={send.error} />
          <Button type="submit" variant="primary" pending={send.pending} disabled={!c.input}>
            {t('assignments.send')}
          </Button>
        </form>
      )}
      {sent && (
        <div className="assignment-sent" data-testid="assignment-link">
          <Alert kind="success">{sent.mail?.sent ? t('assignments.sentByMail') : t('assignments.sent')}</Alert>
          {sent.mail && !sent.mail.sent && <Alert kind="warning">{t('assignments.mailFailed')}</Alert>}
          <p className="assignment-link">
            <a href={sent.assignment.link} target="_blank" rel="noreferrer noopener">
              {sent.assignment.link}
            </a>{' '}
            <CopyButton text={sent.assignment.link} label={t('assignments.copyLink')} />
          </p>
          <LinkQr link={sent.assignment.link} />
        </div>
      )}
      <ErrorAlert error={list.error} />
      {list.data && list.data.length > 0 ? <AssignmentRows list={list.data} onChanged={() => void list.reload()} /> : <p className="muted">{t('assignments.none')}</p>}
    </Section>
  );
}

/** A workspace's assignments by status, and sending one instrument to many subjects at once. */
export function AssignmentsPage() {
  const { t } = useTranslation();
  const { ws } = useParams() as { ws: string };
  const { can } = useUser();
  const [filter, setFilter] = useState<AssignmentStatus | ''>('');
  const list = useLoad(() => assignments.forWorkspace(ws, filter ? { status: filter } : {}));
  const reload = list.reload;
  useEffect(() => void reload(), [filter, reload]);
  return (
    <div className="page">
      <p>
        <Link to="/datahub">← {t('datahub.title')}</Link>
      </p>
      <h1>{t('assignments.pageTitle')}</h1>
      <div className="grid-side">
        {can('records:write') ? <BulkAssign ws={ws} onDone={() => void reload()} /> : <div />}
        <Section title={t('assignments.list')}>
          <div className="row" role="group" aria-label={t('assignments.statusLabel')}>
            <Button variant={filter === '' ? 'primary' : 'ghost'} onClick={() => setFilter('')}>
              {t('assignments.all')}
            </Button>
            {ASSIGNMENT_STATUSES.map((s) => (
              <Button key={s} variant={filter === s ? 'primary' : 'ghost'} onClick={() => setFilter(s)}>
                {t(`assignments.status.${s}`)} ({list.data?.counts[s] ?? 0})
              </Button>
            ))}
          </div>
          <ErrorAlert error={list.error} />
          {list.data && (list.data.assignments.length ? <AssignmentRows list={list.data.assignments} showSubject onChanged={() => void reload()} /> : <p className="muted">{t('assignments.none')}</p>)}
        </Section>
      </div>
    </div>
  );
}

function BulkAssign({ ws, onDone }: { ws: string; onDone: () => void }) {
  const { t } = useTranslation();
  const c = useAssignChoice();
  const [q, setQ] = useState('');
  const subjects = useLoad(() => datahub.subjects(ws, { q: q.trim() || undefined, limit: 200 }));
  const reloadSubjects = subjects.reload;
  useEffect(() => {
    const timer = setTimeout(() => void reloadSubjects(), 200);
    return () => clearTimeout(timer);
  }, [q, reloadSubjects]);
  const [picked, setPicked] = useState<Map<string, Subject>>(new Map());
  const shown = useMemo(() => subjects.data?.subjects ?? [], [subjects.data]);
  const toggle = (s: Subject) =>
    setPicked((m) => {
      const n = new Map(m);
      if (n.has(s.id)) n.delete(s.id);
      else n.set(s.id, s);
      return n;
    });
  const send = useAction(async () => {
    const r = await assignments.bulk(ws, { ...c.input!, subjectIds: [...picked.keys()] });
    setPicked(new Map());
    onDone();
    return r;
  });
  const [result, setResult] = useState<Awaited<ReturnType<typeof assignments.bulk>>>();
  return (
    <Section title={t('assignments.bulkTitle')}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void send.run().then(setResult);
        }}
      >
        <ChoiceFields c={c} idPrefix="bulk" />
        <TextField label={t('assignments.findSubjects')} type="search" value={q} onChange={(e) => setQ(e.target.value)} />
        <div className="bulk-subjects">
          <label className="check">
            <input type="checkbox" checked={shown.length > 0 && shown.every((s) => picked.has(s.id))} onChange={(e) => setPicked((m) => { const n = new Map(m); for (const s of shown) { if (e.target.checked) n.set(s.id, s); else n.delete(s.id); } return n; })} /> {t('assignments.selectShown')}
          </label>
          {shown.map((s) => (
            <label key={s.id} className="check">
              <input type="checkbox" checked={picked.has(s.id)} onChange={() => toggle(s)} /> {subjectName(s)}
            </label>
          ))}
        </div>
        <ErrorAlert error={send.error} />
        <Button type="submit" variant="primary" pending={send.pending} disabled={!c.input || picked.size === 0}>
          {t('assignments.sendMany', { count: picked.size })}
        </Button>
      </form>
      {result && (
        <Alert kind={result.failed.length ? 'warning' : 'success'}>
          {t('assignments.bulkResult', { created: result.created.length, failed: result.failed.length })}
        </Alert>
      )}
    </Section>
  );
}
