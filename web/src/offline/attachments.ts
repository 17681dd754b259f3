import { CairnError, isCairnError } from '@cairn/sdk';
import type { DocumentRef } from '@cairn/sdk/instruments';
import { vault } from './store.js';
import type { Vault } from './vault.js';

/**
 * Photos of documents picked without a network (docs/offline.md, "Attachments"). The bytes wait in
 * the person's vault (kind `file`, encrypted under the same key as drafts, deleted at sign-out);
 * the draft, then the outbox item, holds a LocalDocumentRef in place of the server's DocumentRef.
 * Sending an item uploads each pending file first and records each documentId the server answers
 * in the stored item at once: a retry after a cut network sends only what was not acknowledged.
 */
export interface LocalDocumentRef {
  /** The SHA-256 of the bytes (hex): the file's key in the vault. */
  localDocument: string;
  mediaType: string;
  size: number;
  name?: string;
  documentType?: string;
}

/** One file of an outbox item; `uploaded` is the server's answer, once it acknowledged the upload. */
export interface Attachment {
  local: string;
  mediaType: string;
  size: number;
  name?: string;
  uploaded?: { documentId: string; mediaType: string; size: number };
}

export type Uploaded = NonNullable<Attachment['uploaded']>;

/** What POST /api/v1/registrations/documents accepts (registrations.service.ts): the same checks at pick time. */
export const SERVER_DOCUMENT_TYPES = ['image/png', 'image/jpeg', 'application/pdf'];
export const SERVER_MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

export const isLocalDocumentRef = (v: unknown): v is LocalDocumentRef =>
  !!v && typeof v === 'object' && typeof (v as LocalDocumentRef).localDocument === 'string' && typeof (v as LocalDocumentRef).mediaType === 'string' && typeof (v as LocalDocumentRef).size === 'number';

/** The file starts as its type says (the server checks the same magic bytes and refuses a mismatch). */
export async function looksLike(file: Blob, mediaType: string): Promise<boolean> {
  const b = new Uint8Array(await file.slice(0, 8).arrayBuffer());
  if (mediaType === 'image/png') return [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((x, i) => b[i] === x);
  if (mediaType === 'image/jpeg') return b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
  if (mediaType === 'application/pdf') return String.fromCharCode(...b.slice(0, 5)) === '%PDF-';
  return false;
}

const hex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((x) => x.toString(16).padStart(2, '0')).join('');

/** Keeps a picked file in the signed-in person's vault; answers the reference the draft holds. */
export async function keepDocument(file: Blob, mediaType: string): Promise<LocalDocumentRef> {
  const v = vault();
  if (!v) throw new Error('No signed-in person to keep this for');
  const bytes = await file.arrayBuffer();
  const id = hex(await crypto.subtle.digest('SHA-256', bytes));
  await v.filePut(id, bytes);
  return { localDocument: id, mediaType, size: bytes.byteLength };
}

export async function localDocument(id: string, mediaType: string): Promise<Blob | undefined> {
  const bytes = await vault()?.fileGet(id);
  return bytes ? new Blob([bytes], { type: mediaType }) : undefined;
}

/** The server could not be reached (as opposed to refusing): the file waits on the device. */
const unreachable = (e: unknown) => !isCairnError(e) || e.code === 'network_error';

/**
 * A document field's upload: online as before (uploaded when picked); without a network, or when
 * the upload cannot reach the server, the file is kept in the vault and sent by the outbox.
 */
export async function uploadOrKeep(file: Blob, mediaType: string, upload: (file: Blob, mediaType: string) => Promise<Uploaded>): Promise<Uploaded | LocalDocumentRef> {
  if (navigator.onLine) {
    try {
      return await upload(file, mediaType);
    } catch (e) {
      if (!unreachable(e)) throw e;
    }
  }
  return keepDocument(file, mediaType);
}

/** Every local reference in answers: a field's list of documents, or a signature. */
export function localRefs(data: unknown): LocalDocumentRef[] {
  if (!data || typeof data !== 'object') return [];
  const out: LocalDocumentRef[] = [];
  for (const v of Object.values(data as Record<string, unknown>)) {
    if (isLocalDocumentRef(v)) out.push(v);
    else if (Array.isArray(v)) out.push(...v.filter(isLocalDocumentRef));
  }
  return out;
}

/** The attachments an outbox item must upload before its request, once each. */
export function attachmentsOf(data: unknown): Attachment[] {
  const seen = new Map<string, Attachment>();
  for (const r of localRefs(data)) if (!seen.has(r.localDocument)) seen.set(r.localDocument, { local: r.localDocument, mediaType: r.mediaType, size: r.size, ...(r.name ? { name: r.name } : {}) });
  return [...seen.values()];
}

/** Answers with every local reference replaced: by `to(ref)` (the server's reference). */
export function replaceLocalRefs<T>(data: T, to: (ref: LocalDocumentRef) => DocumentRef): T {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return data;
  const swap = (v: unknown) => (isLocalDocumentRef(v) ? to(v) : v);
  return Object.fromEntries(Object.entries(data as Record<string, unknown>).map(([k, v]) => [k, Array.isArray(v) ? v.map(swap) : swap(v)])) as T;
}

/** The server's reference for a local one, keeping what the person added (name, kind of document). */
export function serverRef(ref: LocalDocumentRef, up: Uploaded): DocumentRef {
  return { documentId: up.documentId, mediaType: up.mediaType, size: up.size, ...(ref.name !== undefined ? { name: ref.name } : {}), ...(ref.documentType !== undefined ? { documentType: ref.documentType } : {}) };
}

/**
 * For checking a form before it is sent: a local reference stands in as the document it will be
 * (its id is the SHA-256 the server names it by), so the engine checks its type, size and count.
 */
export function withStandIns<T>(data: T): T {
  return replaceLocalRefs(data, (r) => serverRef(r, { documentId: r.localDocument, mediaType: r.mediaType, size: r.size }));
}

/** The data of a request once every attachment is uploaded. Throws if one is not. */
export function withUploaded<T>(data: T, attachments: Attachment[]): T {
  const by = new Map(attachments.map((a) => [a.local, a.uploaded]));
  return replaceLocalRefs(data, (r) => {
    const up = by.get(r.localDocument);
    if (!up) throw new Error(`Attachment ${r.localDocument} is not uploaded`);
    return serverRef(r, up);
  });
}

/**
 * The resumable part of sending an item: uploads, in order, each attachment the server has not
 * acknowledged yet. After each acknowledgement `saved` is called with the list including it, and
 * the caller stores it before the next upload starts: a try cut short by the network resumes after
 * the last acknowledged file, never sending one again. A failure propagates (as AttachmentFailure)
 * with the list as far as it got.
 */
export async function uploadPending(
  attachments: Attachment[],
  io: {
    read(a: Attachment): Promise<Blob | undefined>;
    upload(file: Blob, mediaType: string): Promise<Uploaded>;
    /** Attachment `index` (0-based) is about to be uploaded. */
    starting?(index: number): Promise<void> | void;
    saved(attachments: Attachment[]): Promise<void> | void;
  },
): Promise<Attachment[]> {
  let list = attachments;
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    if (a.uploaded) continue;
    try {
      await io.starting?.(i);
      const file = await io.read(a);
      if (!file) throw new CairnError(0, 'attachment_missing', `${a.name ?? 'A file'} is no longer on this device`);
      const up = await io.upload(file, a.mediaType);
      list = list.map((x, k) => (k === i ? { ...x, uploaded: { documentId: up.documentId, mediaType: up.mediaType, size: up.size } } : x));
      await io.saved(list);
    } catch (cause) {
      throw new AttachmentFailure(i, a, cause);
    }
  }
  return list;
}

export class AttachmentFailure extends Error {
  constructor(
    readonly index: number,
    readonly attachment: Attachment,
    override readonly cause: unknown,
  ) {
    super(`${attachment.name ?? attachment.local}: ${(cause as Error)?.message ?? String(cause)}`);
  }
}

/**
 * Deletes kept files no draft and no outbox item refers to any more: the files of a declaration the
 * server acknowledged (`only` those), or, when the vault opens, any left by a removed draft.
 */
export async function forgetUnreferenced(v: Vault, only?: string[]): Promise<void> {
  const used = new Set<string>();
  for (const kind of ['draft', 'outbox'] as const) for (const [, value] of v.list<unknown>(kind)) for (const r of localRefs(dataOf(value))) used.add(r.localDocument);
  const candidates = only ?? (await v.fileKeys());
  await Promise.all(candidates.filter((k) => !used.has(k)).map((k) => v.fileRemove(k)));
}

/** A draft's answers or an outbox item's request data. */
function dataOf(value: unknown): unknown {
  const o = value as { data?: unknown; body?: { data?: unknown } } | undefined;
  return o?.body?.data ?? o?.data;
}
