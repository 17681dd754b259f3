import { execFileSync, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { CairnClient } from '@cairn/sdk';
import { adminToken, startBenchServer, type Figure } from './lib.js';
import { uploadDirectory, type UploadReport } from '../cli/src/commands/datasets.js';

/**
 * Dataset benchmarks (issue 6). Sizes can be lowered for a quick run:
 * CAIRN_BENCH_BIG_FILE_BYTES (default 2 GiB) and CAIRN_BENCH_SMALL_FILES (default 20,000);
 * CAIRN_BENCH_ONLY=big,small,zip runs only those parts (zip needs the datasets of the other two).
 *
 * Zip downloads are compared with `cat` reading the very blob files the archive is made of,
 * both from a cold page cache (the files' pages are dropped with posix_fadvise before each
 * measurement, so other processes' caches are left alone): that is the raw disk read rate.
 * Warm-cache figures are printed too, without a target.
 */
export async function run(): Promise<Array<Figure | string>> {
  const figures: Array<Figure | string> = [];
  const bigBytes = Number(process.env.CAIRN_BENCH_BIG_FILE_BYTES ?? 2 * 1024 ** 3);
  const smallFiles = Number(process.env.CAIRN_BENCH_SMALL_FILES ?? 20_000);
  const only = new Set((process.env.CAIRN_BENCH_ONLY ?? 'big,small,zip').split(',').map((s) => s.trim()));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-ds-'));
  // Both the server's data dir and the source file live under the system temp dir: the same disk.
  const server = await startBenchServer();
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(work, 'cfg1') };
  const phases = (r: UploadReport) =>
    `  time: list ${ms(r.timings.walkMs)}, hash ${ms(r.timings.hashMs)}, have-check ${ms(r.timings.checkMs)}, send ${ms(r.timings.sendMs)} (${r.sent} contents, ${r.sentInBatches} in batches), commit ${ms(r.timings.commitMs)}`;
  try {
    const client = new CairnClient({ baseUrl: server.url, token: await adminToken(server.url) });
    const blobDir = path.join(server.dataDir, 'blobs');
    let ds1: string | undefined;
    let ds2: string | undefined;

    // --- one big file: upload over loopback vs sha256sum + cp on the same disk ---
    if (only.has('big') || only.has('zip')) {
      const bigDir = path.join(work, 'big');
      fs.mkdirSync(bigDir);
      const big = path.join(bigDir, 'big.bin');
      const fd = fs.openSync(big, 'w');
      const chunk = Buffer.alloc(16 * 1024 * 1024);
      for (let off = 0; off < bigBytes; off += chunk.length) {
        randomFillSync(chunk);
        fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bigBytes - off));
      }
      fs.closeSync(fd);
      let t = performance.now();
      execFileSync('sha256sum', [big]);
      execFileSync('cp', [big, path.join(work, 'copy.bin')]);
      const baseSec = (performance.now() - t) / 1000;
      fs.rmSync(path.join(work, 'copy.bin'));
      ds1 = (await client.datasets.create({ title: 'bench big' })).accession;
      t = performance.now();
      const r = await uploadDirectory(client, ds1, bigDir, { env, parallel: 1 });
      const upSec = (performance.now() - t) / 1000;
      const mb = bigBytes / 1024 ** 2;
      if (only.has('big')) {
        figures.push({
          name: `upload of one ${(bigBytes / 1024 ** 3).toFixed(2)} GiB file (hash, tus, server hash as it arrives, commit)`,
          value: mb / upSec,
          unit: 'MiB/s',
          baseline: { name: 'sha256sum + cp of the same file', value: mb / baseSec, unit: 'MiB/s' },
          target: 'ratio >= 0.7',
          pass: baseSec / upSec >= 0.7,
        });
        figures.push(phases(r));
      }
      fs.rmSync(bigDir, { recursive: true, force: true });
    }

    // --- 20,000 small files: first upload, commit time, then an unchanged re-upload ---
    if (only.has('small') || only.has('zip')) {
      const smallDir = path.join(work, 'small');
      for (let i = 0; i < smallFiles; i++) {
        const p = path.join(smallDir, `sub-${String(i % 200).padStart(3, '0')}`, `file-${i}.txt`);
        if (i < 200) fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, `file ${i}\n${'x'.repeat(i % 100)}\n`);
      }
      ds2 = (await client.datasets.create({ title: 'bench small' })).accession;
      let t = performance.now();
      const first = await uploadDirectory(client, ds2, smallDir, { env, parallel: 4 });
      const firstSec = (performance.now() - t) / 1000;
      if (only.has('small')) {
        figures.push({ name: `first upload of ${smallFiles} small files (batches, 4 requests in parallel)`, value: smallFiles / firstSec, unit: 'files/s' });
        figures.push(phases(first));
        figures.push({ name: `commit of ${smallFiles} files to a draft`, value: first.commitMs / 1000, unit: 's', target: '< 3 s', pass: first.commitMs < 3000 });
        // A fresh client state: the re-upload hashes everything again and still sends no body.
        const env2 = { ...process.env, XDG_CONFIG_HOME: path.join(work, 'cfg2') };
        t = performance.now();
        const again = await uploadDirectory(client, ds2, smallDir, { env: env2, parallel: 4 });
        const againSec = (performance.now() - t) / 1000;
        figures.push({ name: `unchanged re-upload of ${smallFiles} files, fresh client state (bodies sent: ${again.sent})`, value: againSec, unit: 's', target: '< 10 s and 0 bodies', pass: againSec < 10 && again.sent === 0 });
        figures.push(phases(again));
      }
      fs.rmSync(smallDir, { recursive: true, force: true });
    }

    // --- zip downloads vs reading the same blob files ---
    if (only.has('zip')) {
      for (const [ds, label] of [[ds1!, 'the big-file version'], [ds2!, `the ${smallFiles}-file version`]] as const) {
        const entries = (await client.datasets.files(ds, 'draft')).files;
        const blobs = [...new Set(entries.map((e) => e.sha256))].map((h) => path.join(blobDir, h.slice(0, 2), h.slice(2, 4), h));
        const bytes = entries.reduce((s, e) => s + e.size, 0);
        const mb = bytes / 1024 ** 2;
        const url = client.datasets.archiveUrl(ds, 'draft', 'zip');
        const token = client.http.getToken()!;
        const cold: number[] = [];
        const coldZip: number[] = [];
        // Alternated twice, so a drift in machine load hits both sides alike; the best of each counts.
        for (let round = 0; round < 2; round++) {
          dropCache(blobs);
          cold.push(catSeconds(blobs));
          dropCache(blobs);
          coldZip.push(await zipSeconds(url, token));
        }
        const rawSec = Math.min(...cold);
        const zipSec = Math.min(...coldZip);
        // Bytes per second for large files; for many tiny files what counts is files per second.
        const [amount, unit] = mb >= 64 ? [mb, 'MiB/s'] : [entries.length, 'files/s'];
        figures.push({
          name: `zip download of ${label} (${entries.length} files, ${mb.toFixed(1)} MiB of content, cold cache)`,
          value: amount / zipSec,
          unit,
          baseline: { name: '`cat` of the same blob files, cold cache', value: amount / rawSec, unit },
          target: 'ratio >= 0.7',
          pass: rawSec / zipSec >= 0.7,
        });
        const warmRaw = catSeconds(blobs);
        const warmZip = await zipSeconds(url, token);
        figures.push(`  warm cache (no target): zip ${(amount / warmZip).toFixed(0)} ${unit}, cat ${(amount / warmRaw).toFixed(0)} ${unit}`);
      }
    }
  } finally {
    await server.stop();
    fs.rmSync(server.dataDir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
  return figures;
}

const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);

/** Writes the files' dirty pages back, then drops them from the page cache (only these files). */
function dropCache(files: string[]) {
  const script = [
    'import os, sys',
    'for p in sys.stdin.read().split("\\n"):',
    '    if not p: continue',
    '    fd = os.open(p, os.O_RDONLY)',
    '    os.fsync(fd)',
    '    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)',
    '    os.close(fd)',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script], { input: files.join('\n') });
  if (r.status !== 0) throw new Error(`could not drop the page cache of the blob files: ${r.stderr?.toString() ?? r.error}`);
}

function catSeconds(files: string[]): number {
  const t = performance.now();
  const r = spawnSync('xargs', ['-0', 'cat'], { input: files.join('\0'), stdio: ['pipe', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('cat of the blob files failed');
  return (performance.now() - t) / 1000;
}

function zipSeconds(url: string, token: string): Promise<number> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`zip download answered ${res.statusCode}`));
        res.on('data', () => {});
        res.on('end', () => resolve((performance.now() - t) / 1000));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

if (process.argv[1] && path.resolve(process.argv[1]).endsWith('datasets.bench.ts')) {
  const { fmt } = await import('./lib.js');
  for (const f of await run()) console.log(typeof f === 'string' ? f : fmt(f));
}
