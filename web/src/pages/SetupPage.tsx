import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.js';
import { useSession } from '../session.js';
import { useAction } from '../hooks.js';
import { BareLayout } from '../components/Shell.js';
import { Button, ErrorAlert, TextField } from '../components/ui.js';
import { NewPasswordField, RepeatPasswordField } from '../components/PasswordFields.js';

export function SetupPage() {
  const { t } = useTranslation();
  const { signedIn } = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const action = useAction(async () => {
    const res = await api.setup.create({ username: username.trim(), password });
    await signedIn(res);
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (password !== confirm) return setMismatch(true);
    setMismatch(false);
    void action.run();
  };

  return (
    <BareLayout>
      <form className="card narrow" onSubmit={submit} noValidate={false}>
        <h1>{t('setup.title')}</h1>
        <p className="muted">{t('setup.intro')}</p>
        <ErrorAlert error={action.error} />
        <TextField label={t('setup.username')} name="username" autoComplete="username" required autoFocus value={username} onChange={(e) => setUsername(e.target.value)} />
        <NewPasswordField label={t('setup.password')} name="password" value={password} onChange={setPassword} />
        <RepeatPasswordField label={t('setup.confirm')} name="confirm" value={confirm} mismatch={mismatch} onChange={setConfirm} />
        <Button type="submit" variant="primary" pending={action.pending} className="block">
          {t('setup.submit')}
        </Button>
      </form>
    </BareLayout>
  );
}
