import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CairnClient } from '@cairn/sdk';
import { adminToken, startBenchServer, type Figure } from './lib.js';
import { uploadDirectory } from '../cli/src/commands/datasets.js';

/**
 * Dataset benchmarks (issue 6). Sizes can be lowered for a quick run:
 * CAIRN_BENCH_BIG_FILE_BYTES (default 2 GiB) and CAIRN_BENCH_SMALL_FILES (default 20,000).
 */
export async function run(): Promise<Figure[]> {
  const figures: Figure[] = [];
  const bigBytes = Number(process.env.CAIRN_BENCH_BIG_FILE_BYTES ?? 2 * 1024 ** 3);
  const smallFiles = Number(process.env.CAIRN_BENCH_SMALL_FILES ?? 20_000);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-ds-'));
  // Both the server's data dir and the source file live under the system temp dir: the same disk.
  const server = await startBenchServer();
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(work, 'cfg1') };
  try {
    const client = new CairnClient({ baseUrl: server.url, token: await adminToken(server.url) });

    // --- one big file: upload over loopback vs sha256sum + cp on the same disk ---
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
    const ds1 = (await client.datasets.create({ title: 'bench big' })).accession;
    t = performance.now();
    await uploadDirectory(client, ds1, bigDir, { env, parallel: 1 });
    const upSec = (performance.now() - t) / 1000;
    const mb = bigBytes / 1024 ** 2;
    figures.push({
      name: `upload of one ${(bigBytes / 1024 ** 3).toFixed(2)} GiB file (hash, tus, verify, commit)`,
      value: mb / upSec,
      unit: 'MiB/s',
      baseline: { name: 'sha256sum + cp of the same file', value: mb / baseSec, unit: 'MiB/s' },
      target: 'ratio >= 0.7',
      pass: baseSec / upSec >= 0.7,
    });
    fs.rmSync(bigDir, { recursive: true, force: true });

    // --- 20,000 small files: commit time, then an unchanged re-upload ---
    const smallDir = path.join(work, 'small');
    for (let i = 0; i < smallFiles; i++) {
      const p = path.join(smallDir, `sub-${String(i % 200).padStart(3, '0')}`, `file-${i}.txt`);
      if (i < 200) fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, `file ${i}\n${'x'.repeat(i % 100)}\n`);
    }
    const ds2 = (await client.datasets.create({ title: 'bench small' })).accession;
    t = performance.now();
    const first = await uploadDirectory(client, ds2, smallDir, { env, parallel: 8 });
    const firstSec = (performance.now() - t) / 1000;
    figures.push({ name: `first upload of ${smallFiles} small files (tus, parallel 8)`, value: smallFiles / firstSec, unit: 'files/s' });
    figures.push({ name: `commit of ${smallFiles} files to a draft`, value: first.commitMs / 1000, unit: 's', target: '< 3 s', pass: first.commitMs < 3000 });

    // A fresh client state: the re-upload hashes everything again and still sends no body.
    const env2 = { ...process.env, XDG_CONFIG_HOME: path.join(work, 'cfg2') };
    t = performance.now();
    const again = await uploadDirectory(client, ds2, smallDir, { env: env2, parallel: 8 });
    const againSec = (performance.now() - t) / 1000;
    figures.push({ name: `unchanged re-upload of ${smallFiles} files (bodies sent: ${again.sent})`, value: againSec, unit: 's', target: '< 10 s and 0 bodies', pass: againSec < 10 && again.sent === 0 });
  } finally {
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  return figures;
}

if (process.argv[1] && path.resolve(process.argv[1]).endsWith('datasets.bench.ts')) {
  const { fmt } = await import('./lib.js');
  for (const f of await run()) console.log(fmt(f));
}
