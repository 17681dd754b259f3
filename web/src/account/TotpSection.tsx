import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { TotpEnrolment } from '@cairn/sdk';
import { api } from '../api.js';
import { useAction } from '../hooks.js';
import { useSession, useUser } from '../session.js';
import { Alert, Button, CopyButton, ErrorAlert, Section, TextField } from '../components/ui.js';
import { RECOVERED_KEY } from '../pages/LoginPage.js';
import { AppCodeField, RecoveryCodesManage, RecoveryCodesShown } from './RecoveryCodes.js';

/** Groups a base32 secret in fours so it can be typed by hand. */
const grouped = (secret: string) => secret.replace(/(.{4})(?=.)/g, '$1 ');

export function TotpSection() {
  const { t } = useTranslation();
  const { user } = useUser();
  const { updateUser } = useSession();
  const [enrolment, setEnrolment] = useState<TotpEnrolment | undefined>();
  const [qr, setQr] = useState<string | undefined>();
  const [code, setCode] = useState('');
  const [notice, setNotice] = useState<'enabled' | 'disabled' | undefined>();
  const [codes, setCodes] = useState<string[]>();
  // Signed in with a recovery code: say why the factor is off, once.
  const [recovered] = useState(() => {
    const was = sessionStorage.getItem(RECOVERED_KEY) === '1';
    sessionStorage.removeItem(RECOVERED_KEY);
    return was;
  });

  useEffect(() => {
    if (!enrolment) return setQr(undefined);
    let live = true;
    // Rendered in the browser: the secret never goes to a third-party QR service.
    // Loaded on demand: the enrolment page is part of the first bundle, the QR encoder need not be.
    import('qrcode')
      .then(({ default: QRCode }) => QRCode.toDataURL(enrolment.otpauthUri, { margin: 1, width: 200, errorCorrectionLevel: 'M' }))
      .then((url) => live && setQr(url))
      .catch(() => live && setQr(undefined));
    return () => {
      live = false;
    };
  }, [enrolment]);

  const start = useAction(async () => {
    setNotice(undefined);
    setEnrolment(await api.auth.totp.enrol());
  });
  const confirm = useAction(async () => {
    const confirmed = await api.auth.totp.confirmEnrolment(code.replace(/\s+/g, ''));
    setEnrolment(undefined);
    setCode('');
    setNotice('enabled');
    setCodes(confirmed.recoveryCodes);
    updateUser(confirmed.user);
  });
  const disable = useAction(async () => {
    const updated = await api.auth.totp.disable(code.replace(/\s+/g, ''));
    setCode('');
    setNotice('disabled');
    updateUser(updated);
  });

  const onConfirm = (e: FormEvent) => {
    e.preventDefault();
    void confirm.run();
  };
  const onDisable = (e: FormEvent) => {
    e.preventDefault();
    void disable.run();
  };

  return (
    <Section title={t('account.totp.title')}>
      {notice === 'enabled' && <Alert kind="success">{t('account.totp.enabled')}</Alert>}
      {notice === 'disabled' && <Alert kind="success">{t('account.totp.disabled')}</Alert>}
      {recovered && !user.totpEnabled && <Alert kind="warning">{t('people.recovery.recovered')}</Alert>}
      {codes ? (
        <RecoveryCodesShown codes={codes} onDone={() => setCodes(undefined)} />
      ) : user.totpEnabled ? (
        <>
          <p>
            <span className="pill pill-on">●</span> {t('account.totp.on')}
          </p>
          <form onSubmit={onDisable} className="inline-form">
            <ErrorAlert error={disable.error} />
            <AppCodeField label={t('account.totp.disableCode')} value={code} onChange={setCode} />
            <Button type="submit" variant="danger" pending={disable.pending}>
              {t('account.totp.disable')}
            </Button>
          </form>
          <RecoveryCodesManage />
        </>
      ) : enrolment ? (
        <form onSubmit={onConfirm} className="enrol">
          <p>{t('account.totp.scan')}</p>
          <div className="enrol-grid">
            <div className="qr">{qr ? <img src={qr} alt={t('account.totp.qrAlt')} width={200} height={200} /> : <div className="qr-placeholder" />}</div>
            <div>
              <p className="muted small">{t('account.totp.manual')}</p>
              <p className="secret-row">
                <code className="secret" data-testid="totp-secret">
                  {grouped(enrolment.secret)}
                </code>
                <CopyButton text={enrolment.secret} />
              </p>
              <ErrorAlert error={confirm.error} />
              <TextField
                label={t('account.totp.code')}
                inputMode="numeric"
                autoComplete="one-time-code"
                maxLength={8}
                required
                autoFocus
                className="code-field"
                value={code}
                onChange={(e) => setCode(e.target.value)}
              />
              <div className="row">
                <Button type="submit" variant="primary" pending={confirm.pending}>
                  {t('account.totp.confirm')}
                </Button>
                <Button variant="ghost" onClick={() => setEnrolment(undefined)}>
                  {t('common.cancel')}
                </Button>
              </div>
            </div>
          </div>
        </form>
      ) : (
        <>
          <p>
            <span className="pill pill-off">○</span> {t('account.totp.off')}
          </p>
          <ErrorAlert error={start.error} />
          <Button variant="primary" pending={start.pending} onClick={() => void start.run()}>
            {t('account.totp.start')}
          </Button>
        </>
      )}
    </Section>
  );
}
