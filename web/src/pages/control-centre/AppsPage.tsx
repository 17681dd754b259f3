import { useId, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { AppWithCode } from '@cairn/sdk';
import { api } from '../../api.js';
import { useAction, useLoad } from '../../hooks.js';
import { Button, DateTime, ErrorAlert, LoadedTable, Section, TextField } from '../../components/ui.js';
import { AppStatusBadge, AssociationCodeBox, ControlCentreLayout, ccPath } from './common.js';

export function AppsPage() {
  return (
    <ControlCentreLayout>
      <Apps />
    </ControlCentreLayout>
  );
}

function Apps() {
  const { t } = useTranslation();
  const apps = useLoad(() => api.apps.list());
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [created, setCreated] = useState<AppWithCode | undefined>();
  const descriptionId = useId();

  const register = useAction(async () => {
    const app = await api.apps.register({ name: name.trim(), description: description.trim() });
    setName('');
    setDescription('');
    await apps.reload();
    setCreated(app);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setCreated(undefined);
    void register.run();
  };

  return (
    <>
      <div className="page-head">
        <div>
          <h1>{t('controlCentre.apps.title')}</h1>
          <p className="muted">{t('controlCentre.apps.intro')}</p>
        </div>
      </div>
      {created && <AssociationCodeBox app={created} onDone={() => setCreated(undefined)} showAppLink />}
      <div className="grid-side">
        <Section title={t('controlCentre.apps.register')}>
          <form onSubmit={submit}>
            <ErrorAlert error={register.error} />
            <TextField
              label={t('controlCentre.apps.name')}
              name="app-name"
              autoComplete="off"
              required
              maxLength={100}
              placeholder={t('controlCentre.apps.namePlaceholder')}
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
            <div className="field">
              <label htmlFor={descriptionId}>{t('controlCentre.apps.description')}</label>
              <textarea id={descriptionId} rows={3} maxLength={2000} aria-describedby={`${descriptionId}-hint`} value={description} onChange={(e) => setDescription(e.target.value)} />
              <p className="field-hint" id={`${descriptionId}-hint`}>
                {t('controlCentre.apps.descriptionHint')}
              </p>
            </div>
            <Button type="submit" variant="primary" pending={register.pending}>
              {t('controlCentre.apps.submit')}
            </Button>
          </form>
        </Section>

        <Section title={t('controlCentre.apps.list')}>
          <LoadedTable
            load={apps}
            empty={t('controlCentre.apps.empty')}
            label={t('controlCentre.apps.list')}
            head={
              <>
                <th scope="col">{t('controlCentre.apps.name')}</th>
                <th scope="col">{t('controlCentre.apps.status')}</th>
                <th scope="col" className="num">
                  {t('controlCentre.apps.pending')}
                </th>
                <th scope="col" className="num">
                  {t('controlCentre.apps.grants')}
                </th>
                <th scope="col">{t('controlCentre.apps.created')}</th>
              </>
            }
            row={(a) => (
              <tr key={a.id} data-app={a.name}>
                <th scope="row">
                  <Link to={ccPath.app(a.id)}>{a.name}</Link>
                  {a.description && <div className="muted small cc-clip">{a.description}</div>}
                </th>
                <td>
                  <AppStatusBadge status={a.status} />
                </td>
                <td className="num">{a.pendingRequests > 0 ? <span className="cc-count">{a.pendingRequests}</span> : a.pendingRequests}</td>
                <td className="num">{a.activeGrants}</td>
                <td>
                  <DateTime value={a.createdAt} />
                </td>
              </tr>
            )}
          />
        </Section>
      </div>
    </>
  );
}
