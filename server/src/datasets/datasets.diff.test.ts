import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { diffEntries, lineDiff, unifiedDiff } from './datasets.diff.js';
import { DatasetTree, type FileEntry } from './datasets.tree.js';

const h = (s: string) => createHash('sha256').update(s).digest('hex');
const f = (path: string, content: string): FileEntry => ({ path, sha256: h(content), size: Buffer.byteLength(content) });

describe('diffEntries', () => {
  it('reports nothing between identical versions', () => {
    const v = [f('a', '1'), f('b/c', '2')];
    expect(diffEntries(v, [...v].reverse())).toEqual({
      added: [],
      removed: [],
      modified: [],
      renamed: [],
      summary: { added: 0, removed: 0, modified: 0, renamed: 0, unchanged: 2, bytesAdded: 0, bytesRemoved: 0 },
    });
  });

  it('classifies added, removed, modified and renamed files with sizes', () => {
    const before = [f('README', 'v1'), f('gone.txt', 'bye!'), f('data/a.tsv', 'aaa'), f('old/name.json', '{"x":1}'), f('same', 's')];
    const after = [f('README', 'v2 longer'), f('new.txt', 'hello'), f('data/a.tsv', 'aaa'), f('new/name.json', '{"x":1}'), f('same', 's')];
    const d = diffEntries(before, after);
    expect(d.added).toEqual([f('new.txt', 'hello')]);
    expect(d.removed).toEqual([f('gone.txt', 'bye!')]);
    expect(d.modified).toEqual([{ path: 'README', before: { sha256: h('v1'), size: 2 }, after: { sha256: h('v2 longer'), size: 9 } }]);
    expect(d.renamed).toEqual([{ from: 'old/name.json', to: 'new/name.json', sha256: h('{"x":1}'), size: 7 }]);
    expect(d.summary).toEqual({ added: 1, removed: 1, modified: 1, renamed: 1, unchanged: 2, bytesAdded: 5 + 9, bytesRemoved: 4 + 2 });
  });

  it('pairs duplicate contents by file name first, then by path order', () => {
    const before = [f('x/one.txt', 'dup'), f('x/two.txt', 'dup'), f('y/p', 'dup2'), f('y/q', 'dup2')];
    const after = [f('z/two.txt', 'dup'), f('z/one.txt', 'dup'), f('w/r', 'dup2'), f('w/s', 'dup2'), f('w/t', 'dup2')];
    const d = diffEntries(before, after);
    expect(d.renamed).toEqual([
      { from: 'y/p', to: 'w/r', sha256: h('dup2'), size: 4 },
      { from: 'y/q', to: 'w/s', sha256: h('dup2'), size: 4 },
      { from: 'x/one.txt', to: 'z/one.txt', sha256: h('dup'), size: 3 },
      { from: 'x/two.txt', to: 'z/two.txt', sha256: h('dup'), size: 3 },
    ]);
    expect(d.added).toEqual([f('w/t', 'dup2')]);
    expect(d.removed).toEqual([]);
  });

  it('does not invent renames between unrelated empty files', () => {
    const before = [f('sub-01/anat/a.nii', ''), f('moved/keep.nii', '')];
    const after = [f('sub-02/anat/b.nii', ''), f('elsewhere/keep.nii', '')];
    const d = diffEntries(before, after);
    expect(d.renamed).toEqual([{ from: 'moved/keep.nii', to: 'elsewhere/keep.nii', sha256: h(''), size: 0 }]);
    expect(d.added.map((e) => e.path)).toEqual(['sub-02/anat/b.nii']);
    expect(d.removed.map((e) => e.path)).toEqual(['sub-01/anat/a.nii']);
  });

  it('treats a file whose content changed and moved as removed plus added', () => {
    const d = diffEntries([f('a', 'one')], [f('b', 'two')]);
    expect(d.summary).toMatchObject({ added: 1, removed: 1, renamed: 0, modified: 0 });
  });

  it('diffs trees produced by change sets', () => {
    const v1 = DatasetTree.fromEntries([f('a/x', '1'), f('a/y', '2'), f('b', '3')]);
    const v2 = v1.apply([
      { op: 'move', from: 'a', to: 'c' },
      { op: 'put', path: 'b', sha256: h('33'), size: 2 },
    ]);
    const d = diffEntries(v1.entries(), v2.entries());
    expect(d.renamed.map((r) => `${r.from}>${r.to}`)).toEqual(['a/x>c/x', 'a/y>c/y']);
    expect(d.modified.map((m) => m.path)).toEqual(['b']);
  });

  it('orders results by code point', () => {
    const d = diffEntries([], [f('😀', '1'), f('\uffff', '2'), f('a', '3')]);
    expect(d.added.map((e) => e.path)).toEqual(['a', '\uffff', '😀']);
  });
});

describe('lineDiff', () => {
  it('produces unified hunks with counts', () => {
    const before = 'a\nb\nc\nd\ne\nf\ng\nh\n';
    const after = 'a\nb\nc\nD\ne\nf\ng\nh\ni\n';
    const d = lineDiff(before, after, { context: 1 });
    expect(d).toEqual({
      kind: 'text',
      hunks: [
        { oldStart: 3, oldLines: 3, newStart: 3, newLines: 3, lines: [' c', '-d', '+D', ' e'] },
        { oldStart: 8, oldLines: 1, newStart: 8, newLines: 2, lines: [' h', '+i'] },
      ],
      linesAdded: 2,
      linesRemoved: 1,
    });
    expect(unifiedDiff('x.txt', 'x.txt', d)).toBe(
      '--- a/x.txt\n+++ b/x.txt\n@@ -3,3 +3,3 @@\n c\n-d\n+D\n e\n@@ -8,1 +8,2 @@\n h\n+i\n',
    );
  });

  it('accepts bytes and reports identical files as no hunks', () => {
    const same = Buffer.from('onset\tduration\n1\t2\n');
    expect(lineDiff(same, Buffer.from(same))).toEqual({ kind: 'text', hunks: [], linesAdded: 0, linesRemoved: 0 });
  });

  it('marks a missing final newline', () => {
    const d = lineDiff('x\n', 'x');
    expect(d.kind === 'text' && d.hunks[0]!.lines).toContain('\\ No newline at end of file');
  });

  it('refuses binary content and invalid UTF-8', () => {
    expect(lineDiff(Buffer.from([0x6e, 0x69, 0x00, 0x31]), 'x')).toEqual({ kind: 'binary' });
    expect(lineDiff('x', Buffer.from([0xc3, 0x28]))).toEqual({ kind: 'binary' });
    expect(lineDiff('a\u0000', 'b')).toEqual({ kind: 'binary' });
  });

  it('caps input size on either side', () => {
    const big = 'x\n'.repeat(600_000);
    expect(lineDiff(big, 'x\n')).toEqual({ kind: 'too_large', maxBytes: 512 * 1024 });
    expect(lineDiff('x\n', 'yy', { maxBytes: 1 })).toEqual({ kind: 'too_large', maxBytes: 1 });
    expect(lineDiff('é', 'x', { maxBytes: 1 })).toEqual({ kind: 'too_large', maxBytes: 1 });
  });

  it('gives up on files that differ too much instead of burning CPU', () => {
    const a = Array.from({ length: 3000 }, (_, i) => `a${i}`).join('\n');
    const b = Array.from({ length: 3000 }, (_, i) => `b${i}`).join('\n');
    expect(lineDiff(a, b, { maxEdits: 100 })).toEqual({ kind: 'too_different' });
    expect(lineDiff(a, b).kind).toBe('text');
  });
});
