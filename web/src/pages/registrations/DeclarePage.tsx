import { useEffect, useMemo, useRef, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { isCairnError, type JsonValue, type Registration, type RegistrationTypeVersion } from '@cairn/sdk';
import type { SubmissionError } from '@cairn/sdk/instruments';
import { useAction, useLoad } from '../../hooks.js';
import { useUser } from '../../session.js';
import { Alert, Button, ErrorAlert, Section, Spinner } from '../../components/ui.js';
import { validationMessage, type Ctx } from '../../components/instrument-renderer/InstrumentRenderer.js';
import { RegistrationFieldView, formatRegistrationValue, type FieldServices } from '../../components/registration-fields/RegistrationFields.js';
import { useLocationNames } from '../../components/registration-fields/LocationInput.js';
import { checkForm, keepVisible, locationIds, personName, registrations, registrationTypes, typeText, type Answers } from './registrations.api.js';
import { newDraft, readDraft, removeDraft, writeDraft, type Draft } from './drafts.js';
import { enqueue, unreachable, type OutboxItem } from '../../offline/outbox.js';
import { Queued } from '../../offline/Queued.js';
import { AttachmentFailure, attachmentsOf, forgetUnreferenced, localDocument, localRefs, uploadOrKeep, uploadPending, withStandIns, withUploaded } from '../../offline/attachments.js';
import { vault } from '../../offline/store.js';

export function DeclarePage() {
  const { type } = useParams() as { type: string };
  const [params] = useSearchParams();
  const { user } = useUser();
  const draftId = params.get('draft');
  // A draft is rendered with the type version it was started under, so its answers still fit.
  // The address names the draft; one not stored yet (nothing typed) starts empty under that id.
  const initial = useMemo<Draft>(() => (draftId && readDraft(user.id, draftId)) || { ...newDraft(type), ...(draftId ? { id: draftId } : {}) }, [draftId, user.id, type]);
  const def = useLoad(() => registrationTypes.get(type, initial.typeVersion));
  if (def.loading) return <Spinner />;
  if (def.error || !def.data) return <ErrorAlert error={def.error} />;
  return <DeclareForm key={initial.id} def={def.data} initial={initial} restored={!!draftId && Object.keys(initial.data).length > 0} />;
}

/**
 * Completing or changing an existing registration (an incomplete notification, a declaration sent
 * back for updates, a validator's fixes): the same form and review, pre-filled, sent as the
 * `declare` or `validate` action with only the answers that changed.
 */
export function UpdatePage() {
  const { id } = useParams() as { id: string };
  const [params] = useSearchParams();
  const { user } = useUser();
  const action = params.get('action') === 'validate' ? 'validate' : 'declare';
  const reg = useLoad(() => registrations.get(id));
  const def = useLoad(async () => (reg.data ? registrationTypes.get(reg.data.type, reg.data.typeVersion) : undefined));
  useEffect(() => {
    if (reg.data) void def.reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [reg.data?.id]);
  if (reg.loading || (reg.data && !def.data && !def.error)) return <Spinner />;
  if (!reg.data || !def.data) return <ErrorAlert error={reg.error ?? def.error} />;
  // One draft per registration and person: a reload or an expired session comes back to the edits.
  const draftId = `update-${reg.data.id}`;
  const saved = readDraft(user.id, draftId);
  const initial: Draft = saved ?? { ...newDraft(reg.data.type, reg.data.typeVersion), id: draftId, data: reg.data.data };
  return <DeclareForm key={draftId} def={def.data} initial={initial} restored={!!saved} target={{ registration: reg.data, action }} />;
}

function DeclareForm({ def, initial, restored: wasRestored, target }: { def: RegistrationTypeVersion; initial: Draft; restored: boolean; target?: { registration: Registration; action: 'declare' | 'validate' } }) {
  const { t, i18n } = useTranslation();
  const { user } = useUser();
  const [, setParams] = useSearchParams();
  const doc = def.document;
  const language = doc.languages.find((l) => l === i18n.language || l.startsWith(`${i18n.language}-`)) ?? doc.languages[0]!;
  const L = (s: Parameters<typeof typeText>[1]) => typeText(doc, s, language);
  const [data, setData] = useState<Answers>(initial.data as Answers);
  const [page, setPage] = useState(initial.page);
  const [errors, setErrors] = useState<SubmissionError[]>([]);
  const [restored, setRestored] = useState(wasRestored);
  const [storageFailed, setStorageFailed] = useState(false);
  const [done, setDone] = useState<Registration | undefined>();
  const [queued, setQueued] = useState(false);
  const draft = useRef<Draft>({ ...initial, typeVersion: def.version });
  const heading = useRef<HTMLHeadingElement>(null);

  // Photos kept on this device (picked offline) are checked as the documents they will be.
  const check = useMemo(() => checkForm(doc, withStandIns(data)), [doc, data]);
  const places = useLocationNames(locationIds(doc, data));
  const pages = check.pages;
  const reviewIndex = pages.length;
  const current = Math.min(page, reviewIndex);

  // Every change goes to this device first: an expired session, a crash or a closed tab loses nothing.
  useEffect(() => {
    if (done || queued) return;
    draft.current = { ...draft.current, data, page: current, savedAt: new Date().toISOString() };
    // An untouched form is not a draft: opening the page and leaving leaves nothing behind.
    if (!target && Object.keys(data).length === 0) removeDraft(user.id, draft.current.id);
    else setStorageFailed(!writeDraft(user.id, draft.current));
  }, [data, current, done, queued, user.id, target]);
  // The address carries the draft id, so a reload or a sign-in after expiry comes back to it.
  useEffect(() => {
    if (!target) setParams({ draft: draft.current.id }, { replace: true });
  }, [setParams, target]);

  const services: FieldServices = {
    // Uploaded when picked, as always; without a network, kept in the vault for the outbox to send.
    upload: (file, mediaType) => uploadOrKeep(file, mediaType, (f, m) => registrations.uploadDocument(f, m)),
    documentUrl: target ? (d) => registrations.documentUrl(target.registration.id, d) : undefined,
    locationName: (id) => places.get(id),
  };
  const errorsByField = useMemo(() => {
    const m = new Map<string, SubmissionError[]>();
    for (const e of errors) m.set(e.field, [...(m.get(e.field) ?? []), e]);
    return m;
  }, [errors]);
  const ctx: Ctx = { L, t, errorsByField, readOnly: false, visible: new Set() };

  const go = (n: number) => {
    setPage(n);
    setTimeout(() => {
      heading.current?.focus();
      window.scrollTo({ top: 0 });
    }, 0);
  };

  // What `declare` needs: the form's required fields and the type's `requiredToDeclare`;
  // `notify` sends without them (the registration is flagged incomplete).
  const missing = useMemo(() => {
    const needed = new Set([...check.missing, ...(doc.requiredToDeclare ?? [])]);
    const out: { field: string; label: string; page: number }[] = [];
    pages.forEach((p, i) => {
      for (const f of p.fields) {
        const v = data[f.name];
        const empty = v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
        if (empty && needed.has(f.name)) out.push({ field: f.name, label: L(f.label), page: i });
      }
    });
    return out;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [check, data]);

  /** Continue checks the page's answers with the engine first; a missing answer does not stop it. */
  const next = () => {
    const ids = new Set(pages[current]!.fields.map((f) => f.name));
    const pageErrors = check.errors.filter((e) => ids.has(e.field));
    setErrors(pageErrors);
    if (pageErrors.length) {
      setTimeout(() => document.querySelector<HTMLElement>('.has-error input, .has-error select, .has-error textarea')?.focus(), 0);
      return;
    }
    go(current + 1);
  };

  const submit = useAction(async (action: 'notify' | 'declare' | 'validate') => {
    setErrors([]);
    const shown = new Set(Object.keys(keepVisible(doc, withStandIns(data))));
    const visibleData = Object.fromEntries(Object.entries(data).filter(([k]) => shown.has(k))) as Record<string, JsonValue>;
    // When the person confirmed it: kept if it has to wait in the outbox (docs/offline.md, "Times").
    const occurredAt = new Date().toISOString();
    const transactionId = draft.current.transactionId;
    // Only what changed: given keys replace, null removes (the server merges).
    const patch: Record<string, JsonValue> = {};
    if (target) {
      const before = target.registration.data;
      for (const k of new Set([...Object.keys(before), ...Object.keys(visibleData)])) {
        if (!(k in visibleData)) patch[k] = null;
        else if (JSON.stringify(before[k]) !== JSON.stringify(visibleData[k])) patch[k] = visibleData[k]!;
      }
    }
    // No server to reach: the outbox keeps it, encrypted, and sends it when the network is back.
    const keep = async () => {
      const item: Omit<OutboxItem, 'seq' | 'state' | 'attempts'> = target
        ? { id: transactionId, kind: 'registration.action', path: `/api/v1/registrations/${encodeURIComponent(target.registration.id)}/actions/${target.action}`, body: { data: patch, transactionId, occurredAt }, title: t('offline.kinds.action', { action: t(`registrations.actions.${target.action}`), tracking: target.registration.trackingId }), detail: personName(visibleData) || undefined, occurredAt, link: `/registrations/${target.registration.id}` }
        : { id: transactionId, kind: 'registration.create', path: '/api/v1/registrations', body: { type: doc.id, action, data: visibleData, transactionId, occurredAt }, title: t('offline.kinds.create', { type: typeText(doc, doc.label, language) }), detail: personName(visibleData) || undefined, occurredAt };
      await enqueue(item);
      removeDraft(user.id, draft.current.id);
      setQueued(true);
    };
    if (!navigator.onLine) return keep();
    // Photos picked offline in this draft: uploaded first now that there is a network (the outbox
    // does the same when it sends, docs/offline.md "Attachments").
    const kept = localRefs(target ? patch : visibleData).map((r) => r.localDocument);
    try {
      const uploaded = kept.length ? await uploadPending(attachmentsOf(target ? patch : visibleData), { read: (a) => localDocument(a.local, a.mediaType), upload: (f, m) => registrations.uploadDocument(f, m), saved: () => undefined }) : [];
      let result: Registration;
      if (target) {
        result = (await registrations.action(target.registration.id, target.action, { data: withUploaded(patch, uploaded), transactionId, occurredAt })).registration;
      } else {
        result = await registrations.create({ type: doc.id, action: action as 'notify' | 'declare', data: withUploaded(visibleData, uploaded), transactionId, occurredAt });
      }
      removeDraft(user.id, draft.current.id);
      const v = vault();
      if (kept.length && v) void forgetUnreferenced(v, kept);
      setDone(result);
    } catch (caught) {
      const e = caught instanceof AttachmentFailure ? caught.cause : caught;
      if (unreachable(e)) return keep();
      if (isCairnError(e) && e.code === 'invalid_registration_data') {
        const list = ((e.details as { errors?: SubmissionError[] } | undefined)?.errors ?? []).filter((x) => typeof x.field === 'string');
        setErrors(list);
        const first = pages.findIndex((p) => p.fields.some((f) => list.some((x) => x.field === f.name)));
        if (first >= 0) go(first);
      }
      throw e;
    }
  });

  if (queued) {
    return (
      <div className="page narrow-wide reg-page">
        <h1 ref={heading} tabIndex={-1}>
          {typeText(doc, doc.label, language)}
        </h1>
        <Queued>
          {!target && (
            <Link className="btn" to={`/registrations/declare/${encodeURIComponent(doc.id)}`} reloadDocument>
              {t('registrations.declare.another')}
            </Link>
          )}
        </Queued>
      </div>
    );
  }

  if (done) {
    return (
      <div className="page narrow-wide reg-page">
        <h1 ref={heading} tabIndex={-1}>
          {typeText(doc, doc.label, language)}
        </h1>
        <Alert kind="success">
          {target ? t('registrations.page.done', { action: t(`registrations.actions.${target.action}`) }) : t(done.status === 'notified' ? 'registrations.declare.sentIncomplete' : 'registrations.declare.sent', { tracking: done.trackingId })}
        </Alert>
        <p>
          {t('registrations.declare.trackingId')}: <strong className="reg-tracking" data-testid="tracking-id">{done.trackingId}</strong>
        </p>
        <div className="row">
          <Link className="btn btn-primary" to={`/registrations/${done.id}`}>
            {t('registrations.declare.openRegistration')}
          </Link>
          {!target && (
            <Link className="btn" to={`/registrations/declare/${encodeURIComponent(doc.id)}`} reloadDocument>
              {t('registrations.declare.another')}
            </Link>
          )}
          <Link className="btn" to="/registrations">
            {t('registrations.backToQueues')}
          </Link>
        </div>
      </div>
    );
  }

  const steps = [...pages.map((p) => L(p.page.title)), t('registrations.declare.review')];
  return (
    <div className="page narrow-wide reg-page">
      <p>{target ? <Link to={`/registrations/${target.registration.id}`}>← {target.registration.trackingId}</Link> : <Link to="/registrations">← {t('registrations.backToQueues')}</Link>}</p>
      <h1 ref={heading} tabIndex={-1}>
        {target ? t('registrations.declare.updateTitle', { type: typeText(doc, doc.label, language), tracking: target.registration.trackingId }) : t('registrations.declare.title', { type: typeText(doc, doc.label, language) })}
      </h1>
      <ol className="reg-steps" aria-label={t('registrations.declare.steps')}>
        {steps.map((s, i) => (
          <li key={i} aria-current={i === current ? 'step' : undefined}>
            {i + 1}. {s}
          </li>
        ))}
      </ol>
      {restored && (
        <Alert kind="info">
          {t('registrations.declare.restored')}{' '}
          <button
            type="button"
            className="linklike"
            onClick={() => {
              setData(target ? (target.registration.data as Answers) : {});
              setRestored(false);
              go(0);
            }}
          >
            {t('registrations.declare.startOver')}
          </button>
        </Alert>
      )}
      {storageFailed && <Alert kind="warning">{t('registrations.declare.storageFailed')}</Alert>}

      {current < reviewIndex ? (
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            next();
          }}
        >
          <Section title={L(pages[current]!.page.title)}>
            {pages[current]!.page.description && <p className="lead">{L(pages[current]!.page.description)}</p>}
            {errors.length > 0 && <Alert kind="error">{t('registrations.declare.fixErrors', { count: errors.length })}</Alert>}
            <div className="instrument" lang={language}>
              {pages[current]!.fields.map((f) => (
                <RegistrationFieldView
                  key={f.name}
                  field={f}
                  value={data[f.name]}
                  ctx={ctx}
                  services={services}
                  onChange={(v) =>
                    setData((prev) => {
                      const next = { ...prev };
                      if (v === undefined) delete next[f.name];
                      else next[f.name] = v as JsonValue;
                      return next;
                    })
                  }
                />
              ))}
            </div>
            <p className="muted small">{t('registrations.declare.savedOnDevice')}</p>
            <div className="reg-form-nav">
              {current > 0 ? (
                <Button onClick={() => go(current - 1)}>← {t('registrations.declare.back')}</Button>
              ) : (
                <span />
              )}
              <Button type="submit" variant="primary">
                {t('registrations.declare.continue')} →
              </Button>
            </div>
          </Section>
        </form>
      ) : (
        <Section title={t('registrations.declare.review')}>
          <div className="reg-review">
            {pages.map((p, i) => (
              <div key={p.page.id}>
                <div className="card-header">
                  <h3>{L(p.page.title)}</h3>
                  <Button variant="ghost" onClick={() => go(i)} aria-label={t('registrations.declare.editPage', { page: L(p.page.title) })}>
                    {t('registrations.declare.edit')}
                  </Button>
                </div>
                <dl className="props reg-props">
                  {p.fields.map((f) => (
                    <FragmentRow key={f.name} label={L(f.label)} value={formatRegistrationValue(f, data[f.name], t, L, services)} missing={missing.some((m) => m.field === f.name)} errors={[...check.errors, ...errors].filter((e) => e.field === f.name).map((e) => validationMessage(t, e))} t={t} />
                  ))}
                </dl>
              </div>
            ))}
          </div>
          {missing.length > 0 ? (
            <Alert kind="warning">
              {t('registrations.declare.missing', { count: missing.length })}
              <ul>
                {missing.map((m) => (
                  <li key={m.field}>
                    <button type="button" className="linklike" onClick={() => go(m.page)}>
                      {m.label}
                    </button>
                  </li>
                ))}
              </ul>
            </Alert>
          ) : (
            <p>{t('registrations.declare.complete')}</p>
          )}
          {check.errors.length > 0 && <Alert kind="error">{t('registrations.declare.fixErrors', { count: check.errors.length })}</Alert>}
          {errors.some((e) => !e.field) && <Alert kind="error">{errors.filter((e) => !e.field).map((e) => validationMessage(t, e)).join(' ')}</Alert>}
          <ErrorAlert error={submit.error} />
          <div className="reg-form-nav">
            <Button onClick={() => go(reviewIndex - 1)}>← {t('registrations.declare.back')}</Button>
            <div className="row">
              {!target && (
                <Button pending={submit.pending} disabled={check.errors.length > 0} onClick={() => void submit.run('notify')}>
                  {t('registrations.declare.sendIncomplete')}
                </Button>
              )}
              <Button variant="primary" pending={submit.pending} disabled={missing.length > 0 || check.errors.length > 0} onClick={() => void submit.run(target?.action ?? 'declare')}>
                {target ? t(`registrations.actions.${target.action}`) : t('registrations.declare.send')}
              </Button>
            </div>
          </div>
          {!target && <p className="muted small">{t('registrations.declare.sendHelp')}</p>}
        </Section>
      )}
    </div>
  );
}

function FragmentRow({ label, value, missing, errors, t }: { label: string; value: string; missing: boolean; errors?: string[]; t: Ctx['t'] }) {
  return (
    <>
      <dt>{label}</dt>
      <dd className={missing ? 'reg-missing' : undefined}>
        {missing ? t('registrations.declare.required') : value}
        {errors?.map((e, i) => (
          <span key={i} className="field-error">
            {' '}
            {e}
          </span>
        ))}
      </dd>
    </>
  );
}
