import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams, useSearchParams } from 'react-router';
import type { DatasetDetail, DatasetDiff, DatasetsApi, LineDiff, Preview, ReviewerLink, TreeChild, UserHit } from '@cairn/sdk';
import { api } from '../../api.js';
import { Alert, Button, CopyButton, DateTime, ErrorAlert, Section, TextField } from '../../components/ui.js';
import { UserPicker } from '../../components/UserPicker.js';
import { formatBytes } from './format.js';
import { DetailsTab, FileActions, UploadTab } from './authoring.js';
import { ValidationTab } from './validation.js';

type Tab = 'files' | 'details' | 'upload' | 'snapshots' | 'diff' | 'access' | 'validation';

/**
 * One dataset: tree browser with preview, details, upload, snapshots, diff, permissions, reviewer
 * links, validation. Opened through a reviewer link (`?review=`) or as a public dataset without an
 * account, it is the read-only page of the snapshots: files, preview, versions, downloads.
 */
export function DatasetPage() {
  const { t } = useTranslation();
  const { ds = '' } = useParams();
  const review = useSearchParams()[0].get('review') ?? '';
  const dsApi = useMemo(() => (review ? api.datasets.withReviewToken(review) : api.datasets), [review]);
  const [dataset, setDataset] = useState<DatasetDetail>();
  const [error, setError] = useState<unknown>();
  const [tab, setTab] = useState<Tab>('files');
  const reload = useCallback(() => dsApi.get(ds).then(setDataset, setError), [ds, dsApi]);
  useEffect(() => {
    void reload();
  }, [reload]);
  if (!dataset) return <div className="page"><ErrorAlert error={error} /></div>;
  const canEdit = dataset.role === 'edit' || dataset.role === 'admin';
  const versions = [...(dataset.draft ? ['draft'] : []), ...dataset.snapshots.map((s) => s.tag!)];
  const tabs: Tab[] = canEdit ? ['files', 'details', 'upload', 'snapshots', 'diff', 'access', 'validation'] : ['files', 'snapshots', 'diff', 'validation'];
  return (
    <div className="page dataset-page">
      <h1>
        {dataset.title} <small>{dataset.accession}</small>
      </h1>
      {review && !canEdit && <Alert kind="info">{t('datasets.reviewerView')}</Alert>}
      {dataset.description && <p className="dataset-description">{dataset.description}</p>}
      <dl className="dataset-facts">
        {dataset.authors.length > 0 && (
          <>
            <dt>{t('datasets.authors')}</dt>
            <dd>{dataset.authors.join(', ')}</dd>
          </>
        )}
        {dataset.license && (
          <>
            <dt>{t('datasets.license')}</dt>
            <dd>{dataset.license}</dd>
          </>
        )}
        {dataset.modalities.length > 0 && (
          <>
            <dt>{t('datasets.modality')}</dt>
            <dd>{dataset.modalities.join(', ')}</dd>
          </>
        )}
      </dl>
      <p>
        {dataset.public ? t('datasets.public') : t('datasets.private')} · {t('datasets.role')}: {dataset.role ? t(`datasets.roles.${dataset.role}`) : '—'}
        {dataset.draft && ` · ${t('datasets.draftSummary', { files: dataset.draft.fileCount, size: formatBytes(dataset.draft.size), status: t(`datasets.status.${dataset.draft.validation.status}`) })}`}
      </p>
      <ErrorAlert error={error} />
      {versions.length === 0 && <p>{t('datasets.noSnapshotsYet')}</p>}
      <nav className="tabs" role="tablist">
        {tabs.map((x) => (
          <button key={x} role="tab" aria-selected={tab === x} className={`btn btn-${tab === x ? 'primary' : 'ghost'}`} onClick={() => setTab(x)}>
            {t(`datasets.tabs.${x}`)}
          </button>
        ))}
      </nav>
      {tab === 'files' && versions.length > 0 && <FilesTab ds={ds} dsApi={dsApi} versions={versions} canEdit={canEdit} onChange={reload} />}
      {tab === 'details' && <DetailsTab dataset={dataset} onChange={reload} />}
      {tab === 'upload' && <UploadTab ds={ds} onDone={reload} />}
      {tab === 'snapshots' && <SnapshotsTab dataset={dataset} canEdit={canEdit} onChange={reload} />}
      {tab === 'diff' && versions.length > 0 && <DiffTab ds={ds} dsApi={dsApi} versions={versions} />}
      {tab === 'access' && <AccessTab dataset={dataset} onChange={reload} />}
      {tab === 'validation' && versions.length > 0 && <ValidationTab ds={ds} dsApi={dsApi} version={versions[0]!} canEdit={canEdit} />}
    </div>
  );
}

function FilesTab({ ds, dsApi, versions, canEdit, onChange }: { ds: string; dsApi: DatasetsApi; versions: string[]; canEdit: boolean; onChange: () => void }) {
  const { t } = useTranslation();
  const [version, setVersion] = useState(versions[0] ?? 'draft');
  const [folder, setFolder] = useState('');
  const [children, setChildren] = useState<TreeChild[]>([]);
  const [preview, setPreview] = useState<Preview>();
  const [error, setError] = useState<unknown>();
  const [changes, setChanges] = useState(0);
  useEffect(() => {
    dsApi.tree(ds, version, folder).then((r) => setChildren(r.children), setError);
  }, [ds, dsApi, version, folder, changes]);
  const editable = canEdit && version === 'draft';
  const changed = () => {
    setChanges((n) => n + 1);
    setPreview(undefined);
    onChange();
  };
  const up = folder.includes('/') ? folder.slice(0, folder.lastIndexOf('/')) : '';
  return (
    <Section title={t('datasets.tabs.files')}>
      <ErrorAlert error={error} />
      <label>
        {t('datasets.version')}{' '}
        <select value={version} onChange={(e) => (setVersion(e.target.value), setFolder(''), setPreview(undefined))}>
          {versions.map((v) => (
            <option key={v} value={v}>{v}</option>
          ))}
        </select>
      </label>{' '}
      <a className="btn btn-ghost" href={dsApi.archiveUrl(ds, version, 'zip')}>{t('datasets.downloadZip')}</a>{' '}
      <a className="btn btn-ghost" href={dsApi.archiveUrl(ds, version, 'tar.gz')}>{t('datasets.downloadTar')}</a>
      <p className="breadcrumb">/{folder}</p>
      <table className="table tree">
        <tbody>
          {folder && (
            <tr>
              <td colSpan={editable ? 4 : 3}>
                <button className="btn btn-ghost" onClick={() => setFolder(up)}>..</button>
              </td>
            </tr>
          )}
          {children.map((c) => (
            <tr key={c.path}>
              <td>
                {c.kind === 'folder' ? (
                  <button className="btn btn-ghost" onClick={() => setFolder(c.path)}>📁 {c.name}</button>
                ) : (
                  <button className="btn btn-ghost" onClick={() => dsApi.preview(ds, version, c.path).then(setPreview, setError)}>{c.name}</button>
                )}
              </td>
              <td>{formatBytes(c.size)}</td>
              <td>{c.kind === 'file' ? <a href={dsApi.fileUrl(ds, version, c.path)}>{t('datasets.download')}</a> : t('datasets.fileCount', { count: c.fileCount })}</td>
              {editable && (
                <td>
                  <FileActions ds={ds} child={c} onChanged={changed} />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {preview && (
        <div className="preview" aria-label={t('datasets.preview')}>
          <h3>{preview.path}</h3>
          {preview.kind === 'tsv' ? (
            <table className="table">
              <tbody>
                {preview.rows.slice(0, 200).map((r, i) => (
                  <tr key={i}>{r.map((c, j) => (i === 0 ? <th key={j}>{c}</th> : <td key={j}>{c}</td>))}</tr>
                ))}
              </tbody>
            </table>
          ) : preview.kind === 'json' ? (
            <pre>{JSON.stringify(preview.json, null, 2)}</pre>
          ) : preview.kind === 'text' ? (
            <pre>{preview.text}</pre>
          ) : (
            <p>{t(`datasets.previewUnavailable.${preview.kind}`)}</p>
          )}
        </div>
      )}
    </Section>
  );
}

function SnapshotsTab({ dataset, canEdit, onChange }: { dataset: DatasetDetail; canEdit: boolean; onChange: () => void }) {
  const { t } = useTranslation();
  const [bump, setBump] = useState<'major' | 'minor' | 'patch'>('minor');
  const [changelog, setChangelog] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const create = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api.datasets.snapshot(dataset.accession, { bump, changelog });
      setChangelog('');
      onChange();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const deprecate = async (tag: string) => {
    const reason = window.prompt(t('datasets.deprecateReason'));
    if (!reason) return;
    await api.datasets.deprecate(dataset.accession, tag, reason).then(onChange, setError);
  };
  return (
    <Section title={t('datasets.tabs.snapshots')}>
      <ErrorAlert error={error} />
      <ul className="snapshots">
        {dataset.snapshots.map((s) => (
          <li key={s.id}>
            <strong>{s.tag}</strong> · <DateTime value={s.createdAt} /> · {t('datasets.fileCount', { count: s.fileCount })}, {formatBytes(s.size)} — {s.changelog}
            {s.deprecated && <em> · {t('datasets.deprecated', { reason: s.deprecated.reason })}</em>}
            {canEdit && !s.deprecated && dataset.role === 'admin' && (
              <Button variant="ghost" onClick={() => deprecate(s.tag!)}>{t('datasets.deprecate')}</Button>
            )}
          </li>
        ))}
      </ul>
      {dataset.snapshots.length === 0 && <p>{t('datasets.noSnapshots')}</p>}
      {canEdit && (
        <form onSubmit={create} className="stack">
          <label>
            {t('datasets.bump')}{' '}
            <select value={bump} onChange={(e) => setBump(e.target.value as 'minor')}>
              <option value="major">major</option>
              <option value="minor">minor</option>
              <option value="patch">patch</option>
            </select>
          </label>
          <TextField label={t('datasets.changelog')} value={changelog} onChange={(e) => setChangelog(e.target.value)} required />
          <Button type="submit" variant="primary" pending={busy}>{t('datasets.createSnapshot')}</Button>
        </form>
      )}
    </Section>
  );
}

function DiffTab({ ds, dsApi, versions }: { ds: string; dsApi: DatasetsApi; versions: string[] }) {
  const { t } = useTranslation();
  const [from, setFrom] = useState(versions[1] ?? versions[0] ?? 'draft');
  const [to, setTo] = useState(versions[0] ?? 'draft');
  const [diff, setDiff] = useState<DatasetDiff>();
  const [lines, setLines] = useState<{ path: string; diff: LineDiff }>();
  const [error, setError] = useState<unknown>();
  const run = () => dsApi.diff(ds, from, to).then((d) => (setDiff(d), setLines(undefined)), setError);
  const pick = (v: string, set: (v: string) => void) => (
    <select value={v} onChange={(e) => set(e.target.value)}>
      {versions.map((x) => (
        <option key={x} value={x}>{x}</option>
      ))}
    </select>
  );
  return (
    <Section title={t('datasets.tabs.diff')}>
      <ErrorAlert error={error} />
      <div className="row">
        <label>{t('datasets.from')} {pick(from, setFrom)}</label> <label>{t('datasets.to')} {pick(to, setTo)}</label>{' '}
        <Button onClick={run}>{t('datasets.compare')}</Button>
      </div>
      {diff && (
        <div className="diff" data-testid="diff">
          <p>{t('datasets.diffSummary', { ...diff.summary })}</p>
          <ul>
            {diff.added.map((f) => <li key={`a${f.path}`} className="diff-added">+ {f.path} ({formatBytes(f.size)})</li>)}
            {diff.removed.map((f) => <li key={`r${f.path}`} className="diff-removed">− {f.path} ({formatBytes(f.size)})</li>)}
            {diff.modified.map((f) => (
              <li key={`m${f.path}`} className="diff-modified">
                ~ <button className="btn btn-ghost" onClick={() => dsApi.lineDiff(ds, from, to, f.path).then((l) => setLines({ path: f.path, diff: l.diff }), setError)}>{f.path}</button> ({formatBytes(f.before.size)} → {formatBytes(f.after.size)})
              </li>
            ))}
            {diff.renamed.map((f) => <li key={`n${f.to}`} className="diff-renamed">→ {f.from} → {f.to}</li>)}
          </ul>
          {lines && (
            <pre className="line-diff" aria-label={lines.path}>
              {lines.diff.kind === 'text' ? lines.diff.hunks.map((h) => `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@\n${h.lines.join('\n')}`).join('\n') : t(`datasets.lineDiff.${lines.diff.kind}`)}
            </pre>
          )}
        </div>
      )}
    </Section>
  );
}

function AccessTab({ dataset, onChange }: { dataset: DatasetDetail; onChange: () => void }) {
  const { t } = useTranslation();
  const ds = dataset.accession;
  const [members, setMembers] = useState<{ userId: string; username: string; role: string }[]>([]);
  const [links, setLinks] = useState<ReviewerLink[]>([]);
  const [newLink, setNewLink] = useState<string>();
  const [person, setPerson] = useState<UserHit | null>(null);
  const [role, setRole] = useState<'read' | 'edit' | 'admin'>('read');
  const [error, setError] = useState<unknown>();
  const admin = dataset.role === 'admin';
  const load = useCallback(() => {
    api.datasets.members(ds).then((m) => setMembers(m.members), setError);
    if (admin) api.datasets.reviewerLinks(ds).then(setLinks, setError);
  }, [ds, admin]);
  useEffect(load, [load]);
  return (
    <Section title={t('datasets.tabs.access')}>
      <ErrorAlert error={error} />
      {admin && (
        <p>
          <Button onClick={() => api.datasets.update(ds, { public: !dataset.public }).then(onChange, setError)}>
            {dataset.public ? t('datasets.makePrivate') : t('datasets.makePublic')}
          </Button>
        </p>
      )}
      <h3>{t('datasets.members')}</h3>
      <ul>
        {members.map((m) => (
          <li key={m.userId}>
            {m.username} — {t(`datasets.roles.${m.role}`)}{' '}
            {admin && <Button variant="ghost" onClick={() => api.datasets.removeMember(ds, m.userId).then(load, setError)}>{t('datasets.remove')}</Button>}
          </li>
        ))}
      </ul>
      {admin && (
        <form className="row" onSubmit={(e) => (e.preventDefault(), person && api.datasets.setMember(ds, person.id, role).then(() => (setPerson(null), load()), setError))}>
          <UserPicker label={t('people.workspaces.person')} value={person} onChange={setPerson} exclude={members.map((m) => m.userId)} required />
          <select value={role} onChange={(e) => setRole(e.target.value as 'read')} aria-label={t('datasets.role')}>
            {(['read', 'edit', 'admin'] as const).map((r) => <option key={r} value={r}>{t(`datasets.roles.${r}`)}</option>)}
          </select>
          <Button type="submit">{t('datasets.grant')}</Button>
        </form>
      )}
      {admin && (
        <>
          <h3>{t('datasets.reviewerLinks')}</h3>
          <Button onClick={() => api.datasets.createReviewerLink(ds, { expiresInDays: 30 }).then((l) => (setNewLink(`${location.origin}/datasets/${ds}?review=${encodeURIComponent(l.token)}`), load()), setError)}>
            {t('datasets.newReviewerLink')}
          </Button>
          {newLink && (
            <Alert kind="info">
              {t('datasets.linkShownOnce')} <code>{newLink}</code> <CopyButton text={newLink} />
            </Alert>
          )}
          <ul>
            {links.map((l) => (
              <li key={l.id}>
                <DateTime value={l.createdAt} /> → <DateTime value={l.expiresAt} /> · {l.active ? t('datasets.active') : t('datasets.inactive')}{' '}
                {l.active && <Button variant="ghost" onClick={() => api.datasets.revokeReviewerLink(ds, l.id).then(load, setError)}>{t('datasets.revoke')}</Button>}
              </li>
            ))}
          </ul>
        </>
      )}
    </Section>
  );
}
