import fs from 'node:fs';
import path from 'node:path';

/**
 * Reads a FEBRL benchmark file (", "-separated, no quoting, every column kept as text) and the
 * entity each record belongs to (rec-N-org and rec-N-dup-K share N).
 */
export function readFebrl(file: string): { records: Array<Record<string, string>>; labels: string[] } {
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  const header = lines[0]!.split(',').map((h) => h.trim());
  const records = lines.slice(1).map((line) => {
    const values = line.split(', ');
    return Object.fromEntries(header.map((h, i) => [h, (values[i] ?? '').trim()]));
  });
  return { records, labels: records.map((r) => r.rec_id!.replace(/-(org|dup-\d+)$/, '')) };
}

/** ../shared/data/febrl from the repository root, when it is there. */
export function febrlDir(): string | null {
  for (const dir of [path.resolve(process.cwd(), '../shared/data/febrl'), path.resolve(process.cwd(), '../../shared/data/febrl')]) {
    if (fs.existsSync(path.join(dir, 'dataset3.csv'))) return dir;
  }
  return null;
}
