import { useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { ApiToken, CreatedToken } from '@cairn/sdk';
import { api } from '../api.js';
import { useAction, useLoad } from '../hooks.js';
import { useUser } from '../session.js';
import { Alert, Button, ConfirmButton, CopyButton, DateTime, ErrorAlert, LoadedTable, Section, Spinner, TextField } from '../components/ui.js';

const EXPIRY_DAYS = [7, 30, 90, 365];

function tokenState(tok: ApiToken): 'active' | 'revoked' | 'expired' {
  if (tok.revokedAt) return 'revoked';
  if (tok.expiresAt && new Date(tok.expiresAt).getTime() <= Date.now()) return 'expired';
  return 'active';
}

export function TokensSection() {
  const { t } = useTranslation();
  const { scopes: myScopes } = useUser();
  const tokens = useLoad(() => api.auth.tokens.list());
  // A token can only narrow its owner's scopes, so only offer the ones this user has.
  const scopes = useLoad(async () => (await api.auth.scopes()).filter((s) => myScopes.includes(s.name)));
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [days, setDays] = useState(30);
  const [noScopes, setNoScopes] = useState(false);
  const [created, setCreated] = useState<CreatedToken | undefined>();
  const [confirming, setConfirming] = useState<string | undefined>();
  const expiryId = useId();
  const scopesId = useId();

  const create = useAction(async () => {
    const res = await api.auth.tokens.create({ name: name.trim(), scopes: chosen, expiresInDays: days });
    setCreated(res);
    setName('');
    setChosen([]);
    await tokens.reload();
  });
  const revoke = useAction(async (id: string) => {
    await api.auth.tokens.revoke(id);
    setConfirming(undefined);
    await tokens.reload();
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (chosen.length === 0) return setNoScopes(true);
    setNoScopes(false);
    void create.run();
  };
  const toggle = (scope: string, on: boolean) => setChosen((c) => (on ? [...c, scope] : c.filter((s) => s !== scope)));

  return (
    <Section title={t('account.tokens.title')}>
      <p className="muted">{t('account.tokens.intro')}</p>

      {created && (
        <div className="secret-box" role="region" aria-label={t('account.tokens.secretTitle')}>
          <h3>{t('account.tokens.secretTitle')}</h3>
          <Alert kind="warning">{t('account.tokens.secretIntro')}</Alert>
          <p className="secret-row">
            <code className="secret" data-testid="token-secret">
              {created.secret}
            </code>
            <CopyButton text={created.secret} />
          </p>
          <Button variant="primary" onClick={() => setCreated(undefined)}>
            {t('account.tokens.secretDone')}
          </Button>
        </div>
      )}

      <form onSubmit={submit} className="token-form">
        <ErrorAlert error={create.error} />
        <TextField label={t('account.tokens.name')} placeholder={t('account.tokens.namePlaceholder')} required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        <fieldset className="field" aria-describedby={noScopes ? scopesId : undefined}>
          <legend>{t('account.tokens.scopes')}</legend>
          {scopes.loading && <Spinner />}
          <ErrorAlert error={scopes.error} />
          <div className="checks">
            {scopes.data?.map((s) => (
              <label key={s.name} className="check">
                <input type="checkbox" name="scope" value={s.name} checked={chosen.includes(s.name)} onChange={(e) => toggle(s.name, e.target.checked)} />
                <span>
                  <code>{s.name}</code>
                  <span className="muted small"> — {t(`people.scopes.${s.name.replace(/:/g, '-')}`, { defaultValue: s.description })}</span>
                </span>
              </label>
            ))}
          </div>
          {noScopes && (
            <p className="field-error" id={scopesId}>
              {t('account.tokens.noScopes')}
            </p>
          )}
        </fieldset>
        <div className="field">
          <label htmlFor={expiryId}>{t('account.tokens.expiry')}</label>
          <select id={expiryId} value={days} onChange={(e) => setDays(Number(e.target.value))}>
            {EXPIRY_DAYS.map((d) => (
              <option key={d} value={d}>
                {t('account.tokens.days', { count: d })}
              </option>
            ))}
          </select>
        </div>
        <Button type="submit" variant="primary" pending={create.pending}>
          {t('account.tokens.create')}
        </Button>
      </form>

      <h3>{t('account.tokens.list')}</h3>
      <LoadedTable
        load={tokens}
        empty={t('account.tokens.empty')}
        error={tokens.error ?? revoke.error}
        label={t('account.tokens.list')}
        head={
          <>
            <th scope="col">{t('account.tokens.name')}</th>
            <th scope="col">{t('account.tokens.scopes')}</th>
            <th scope="col">{t('account.tokens.created')}</th>
            <th scope="col">{t('account.tokens.expires')}</th>
            <th scope="col">{t('account.tokens.lastUsed')}</th>
            <th scope="col">{t('account.tokens.status')}</th>
            <th scope="col">
              <span className="visually-hidden">{t('users.actions')}</span>
            </th>
          </>
        }
        row={(tok) => {
          const state = tokenState(tok);
          return (
            <tr key={tok.id}>
              <th scope="row">{tok.name}</th>
              <td>
                <span className="scope-list">
                  {tok.scopes.map((s) => (
                    <code key={s}>{s}</code>
                  ))}
                </span>
              </td>
              <td>
                <DateTime value={tok.createdAt} />
              </td>
              <td>
                <DateTime value={tok.expiresAt} fallback={t('common.never')} />
              </td>
              <td>
                <DateTime value={tok.lastUsedAt} fallback={t('common.never')} />
              </td>
              <td>
                <span className={`status status-${state}`}>{t(`account.tokens.${state}`)}</span>
              </td>
              <td className="actions">
                {state === 'active' && (
                  <ConfirmButton
                    open={confirming === tok.id}
                    onAsk={() => setConfirming(tok.id)}
                    label={`${t('account.tokens.revoke')} ${tok.name}`}
                    question={t('account.tokens.confirmRevoke', { name: tok.name })}
                    action={t('account.tokens.revoke')}
                    pending={revoke.pending}
                    onConfirm={() => void revoke.run(tok.id)}
                    onCancel={() => setConfirming(undefined)}
                  />
                )}
              </td>
            </tr>
          );
        }}
      />
    </Section>
  );
}
