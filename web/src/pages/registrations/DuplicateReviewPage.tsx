import { useEffect, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { DuplicateReview, JsonValue, RegistrationDetail, RegistrationTypeVersion } from '@cairn/sdk';
import { useAction, useLoad } from '../../hooks.js';
import { useUser } from '../../session.js';
import { Alert, Button, ErrorAlert, Section, Spinner } from '../../components/ui.js';
import { formatRegistrationValue } from '../../components/registration-fields/RegistrationFields.js';
import { useLocationNames } from '../../components/registration-fields/LocationInput.js';
import { locationIds, registrations, registrationTypes, typeText, type Answers } from './registrations.api.js';
import { StatusBadges } from './common.js';

/**
 * The side-by-side review of a possible duplicate (docs/search.md, "Review"): one tab per match,
 * field by field with the differences highlighted and how the model compared each field; the two
 * decisions, "not a duplicate" (clears the flag) and "duplicate of …" (archives this one, linked
 * to the match), each with a reason kept in the history.
 */
export function DuplicateReviewPage() {
  const { id } = useParams() as { id: string };
  const reg = useLoad(() => registrations.get(id));
  const review = useLoad(() => registrations.matches(id));
  const def = useLoad(async () => (reg.data ? registrationTypes.get(reg.data.type, reg.data.typeVersion) : undefined));
  const typeKey = reg.data ? `${reg.data.type}@${reg.data.typeVersion}` : '';
  useEffect(() => {
    if (typeKey) void def.reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [typeKey]);
  if ((reg.loading && !reg.data) || (review.loading && !review.data)) return <Spinner />;
  if (!reg.data || !review.data) return <ErrorAlert error={reg.error ?? review.error} />;
  if (!def.data) return def.error ? <ErrorAlert error={def.error} /> : <Spinner />;
  return <Review reg={reg.data} review={review.data} def={def.data} onChanged={async () => void (await Promise.all([reg.reload(), review.reload()]))} />;
}

function Review({ reg, review, def, onChanged }: { reg: RegistrationDetail; review: DuplicateReview; def: RegistrationTypeVersion; onChanged: () => Promise<void> }) {
  const { t, i18n } = useTranslation();
  const { user } = useUser();
  const doc = def.document;
  const language = doc.languages.find((l) => l === i18n.language || l.startsWith(`${i18n.language}-`)) ?? doc.languages[0]!;
  const L = (s: Parameters<typeof typeText>[1]) => typeText(doc, s, language);
  const [tab, setTab] = useState(0);
  const [done, setDone] = useState<string | undefined>();
  const places = useLocationNames([...locationIds(doc, reg.data as Answers), ...review.matches.flatMap((m) => locationIds(doc, m.data as Answers))]);
  const services = { locationName: (lid: string) => places.get(lid) };
  const fields = doc.form.pages.flatMap((p) => p.fields).filter((f) => f.kind !== 'documents' && f.kind !== 'signature');
  const match = review.matches[tab];
  const flagged = reg.flags.includes('potential-duplicate');

  const decide = useAction(async (action: 'mark-not-duplicate' | 'mark-as-duplicate', reason: string) => {
    // Deciding needs the registration assigned to you (a write lock); take it first when free.
    if (reg.assignedTo?.id !== user.id) await registrations.action(reg.id, 'assign', { transactionId: crypto.randomUUID() });
    await registrations.action(reg.id, action, { reason, transactionId: crypto.randomUUID(), ...(action === 'mark-as-duplicate' ? { data: { duplicateOf: match!.id } } : {}) });
    setDone(action === 'mark-as-duplicate' ? t('search.review.doneDup', { tracking: match!.trackingId }) : t('search.review.doneNot'));
    await onChanged();
  });

  return (
    <div className="page reg-page dup-review">
      <p>
        <Link to={`/registrations/${reg.id}`}>← {t('search.review.back')}</Link>
      </p>
      <h1>{t('search.review.title', { tracking: reg.trackingId })}</h1>
      <StatusBadges status={reg.status} flags={reg.flags} />
      {done && <Alert kind="success">{done}</Alert>}
      {!flagged && !done && <Alert kind="info">{t('search.review.nothing')}</Alert>}
      <p className="muted">{t('search.review.intro')}</p>
      {review.matches.length > 0 && (
        <>
          <div className="row dup-tabs" role="tablist" aria-label={t('search.review.tabs')}>
            {review.matches.map((m, i) => (
              <button key={m.id} type="button" role="tab" id={`dup-tab-${i}`} aria-controls="dup-panel" aria-selected={i === tab} className={`btn ${i === tab ? 'btn-primary' : ''}`} onClick={() => setTab(i)}>
                {t('search.review.tab', { n: i + 1, tracking: m.trackingId })}
              </button>
            ))}
          </div>
          {match && (
            <section id="dup-panel" role="tabpanel" aria-labelledby={`dup-tab-${tab}`} className="card dup-panel">
              <p>
                <strong>{match.score === null ? '' : t('search.review.probability', { p: Math.round(match.score * 100) })}</strong>{' '}
                <StatusBadges status={match.status} flags={match.flags} />
              </p>
              <div className="table-wrap">
                <table className="dup-table">
                  <thead>
                    <tr>
                      <th scope="col">{t('search.review.field')}</th>
                      <th scope="col">{t('search.review.thisOne', { tracking: reg.trackingId })}</th>
                      <th scope="col">{t('search.review.match', { tracking: match.trackingId })}</th>
                      <th scope="col">{t('search.review.level')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {fields.map((f) => {
                      const a = formatRegistrationValue(f, reg.data[f.name] as JsonValue | undefined, t, L, services);
                      const b = formatRegistrationValue(f, match.data[f.name] as JsonValue | undefined, t, L, services);
                      if (a === '—' && b === '—') return null;
                      const differs = a.normalize('NFC').toLowerCase() !== b.normalize('NFC').toLowerCase();
                      const level = match.fields.find((x) => x.field === f.name);
                      return (
                        <tr key={f.name} className={differs ? 'dup-differs' : undefined} data-field={f.name} data-differs={differs ? 'true' : 'false'}>
                          <th scope="row">{L(f.label)}</th>
                          <td>{a}</td>
                          <td>{b}</td>
                          <td>
                            <span className="visually-hidden">{differs ? t('search.review.differs') : t('search.review.same')}: </span>
                            {level ? t(`search.review.levels.${level.level}`, { defaultValue: level.level }) : differs ? t('search.review.differs') : ''}
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
              <p>
                <Link to={`/registrations/${match.id}`}>{match.trackingId}</Link>
              </p>
            </section>
          )}
          {flagged && !done && match && <Decision matchTracking={match.trackingId} pending={decide.pending} error={decide.error} onDecide={(action, reason) => void decide.run(action, reason)} />}
        </>
      )}
    </div>
  );
}

function Decision({ matchTracking, pending, error, onDecide }: { matchTracking: string; pending: boolean; error: unknown; onDecide: (action: 'mark-not-duplicate' | 'mark-as-duplicate', reason: string) => void }) {
  const { t } = useTranslation();
  const [reason, setReason] = useState('');
  const [missing, setMissing] = useState(false);
  const submit = (action: 'mark-not-duplicate' | 'mark-as-duplicate') => (e?: FormEvent) => {
    e?.preventDefault();
    if (!reason.trim()) return setMissing(true);
    setMissing(false);
    onDecide(action, reason.trim());
  };
  return (
    <Section title={t('search.review.yourDecision')}>
      <form className="stack" onSubmit={submit('mark-not-duplicate')} noValidate>
        <div className="field">
          <label htmlFor="dup-reason">
            {t('search.review.reason')}
            <span className="required-mark"> *</span>
          </label>
          <textarea id="dup-reason" rows={3} value={reason} maxLength={2000} onChange={(e) => setReason(e.target.value)} aria-invalid={missing || undefined} />
          {missing && <p className="field-error">{t('search.review.reasonRequired')}</p>}
        </div>
        <ErrorAlert error={error} />
        <div className="row">
          <Button type="submit" pending={pending}>
            {t('search.review.notDuplicate')}
          </Button>
          <Button variant="danger" pending={pending} onClick={() => submit('mark-as-duplicate')()}>
            {t('search.review.duplicateOf', { tracking: matchTracking })}
          </Button>
        </div>
      </form>
    </Section>
  );
}
