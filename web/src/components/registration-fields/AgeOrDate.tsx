import { useState } from 'react';
import { useTranslation } from 'react-i18next';

type Value = string | { age: number } | undefined;

const isAge = (v: unknown): v is { age: unknown } => !!v && typeof v === 'object' && 'age' in v;

/**
 * A date that people may not know: a switch offers the age in years instead, stored as
 * `{ "age": years }` (the server derives what it needs, e.g. the flag for late registration).
 */
export function AgeOrDate({ id, value, onChange, min, max, disabled, describedBy, invalid }: { id: string; value: unknown; onChange: (v: Value) => void; min?: string; max?: string; disabled?: boolean; describedBy?: string; invalid?: boolean }) {
  const { t } = useTranslation();
  const [byAge, setByAge] = useState(isAge(value));
  const switchTo = (age: boolean) => {
    setByAge(age);
    onChange(undefined);
  };
  return (
    <div className="age-or-date">
      {byAge ? (
        <input
          id={id}
          type="number"
          inputMode="numeric"
          min={0}
          max={130}
          step={1}
          disabled={disabled}
          aria-invalid={invalid || undefined}
          aria-describedby={describedBy}
          aria-label={t('registrations.fields.ageYears')}
          value={isAge(value) && typeof value.age === 'number' ? String(value.age) : ''}
          onChange={(e) => onChange(e.target.value === '' ? undefined : { age: Number(e.target.value) })}
        />
      ) : (
        <input id={id} type="date" min={min} max={max} disabled={disabled} aria-invalid={invalid || undefined} aria-describedby={describedBy} value={typeof value === 'string' ? value : ''} onChange={(e) => onChange(e.target.value || undefined)} />
      )}
      {!disabled && (
        <label className="check">
          <input type="checkbox" checked={byAge} onChange={(e) => switchTo(e.target.checked)} />
          {t('registrations.fields.ageInstead')}
        </label>
      )}
    </div>
  );
}
