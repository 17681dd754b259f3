import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import type { Dataset, Facet } from '@cairn/sdk';
import { api } from '../../api.js';
import { Button, ErrorAlert, Section, TextField, DataTable } from '../../components/ui.js';
import { useSession } from '../../session.js';

/**
 * Dataset list with text search and facets (modality, license, author, public or mine), and
 * creation. Without an account it is the public list (OpenNeuro's front page): public datasets only.
 */
export function DatasetsPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const signedIn = useSession().state.status === 'signed-in';
  const [q, setQ] = useState('');
  const [author, setAuthor] = useState('');
  const [authorQuery, setAuthorQuery] = useState('');
  const [query, setQuery] = useState('');
  const [modality, setModality] = useState('');
  const [license, setLicense] = useState('');
  const [scope, setScope] = useState<'all' | 'public' | 'mine'>(signedIn ? 'all' : 'public');
  const [result, setResult] = useState<{ datasets: Dataset[]; total: number; facets: { modality: Facet[]; license: Facet[] } }>();
  const [error, setError] = useState<unknown>();
  const [title, setTitle] = useState('');
  const [creating, setCreating] = useState(false);

  useEffect(() => {
    let live = true;
    api.datasets
      .search({ q: query || undefined, author: authorQuery || undefined, modality: modality || undefined, license: license || undefined, scope })
      .then((r) => live && setResult(r))
      .catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [query, authorQuery, modality, license, scope]);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setCreating(true);
    try {
      const d = await api.datasets.create({ title });
      navigate(`/datasets/${d.accession}`);
    } catch (err) {
      setError(err);
    } finally {
      setCreating(false);
    }
  };

  return (
    <div className="page datasets-page">
      <h1>{signedIn ? t('datasets.title') : t('datasets.publicTitle')}</h1>
      {!signedIn && <p>{t('datasets.publicIntro')}</p>}
      <ErrorAlert error={error} />
      <form className="row" onSubmit={(e) => (e.preventDefault(), setQuery(q), setAuthorQuery(author))} role="search">
        <TextField label={t('datasets.search')} value={q} onChange={(e) => setQ(e.target.value)} hint={t('datasets.searchHint')} />
        <TextField label={t('datasets.author')} value={author} onChange={(e) => setAuthor(e.target.value)} />
        <Button type="submit">{t('datasets.searchButton')}</Button>
      </form>
      <div className="row facets">
        {signedIn && (
        <label>
          {t('datasets.scope')}{' '}
          <select value={scope} onChange={(e) => setScope(e.target.value as 'all')}>
            <option value="all">{t('datasets.scopeAll')}</option>
            <option value="public">{t('datasets.scopePublic')}</option>
            <option value="mine">{t('datasets.scopeMine')}</option>
          </select>
        </label>
        )}
        <label>
          {t('datasets.modality')}{' '}
          <select value={modality} onChange={(e) => setModality(e.target.value)}>
            <option value="">{t('datasets.any')}</option>
            {result?.facets.modality.map((f) => (
              <option key={f.value} value={f.value}>{`${f.value} (${f.count})`}</option>
            ))}
          </select>
        </label>
        <label>
          {t('datasets.license')}{' '}
          <select value={license} onChange={(e) => setLicense(e.target.value)}>
            <option value="">{t('datasets.any')}</option>
            {result?.facets.license.map((f) => (
              <option key={f.value} value={f.value}>{`${f.value} (${f.count})`}</option>
            ))}
          </select>
        </label>
      </div>
      <DataTable label={t('datasets.title')}>
        <thead>
          <tr>
            <th>{t('datasets.accession')}</th>
            <th>{t('datasets.titleColumn')}</th>
            <th>{t('datasets.authors')}</th>
            <th>{t('datasets.modality')}</th>
            <th>{t('datasets.license')}</th>
            <th>{t('datasets.visibility')}</th>
          </tr>
        </thead>
        <tbody>
          {result?.datasets.map((d) => (
            <tr key={d.id}>
              <td>
                <Link to={`/datasets/${d.accession}`}>{d.accession}</Link>
              </td>
              <td>
                {d.title}
                {d.description && <small className="dataset-description">{d.description.length > 160 ? `${d.description.slice(0, 160)}…` : d.description}</small>}
              </td>
              <td>{d.authors.join(', ')}</td>
              <td>{d.modalities.join(', ')}</td>
              <td>{d.license}</td>
              <td>{d.public ? t('datasets.public') : t('datasets.private')}</td>
            </tr>
          ))}
        </tbody>
      </DataTable>
      {result && result.datasets.length === 0 && <p>{t('datasets.none')}</p>}
      {signedIn && (
      <Section title={t('datasets.create')}>
        <form className="row" onSubmit={create}>
          <TextField label={t('datasets.newTitle')} value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={300} />
          <Button type="submit" variant="primary" pending={creating}>
            {t('datasets.createButton')}
          </Button>
        </form>
      </Section>
      )}
    </div>
  );
}
