import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../blobs/blobs.local.js';
import type { FileEntry } from './datasets.tree.js';
import { zipChunks, type ZipOptions } from './datasets.zip.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const hasPython = spawnSync('python3', ['-c', 'import zipfile']).status === 0;
const hasUnzip = spawnSync('unzip', ['-v']).status === 0;

/** Python's zipfile, an independent reader: names, sizes, CRC check of every member, and the bytes' sha256. */
function pythonRead(file: string): { name: string; size: number; sha256: string; date: number[] }[] {
  const script = [
    'import hashlib, json, sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    'bad = z.testzip()',
    'assert bad is None, bad',
    'print(json.dumps([{"name": i.filename, "size": i.file_size, "sha256": hashlib.sha256(z.read(i)).hexdigest(), "date": list(i.date_time)} for i in z.infolist()]))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

describe.skipIf(!hasPython)('zip writer (checked with Python zipfile; skipped without python3)', () => {
  let dir: string;
  let blobs: LocalBlobStore;
  const contents = new Map<string, Buffer>();
  const entries: FileEntry[] = [];

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cairn-zip-'));
    blobs = new LocalBlobStore(path.join(dir, 'blobs'));
    const files: [string, Buffer][] = [
      ['README.md', Buffer.from('# hello\n')],
      ['empty.txt', Buffer.alloc(0)],
      ['sub-01/anat/T1w.nii.gz', randomBytes(700 * 1024)], // streamed, not read ahead
      ['sub-01/données été.tsv', Buffer.from('a\tb\n1\t2\n')],
      ['copy/README.md', Buffer.from('# hello\n')], // same content twice
      ...Array.from({ length: 60 }, (_, i) => [`many/f${i}.txt`, randomBytes(i * 97)] as [string, Buffer]),
    ];
    for (const [p, b] of files) {
      await blobs.put(Readable.from([b]));
      contents.set(p, b);
      entries.push({ path: p, sha256: sha(b), size: b.length });
    }
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  async function zipTo(name: string, list: FileEntry[], opts: ZipOptions = {}) {
    const file = path.join(dir, name);
    await fs.writeFile(file, Readable.from(zipChunks(blobs, list, 'ds000001-1.0.0', opts)));
    return file;
  }
  const expectAll = (got: ReturnType<typeof pythonRead>, list: FileEntry[]) => {
    expect(got.map((g) => g.name)).toEqual(list.map((e) => `ds000001-1.0.0/${e.path}`));
    for (const [i, e] of list.entries()) expect({ size: got[i]!.size, sha256: got[i]!.sha256 }).toEqual({ size: e.size, sha256: sha(contents.get(e.path)!) });
  };

  it('writes stored entries every reader accepts, with UTF-8 names, CRCs and the version time', async () => {
    const file = await zipTo('plain.zip', entries, { mtime: new Date(Date.UTC(2024, 4, 17, 13, 45, 30)) });
    const got = pythonRead(file);
    expectAll(got, entries);
    expect(got[0]!.date).toEqual([2024, 5, 17, 13, 45, 30]);
    // Stored: the archive is the content plus headers, nothing compressed.
    const total = entries.reduce((s, e) => s + e.size, 0);
    expect((await fs.stat(file)).size).toBeGreaterThan(total);
    if (hasUnzip) expect(spawnSync('unzip', ['-tqq', file]).status).toBe(0);
  });

  it('writes Zip64 sizes, offsets and end records when they do not fit 32 bits', async () => {
    // A lowered threshold exercises the same fields a 5 GiB file or a 70,000-file version needs.
    const file = await zipTo('zip64.zip', entries, { zip64Threshold: 5000 });
    const bytes = await fs.readFile(file);
    expect(bytes.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true); // Zip64 end of central directory
    expectAll(pythonRead(file), entries);
    if (hasUnzip) expect(spawnSync('unzip', ['-tqq', file]).status).toBe(0);
  });

  it('writes an empty version as a valid empty archive', async () => {
    expect(pythonRead(await zipTo('empty.zip', []))).toEqual([]);
  });

  it('fails the stream, rather than writing a wrong archive, when a blob is missing or has another size', async () => {
    const missing = { path: 'gone.bin', sha256: sha(Buffer.from('never stored')), size: 12 };
    await expect(zipTo('missing.zip', [entries[0]!, missing])).rejects.toMatchObject({ code: 'blob_not_found' });
    const lying = { ...entries[2]!, size: entries[2]!.size + 1 };
    await expect(zipTo('lying.zip', [lying])).rejects.toThrow(/has \d+ bytes/);
  });

  it('reads blobs as the archive is consumed, not all up front', async () => {
    const many: FileEntry[] = Array.from({ length: 200 }, (_, i) => entries[5 + (i % 60)]!);
    const got: string[] = [];
    const counting = { ...blobs, get: (h: string) => (got.push(h), blobs.get(h)) } as unknown as LocalBlobStore;
    const it = zipChunks(counting, many, 'x');
    await it.next();
    await new Promise((r) => setTimeout(r, 50));
    // The first piece holds about 64 KiB of files; only those and the read-ahead window (32) have been opened.
    expect(got.length).toBeLessThan(100);
    await it.return(undefined);
  });
});
