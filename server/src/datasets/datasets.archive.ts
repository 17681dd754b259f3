import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { BlobStore } from '../blobs/blobs.store.js';
import type { FileEntry } from './datasets.tree.js';
import { zipChunks } from './datasets.zip.js';

/**
 * A whole version as one archive, streamed: blobs are read as the archive is consumed, so memory
 * and open files stay bounded and nothing is staged on disk. Zip entries are stored, not
 * deflated: dataset files are mostly already compressed, and deflate would make the download
 * CPU-bound (see datasets.zip.ts for the writer and why it is not archiver).
 */
export function archiveStream(blobs: BlobStore, entries: FileEntry[], format: 'zip' | 'tar.gz', root: string, mtime?: Date): Readable {
  if (format === 'zip') return Readable.from(zipChunks(blobs, entries, root, { mtime }), { objectMode: false, highWaterMark: 1024 * 1024 });
  const out = new PassThrough();
  const fail = (e: unknown) => out.destroy(e as Error);
  // The archive library loads on the first download, not at every server start.
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
