import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.js';
import { useAction } from '../hooks.js';
import { Alert, Button, ErrorAlert, Section, TextField } from '../components/ui.js';
import { NewPasswordField, RepeatPasswordField } from '../components/PasswordFields.js';

export function PasswordSection() {
  const { t } = useTranslation();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const [done, setDone] = useState<{ endedSessions: number; revokedTokens: number } | null>(null);
  const change = useAction(async () => {
    const ended = await api.auth.changePassword({ currentPassword: current, newPassword: next });
    setCurrent('');
    setNext('');
    setConfirm('');
    setDone(ended);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setDone(null);
    if (next !== confirm) return setMismatch(true);
    setMismatch(false);
    void change.run();
  };
  return (
    <Section title={t('account.password.title')}>
      <form onSubmit={submit}>
        {done && (
          <Alert kind="success">
            {t('account.password.done')} {t('account.password.ended', { sessions: done.endedSessions, tokens: done.revokedTokens })}
          </Alert>
        )}
        <ErrorAlert error={change.error} />
        <TextField label={t('account.password.current')} type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
        <NewPasswordField label={t('account.password.new')} value={next} onChange={setNext} />
        <RepeatPasswordField label={t('account.password.confirm')} value={confirm} mismatch={mismatch} onChange={setConfirm} />
        <Button type="submit" variant="primary" pending={change.pending}>
          {t('account.password.submit')}
        </Button>
      </form>
    </Section>
  );
}
