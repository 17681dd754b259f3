import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { RegistrationTypeSummary } from '@cairn/sdk';
import { useLoad } from '../../hooks.js';
import { registrationTypes, typeText, WARN_FLAGS } from './registrations.api.js';

/** Status and flags as badges; a type's own flags show their label from the type when given. */
export function StatusBadges({ status, flags, flagLabels }: { status: string; flags: string[]; flagLabels?: Record<string, string> }) {
  const { t } = useTranslation();
  return (
    <span className="reg-badges">
      <span className={`reg-badge ${status === 'registered' ? 'reg-badge-ok' : 'reg-badge-status'}`} data-status={status}>
        {t(`registrations.status.${status}`, { defaultValue: status })}
      </span>
      {flags.map((f) => (
        <span key={f} className={`reg-badge ${WARN_FLAGS.has(f) ? 'reg-badge-warn' : 'reg-badge-flag'}`} data-flag={f}>
          {flagLabels?.[f] ?? t(`registrations.flags.${f}`, { defaultValue: f })}
        </span>
      ))}
    </span>
  );
}

/** The registration types, loaded once per page; labels in the reader's language. */
export function useTypes() {
  const { i18n } = useTranslation();
  const load = useLoad(() => registrationTypes.list());
  const label = (id: string) => {
    const ty = load.data?.find((x: RegistrationTypeSummary) => x.id === id);
    return ty ? typeText(ty, ty.label, i18n.language) : id;
  };
  return { ...load, label };
}

/** A date-only value (YYYY-MM-DD) in the reader's language, without a timezone shift. */
export function formatDay(value: string | null | undefined, language: string): string {
  if (!value) return '—';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (!m) return value;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).toLocaleDateString(language, { dateStyle: 'medium', timeZone: 'UTC' });
}

/** The options of a select of registration types, each by its label; first `any` (the empty value), when given. */
export function TypeOptions({ types, any }: { types: ReturnType<typeof useTypes>; any?: string }) {
  return (
    <>
      {any !== undefined && <option value="">{any}</option>}
      {(types.data ?? []).map((ty) => (
        <option key={ty.id} value={ty.id}>
          {types.label(ty.id)}
        </option>
      ))}
    </>
  );
}

/** A select of the registration types by their label (with `any`, a first choice of none in particular). */
export function TypeSelect({ id, label, value, types, any, onChange }: { id: string; label: string; value: string; types: ReturnType<typeof useTypes>; any?: string; onChange: (type: string) => void }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <TypeOptions types={types} any={any} />
      </select>
    </div>
  );
}

/** The link back to the work queues at the top of a registration page. */
export function BackToQueues() {
  const { t } = useTranslation();
  return (
    <p>
      <Link to="/registrations">← {t('registrations.backToQueues')}</Link>
    </p>
  );
}
