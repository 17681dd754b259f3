import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { BlobStore } from '../blobs/blobs.store.js';
import type { FileEntry } from './datasets.tree.js';

/**
 * A whole version as one archive, streamed: files are opened one at a time as the archive is
 * consumed, so memory and open files stay constant and nothing is staged on disk. Zip entries are
 * stored, not deflated: dataset files are mostly already compressed, and deflate would make the
 * download CPU-bound.
 */
export function archiveStream(blobs: BlobStore, entries: FileEntry[], format: 'zip' | 'tar.gz', root: string): Readable {
  const out = new PassThrough();
  const fail = (e: unknown) => out.destroy(e as Error);
  // The archive libraries load on the first download, not at every server start.
  if (format === 'zip') {
    void (async () => {
      const { default: archiver } = await import('archiver');
      const zip = archiver('zip', { store: true, forceZip64: entries.reduce((s, e) => s + e.size, 0) > 0xfffffff0 });
      zip.on('error', fail);
      zip.pipe(out);
      for (const e of entries) {
        const src = await blobs.get(e.sha256);
        zip.append(src, { name: `${root}/${e.path}` });
        await once(zip, 'entry');
      }
      await zip.finalize();
    })().catch(fail);
    return out;
  }
  void (async () => {
    const { default: tar } = await import('tar-stream');
    const pack = tar.pack();
    const gz = createGzip({ level: 1 });
    pipeline(pack, gz, out).catch(fail);
    for (const e of entries) {
      const entry = pack.entry({ name: `${root}/${e.path}`, size: e.size, mode: 0o644, mtime: new Date(0) });
      await pipeline(await blobs.get(e.sha256), entry);
    }
    pack.finalize();
  })().catch(fail);
  return out;
}
