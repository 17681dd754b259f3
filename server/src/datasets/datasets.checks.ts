import type { FileEntry } from './datasets.tree.js';

/**
 * Built-in validation checks (docs/datasets.md, "Validation"). Pure: they get the file list and a
 * way to read small files, and answer issues; the validation job stores them per version.
 */
export interface Issue {
  code: string;
  severity: 'error' | 'warning';
  file: string | null;
  message: string;
}

/** Files larger than this are not parsed (they are listed as a warning instead). */
export const CHECK_MAX_BYTES = 8 * 1024 * 1024;
const README = /^readme(\.(md|txt|rst))?$/i;

export function isBidsLike(entries: readonly FileEntry[], profile: string): boolean {
  if (profile === 'bids') return true;
  return entries.some((e) => e.path === 'dataset_description.json' || /^sub-[^/]+\//.test(e.path));
}

export async function runBuiltinChecks(
  entries: readonly FileEntry[],
  profile: string,
  read: (e: FileEntry) => Promise<Buffer>,
  opts: { concurrency?: number; maxIssues?: number } = {},
): Promise<Issue[]> {
  const issues: Issue[] = [];
  const maxIssues = opts.maxIssues ?? 1000;
  const bids = isBidsLike(entries, profile);
  const root = new Map(entries.filter((e) => !e.path.includes('/')).map((e) => [e.path, e]));

  const readme = [...root.keys()].some((n) => README.test(n));
  if (!readme) {
    issues.push({
      code: 'readme_missing',
      severity: bids ? 'error' : 'warning',
      file: null,
      message: bids ? 'A BIDS dataset needs a README at its root' : 'Add a README at the root describing the dataset',
    });
  }
  if (bids && !root.has('dataset_description.json')) {
    issues.push({ code: 'bids_description_missing', severity: 'error', file: null, message: 'A BIDS dataset needs dataset_description.json at its root' });
  }

  const toCheck = entries.filter((e) => /\.(json|tsv)$/i.test(e.path));
  let next = 0;
  const worker = async () => {
    while (next < toCheck.length && issues.length < maxIssues) {
      const e = toCheck[next++]!;
      if (e.size > CHECK_MAX_BYTES) {
        issues.push({ code: 'file_not_checked', severity: 'warning', file: e.path, message: `Larger than ${CHECK_MAX_BYTES} bytes: not checked` });
        continue;
      }
      const bytes = await read(e);
      issues.push(...(/\.json$/i.test(e.path) ? checkJson(e.path, bytes, bids) : checkTsv(e.path, bytes)));
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker));
  issues.sort((a, b) => (a.file ?? '').localeCompare(b.file ?? '') || a.code.localeCompare(b.code));
  return issues.slice(0, maxIssues);
}

function decode(path: string, bytes: Buffer): { text: string } | { issue: Issue } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { issue: { code: 'encoding_invalid', severity: 'error', file: path, message: 'Not valid UTF-8 text' } };
  }
}

export function checkJson(path: string, bytes: Buffer, bids = false): Issue[] {
  const d = decode(path, bytes);
  if ('issue' in d) return [d.issue];
  let value: unknown;
  try {
    value = JSON.parse(d.text.replace(/^\uFEFF/, ''));
  } catch (e) {
    return [{ code: 'json_invalid', severity: 'error', file: path, message: `Not well-formed JSON: ${(e as Error).message}` }];
  }
  if (bids && path === 'dataset_description.json') {
    const o = value as Record<string, unknown>;
    const missing = ['Name', 'BIDSVersion'].filter((k) => !o || typeof o !== 'object' || Array.isArray(o) || typeof o[k] !== 'string' || !(o[k] as string).trim());
    if (missing.length) return [{ code: 'bids_description_invalid', severity: 'error', file: path, message: `dataset_description.json needs ${missing.join(' and ')} (text)` }];
  }
  return [];
}

export function checkTsv(path: string, bytes: Buffer): Issue[] {
  const d = decode(path, bytes);
  if ('issue' in d) return [d.issue];
  if (d.text.length === 0) return [{ code: 'tsv_empty', severity: 'error', file: path, message: 'Empty TSV file: it needs at least a header row' }];
  const lines = d.text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const issues: Issue[] = [];
  const header = lines[0]!.replace(/\r$/, '').split('\t');
  if (header.some((h) => h.trim() === '')) issues.push({ code: 'tsv_header_invalid', severity: 'error', file: path, message: 'The header row has an empty column name' });
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup !== undefined) issues.push({ code: 'tsv_header_invalid', severity: 'error', file: path, message: `Column ${JSON.stringify(dup)} appears twice in the header` });
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line === '') {
      issues.push({ code: 'tsv_row_invalid', severity: 'error', file: path, message: `Line ${i + 1} is empty` });
      break;
    }
    const n = line.split('\t').length;
    if (n !== header.length) {
      issues.push({ code: 'tsv_column_count', severity: 'error', file: path, message: `Line ${i + 1} has ${n} columns, the header has ${header.length}` });
      break; // one per file: a shifted file would otherwise report every row
    }
  }
  return issues;
}
