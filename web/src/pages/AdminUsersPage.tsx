import { useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Role, User } from '@cairn/sdk';
import { api } from '../api.js';
import { useAction, useLoad } from '../hooks.js';
import { useUser } from '../session.js';
import { Alert, Button, ConfirmInline, DateTime, ErrorAlert, LoadedTable, Section, Spinner, TextField } from '../components/ui.js';
import { NewPasswordField } from '../components/PasswordFields.js';

type Pending = { id: string; kind: 'disable' | 'reset' } | undefined;

export function AdminUsersPage() {
  const { t } = useTranslation();
  const { user: me, can } = useUser();
  const users = useLoad(() => api.users.list());
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [createdName, setCreatedName] = useState<string | undefined>();
  const [confirm, setConfirm] = useState<Pending>();
  const roleId = useId();

  const replace = (u: User) => users.setData((list) => list?.map((x) => (x.id === u.id ? u : x)));

  const create = useAction(async () => {
    const u = await api.users.create({ username: username.trim(), password, role });
    setCreatedName(u.username);
    setUsername('');
    setPassword('');
    setRole('member');
    users.setData((list) => [...(list ?? []), u]);
  });
  const act = useAction(async (id: string, kind: 'disable' | 'enable' | 'reset') => {
    const u = kind === 'disable' ? await api.users.disable(id) : kind === 'enable' ? await api.users.enable(id) : await api.users.resetTotp(id);
    replace(u);
    setConfirm(undefined);
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setCreatedName(undefined);
    void create.run();
  };

  return (
    <div className="page">
      <h1>{t('users.title')}</h1>
      {can('settings:manage') && <PolicySection />}
      <div className="grid-side">
        <Section title={t('users.create')}>
          <form onSubmit={submit}>
            {createdName && <Alert kind="success">{t('users.createdOk', { username: createdName })}</Alert>}
            <ErrorAlert error={create.error} />
            <TextField label={t('users.username')} name="new-username" autoComplete="off" required value={username} onChange={(e) => setUsername(e.target.value)} />
            <NewPasswordField label={t('users.password')} name="new-password" value={password} onChange={setPassword} />
            <div className="field">
              <label htmlFor={roleId}>{t('users.role')}</label>
              <select id={roleId} value={role} onChange={(e) => setRole(e.target.value as Role)}>
                <option value="member">{t('roles.member')}</option>
                <option value="admin">{t('roles.admin')}</option>
              </select>
            </div>
            <Button type="submit" variant="primary" pending={create.pending}>
              {t('users.submit')}
            </Button>
          </form>
        </Section>

        <Section title={t('users.list')}>
          <LoadedTable
            load={users}
            error={users.error ?? act.error}
            label={t('users.list')}
            head={
              <>
                <th scope="col">{t('users.username')}</th>
                <th scope="col">{t('users.role')}</th>
                <th scope="col">{t('users.twoFactor')}</th>
                <th scope="col">{t('users.status')}</th>
                <th scope="col">{t('users.created')}</th>
                <th scope="col">{t('users.actions')}</th>
              </>
            }
            row={(u) => (
              <tr key={u.id} data-username={u.username}>
                <th scope="row">
                  {u.username} {u.id === me.id && <span className="muted small">({t('users.you')})</span>}
                </th>
                <td>{t(`roles.${u.role}`)}</td>
                <td>{u.totpEnabled ? t('common.yes') : t('common.no')}</td>
                <td>
                  <span className={`status status-${u.disabled ? 'revoked' : 'active'}`}>{u.disabled ? t('users.disabled') : t('users.active')}</span>
                </td>
                <td>
                  <DateTime value={u.createdAt} />
                </td>
                <td className="actions">
                  {confirm?.id === u.id ? (
                    <ConfirmInline
                      question={confirm.kind === 'disable' ? t('users.confirmDisable', { username: u.username }) : t('users.confirmReset', { username: u.username })}
                      action={confirm.kind === 'disable' ? t('users.disable') : t('users.resetTotp')}
                      pending={act.pending}
                      onConfirm={() => void act.run(u.id, confirm.kind)}
                      onCancel={() => setConfirm(undefined)}
                    />
                  ) : (
                    <span className="row">
                      {u.id !== me.id &&
                        (u.disabled ? (
                          <Button pending={act.pending} onClick={() => void act.run(u.id, 'enable')} aria-label={`${t('users.enable')} ${u.username}`}>
                            {t('users.enable')}
                          </Button>
                        ) : (
                          <Button onClick={() => setConfirm({ id: u.id, kind: 'disable' })} aria-label={`${t('users.disable')} ${u.username}`}>
                            {t('users.disable')}
                          </Button>
                        ))}
                      {u.totpEnabled && (
                        <Button onClick={() => setConfirm({ id: u.id, kind: 'reset' })} aria-label={`${t('users.resetTotp')} ${u.username}`}>
                          {t('users.resetTotp')}
                        </Button>
                      )}
                    </span>
                  )}
                </td>
              </tr>
            )}
          />
        </Section>
      </div>
    </div>
  );
}

function PolicySection() {
  const { t } = useTranslation();
  const settings = useLoad(() => api.settings.get());
  // Optimistic: the switch moves at once and moves back if the server refuses.
  const save = useAction(async (requireTotp: boolean) => {
    const before = settings.data;
    settings.setData((s) => (s ? { ...s, requireTotp } : s));
    try {
      settings.setData(await api.settings.update({ requireTotp }));
    } catch (e) {
      settings.setData(before);
      throw e;
    }
  });
  const id = useId();
  return (
    <Section title={t('users.policy')}>
      <ErrorAlert error={settings.error ?? save.error} />
      {settings.loading && !settings.data && <Spinner />}
      {settings.data && (
        <div className="switch-row">
          <input
            id={id}
            type="checkbox"
            role="switch"
            className="switch"
            checked={settings.data.requireTotp}
            disabled={save.pending}
            aria-describedby={`${id}-hint`}
            onChange={(e) => void save.run(e.target.checked)}
          />
          <div>
            <label htmlFor={id}>{t('users.requireTotp')}</label>
            <p className="muted small" id={`${id}-hint`}>
              {t('users.requireTotpHint')}
            </p>
          </div>
        </div>
      )}
    </Section>
  );
}
