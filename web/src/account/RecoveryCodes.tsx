import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.js';
import { useAction, useLoad } from '../hooks.js';
import { useUser } from '../session.js';
import { Alert, Button, CopyButton, ErrorAlert, TextField } from '../components/ui.js';

/** A field for the 6-digit code of the authenticator app. */
export function AppCodeField({ label, hint, value, onChange }: { label: string; hint?: string; value: string; onChange: (v: string) => void }) {
  return <TextField label={label} hint={hint} inputMode="numeric" autoComplete="one-time-code" maxLength={8} required className="code-field" value={value} onChange={(e) => onChange(e.target.value)} />;
}

/** Freshly issued recovery codes, shown this once: copy, download, and "I have saved them". */
export function RecoveryCodesShown({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const { t } = useTranslation();
  const { user } = useUser();
  const text = `${t('people.recovery.fileHeader', { username: user.username })}\n\n${codes.join('\n')}\n`;
  const href = `data:text/plain;charset=utf-8,${encodeURIComponent(text)}`;
  return (
    <div className="recovery-codes" role="group" aria-label={t('people.recovery.title')}>
      <Alert kind="warning">{t('people.recovery.shownOnce')}</Alert>
      <ol className="recovery-list" data-testid="recovery-codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ol>
      <div className="row">
        <CopyButton text={codes.join('\n')} />
        <a className="btn btn-secondary" href={href} download="cairn-recovery-codes.txt">
          {t('people.recovery.download')}
        </a>
        <Button variant="primary" onClick={onDone}>
          {t('people.recovery.done')}
        </Button>
      </div>
    </div>
  );
}

/** How many recovery codes are left, and a new set for a current code (the old ones stop working). */
export function RecoveryCodesManage() {
  const { t } = useTranslation();
  const left = useLoad(() => api.auth.totp.recoveryCodesLeft());
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[]>();
  const regenerate = useAction(async () => {
    setCodes(await api.auth.totp.regenerateRecoveryCodes(code.replace(/\s+/g, '')));
    setCode('');
    await left.reload();
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void regenerate.run();
  };
  return (
    <div className="stack recovery">
      <h3>{t('people.recovery.title')}</h3>
      <p className="muted small">{t('people.recovery.intro')}</p>
      {left.data !== undefined && <p>{t('people.recovery.remaining', { count: left.data })}</p>}
      {codes ? (
        <RecoveryCodesShown codes={codes} onDone={() => setCodes(undefined)} />
      ) : (
        <form onSubmit={submit} className="inline-form">
          <ErrorAlert error={regenerate.error} />
          <AppCodeField label={t('people.recovery.regenerateCode')} hint={t('people.recovery.regenerateHint')} value={code} onChange={setCode} />
          <Button type="submit" pending={regenerate.pending}>
            {t('people.recovery.regenerate')}
          </Button>
        </form>
      )}
    </div>
  );
}
