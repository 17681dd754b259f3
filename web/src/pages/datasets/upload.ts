import * as tus from 'tus-js-client';
import { BATCH_MAX_FILE_BYTES, type DatasetChange } from '@cairn/sdk';
import { api } from '../../api.js';

/** Files up to this size are hashed in the browser (WebCrypto needs the whole file in memory) so known content is not sent again. */
const HASH_IN_BROWSER = 256 * 1024 * 1024;

const csrf = () => document.cookie.split(';').map((c) => c.trim().split('=')).find(([k]) => k === 'cairn_csrf')?.[1];

async function sha256(file: File): Promise<string | undefined> {
  if (file.size > HASH_IN_BROWSER || !crypto.subtle) return undefined;
  const d = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export interface UploadProgress {
  sent: number;
  total: number;
  files: number;
  done: number;
}

/**
 * Browser upload: one session per dataset (its id kept in localStorage so a reload continues it),
 * small files in batches, the others as tus uploads resumed from their stored URLs (tus-js-client's
 * fingerprints), then one commit.
 */
export async function uploadFiles(ds: string, files: File[], prefix: string, onProgress: (p: UploadProgress) => void): Promise<void> {
  const key = `cairn.upload.${ds}`;
  const items = await Promise.all(files.map(async (f) => ({ file: f, path: prefix + ((f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name), sha256: await sha256(f) })));
  let sessionId = localStorage.getItem(key) ?? '';
  const known = items.flatMap((i) => (i.sha256 ? [i.sha256] : []));
  let have: Set<string>;
  try {
    if (!sessionId) throw new Error('no session');
    have = await api.datasets.have(ds, sessionId, known);
  } catch {
    sessionId = (await api.datasets.openUpload(ds)).id;
    localStorage.setItem(key, sessionId);
    have = await api.datasets.have(ds, sessionId, known);
  }
  const send = items.filter((i) => !i.sha256 || !have.has(i.sha256));
  const total = send.reduce((s, i) => s + i.file.size, 0);
  const sent = new Map<string, number>();
  let smallSent = 0;
  let done = 0;
  const report = () => onProgress({ sent: smallSent + [...sent.values()].reduce((a, b) => a + b, 0), total, files: send.length, done });
  report();

  // Small files go many to a request (a request pair per file made a folder of thousands crawl);
  // larger ones, and any the browser could not hash, go by tus and can resume.
  const small = send.filter((i) => i.sha256 && i.file.size <= BATCH_MAX_FILE_BYTES);
  const large = send.filter((i) => !(i.sha256 && i.file.size <= BATCH_MAX_FILE_BYTES));
  const byContent = new Map(small.map((i) => [i.sha256!, i]));
  if (byContent.size) {
    await api.datasets.sendSmallFiles(
      ds,
      sessionId,
      [...byContent.values()].map((i) => ({ sha256: i.sha256!, size: i.file.size, read: async () => new Uint8Array(await i.file.arrayBuffer()) })),
      {
        parallel: 2,
        onBatch: (files, bytes) => {
          smallSent += bytes;
          done += files;
          report();
        },
      },
    );
    done = small.length;
    report();
  }

  let next = 0;
  const worker = async () => {
    while (next < large.length) {
      const item = large[next++]!;
      item.sha256 = await new Promise<string>((resolve, reject) => {
        const headers: Record<string, string> = {};
        const token = csrf();
        if (token) headers['X-CSRF-Token'] = decodeURIComponent(token);
        const u = new tus.Upload(item.file, {
          endpoint: '/api/v1/uploads/tus',
          headers,
          metadata: { sessionId, filename: item.path, ...(item.sha256 ? { sha256: item.sha256 } : {}) },
          retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
          removeFingerprintOnSuccess: true,
          onProgress: (b) => {
            sent.set(item.path, b);
            report();
          },
          onSuccess: (payload) => {
            const fromServer = payload?.lastResponse?.getHeader('Upload-Sha256');
            const h = item.sha256 ?? fromServer;
            if (!h) reject(new Error('the server did not report the content hash'));
            else resolve(h);
          },
          onError: reject,
        });
        void u.findPreviousUploads().then((previous) => {
          if (previous[0]) u.resumeFromPreviousUpload(previous[0]);
          u.start();
        });
      });
      done++;
      report();
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, large.length) }, worker));
  const changes: DatasetChange[] = items.map((i) => ({ op: 'put', path: i.path, sha256: i.sha256!, size: i.file.size }));
  await api.datasets.commitUpload(ds, sessionId, changes);
  localStorage.removeItem(key);
}
