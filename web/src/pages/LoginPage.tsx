import { useEffect, useRef, useState, type ComponentProps, type FormEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { isCairnError } from '@cairn/sdk';
import { api } from '../api.js';
import { useSession } from '../session.js';
import { useAction } from '../hooks.js';
import { BareLayout } from '../components/Shell.js';
import { Alert, Button, ErrorAlert, TextField } from '../components/ui.js';

/** Set when a recovery code signed the person in: the account page then asks them to enrol their new device. */
export const RECOVERED_KEY = 'cairn.recovered';

export function LoginPage({ expired }: { expired: boolean }) {
  const { t } = useTranslation();
  const { signedIn } = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [step, setStep] = useState<'password' | 'totp' | 'recovery'>('password');
  const [recoveryCode, setRecoveryCode] = useState('');
  const navigate = useNavigate();
  const passwordRef = useRef<HTMLInputElement>(null);
  const codeRef = useRef<HTMLInputElement>(null);
  // The code step replaces the form the person was typing in: put the caret in the code field.
  useEffect(() => {
    if (step !== 'password') codeRef.current?.focus();
  }, [step]);

  const login = useAction(async (totp?: string, recovery?: string) => {
    try {
      const res = await api.auth.login({ username: username.trim(), password, ...(totp ? { totp } : {}), ...(recovery ? { recoveryCode: recovery } : {}) });
      if (recovery) {
        // The second factor is gone with the lost device: go straight to setting up the new one.
        sessionStorage.setItem(RECOVERED_KEY, '1');
        navigate(`/login?next=${encodeURIComponent('/account')}`, { replace: true });
      }
      await signedIn(res);
    } catch (e) {
      // The password was right: ask for the second factor, keeping what was typed.
      if (isCairnError(e) && e.code === 'totp_required') {
        setStep('totp');
        return;
      }
      if (isCairnError(e) && (e.code === 'totp_invalid' || e.code === 'totp_reused')) setCode('');
      if (isCairnError(e) && e.code === 'recovery_code_invalid') setRecoveryCode('');
      throw e;
    }
  });

  const submitPassword = (e: FormEvent) => {
    e.preventDefault();
    void login.run();
  };
  const submitCode = (e: FormEvent) => {
    e.preventDefault();
    void login.run(code.replace(/\s+/g, ''));
  };
  const submitRecovery = (e: FormEvent) => {
    e.preventDefault();
    void login.run(undefined, recoveryCode.trim());
  };
  const switchTo = (next: 'totp' | 'recovery') => {
    login.setError(undefined);
    setStep(next);
  };
  const back = () => {
    setStep('password');
    setPassword('');
    setCode('');
    login.setError(undefined);
    setTimeout(() => passwordRef.current?.focus(), 0);
  };

  return (
    <BareLayout>
      {step === 'password' ? (
        <form className="card narrow" onSubmit={submitPassword} aria-labelledby="login-title">
          <h1 id="login-title">{t('login.title')}</h1>
          {expired && !login.error && <Alert kind="info">{t('login.expired')}</Alert>}
          <ErrorAlert error={login.error} />
          <TextField label={t('login.username')} name="username" autoComplete="username" required autoFocus value={username} onChange={(e) => setUsername(e.target.value)} />
          <TextField
            ref={passwordRef}
            label={t('login.password')}
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <Button type="submit" variant="primary" pending={login.pending} className="block">
            {t('login.submit')}
          </Button>
        </form>
      ) : step === 'recovery' ? (
        <CodeForm
          id="recovery"
          title={t('people.login.recoveryTitle')}
          intro={t('people.login.recoveryIntro')}
          login={login}
          onSubmit={submitRecovery}
          field={{ ref: codeRef, label: t('people.login.recoveryCode'), name: 'recoveryCode', autoComplete: 'off', autoCapitalize: 'none', spellCheck: false, maxLength: 32, value: recoveryCode, onChange: (e) => setRecoveryCode(e.target.value) }}
          submit={t('people.login.recoverySubmit')}
        >
          <Button variant="ghost" className="block" onClick={() => switchTo('totp')}>
            {t('people.login.useApp')}
          </Button>
        </CodeForm>
      ) : (
        <CodeForm
          id="totp"
          title={t('login.totpTitle')}
          intro={t('login.totpIntro')}
          login={login}
          onSubmit={submitCode}
          field={{ ref: codeRef, label: t('login.totpCode'), name: 'totp', inputMode: 'numeric', autoComplete: 'one-time-code', pattern: '[0-9 ]{6,8}', maxLength: 8, value: code, onChange: (e) => setCode(e.target.value) }}
          submit={t('login.totpSubmit')}
        >
          <Button variant="ghost" className="block" onClick={() => switchTo('recovery')}>
            {t('people.login.lost')}
          </Button>
          <Button variant="ghost" className="block" onClick={back}>
            {t('login.back')}
          </Button>
        </CodeForm>
      )}
    </BareLayout>
  );
}

/** The second step of signing in: one code (from the authenticator app, or a recovery code), then the ways out (`children`). */
function CodeForm({ id, title, intro, login, onSubmit, field, submit, children }: { id: string; title: string; intro: string; login: { error: unknown; pending: boolean }; onSubmit: (e: FormEvent) => void; field: ComponentProps<typeof TextField>; submit: string; children: ReactNode }) {
  return (
    <form className="card narrow" onSubmit={onSubmit} aria-labelledby={`${id}-title`}>
      <h1 id={`${id}-title`}>{title}</h1>
      <p className="muted">{intro}</p>
      <ErrorAlert error={login.error} />
      <TextField required className="code-field" {...field} />
      <Button type="submit" variant="primary" pending={login.pending} className="block">
        {submit}
      </Button>
      {children}
    </form>
  );
}
