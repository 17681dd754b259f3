import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { certificateFee, type AvailableAction, type JsonValue, type RegistrationDetail, type RegistrationField, type RegistrationHistoryItem, type RegistrationTypeVersion } from '@cairn/sdk';
import { useAction, useLoad } from '../../hooks.js';
import { useUser } from '../../session.js';
import { Alert, Button, DateTime, ErrorAlert, Section, Spinner, TextField } from '../../components/ui.js';
import type { Ctx } from '../../components/instrument-renderer/InstrumentRenderer.js';
import { RegistrationFieldView, formatRegistrationValue, type FieldServices } from '../../components/registration-fields/RegistrationFields.js';
import { isDocumentRef } from '../../components/registration-fields/DocumentsField.js';
import { useLocationNames } from '../../components/registration-fields/LocationInput.js';
import { fieldsById, locationIds, personName, registrations, registrationTypes, typeText, visiblePages, type Answers } from './registrations.api.js';
import { BackToQueues, formatDay, StatusBadges } from './common.js';

/** Actions drawn as plain buttons (no form beyond a confirmation). */
const SIMPLE = new Set(['assign', 'unassign', 'validate', 'register', 'approve-correction']);
/** Actions that need a reason typed. */
const WITH_REASON = new Set(['reject', 'archive', 'reject-correction', 'mark-not-duplicate']);
/** Never offered as buttons: the system records them. */
const SYSTEM_ONLY = new Set(['notify', 'duplicate-detected']);

export function RegistrationPage() {
  const { id } = useParams() as { id: string };
  const reg = useLoad(() => registrations.get(id));
  const history = useLoad(() => registrations.history(id));
  // The type version the registration was declared under: it renders with it, whatever changed since.
  const def = useLoad(async () => (reg.data ? registrationTypes.get(reg.data.type, reg.data.typeVersion) : undefined));
  const typeKey = reg.data ? `${reg.data.type}@${reg.data.typeVersion}` : '';
  useEffect(() => {
    if (typeKey) void def.reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [typeKey]);
  const reload = async () => {
    await Promise.all([reg.reload(), history.reload()]);
  };
  if (reg.loading && !reg.data) return <Spinner />;
  if (!reg.data) return <ErrorAlert error={reg.error} />;
  if (!def.data) return def.error ? <ErrorAlert error={def.error} /> : <Spinner />;
  return <RegistrationView reg={reg.data} def={def.data} history={history} onChanged={reload} />;
}

function RegistrationView({ reg, def, history, onChanged }: { reg: RegistrationDetail; def: RegistrationTypeVersion; history: { data: RegistrationHistoryItem[] | undefined; error: unknown; loading: boolean }; onChanged: () => Promise<void> }) {
  const { t, i18n } = useTranslation();
  const { user } = useUser();
  const doc = def.document;
  const language = doc.languages.find((l) => l === i18n.language || l.startsWith(`${i18n.language}-`)) ?? doc.languages[0]!;
  const L = (s: Parameters<typeof typeText>[1]) => typeText(doc, s, language);
  const places = useLocationNames([...locationIds(doc, reg.data as Answers), reg.eventLocationId, reg.officeId]);
  const services: FieldServices = {
    documentUrl: (docId) => registrations.documentUrl(reg.id, docId),
    locationName: (lid) => places.get(lid),
    upload: (file, mediaType) => registrations.uploadDocument(file, mediaType),
  };
  // A pending correction (request-correction) carries the proposed answers (an additive field of the contract).
  const correction = (reg as RegistrationDetail & { correction?: { data: Record<string, JsonValue> } }).correction;
  const flagLabels = Object.fromEntries((doc.flags ?? []).map((f) => [f.id, L(f.label)]));
  const name = personName(reg.data);
  const pages = visiblePages(doc, reg.data as Answers);
  const documents = pages.flatMap((p) => p.fields).flatMap((f) => {
    const v = reg.data[f.name];
    if (f.kind === 'documents' && Array.isArray(v)) return (v as unknown[]).filter(isDocumentRef).map((d) => ({ field: L(f.label), d }));
    if (f.kind === 'signature' && isDocumentRef(v)) return [{ field: L(f.label), d: v }];
    return [];
  });

  return (
    <div className="page reg-page">
      <BackToQueues />
      <div className="page-head">
        <div>
          <h1>{t('registrations.page.heading', { type: L(doc.label), name: name || t('registrations.unnamed') })}</h1>
          <p>
            {t('registrations.columns.tracking')} <strong className="reg-tracking" data-testid="tracking-id">{reg.trackingId}</strong>
            {reg.registrationNumber && (
              <>
                {' · '}
                {t('registrations.registrationNumber')} <strong data-testid="registration-number">{reg.registrationNumber}</strong>
              </>
            )}
          </p>
          <StatusBadges status={reg.status} flags={reg.flags} flagLabels={flagLabels} />
        </div>
      </div>

      {reg.flags.includes('potential-duplicate') && reg.duplicateOf.length > 0 && (
        <Alert kind="warning">
          {t('registrations.page.duplicateWarning')}{' '}
          {reg.duplicateOf.map((d, i) => (
            <span key={d}>
              <Link to={`/registrations/${d}`}>{t('registrations.page.openMatch', { n: i + 1 })}</Link>{' '}
            </span>
          ))}
          <Link className="btn" to={`/registrations/${reg.id}/duplicates`}>
            {t('search.review.review')}
          </Link>
        </Alert>
      )}
      <div className="grid-side">
        <div className="stack">
          <ActionsPanel reg={reg} def={def} L={L} language={language} services={services} onChanged={onChanged} />
          <Section title={t('registrations.page.facts')}>
            <dl className="props reg-props">
              <dt>{t('registrations.page.assigned')}</dt>
              <dd data-testid="assigned">{reg.assignedTo ? (reg.assignedTo.id === user.id ? t('registrations.you') : reg.assignedTo.username) : t('registrations.page.nobody')}</dd>
              <dt>{t('registrations.columns.eventDate')}</dt>
              <dd>{formatDay(reg.eventDate, i18n.language)}</dd>
              <dt>{t('registrations.page.eventLocation')}</dt>
              <dd>{reg.eventLocationId ? (services.locationName!(reg.eventLocationId) ?? '—') : '—'}</dd>
              <dt>{t('registrations.page.office')}</dt>
              <dd>{places.get(reg.officeId) ?? '—'}</dd>
              <dt>{t('registrations.page.createdBy')}</dt>
              <dd>
                {reg.createdBy?.username ?? '—'}, <DateTime value={reg.createdAt} />
              </dd>
              <dt>{t('registrations.page.copies')}</dt>
              <dd>{reg.printedCopies}</dd>
              <dt>{t('registrations.page.typeVersion')}</dt>
              <dd>{reg.typeVersion}</dd>
            </dl>
          </Section>
        </div>
        <div className="stack">
          <Section title={t('registrations.page.data')}>
            {pages.map((p) => (
              <div key={p.page.id} className="reg-review">
                <h3>{L(p.page.title)}</h3>
                <dl className="props reg-props">
                  {p.fields.map((f) => (
                    <FieldRow key={f.name} label={L(f.label)} field={f} value={reg.data[f.name]} t={t} L={L} services={services} />
                  ))}
                </dl>
              </div>
            ))}
            {Object.keys(reg.derived ?? {}).length > 0 && (
              <div className="reg-review">
                <h3>{t('registrations.page.derived')}</h3>
                <dl className="props reg-props">
                  {Object.entries(reg.derived).map(([k, v]) => (
                    <FieldRow key={k} label={doc.form.derived?.[k] ? L(doc.form.derived[k]!.label) : k} value={v} t={t} L={L} services={services} />
                  ))}
                </dl>
              </div>
            )}
          </Section>
          {correction && Object.keys(correction.data).length > 0 && (
            <Section title={t('registrations.page.correction')}>
              <ul className="reg-changes">
                {Object.entries(correction.data)
                  .filter(([k, v]) => JSON.stringify(reg.data[k]) !== JSON.stringify(v))
                  .map(([k, v]) => {
                    const f = fieldsById(doc).get(k);
                    return (
                      <li key={k}>
                        {f ? L(f.label) : k}: {formatRegistrationValue(f, reg.data[k], t, L, services)} → <strong>{formatRegistrationValue(f, v, t, L, services)}</strong>
                      </li>
                    );
                  })}
              </ul>
            </Section>
          )}
          {documents.length > 0 && (
            <Section title={t('registrations.page.documents')}>
              <ul className="documents-list">
                {documents.map(({ field, d }) => (
                  <li key={field + d.documentId}>
                    <a href={registrations.documentUrl(reg.id, d.documentId)} target="_blank" rel="noreferrer">
                      {d.name ?? d.documentId.slice(0, 12)}
                    </a>{' '}
                    <span className="muted small">({field})</span>
                  </li>
                ))}
              </ul>
            </Section>
          )}
          {reg.status === 'registered' && <CertificatePreview reg={reg} def={def} L={L} />}
          <Section title={t('registrations.history.title')}>
            <ErrorAlert error={history.error} />
            {history.loading && !history.data && <Spinner />}
            {history.data && <Timeline items={history.data} doc={doc} L={L} services={services} flagLabels={flagLabels} />}
          </Section>
        </div>
      </div>
    </div>
  );
}

function FieldRow({ label, field, value, t, L, services }: { label: string; field?: RegistrationField; value: JsonValue | undefined; t: Ctx['t']; L: Ctx['L']; services: FieldServices }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>
        {field?.kind === 'signature' && isDocumentRef(value) ? (
          <img className="signature-image" src={services.documentUrl!(value.documentId)} alt={t('registrations.fields.signatureOf', { label })} />
        ) : (
          formatRegistrationValue(field, value, t, L, services)
        )}
      </dd>
    </>
  );
}

function actionLabel(t: Ctx['t'], L: Ctx['L'], def: RegistrationTypeVersion, action: string): string {
  const custom = def.document.customActions?.[action];
  if (custom) return L(custom.label);
  const configured = def.document.actions?.[action as keyof NonNullable<RegistrationTypeVersion['document']['actions']>]?.label;
  return configured ? L(configured) : t(`registrations.actions.${action}`, { defaultValue: action });
}

/** Why an action is unavailable, in words: the server's reason code, translated. */
function reasonText(t: Ctx['t'], reason: string | undefined): string {
  if (!reason) return t('registrations.reasons.unknown');
  return t(`registrations.reasons.${reason}`, { defaultValue: t(`errors.${reason}`, { defaultValue: reason }) });
}

function ActionsPanel({ reg, def, L, language, services, onChanged }: { reg: RegistrationDetail; def: RegistrationTypeVersion; L: Ctx['L']; language: string; services: FieldServices; onChanged: () => Promise<void> }) {
  const { t } = useTranslation();
  const { user } = useUser();
  const [open, setOpen] = useState<string | undefined>();
  const [done, setDone] = useState<string | undefined>();
  const offered = reg.actions.filter((a) => !SYSTEM_ONLY.has(a.action));
  // Taking an assignment one already holds is no action at all.
  const allowed = offered.filter((a) => a.allowed && !(a.action === 'assign' && reg.assignedTo?.id === user.id));
  const unavailable = offered.filter((a) => !a.allowed && !(a.action === 'assign' && reg.assignedTo?.id === user.id) && !(a.action === 'unassign' && !reg.assignedTo));
  // One transactionId per intended action until it succeeds: a retry after a lost answer is applied once.
  const intents = useRef(new Map<string, string>());
  const run = useAction(async (action: string, input: Parameters<typeof registrations.action>[2]) => {
    const transactionId = intents.current.get(action) ?? crypto.randomUUID();
    intents.current.set(action, transactionId);
    await registrations.action(reg.id, action, { ...input, transactionId });
    intents.current.delete(action);
    setOpen(undefined);
    setDone(action);
    await onChanged();
  });

  const button = (a: AvailableAction) => {
    const label = actionLabel(t, L, def, a.action);
    // Declaring an existing registration means completing or updating its answers first.
    if (a.action === 'declare')
      return (
        <Link key={a.action} className="btn btn-primary" data-action="declare" to={`/registrations/${reg.id}/update?action=declare`}>
          {t('registrations.page.completeAndDeclare')}
        </Link>
      );
    if (a.action === 'validate')
      return (
        <span key={a.action} className="reg-action-row">
          <Button variant="primary" pending={run.pending} data-action="validate" onClick={() => void run.run('validate', {})}>
            {label}
          </Button>
          <Link className="btn" to={`/registrations/${reg.id}/update?action=validate`}>
            {t('registrations.page.editThenValidate')}
          </Link>
        </span>
      );
    if (SIMPLE.has(a.action)) {
      const takeOver = a.action === 'assign' && reg.assignedTo && reg.assignedTo.id !== user.id;
      return (
        <Button key={a.action} variant={a.action === 'register' || a.action === 'validate' ? 'primary' : 'secondary'} pending={run.pending} data-action={a.action} onClick={() => void run.run(a.action, takeOver ? { force: true } : {})}>
          {takeOver ? t('registrations.actions.takeOver') : label}
        </Button>
      );
    }
    return (
      <Button key={a.action} variant={a.action === 'reject' || a.action === 'archive' ? 'danger' : 'secondary'} data-action={a.action} aria-expanded={open === a.action} onClick={() => setOpen(open === a.action ? undefined : a.action)}>
        {label}
      </Button>
    );
  };

  return (
    <Section title={t('registrations.page.actions')}>
      <div className="reg-actions">
        {done && !run.error && (
          <Alert kind="success">
            {t('registrations.page.done', { action: actionLabel(t, L, def, done) })}
            {done === 'print-certificate' && (
              <>
                {' '}
                <a href={registrations.certificateUrl(reg.id)} target="_blank" rel="noreferrer">
                  {t('registrations.certificate.openToPrint')}
                </a>
              </>
            )}
          </Alert>
        )}
        <ErrorAlert error={run.error} />
        {allowed.length > 0 ? <div className="reg-action-row">{allowed.map(button)}</div> : <p className="muted">{t('registrations.page.noActions')}</p>}
        {open && WITH_REASON.has(open) && (
          <ReasonForm
            label={actionLabel(t, L, def, open)}
            required={open !== 'archive'}
            pending={run.pending}
            danger
            onCancel={() => setOpen(undefined)}
            onSubmit={(reason) => void run.run(open, { reason })}
          />
        )}
        {open === 'mark-as-duplicate' && <DuplicateForm reg={reg} label={actionLabel(t, L, def, open)} pending={run.pending} onCancel={() => setOpen(undefined)} onSubmit={(duplicateOf, reason) => void run.run('mark-as-duplicate', { data: { duplicateOf }, reason })} />}
        {open === 'print-certificate' && <PrintForm def={def} L={L} pending={run.pending} onCancel={() => setOpen(undefined)} onSubmit={(data) => void run.run('print-certificate', { data })} />}
        {open === 'request-correction' && <CorrectionForm reg={reg} def={def} L={L} language={language} services={services} pending={run.pending} onCancel={() => setOpen(undefined)} onSubmit={(data, reason) => void run.run('request-correction', { data, reason })} />}
        {open && def.document.customActions?.[open] && (
          <CustomActionForm name={open} def={def} L={L} language={language} services={services} pending={run.pending} onCancel={() => setOpen(undefined)} onSubmit={(data, reason) => void run.run(open, { data, reason })} />
        )}
        {unavailable.length > 0 && (
          <details>
            <summary>{t('registrations.page.unavailable', { count: unavailable.length })}</summary>
            <ul className="reg-unavailable">
              {unavailable.map((a) => (
                <li key={a.action} data-unavailable={a.action}>
                  <strong>{actionLabel(t, L, def, a.action)}</strong>: {reasonText(t, a.reason)}
                </li>
              ))}
            </ul>
          </details>
        )}
      </div>
    </Section>
  );
}

/** The reason box of the action forms; `error` shows under it (and marks it invalid with `markInvalid`). */
function ReasonField({ id, required, value, onChange, error, markInvalid }: { id: string; required: boolean; value: string; onChange: (reason: string) => void; error?: string; markInvalid?: boolean }) {
  const { t } = useTranslation();
  return (
    <div className="field">
      <label htmlFor={id}>
        {t('registrations.page.reason')}
        {required && <span className="required-mark"> *</span>}
      </label>
      <textarea id={id} rows={3} value={value} aria-invalid={markInvalid && error ? true : undefined} onChange={(e) => onChange(e.target.value)} />
      {error && <p className="field-error">{error}</p>}
    </div>
  );
}

/** What closes every action form: send it (named after the action) or cancel. */
function FormButtons({ label, variant = 'primary', pending, disabled, onCancel }: { label: string; variant?: 'primary' | 'danger'; pending: boolean; disabled?: boolean; onCancel: () => void }) {
  const { t } = useTranslation();
  return (
    <div className="row">
      <Button type="submit" variant={variant} pending={pending} disabled={disabled}>
        {label}
      </Button>
      <Button variant="ghost" onClick={onCancel}>
        {t('common.cancel')}
      </Button>
    </div>
  );
}

function ReasonForm({ label, required, pending, danger, onSubmit, onCancel }: { label: string; required: boolean; pending: boolean; danger?: boolean; onSubmit: (reason: string) => void; onCancel: () => void }) {
  const { t } = useTranslation();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | undefined>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (required && !reason.trim()) return setError(t('registrations.page.reasonRequired'));
    onSubmit(reason.trim());
  };
  return (
    <form className="card" onSubmit={submit} noValidate aria-label={label}>
      <ReasonField id="action-reason" required={required} value={reason} onChange={setReason} error={error} markInvalid />
      <FormButtons label={label} variant={danger ? 'danger' : 'primary'} pending={pending} onCancel={onCancel} />
    </form>
  );
}

/** Marking a duplicate names which of the matched records it duplicates, and why. */
function DuplicateForm({ reg, label, pending, onSubmit, onCancel }: { reg: RegistrationDetail; label: string; pending: boolean; onSubmit: (duplicateOf: string, reason: string) => void; onCancel: () => void }) {
  const { t } = useTranslation();
  const [of, setOf] = useState(reg.duplicateOf[0] ?? '');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | undefined>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!reason.trim()) return setError(t('registrations.page.reasonRequired'));
    onSubmit(of, reason.trim());
  };
  return (
    <form className="card" onSubmit={submit} noValidate aria-label={label}>
      <div className="field">
        <label htmlFor="duplicate-of">{t('registrations.page.pickMatch')}</label>
        <select id="duplicate-of" value={of} onChange={(e) => setOf(e.target.value)}>
          {reg.duplicateOf.map((d, i) => (
            <option key={d} value={d}>
              {t('registrations.page.match', { n: i + 1 })}
            </option>
          ))}
        </select>
      </div>
      <ReasonField id="duplicate-reason" required value={reason} onChange={setReason} error={error} />
      <FormButtons label={label} variant="danger" pending={pending} disabled={!of} onCancel={onCancel} />
    </form>
  );
}

const RELATIONS = ['informant', 'mother', 'father', 'other'] as const;

function PrintForm({ def, L, pending, onSubmit, onCancel }: { def: RegistrationTypeVersion; L: Ctx['L']; pending: boolean; onSubmit: (data: Record<string, JsonValue>) => void; onCancel: () => void }) {
  const { t } = useTranslation();
  const templates = def.document.certificates ?? [];
  const [relation, setRelation] = useState<string>('informant');
  const [name, setName] = useState('');
  const [idType, setIdType] = useState('');
  const [idNumber, setIdNumber] = useState('');
  const [copies, setCopies] = useState(1);
  const [template, setTemplate] = useState(templates[0]?.id ?? '');
  // The chosen template's own fee, else the type's, for all the copies: the rule the server checks.
  const fee = certificateFee(def.document, template || undefined, copies);
  const [paid, setPaid] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return setError(t('registrations.print.nameRequired'));
    if (fee && !paid) return setError(t('registrations.print.feeRequired'));
    const collector: Record<string, JsonValue> = { relation, name: name.trim() };
    if (idType.trim()) collector.idType = idType.trim();
    if (idNumber.trim()) collector.idNumber = idNumber.trim();
    const data: Record<string, JsonValue> = { collector, copies };
    if (template) data.template = template;
    if (fee) data.fee = { amount: fee.amount, currency: fee.currency, paid };
    onSubmit(data);
  };
  return (
    <form className="card" onSubmit={submit} noValidate aria-label={t('registrations.print.title')}>
      <p className="muted small">{t('registrations.print.help')}</p>
      <div className="field">
        <label htmlFor="print-relation">{t('registrations.print.relation')}</label>
        <select id="print-relation" value={relation} onChange={(e) => setRelation(e.target.value)}>
          {RELATIONS.map((r) => (
            <option key={r} value={r}>
              {t(`registrations.print.relations.${r}`)}
            </option>
          ))}
        </select>
      </div>
      <TextField label={t('registrations.print.name')} value={name} onChange={(e) => setName(e.target.value)} error={error && !name.trim() ? error : undefined} autoComplete="off" />
      <TextField label={t('registrations.print.idType')} value={idType} onChange={(e) => setIdType(e.target.value)} autoComplete="off" />
      <TextField label={t('registrations.print.idNumber')} value={idNumber} onChange={(e) => setIdNumber(e.target.value)} autoComplete="off" />
      <TextField label={t('registrations.print.copies')} type="number" min={1} max={10} value={String(copies)} onChange={(e) => setCopies(Math.max(1, Math.min(10, Number(e.target.value) || 1)))} />
      {templates.length > 1 && (
        <div className="field">
          <label htmlFor="print-template">{t('registrations.print.template')}</label>
          <select id="print-template" value={template} onChange={(e) => setTemplate(e.target.value)}>
            {templates.map((c) => (
              <option key={c.id} value={c.id}>
                {L(c.label)}
              </option>
            ))}
          </select>
        </div>
      )}
      {fee && (
        <label className="check">
          <input type="checkbox" checked={paid} onChange={(e) => setPaid(e.target.checked)} />
          {t('registrations.print.feePaid', { amount: fee.amount, currency: fee.currency })}
        </label>
      )}
      {error && name.trim() && <p className="field-error">{error}</p>}
      <FormButtons label={t('registrations.print.record')} pending={pending} onCancel={onCancel} />
    </form>
  );
}

function useFormCtx(L: Ctx['L']): Ctx {
  const { t } = useTranslation();
  return { L, t, errorsByField: new Map(), readOnly: false, visible: new Set() };
}

/** A correction: the fields to change (picked by their label) with their new values, and why. */
function CorrectionForm({ reg, def, L, language, services, pending, onSubmit, onCancel }: { reg: RegistrationDetail; def: RegistrationTypeVersion; L: Ctx['L']; language: string; services: FieldServices; pending: boolean; onSubmit: (data: Record<string, JsonValue>, reason: string) => void; onCancel: () => void }) {
  const { t } = useTranslation();
  const ctx = useFormCtx(L);
  const pages = visiblePages(def.document, reg.data as Answers);
  const fields = pages.flatMap((p) => p.fields);
  // "First name(s)" is on three pages: the choice names the page too.
  const choiceLabel = (name: string) => {
    const p = pages.find((x) => x.fields.some((f) => f.name === name));
    const f = fields.find((x) => x.name === name)!;
    return p ? `${L(p.page.title)} · ${L(f.label)}` : L(f.label);
  };
  const [chosen, setChosen] = useState<string[]>([]);
  const [values, setValues] = useState<Answers>({});
  const [pick, setPick] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | undefined>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!chosen.length) return setError(t('registrations.correction.pickOne'));
    if (!reason.trim()) return setError(t('registrations.page.reasonRequired'));
    const data: Record<string, JsonValue> = {};
    for (const f of chosen) data[f] = values[f] ?? null;
    onSubmit(data, reason.trim());
  };
  return (
    <form className="card" onSubmit={submit} noValidate aria-label={t('registrations.actions.request-correction')} lang={language}>
      <div className="field">
        <label htmlFor="correction-field">{t('registrations.correction.field')}</label>
        <div className="row">
          <select id="correction-field" value={pick} onChange={(e) => setPick(e.target.value)}>
            <option value="">{t('datahub.renderer.choose')}</option>
            {fields
              .filter((f) => !chosen.includes(f.name))
              .map((f) => (
                <option key={f.name} value={f.name}>
                  {choiceLabel(f.name)}
                </option>
              ))}
          </select>
          <Button
            disabled={!pick}
            onClick={() => {
              setChosen([...chosen, pick]);
              setValues({ ...values, [pick]: reg.data[pick] as JsonValue });
              setPick('');
            }}
          >
            {t('registrations.correction.add')}
          </Button>
        </div>
      </div>
      {chosen.map((name) => {
        const f = fields.find((x) => x.name === name)!;
        return (
          <RegistrationFieldView
            key={name}
            field={f}
            value={values[name]}
            ctx={ctx}
            services={services}
            onChange={(v) => setValues((prev) => ({ ...prev, [name]: (v ?? null) as JsonValue }))}
          />
        );
      })}
      <ReasonField id="correction-reason" required value={reason} onChange={setReason} />
      {error && <p className="field-error">{error}</p>}
      <FormButtons label={t('registrations.actions.request-correction')} pending={pending} onCancel={onCancel} />
    </form>
  );
}

function CustomActionForm({ name, def, L, language, services, pending, onSubmit, onCancel }: { name: string; def: RegistrationTypeVersion; L: Ctx['L']; language: string; services: FieldServices; pending: boolean; onSubmit: (data: Record<string, JsonValue>, reason?: string) => void; onCancel: () => void }) {
  const { t } = useTranslation();
  const cfg = def.document.customActions![name]!;
  const ctx = useFormCtx(L);
  const [values, setValues] = useState<Answers>({});
  const [error, setError] = useState<string | undefined>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const missing = (cfg.fields ?? []).filter((f) => f.required && (values[f.name] === undefined || values[f.name] === ''));
    if (missing.length) return setError(t('registrations.declare.missing', { count: missing.length }));
    onSubmit(values as Record<string, JsonValue>);
  };
  return (
    <form className="card" onSubmit={submit} noValidate aria-label={L(cfg.label)} lang={language}>
      {(cfg.fields ?? []).map((f) => (
        <RegistrationFieldView
          key={f.name}
          field={f}
          value={values[f.name]}
          ctx={ctx}
          services={services}
          onChange={(v) =>
            setValues((prev) => {
              const next = { ...prev };
              if (v === undefined) delete next[f.name];
              else next[f.name] = v as JsonValue;
              return next;
            })
          }
        />
      ))}
      {error && <p className="field-error">{error}</p>}
      <FormButtons label={L(cfg.label)} pending={pending} onCancel={onCancel} />
    </form>
  );
}

function CertificatePreview({ reg, def, L }: { reg: RegistrationDetail; def: RegistrationTypeVersion; L: Ctx['L'] }) {
  const { t } = useTranslation();
  const templates = def.document.certificates ?? [];
  const [template, setTemplate] = useState(templates[0]?.id);
  const url = registrations.certificateUrl(reg.id, templates.length > 1 ? template : undefined);
  // The preview embeds the server's PDF; a server that forbids framing it (frame-ancestors 'none')
  // gets the link alone rather than an empty frame.
  const framable = useLoad(async () => {
    const res = await fetch(url, { credentials: 'include' });
    if (!res.ok) return false;
    const csp = res.headers.get('content-security-policy') ?? '';
    const xfo = (res.headers.get('x-frame-options') ?? '').toUpperCase();
    return !/frame-ancestors\s+'none'/.test(csp) && xfo !== 'DENY';
  });
  useEffect(() => {
    void framable.reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [url]);
  return (
    <Section
      title={t('registrations.certificate.title')}
      actions={
        <a className="btn" href={url} target="_blank" rel="noreferrer">
          {t('registrations.certificate.open')}
        </a>
      }
    >
      {templates.length > 1 && (
        <label className="filter">
          {t('registrations.print.template')}{' '}
          <select value={template} onChange={(e) => setTemplate(e.target.value)}>
            {templates.map((c) => (
              <option key={c.id} value={c.id}>
                {L(c.label)}
              </option>
            ))}
          </select>
        </label>
      )}
      {framable.data === false ? <p className="muted small">{t('registrations.certificate.noPreview')}</p> : <p className="muted small">{t('registrations.certificate.help')}</p>}
      {framable.data && <iframe className="reg-certificate" src={url} title={t('registrations.certificate.title')} />}
    </Section>
  );
}

function Timeline({ items, doc, L, services, flagLabels }: { items: RegistrationHistoryItem[]; doc: RegistrationTypeVersion['document']; L: Ctx['L']; services: FieldServices; flagLabels: Record<string, string> }) {
  const { t } = useTranslation();
  const fields = fieldsById(doc);
  // Two fields may share a label ("Date of birth" of the child and of the mother): name the page too.
  const pageOf = new Map(doc.form.pages.flatMap((p) => p.fields.map((f) => [f.name, L(p.title)] as const)));
  const counts = new Map<string, number>();
  for (const f of fields.values()) counts.set(L(f.label), (counts.get(L(f.label)) ?? 0) + 1);
  const duplicateLabels = new Set([...counts].filter(([, n]) => n > 1).map(([k]) => k));
  const [reads, setReads] = useState(false);
  if (!items.length) return <p className="empty">{t('registrations.history.empty')}</p>;
  // Every opening is audited; shown on request, so the actions stay readable.
  const readCount = items.filter((h) => h.action === 'read').length;
  const shown = reads ? items : items.filter((h) => h.action !== 'read');
  const label = (name: string) => {
    const f = fields.get(name);
    if (!f) return name;
    const text = L(f.label);
    const page = pageOf.get(name);
    return duplicateLabels.has(text) && page ? `${page} · ${text}` : text;
  };
  return (
    <>
      {readCount > 0 && (
        <label className="check small">
          <input type="checkbox" checked={reads} onChange={(e) => setReads(e.target.checked)} />
          {t('registrations.history.showReads', { count: readCount })}
        </label>
      )}
    <ol className="reg-timeline">
      {[...shown].reverse().map((h) => (
        <li key={h.entryId} data-history={h.action}>
          <div>
            <strong>{t(`registrations.history.actions.${h.action}`, { defaultValue: t(`registrations.actions.${h.action}`, { defaultValue: h.action }) })}</strong>{' '}
            <span className="reg-when">
              <DateTime value={h.at} />
            </span>
          </div>
          <div className="small">
            {h.actor.kind === 'system'
              ? t('registrations.history.system')
              : t('registrations.history.by', {
                  who: h.actor.username ?? t('registrations.history.someone'),
                  role: h.actor.role ? t(`registrations.roles.${h.actor.role}`) : '—',
                  office: h.actor.officeName ?? '—',
                })}
          </div>
          {h.reason && (
            <div className="small">
              {t('registrations.page.reason')}: {h.reason}
            </div>
          )}
          {h.changes.length > 0 && (
            <ul className="reg-changes">
              {h.changes.map((c) => {
                const f = fields.get(c.field);
                return (
                  <li key={c.field}>
                    {label(c.field)}: {formatRegistrationValue(f, c.from ?? undefined, t, L, services)} → {formatRegistrationValue(f, c.to ?? undefined, t, L, services)}
                  </li>
                );
              })}
            </ul>
          )}
          {h.action === 'print-certificate' && h.details.collector && typeof h.details.collector === 'object' && !Array.isArray(h.details.collector) && (
            <div className="small">
              {t('registrations.history.collectedBy', { name: String(h.details.collector.name ?? ''), relation: t(`registrations.print.relations.${String(h.details.collector.relation)}`, { defaultValue: String(h.details.collector.relation ?? '') }) })}
            </div>
          )}
          <div className="small muted">
            <StatusBadges status={h.statusAfter} flags={h.flagsAfter} flagLabels={flagLabels} />
          </div>
        </li>
      ))}
    </ol>
    </>
  );
}
