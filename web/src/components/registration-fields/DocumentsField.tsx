import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { errorText } from '../../api.js';

import type { DocumentRef } from '@cairn/sdk/instruments';

export interface DocumentLimits {
  /** MIME types accepted, e.g. image/jpeg, image/png, application/pdf. */
  accept: string[];
  maxBytes: number;
  maxFiles?: number;
}

export const isDocumentRef = (v: unknown): v is DocumentRef => !!v && typeof v === 'object' && typeof (v as DocumentRef).documentId === 'string' && typeof (v as DocumentRef).mediaType === 'string';

export function formatSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

const TYPE_LABEL: Record<string, string> = { 'image/jpeg': 'JPEG', 'image/png': 'PNG', 'image/webp': 'WebP', 'application/pdf': 'PDF' };

/**
 * Supporting documents: photos of papers or PDFs, uploaded when picked (so a draft survives a
 * reload without holding files), checked against the type's limits before anything is sent.
 * The limits are shown beside the button: people learn them before choosing, not after.
 */
export function DocumentsField({ id, value, onChange, limits, upload, disabled, documentTypes }: { id: string; value: unknown; onChange: (v: DocumentRef[] | undefined) => void; limits: DocumentLimits; upload?: (file: File) => Promise<DocumentRef>; disabled?: boolean; documentTypes?: { value: string; label: string }[] }) {
  const { t } = useTranslation();
  const docs = Array.isArray(value) ? value.filter(isDocumentRef) : [];
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();
  const [docType, setDocType] = useState(documentTypes?.[0]?.value ?? '');
  const typeLabel = (v: string | undefined) => documentTypes?.find((d) => d.value === v)?.label;
  const input = useRef<HTMLInputElement>(null);
  const max = limits.maxFiles ?? 10;
  const types = limits.accept.map((a) => TYPE_LABEL[a] ?? a).join(', ');

  const pick = async (files: FileList | null) => {
    if (!files || !upload) return;
    setProblem(undefined);
    const next = [...docs];
    setBusy(true);
    try {
      for (const file of Array.from(files)) {
        if (next.length >= max) {
          setProblem(t('registrations.fields.tooManyFiles', { max }));
          break;
        }
        if (!limits.accept.includes(file.type)) {
          setProblem(t('registrations.fields.wrongFileType', { name: file.name, types }));
          continue;
        }
        if (file.size > limits.maxBytes) {
          setProblem(t('registrations.fields.fileTooLarge', { name: file.name, max: formatSize(limits.maxBytes) }));
          continue;
        }
        try {
          const ref = await upload(file);
          next.push(documentTypes?.length ? { ...ref, name: ref.name ?? file.name, documentType: docType } : { ...ref, name: ref.name ?? file.name });
          onChange([...next]);
        } catch (e) {
          setProblem(`${file.name}: ${errorText(t, e)}`);
        }
      }
    } finally {
      setBusy(false);
      if (input.current) input.current.value = '';
    }
  };

  return (
    <div className="documents">
      {docs.length > 0 && (
        <ul className="documents-list">
          {docs.map((d, i) => (
            <li key={d.documentId + i}>
              <span className="documents-name">{d.name ?? d.documentId.slice(0, 12)}</span> <span className="muted small">({TYPE_LABEL[d.mediaType] ?? d.mediaType}, {formatSize(d.size)})</span>
              {d.documentType && <span className="muted small"> · {typeLabel(d.documentType) ?? d.documentType}</span>}
              {!disabled && (
                <button type="button" className="btn btn-ghost" onClick={() => onChange(docs.length > 1 ? docs.filter((_, k) => k !== i) : undefined)} aria-label={t('registrations.fields.removeFile', { name: d.name ?? '' })}>
                  {t('registrations.fields.remove')}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {!disabled && (
        <>
          {documentTypes && documentTypes.length > 0 && (
            <div className="field">
              <label htmlFor={`${id}-type`}>{t('registrations.fields.documentType')}</label>
              <select id={`${id}-type`} value={docType} onChange={(e) => setDocType(e.target.value)}>
                {documentTypes.map((d) => (
                  <option key={d.value} value={d.value}>
                    {d.label}
                  </option>
                ))}
              </select>
            </div>
          )}
          <input ref={input} id={id} type="file" multiple={max > 1} accept={limits.accept.join(',')} disabled={busy || !upload || docs.length >= max} onChange={(e) => void pick(e.target.files)} />
          <p className="field-hint">{t('registrations.fields.fileLimits', { types, max: formatSize(limits.maxBytes), count: max })}</p>
        </>
      )}
      {busy && <p className="muted small" role="status">{t('registrations.fields.uploading')}</p>}
      {problem && (
        <p className="field-error" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
