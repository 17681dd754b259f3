import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { DatasetDetail, TreeChild } from '@cairn/sdk';
import { api } from '../../api.js';
import { Alert, Button, ConfirmInline, ErrorAlert, Section, TextField } from '../../components/ui.js';
import { formatBytes } from './format.js';
import { pickedFromDrop, pickedFromInput, textFile, uploadFiles, type PickedFile, type UploadProgress } from './upload.js';

/** Upload: files, a whole folder (its tree kept), or either dropped on the page. */
export function UploadTab({ ds, onDone }: { ds: string; onDone: () => void }) {
  const { t } = useTranslation();
  const [picked, setPicked] = useState<PickedFile[]>([]);
  const [dragging, setDragging] = useState(false);
  const [prefix, setPrefix] = useState('');
  const [progress, setProgress] = useState<UploadProgress>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<unknown>();
  const choose = (p: PickedFile[]) => {
    setPicked(p);
    setDone(false);
  };
  const start = async () => {
    setBusy(true);
    setError(undefined);
    setDone(false);
    try {
      await uploadFiles(ds, picked, prefix ? `${prefix.replace(/^\/+|\/+$/g, '')}/` : '', setProgress);
      setDone(true);
      setPicked([]);
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title={t('datasets.tabs.upload')}>
      <p>{t('datasets.uploadHelp')}</p>
      <div
        className={`dropzone${dragging ? ' dragging' : ''}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          pickedFromDrop(e.dataTransfer).then(choose, setError);
        }}
      >
        <p>{t('datasets.dropHere')}</p>
        <div className="row">
          <label className="btn btn-secondary">
            {t('datasets.chooseFiles')}
            <input className="visually-hidden" type="file" multiple onChange={(e) => choose(pickedFromInput(e.target.files))} data-testid="upload-input" />
          </label>
          <label className="btn btn-secondary">
            {t('datasets.chooseFolder')}
            {/* webkitdirectory is not in React's attribute types; every current browser supports it. */}
            <input className="visually-hidden" type="file" multiple ref={(el) => el?.setAttribute('webkitdirectory', '')} onChange={(e) => choose(pickedFromInput(e.target.files))} data-testid="upload-folder" />
          </label>
        </div>
      </div>
      {picked.length > 0 && (
        <ul className="picked" aria-label={t('datasets.picked')}>
          {picked.slice(0, 20).map((p) => (
            <li key={p.path}>
              {p.path} <small>({formatBytes(p.file.size)})</small>
            </li>
          ))}
          {picked.length > 20 && <li>{t('datasets.andMore', { count: picked.length - 20 })}</li>}
        </ul>
      )}
      <TextField label={t('datasets.prefix')} value={prefix} onChange={(e) => setPrefix(e.target.value)} />
      <Button variant="primary" onClick={start} pending={busy} disabled={!picked.length}>
        {t('datasets.startUpload', { count: picked.length })}
      </Button>
      {progress && (
        <p role="status">
          <progress max={Math.max(progress.total, 1)} value={progress.sent} /> {t('datasets.progress', { done: progress.done, files: progress.files, sent: formatBytes(progress.sent), total: formatBytes(progress.total) })}
        </p>
      )}
      {done && <Alert kind="success">{t('datasets.uploaded')}</Alert>}
      {error !== undefined && <Alert kind="error">{t('datasets.uploadFailed', { message: String((error as Error).message ?? error) })}</Alert>}
    </Section>
  );
}

const README = /^readme(\.(md|txt|rst))?$/i;
const LICENSES = ['CC0', 'CC-BY-4.0', 'CC-BY-SA-4.0', 'CC-BY-NC-4.0', 'PDDL', 'ODbL'];
const lines = (s: string) => s.split('\n').map((x) => x.trim()).filter(Boolean);

/** Edit the description, license, authors, modalities and the README (written to the draft). */
export function DetailsTab({ dataset, onChange }: { dataset: DatasetDetail; onChange: () => void }) {
  const { t } = useTranslation();
  const ds = dataset.accession;
  const [title, setTitle] = useState(dataset.title);
  const [description, setDescription] = useState(dataset.description);
  const [license, setLicense] = useState(dataset.license);
  const [authors, setAuthors] = useState(dataset.authors.join('\n'));
  const [modalities, setModalities] = useState(dataset.modalities.join(', '));
  const [readmeName, setReadmeName] = useState('README.md');
  const [readme, setReadme] = useState<string>();
  const [readmeBefore, setReadmeBefore] = useState('');
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let live = true;
    (async () => {
      const root = await api.datasets.tree(ds, 'draft', '');
      const file = root.children.find((c) => c.kind === 'file' && README.test(c.name));
      let text = '';
      if (file) {
        const p = await api.datasets.preview(ds, 'draft', file.path);
        text = p.kind === 'text' || p.kind === 'json' || p.kind === 'tsv' ? p.text : '';
      }
      if (!live) return;
      if (file) setReadmeName(file.name);
      setReadme(text);
      setReadmeBefore(text);
    })().catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [ds]);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setSaved(false);
    setError(undefined);
    try {
      await api.datasets.update(ds, {
        title,
        description,
        license: license.trim(),
        authors: lines(authors),
        modalities: modalities.split(',').map((m) => m.trim().toLowerCase()).filter(Boolean),
      });
      if (readme !== undefined && readme !== readmeBefore) {
        await uploadFiles(ds, [textFile(readmeName, readme)], '', () => {});
        setReadmeBefore(readme);
      }
      setSaved(true);
      onChange();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title={t('datasets.tabs.details')}>
      <form className="stack" onSubmit={save}>
        <TextField label={t('datasets.newTitle')} value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={300} />
        <label className="field">
          {t('datasets.description')}
          <textarea rows={4} value={description} onChange={(e) => setDescription(e.target.value)} maxLength={20_000} />
        </label>
        <TextField label={t('datasets.license')} value={license} onChange={(e) => setLicense(e.target.value)} list="dataset-licenses" maxLength={100} hint={t('datasets.licenseHint')} />
        <datalist id="dataset-licenses">
          {LICENSES.map((l) => (
            <option key={l} value={l} />
          ))}
        </datalist>
        <label className="field">
          {t('datasets.authors')}
          <textarea rows={3} value={authors} onChange={(e) => setAuthors(e.target.value)} aria-describedby="authors-hint" />
          <small id="authors-hint">{t('datasets.authorsHint')}</small>
        </label>
        <TextField label={t('datasets.modalities')} value={modalities} onChange={(e) => setModalities(e.target.value)} hint={t('datasets.modalitiesHint')} />
        <label className="field">
          {t('datasets.readme', { name: readmeName })}
          <textarea rows={10} className="mono" value={readme ?? ''} disabled={readme === undefined} onChange={(e) => setReadme(e.target.value)} />
          <small>{t('datasets.readmeHint')}</small>
        </label>
        <ErrorAlert error={error} />
        {saved && <Alert kind="success">{t('datasets.saved')}</Alert>}
        <Button type="submit" variant="primary" pending={busy}>
          {t('datasets.save')}
        </Button>
      </form>
    </Section>
  );
}

/** Rename or delete one file or folder of the draft (one atomic change each). */
export function FileActions({ ds, child, onChanged }: { ds: string; child: TreeChild; onChanged: () => void }) {
  const { t } = useTranslation();
  const [mode, setMode] = useState<'idle' | 'rename' | 'delete'>('idle');
  const [name, setName] = useState(child.name);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const apply = async (change: Parameters<typeof api.datasets.change>[1][number]) => {
    setBusy(true);
    setError(undefined);
    try {
      await api.datasets.change(ds, [change]);
      setMode('idle');
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  if (mode === 'rename')
    return (
      <form className="row" onSubmit={(e) => (e.preventDefault(), void apply({ op: 'rename', path: child.path, name: name.trim() }))}>
        <TextField label={t('datasets.newName')} value={name} onChange={(e) => setName(e.target.value)} required autoFocus />
        <Button type="submit" variant="primary" pending={busy}>{t('datasets.rename')}</Button>
        <Button variant="ghost" onClick={() => setMode('idle')}>{t('common.cancel')}</Button>
        <ErrorAlert error={error} />
      </form>
    );
  if (mode === 'delete')
    return (
      <ConfirmInline
        question={t('datasets.deleteQuestion', { name: child.name })}
        action={t('datasets.delete')}
        pending={busy}
        onConfirm={() => void apply({ op: 'delete', path: child.path })}
        onCancel={() => setMode('idle')}
      />
    );
  return (
    <span className="row">
      <Button variant="ghost" onClick={() => setMode('rename')} aria-label={t('datasets.renameLabel', { name: child.name })}>{t('datasets.rename')}</Button>
      <Button variant="ghost" onClick={() => setMode('delete')} aria-label={t('datasets.deleteLabel', { name: child.name })}>{t('datasets.delete')}</Button>
      <ErrorAlert error={error} />
    </span>
  );
}
