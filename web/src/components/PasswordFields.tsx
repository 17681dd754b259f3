import { useTranslation } from 'react-i18next';
import { TextField } from './ui.js';

type PasswordFieldProps = { label: string; name?: string; value: string; onChange: (value: string) => void };

/** A password being chosen (setup, a new user, a change): at least 12 characters, as its hint says. */
export function NewPasswordField({ label, name, value, onChange }: PasswordFieldProps) {
  const { t } = useTranslation();
  return <TextField label={label} name={name} type="password" autoComplete="new-password" required minLength={12} hint={t('setup.passwordHint')} value={value} onChange={(e) => onChange(e.target.value)} />;
}

/** The chosen password typed again; `mismatch` says under it that the two differ. */
export function RepeatPasswordField({ label, name, value, mismatch, onChange }: PasswordFieldProps & { mismatch: boolean }) {
  const { t } = useTranslation();
  return <TextField label={label} name={name} type="password" autoComplete="new-password" required value={value} error={mismatch ? t('setup.mismatch') : undefined} onChange={(e) => onChange(e.target.value)} />;
}
