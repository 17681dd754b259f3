import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { viewsApi } from './views.api.js';
import { useLoad } from '../../hooks.js';
import { DateTime, LoadedTable, Section } from '../../components/ui.js';

export function ViewTemplatesPage() {
  const { t } = useTranslation();
  const templates = useLoad(() => viewsApi.templates());
  return (
    <div className="page">
      <h1>{t('views.title')}</h1>
      <p className="lead">{t('views.intro')}</p>
      <p className="view-links">
        <Link className="btn btn-primary" to="/views/new">
          {t('views.register')}
        </Link>{' '}
        <Link className="btn btn-secondary" to="/views/instances">
          {t('views.instancesLink')}
        </Link>
      </p>
      <Section title={t('views.title')}>
        <LoadedTable
          load={templates}
          empty={t('views.none')}
          head={
            <>
              <th scope="col">{t('views.name')}</th>
              <th scope="col">{t('views.runtime')}</th>
              <th scope="col" className="num">{t('views.version')}</th>
              <th scope="col">{t('views.eventTypes')}</th>
              <th scope="col" className="num">{t('views.instances')}</th>
              <th scope="col">{t('views.updated')}</th>
            </>
          }
          row={(v) => (
            <tr key={v.id}>
              <th scope="row">
                <Link to={`/views/templates/${v.id}`}>{v.name}</Link>
                {v.description && <div className="muted">{v.description}</div>}
              </th>
              <td>{t(`views.runtimes.${v.runtime}`)}</td>
              <td className="num">{v.latestVersion}</td>
              <td>{v.eventTypes.length ? v.eventTypes.map((e) => <code key={e} className="view-type">{e}</code>) : t('views.noEventTypes')}</td>
              <td className="num">{v.instances ?? 0}</td>
              <td>
                <DateTime value={v.updatedAt} />
              </td>
            </tr>
          )}
        />
      </Section>
    </div>
  );
}
