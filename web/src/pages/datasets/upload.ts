import * as tus from 'tus-js-client';
import { uploadToDraft, type UploadItem, type UploadProgressReport } from '@cairn/sdk';
import { api } from '../../api.js';

/** Files up to this size are hashed in the browser (WebCrypto needs the whole file in memory) so known content is not sent again. */
const HASH_IN_BROWSER = 256 * 1024 * 1024;

const csrf = () => document.cookie.split(';').map((c) => c.trim().split('=')).find(([k]) => k === 'cairn_csrf')?.[1];

async function sha256(file: File): Promise<string | undefined> {
  if (file.size > HASH_IN_BROWSER || !crypto.subtle) return undefined;
  const d = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export type UploadProgress = UploadProgressReport;

/** A file chosen for upload with its path relative to what was chosen (a folder keeps its tree). */
export interface PickedFile {
  file: File;
  path: string;
}

/** From an `<input type="file">`, with or without `webkitdirectory`. */
export function pickedFromInput(list: FileList | null): PickedFile[] {
  return [...(list ?? [])].map((f) => ({ file: f, path: (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name }));
}

/** From a drop: folders are walked (entries API) so every file keeps its relative path. */
export async function pickedFromDrop(dt: DataTransfer): Promise<PickedFile[]> {
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (!entries.length) return [...dt.files].map((f) => ({ file: f, path: f.name }));
  const out: PickedFile[] = [];
  const walk = async (entry: FileSystemEntry, at: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
      out.push({ file, path: at + entry.name });
      return;
    }
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // readEntries answers at most ~100 entries per call: read until it answers none.
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
      if (!batch.length) break;
      for (const e of batch) await walk(e, `${at}${entry.name}/`);
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}

type Item = UploadItem & { file: File };

/**
 * Browser upload through the SDK's protocol (`uploadToDraft`): the session id is kept in
 * localStorage so a reload continues it; large files go by tus, resumed from their stored URLs
 * (tus-js-client's fingerprints).
 */
export async function uploadFiles(ds: string, picked: PickedFile[], prefix: string, onProgress: (p: UploadProgress) => void): Promise<void> {
  const key = `cairn.upload.${ds}`;
  const items: Item[] = await Promise.all(
    picked.map(async (p) => ({ file: p.file, path: prefix + p.path, size: p.file.size, sha256: await sha256(p.file), read: async () => new Uint8Array(await p.file.arrayBuffer()) })),
  );
  await uploadToDraft(api.datasets, ds, items, {
    session: { get: () => localStorage.getItem(key) ?? undefined, set: (id) => localStorage.setItem(key, id) },
    onProgress,
    sendLarge: (item, sessionId, onBytes) =>
      new Promise<string>((resolve, reject) => {
        const headers: Record<string, string> = {};
        const token = csrf();
        if (token) headers['X-CSRF-Token'] = decodeURIComponent(token);
        const u = new tus.Upload(item.file, {
          endpoint: '/api/v1/uploads/tus',
          headers,
          metadata: { sessionId, filename: item.path, ...(item.sha256 ? { sha256: item.sha256 } : {}) },
          retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
          removeFingerprintOnSuccess: true,
          onProgress: (b) => onBytes(b),
          onSuccess: (payload) => {
            const h = item.sha256 ?? payload?.lastResponse?.getHeader('Upload-Sha256');
            if (!h) reject(new Error('the server did not report the content hash'));
            else resolve(h);
          },
          onError: reject,
        });
        void u.findPreviousUploads().then((previous) => {
          if (previous[0]) u.resumeFromPreviousUpload(previous[0]);
          u.start();
        });
      }),
  });
  localStorage.removeItem(key);
}

/** A text file written in the page (README) sent through the same path as any upload. */
export function textFile(name: string, text: string): PickedFile {
  return { file: new File([text], name, { type: 'text/plain' }), path: name };
}
