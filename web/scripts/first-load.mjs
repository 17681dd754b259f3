#!/usr/bin/env node
// What a browser downloads before the first screen can render: index.html and every file it names
// up front (the entry script, its modulepreloaded static imports, stylesheets). Lazily loaded area
// chunks are not counted: they arrive only when someone opens that area. Sizes are computed here
// (brotli quality 11, gzip level 9: what web/precompress.ts writes), so the figures do not depend
// on whether the .br/.gz files exist.
//
//   node web/scripts/first-load.mjs [distDir] [--json]
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const json = args.includes('--json');
const dist = path.resolve(args.find((a) => !a.startsWith('--')) ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist'));

export function firstLoad(distDir) {
  const html = fs.readFileSync(path.join(distDir, 'index.html'), 'utf8');
  const urls = new Set();
  for (const m of html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)) urls.add(m[1]);
  for (const m of html.matchAll(/<link[^>]*\srel="(?:modulepreload|stylesheet)"[^>]*\shref="([^"]+)"/g)) urls.add(m[1]);
  for (const m of html.matchAll(/<link[^>]*\shref="([^"]+)"[^>]*\srel="(?:modulepreload|stylesheet)"/g)) urls.add(m[1]);
  const files = [{ url: '/index.html', body: Buffer.from(html) }];
  for (const url of [...urls].filter((u) => u.startsWith('/'))) files.push({ url, body: fs.readFileSync(path.join(distDir, url)) });
  const rows = files.map(({ url, body }) => ({
    url,
    raw: body.length,
    gzip: zlib.gzipSync(body, { level: 9 }).length,
    brotli: zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length } }).length,
  }));
  const total = rows.reduce((t, r) => ({ raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }), { raw: 0, gzip: 0, brotli: 0 });
  return { rows, total };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const { rows, total } = firstLoad(dist);
  if (json) {
    console.log(JSON.stringify({ rows, total }, null, 2));
  } else {
    const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
    for (const r of rows) console.log(`${r.url.padEnd(44)} raw ${kb(r.raw).padStart(10)}  gzip ${kb(r.gzip).padStart(9)}  br ${kb(r.brotli).padStart(9)}`);
    console.log(`${'first screen total'.padEnd(44)} raw ${kb(total.raw).padStart(10)}  gzip ${kb(total.gzip).padStart(9)}  br ${kb(total.brotli).padStart(9)}`);
  }
}
