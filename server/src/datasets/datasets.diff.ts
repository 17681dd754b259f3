import { structuredPatch } from 'diff';
import type { DiffSummary } from '@cairn/sdk';
import { compareNames, sortByKey } from './datasets.paths.js';
import type { FileEntry } from './datasets.tree.js';

/**
 * What changed between two versions' flat file lists (either side may be the draft).
 *  - added / removed: paths only on one side;
 *  - modified: same path, different content;
 *  - renamed: content that disappeared from one path and appeared at another (same sha256). When
 *    several candidates share a hash, pairs with the same file name are matched first (a moved
 *    folder), then the rest in path order. Empty files all share one hash, so they are only paired
 *    by identical file name: otherwise unrelated placeholder files would show as renames.
 */
export interface DatasetDiff {
  added: FileEntry[];
  removed: FileEntry[];
  modified: { path: string; before: { sha256: string; size: number }; after: { sha256: string; size: number } }[];
  renamed: { from: string; to: string; sha256: string; size: number }[];
  summary: DiffSummary;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const baseName = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const byPath = (a: { path: string }, b: { path: string }) => compareNames(a.path, b.path);

export function diffEntries(before: Iterable<FileEntry>, after: Iterable<FileEntry>): DatasetDiff {
  const old = new Map<string, FileEntry>();
  for (const e of before) old.set(e.path, e);
  const added: FileEntry[] = [];
  const modified: DatasetDiff['modified'] = [];
  let unchanged = 0;
  const seen = new Set<string>();
  for (const e of after) {
    seen.add(e.path);
    const o = old.get(e.path);
    if (o === undefined) added.push(e);
    else if (o.sha256 !== e.sha256) {
      modified.push({ path: e.path, before: { sha256: o.sha256, size: o.size }, after: { sha256: e.sha256, size: e.size } });
    } else unchanged++;
  }
  const removed: FileEntry[] = [];
  for (const [path, e] of old) if (!seen.has(path)) removed.push(e);

  // Pair removed and added entries with the same content.
  const renamed: DatasetDiff['renamed'] = [];
  const removedByHash = new Map<string, FileEntry[]>();
  for (const r of removed) {
    const list = removedByHash.get(r.sha256);
    if (list) list.push(r);
    else removedByHash.set(r.sha256, [r]);
  }
  const pairedFrom = new Set<FileEntry>();
  const pairedTo = new Set<FileEntry>();
  const addedByHash = new Map<string, FileEntry[]>();
  for (const a of added) {
    if (!removedByHash.has(a.sha256)) continue;
    const list = addedByHash.get(a.sha256);
    if (list) list.push(a);
    else addedByHash.set(a.sha256, [a]);
  }
  for (const [hash, tos] of addedByHash) {
    const froms = removedByHash.get(hash)!.slice().sort(byPath);
    tos.sort(byPath);
    // First: same file name (a folder was moved or renamed).
    const fromByName = new Map<string, FileEntry[]>();
    for (const f of froms) {
      const n = baseName(f.path);
      const l = fromByName.get(n);
      if (l) l.push(f);
      else fromByName.set(n, [f]);
    }
    for (const t of tos) {
      const f = fromByName.get(baseName(t.path))?.find((x) => !pairedFrom.has(x));
      if (f) {
        pairedFrom.add(f);
        pairedTo.add(t);
        renamed.push({ from: f.path, to: t.path, sha256: hash, size: t.size });
      }
    }
    if (hash === EMPTY_SHA256) continue;
    // Then: the rest, in path order.
    const restFrom = froms.filter((f) => !pairedFrom.has(f));
    const restTo = tos.filter((t) => !pairedTo.has(t));
    for (let i = 0; i < Math.min(restFrom.length, restTo.length); i++) {
      pairedFrom.add(restFrom[i]!);
      pairedTo.add(restTo[i]!);
      renamed.push({ from: restFrom[i]!.path, to: restTo[i]!.path, sha256: hash, size: restTo[i]!.size });
    }
  }

  const finalAdded = sortByKey(added.filter((a) => !pairedTo.has(a)), (e) => e.path);
  const finalRemoved = sortByKey(removed.filter((r) => !pairedFrom.has(r)), (e) => e.path);
  sortByKey(modified, (m) => m.path);
  sortByKey(renamed, (r) => r.to);
  let bytesAdded = 0;
  let bytesRemoved = 0;
  for (const a of finalAdded) bytesAdded += a.size;
  for (const r of finalRemoved) bytesRemoved += r.size;
  for (const m of modified) {
    bytesAdded += m.after.size;
    bytesRemoved += m.before.size;
  }
  return {
    added: finalAdded,
    removed: finalRemoved,
    modified,
    renamed,
    summary: {
      added: finalAdded.length,
      removed: finalRemoved.length,
      modified: modified.length,
      renamed: renamed.length,
      unchanged,
      bytesAdded,
      bytesRemoved,
    },
  };
}

export interface LineDiffOptions {
  /** Largest file (each side, bytes) to diff line by line. */
  maxBytes?: number;
  /** Lines of unchanged context around each change. */
  context?: number;
  /** Give up when the two sides need more edits than this (keeps worst-case cost bounded). */
  maxEdits?: number;
}

export type LineDiff =
  | {
      kind: 'text';
      hunks: { oldStart: number; oldLines: number; newStart: number; newLines: number; lines: string[] }[];
      linesAdded: number;
      linesRemoved: number;
    }
  | { kind: 'binary' }
  | { kind: 'too_large'; maxBytes: number }
  | { kind: 'too_different' };

export const LINE_DIFF_DEFAULTS = { maxBytes: 512 * 1024, context: 3, maxEdits: 10_000 } as const;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function asText(b: Uint8Array | string): string | undefined {
  if (typeof b === 'string') return b.includes('\u0000') ? undefined : b;
  if (b.includes(0)) return undefined;
  try {
    return utf8.decode(b);
  } catch {
    return undefined;
  }
}

/**
 * Line diff of two small text files. Anything that is not NUL-free UTF-8 is `binary`; sides over
 * `maxBytes` are `too_large` (the caller should not even fetch them: check sizes first).
 * Hunk lines carry the unified-diff prefix: ' ' context, '-' removed, '+' added,
 * '\' "No newline at end of file".
 */
export function lineDiff(before: Uint8Array | string, after: Uint8Array | string, options: LineDiffOptions = {}): LineDiff {
  const maxBytes = options.maxBytes ?? LINE_DIFF_DEFAULTS.maxBytes;
  const size = (x: Uint8Array | string) => (typeof x === 'string' ? Buffer.byteLength(x) : x.byteLength);
  if (size(before) > maxBytes || size(after) > maxBytes) return { kind: 'too_large', maxBytes };
  const a = asText(before);
  const b = asText(after);
  if (a === undefined || b === undefined) return { kind: 'binary' };
  const patch = structuredPatch('before', 'after', a, b, undefined, undefined, {
    context: options.context ?? LINE_DIFF_DEFAULTS.context,
    maxEditLength: options.maxEdits ?? LINE_DIFF_DEFAULTS.maxEdits,
  });
  if (patch === undefined) return { kind: 'too_different' };
  let linesAdded = 0;
  let linesRemoved = 0;
  for (const h of patch.hunks) {
    for (const l of h.lines) {
      if (l.startsWith('+')) linesAdded++;
      else if (l.startsWith('-')) linesRemoved++;
    }
  }
  return {
    kind: 'text',
    hunks: patch.hunks.map(({ oldStart, oldLines, newStart, newLines, lines }) => ({ oldStart, oldLines, newStart, newLines, lines })),
    linesAdded,
    linesRemoved,
  };
}

/** Renders a LineDiff as unified diff text (for the CLI and downloads). */
export function unifiedDiff(oldPath: string, newPath: string, d: LineDiff): string {
  if (d.kind !== 'text') return `Files ${oldPath} and ${newPath} differ (${d.kind.replace('_', ' ')})\n`;
  let out = `--- a/${oldPath}\n+++ b/${newPath}\n`;
  for (const h of d.hunks) {
    out += `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@\n`;
    for (const l of h.lines) out += `${l}\n`;
  }
  return out;
}
