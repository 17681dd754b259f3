import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { isCairnError } from '@cairn/sdk';
import { errorText } from '../../api.js';
import { SERVER_DOCUMENT_TYPES, SERVER_MAX_DOCUMENT_BYTES, isLocalDocumentRef, localDocument, looksLike, type LocalDocumentRef } from '../../offline/attachments.js';

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
 * reload without holding files), checked against the type's limits and the server's (type, magic
 * bytes, 10 MiB) before anything is sent or kept. Without a network `upload` keeps the file in the
 * person's vault instead and answers a local reference: shown "waiting to upload", with a
 * thumbnail for an image, until the outbox sends it (docs/offline.md, "Attachments").
 * The limits are shown beside the button: people learn them before choosing, not after.
 */
export function DocumentsField({ id, value, onChange, limits, upload, disabled, documentTypes }: { id: string; value: unknown; onChange: (v: Array<DocumentRef | LocalDocumentRef> | undefined) => void; limits: DocumentLimits; upload?: (file: File) => Promise<DocumentRef | LocalDocumentRef>; disabled?: boolean; documentTypes?: { value: string; label: string }[] }) {
  const { t } = useTranslation();
  const docs = Array.isArray(value) ? value.filter((d): d is DocumentRef | LocalDocumentRef => isDocumentRef(d) || isLocalDocumentRef(d)) : [];
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();
  const [docType, setDocType] = useState(documentTypes?.[0]?.value ?? '');
  const typeLabel = (v: string | undefined) => documentTypes?.find((d) => d.value === v)?.label;
  const input = useRef<HTMLInputElement>(null);
  const max = limits.maxFiles ?? 10;
  // What the server takes for any field (registrations.service.ts), narrowed by this field's own limits.
  const accept = limits.accept.filter((a) => SERVER_DOCUMENT_TYPES.includes(a));
  const maxBytes = Math.min(limits.maxBytes, SERVER_MAX_DOCUMENT_BYTES);
  const types = accept.map((a) => TYPE_LABEL[a] ?? a).join(', ');

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
        if (!accept.includes(file.type)) {
          setProblem(t('registrations.fields.wrongFileType', { name: file.name, types }));
          continue;
        }
        if (file.size > maxBytes) {
          setProblem(t('registrations.fields.fileTooLarge', { name: file.name, max: formatSize(maxBytes) }));
          continue;
        }
        if (file.size === 0) {
          setProblem(t('registrations.fields.emptyFile', { name: file.name }));
          continue;
        }
        // The server checks the first bytes too: a renamed file is refused now, not after a day offline.
        if (!(await looksLike(file, file.type))) {
          setProblem(t('registrations.fields.notThatType', { name: file.name, type: TYPE_LABEL[file.type] ?? file.type }));
          continue;
        }
        try {
          const ref = await upload(file);
          next.push(documentTypes?.length ? { ...ref, name: ref.name ?? file.name, documentType: docType } : { ...ref, name: ref.name ?? file.name });
          onChange([...next]);
        } catch (e) {
          setProblem(isCairnError(e) ? `${file.name}: ${errorText(t, e)}` : t('registrations.fields.notKept', { name: file.name }));
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
            <li key={('documentId' in d ? d.documentId : d.localDocument) + i} data-testid={isLocalDocumentRef(d) ? 'document-waiting' : 'document'}>
              {isLocalDocumentRef(d) && <LocalThumbnail doc={d} />}
              <span className="documents-name">{d.name ?? ('documentId' in d ? d.documentId : d.localDocument).slice(0, 12)}</span> <span className="muted small">({TYPE_LABEL[d.mediaType] ?? d.mediaType}, {formatSize(d.size)})</span>
              {d.documentType && <span className="muted small"> · {typeLabel(d.documentType) ?? d.documentType}</span>}
              {isLocalDocumentRef(d) && <span className="documents-waiting small"> · {t('registrations.fields.waitingToUpload')}</span>}
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
          <input ref={input} id={id} type="file" multiple={max > 1} accept={accept.join(',')} disabled={busy || !upload || docs.length >= max} onChange={(e) => void pick(e.target.files)} />
          <p className="field-hint">{t('registrations.fields.fileLimits', { types, max: formatSize(maxBytes), count: max })}</p>
          {docs.some(isLocalDocumentRef) && <p className="field-hint">{t('registrations.fields.keptHelp')}</p>}
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

/**
 * A small preview of an image kept on this device, drawn from the vault's copy. A data: URL (the
 * page's CSP allows data: images, not blob:), scaled down so a 10 MB photo is not kept in the page.
 */
function LocalThumbnail({ doc }: { doc: LocalDocumentRef }) {
  const { t } = useTranslation();
  const [src, setSrc] = useState<string | undefined>();
  useEffect(() => {
    if (!doc.mediaType.startsWith('image/')) return;
    let live = true;
    void (async () => {
      const blob = await localDocument(doc.localDocument, doc.mediaType);
      if (!blob) return;
      const bitmap = await createImageBitmap(blob);
      const scale = Math.min(1, 96 / Math.max(bitmap.width, bitmap.height));
      const canvas = document.createElement('canvas');
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      canvas.getContext('2d')?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      if (live) setSrc(canvas.toDataURL('image/png'));
    })().catch(() => undefined);
    return () => {
      live = false;
    };
  }, [doc.localDocument, doc.mediaType]);
  return src ? <img className="documents-thumb" src={src} alt={t('registrations.fields.previewOf', { name: doc.name ?? '' })} /> : null;
}
