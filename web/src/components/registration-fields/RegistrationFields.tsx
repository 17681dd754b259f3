import { useEffect, useRef, useState } from 'react';
import { SIGNATURE_PREVIEW_PREFIX } from '../../offline/store.js';
import { useTranslation } from 'react-i18next';
import type { DocumentRef, Field, JsonValue, RegistrationField, SubmissionError } from '@cairn/sdk/instruments';
import { FieldView, formatValue, useFieldFrame, validationMessage, type Ctx } from '../instrument-renderer/InstrumentRenderer.js';
import { AgeOrDate } from './AgeOrDate.js';
import { DocumentsField, formatSize, isDocumentRef } from './DocumentsField.js';
import { SignaturePad } from './SignaturePad.js';
import { isLocalDocumentRef, type LocalDocumentRef } from '../../offline/attachments.js';
import { LocationInput } from './LocationInput.js';

export type { Ctx };

/** How a registration form talks to the server: uploads, and showing a stored document. */
export interface FieldServices {
  /** Without a network it may keep the file on this device instead: a LocalDocumentRef (offline/attachments.ts). */
  upload?: (file: Blob, mediaType: string) => Promise<{ documentId: string; mediaType: string; size: number } | LocalDocumentRef>;
  /** URL of a document already attached to a registration; undefined in a draft. */
  documentUrl?: (documentId: string) => string | undefined;
  /** Names of locations by id, for read-only display. */
  locationName?: (id: string) => string | undefined;
}

const DEFAULT_ACCEPT = ['image/png', 'image/jpeg', 'application/pdf'];
const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;
// The pad's redraw preview lives in sessionStorage (this tab only, gone when it closes) and is
// removed at sign-out (offline/store.ts forgetSession): a signature is personal data, and
// localStorage would keep it in plaintext for the next person using the browser.
const PREVIEW_KEY = SIGNATURE_PREVIEW_PREFIX;

/**
 * One field of a registration form. The kinds registration shares with instruments are the
 * instrument renderer's own FieldView (one forms engine, one renderer); the kinds registration
 * adds are drawn here.
 */
export function RegistrationFieldView({ field, value, onChange, ctx, services }: { field: RegistrationField; value: unknown; onChange: (v: unknown) => void; ctx: Ctx; services: FieldServices }) {
  const { id, errors, describedBy, common, label, description, shell } = useFieldFrame('rf', field, field.name, ctx);
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const setText = (raw: string) => onChange(raw === '' ? undefined : raw);

  switch (field.kind) {
    case 'personName':
      return shell(<input {...common} type="text" autoComplete="off" autoCapitalize="words" spellCheck={false} maxLength={field.maxLength} value={text(value)} onChange={(e) => setText(e.target.value)} />);
    case 'nationalId':
      return shell(<input {...common} type="text" autoComplete="off" inputMode={!field.pattern ? 'numeric' : undefined} spellCheck={false} value={text(value)} onChange={(e) => setText(e.target.value.trim())} />);
    case 'phone':
      return shell(<input {...common} type="tel" inputMode="tel" autoComplete="off" value={text(value)} onChange={(e) => setText(e.target.value)} />);
    case 'email':
      return shell(<input {...common} type="email" inputMode="email" autoComplete="off" spellCheck={false} value={text(value)} onChange={(e) => setText(e.target.value.trim())} />);
    case 'date':
      if (field.ageInsteadOfDate) {
        const today = new Date().toISOString().slice(0, 10);
        const bound = (b?: string) => (b === 'today' ? today : b);
        return shell(<AgeOrDate id={id} value={value} onChange={onChange} min={bound(field.min)} max={bound(field.max)} disabled={ctx.readOnly} describedBy={describedBy} invalid={errors.length > 0} />);
      }
      return <FieldView field={field as Field} path={field.name} value={value} onChange={onChange} ctx={ctx} answers={{}} />;
    case 'location':
      return (
        <div className={`instrument-field${errors.length ? ' has-error' : ''}`} data-field={id}>
          <LocationInput
            id={id}
            value={typeof value === 'string' ? value : undefined}
            onChange={(v) => onChange(v)}
            kind={field.locationKind ?? 'any'}
            disabled={ctx.readOnly}
            label={label}
            hint={description}
            required={field.required}
            error={errors.length ? validationMessage(ctx.t, errors[0]!) : undefined}
          />
        </div>
      );
    case 'address':
      return shell(<AddressInput id={id} value={value} onChange={onChange} ctx={ctx} errors={errors} />, true);
    case 'documents':
      return shell(
        <DocumentsField
          id={id}
          value={value}
          onChange={onChange}
          disabled={ctx.readOnly}
          limits={{ accept: field.accept ?? DEFAULT_ACCEPT, maxBytes: field.maxBytes ?? DEFAULT_MAX_BYTES, maxFiles: field.maxItems }}
          documentTypes={field.documentTypes?.map((o) => ({ value: o.value, label: ctx.L(o.label) }))}
          upload={services.upload ? async (file) => ({ ...(await services.upload!(file, file.type)), name: file.name }) : undefined}
        />,
      );
    case 'signature':
      return shell(<SignatureInput id={id} value={value} onChange={onChange} disabled={ctx.readOnly} label={label} services={services} />);
    default:
      return <FieldView field={field as Field} path={field.name} value={value} onChange={onChange} ctx={ctx} answers={{}} />;
  }
}

const ADDRESS_PARTS = ['line1', 'line2', 'city', 'postcode'] as const;

function AddressInput({ id, value, onChange, ctx, errors }: { id: string; value: unknown; onChange: (v: unknown) => void; ctx: Ctx; errors: SubmissionError[] }) {
  const { t } = useTranslation();
  const v = value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, string>) : {};
  const set = (part: string, raw: string | undefined) => {
    const next = { ...v };
    if (raw) next[part] = raw;
    else delete next[part];
    onChange(Object.keys(next).length ? next : undefined);
  };
  return (
    <div className="address-grid">
      {ADDRESS_PARTS.map((part) => (
        <div className="field" key={part}>
          <label htmlFor={`${id}-${part}`}>{t(`registrations.fields.address.${part}`)}</label>
          <input id={`${id}-${part}`} type="text" disabled={ctx.readOnly} aria-invalid={errors.length ? true : undefined} autoComplete="off" value={v[part] ?? ''} onChange={(e) => set(part, e.target.value)} />
        </div>
      ))}
      <LocationInput id={`${id}-location`} value={v.locationId} onChange={(l) => set('locationId', l)} kind="any" disabled={ctx.readOnly} label={t('registrations.fields.address.locationId')} />
    </div>
  );
}

/** A drawn signature, uploaded as a PNG a moment after the last stroke; the draft keeps the reference. */
function SignatureInput({ id, value, onChange, disabled, label, services }: { id: string; value: unknown; onChange: (v: unknown) => void; disabled: boolean; label: string; services: FieldServices }) {
  const { t } = useTranslation();
  const ref = isDocumentRef(value) ? value : undefined;
  const local = isLocalDocumentRef(value) ? value : undefined;
  const [preview] = useState(() => (ref || local ? (sessionStorage.getItem(PREVIEW_KEY + (ref?.documentId ?? local!.localDocument)) ?? undefined) : undefined));
  const [state, setState] = useState<'idle' | 'saving' | 'saved' | 'kept' | 'failed'>(ref ? 'saved' : local ? 'kept' : 'idle');
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const changed = (dataUrl: string | undefined) => {
    clearTimeout(timer.current);
    if (!dataUrl) {
      setState('idle');
      onChange(undefined);
      return;
    }
    if (!services.upload) return;
    setState('saving');
    timer.current = setTimeout(async () => {
      try {
        const blob = dataUrlToBlob(dataUrl);
        const up = await services.upload!(blob, 'image/png');
        const key = 'documentId' in up ? up.documentId : up.localDocument;
        try {
          sessionStorage.setItem(PREVIEW_KEY + key, dataUrl);
        } catch {
          // Only a preview for redrawing the pad; the signature itself is on the server (or in the vault).
        }
        if ('documentId' in up) {
          onChange({ documentId: up.documentId, mediaType: up.mediaType, size: up.size, name: 'signature.png' } satisfies DocumentRef);
          setState('saved');
        } else {
          // Offline: kept on this device, uploaded by the outbox before the declaration.
          onChange({ localDocument: up.localDocument, mediaType: up.mediaType, size: up.size, name: 'signature.png' } satisfies LocalDocumentRef);
          setState('kept');
        }
      } catch {
        setState('failed');
      }
    }, 700);
  };
  if (disabled) {
    const url = ref ? (services.documentUrl?.(ref.documentId) ?? preview) : undefined;
    return url ? <img className="signature-image" src={url} alt={t('registrations.fields.signatureOf', { label })} /> : <span className="muted">—</span>;
  }
  return (
    <>
      <SignaturePad id={id} value={preview} onChange={changed} label={label} />
      <p className="muted small" role="status">
        {state === 'saving' ? t('registrations.fields.signatureSaving') : state === 'saved' ? t('registrations.fields.signatureSaved') : state === 'kept' ? t('registrations.fields.signatureKept') : state === 'failed' ? t('registrations.fields.signatureFailed') : ''}
      </p>
    </>
  );
}

/** Decoded here: fetching a data: URL is a connection the page's CSP (connect-src 'self') refuses. */
function dataUrlToBlob(url: string): Blob {
  const [head, body = ''] = url.split(',', 2);
  const type = /^data:([^;,]+)/.exec(head ?? '')?.[1] ?? 'application/octet-stream';
  const bin = atob(body);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type });
}

/** A registration answer as text for the review page, the registration page and the history. */
export function formatRegistrationValue(field: RegistrationField | undefined, v: JsonValue | undefined, t: Ctx['t'], L: Ctx['L'], services: FieldServices = {}): string {
  if (v === undefined || v === null || v === '') return '—';
  if (!field) return formatValue(v, t);
  switch (field.kind) {
    case 'date':
      if (typeof v === 'object' && !Array.isArray(v) && 'age' in v) return t('registrations.fields.ageValue', { age: v.age });
      return String(v);
    case 'location':
      return typeof v === 'string' ? (services.locationName?.(v) ?? v) : formatValue(v, t);
    case 'address': {
      if (typeof v !== 'object' || Array.isArray(v)) return formatValue(v, t);
      const a = v as Record<string, string>;
      return [a.line1, a.line2, a.city, a.postcode, a.locationId ? (services.locationName?.(a.locationId) ?? a.locationId) : undefined].filter(Boolean).join(', ');
    }
    case 'documents':
      return Array.isArray(v)
        ? (v as unknown[])
            .map((d) => (isDocumentRef(d) ? `${d.name ?? d.documentId.slice(0, 12)} (${formatSize(d.size)})` : isLocalDocumentRef(d) ? `${d.name ?? d.localDocument.slice(0, 12)} (${formatSize(d.size)}, ${t('registrations.fields.waitingToUpload')})` : undefined))
            .filter(Boolean)
            .join(', ')
        : formatValue(v, t);
    case 'signature':
      return isDocumentRef(v) ? t('registrations.fields.signed') : isLocalDocumentRef(v) ? `${t('registrations.fields.signed')} (${t('registrations.fields.waitingToUpload')})` : formatValue(v, t);
    case 'text':
    case 'number':
      if (field.options) return field.options.find((o) => o.value === v) ? L(field.options.find((o) => o.value === v)!.label) : String(v);
      return String(v);
    case 'multiselect':
      return Array.isArray(v) ? v.map((x) => (field.options.find((o) => o.value === x) ? L(field.options.find((o) => o.value === x)!.label) : String(x))).join(', ') : formatValue(v, t);
    default:
      return formatValue(v, t);
  }
}
