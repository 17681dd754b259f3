import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareNames, findTreeConflicts, PathError } from './datasets.paths.js';
import { DatasetTree, EMPTY_TREE_HASH, rootHashOf, type FileEntry, type TreeChange } from './datasets.tree.js';

const h = (s: string) => createHash('sha256').update(s).digest('hex');
const file = (path: string, content = path): FileEntry => ({ path, sha256: h(content), size: Buffer.byteLength(content) });

function pathError(fn: () => unknown): PathError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PathError);
    return e as PathError;
  }
  throw new Error('expected a PathError');
}

describe('DatasetTree hashing', () => {
  it('hashes the empty tree as the bare format header', () => {
    expect(DatasetTree.empty().rootHash).toBe(h('cairn-tree-v1\n'));
    expect(EMPTY_TREE_HASH).toBe(h('cairn-tree-v1\n'));
    expect(DatasetTree.empty().fileCount).toBe(0);
  });

  it('follows the documented v1 format exactly', () => {
    const readme = file('README', 'hello\n');
    const t1w = file('sub-01/anat/T1w.nii', 'brain');
    const events = file('sub-01/events.tsv', 'onset\n');
    const tree = DatasetTree.fromEntries([t1w, readme, events]);
    const anat = h(`cairn-tree-v1\nf ${t1w.sha256} 5 T1w.nii\n`);
    const sub = h(`cairn-tree-v1\nd ${anat} 5 anat\nf ${events.sha256} 6 events.tsv\n`);
    const root = h(`cairn-tree-v1\nf ${readme.sha256} 6 README\nd ${sub} 11 sub-01\n`);
    expect(tree.rootHash).toBe(root);
    expect(tree.stat('sub-01')).toMatchObject({ kind: 'folder', hash: sub, size: 11, fileCount: 2 });
    expect(tree.stat('sub-01/anat')?.hash).toBe(anat);
  });

  it('does not depend on input order, and does depend on names, content and sizes', () => {
    const entries = [file('a/x'), file('a/y'), file('b'), file('c/d/e')];
    const base = rootHashOf(entries);
    expect(rootHashOf([...entries].reverse())).toBe(base);
    expect(rootHashOf([file('a/x'), file('a/y'), file('b'), file('c/d/E', 'c/d/e')])).not.toBe(base);
    expect(rootHashOf([file('a/x'), file('a/y'), file('b', 'other'), file('c/d/e')])).not.toBe(base);
    expect(rootHashOf([file('a/x'), file('a/y'), { ...file('b'), size: 99 }, file('c/d/e')])).not.toBe(base);
    // Moving a file into a folder of the same name changes the hash (kinds are hashed).
    expect(rootHashOf([file('a/x'), file('a/y'), file('b/b', 'b'), file('c/d/e')])).not.toBe(base);
  });

  it('lists entries in canonical depth-first code-point order', () => {
    const tree = DatasetTree.fromEntries([file('a-b'), file('a/b'), file('😀'), file('\uffff'), file('B'), file('a/a/z')]);
    expect(tree.entries().map((e) => e.path)).toEqual(['B', 'a/a/z', 'a/b', 'a-b', '\uffff', '😀']);
    expect(tree.entries('a').map((e) => e.path)).toEqual(['a/a/z', 'a/b']);
    expect(tree.entries('a/b').map((e) => e.path)).toEqual(['a/b']);
    expect(tree.entries('nope')).toEqual([]);
  });
});

describe('DatasetTree.fromEntries validation', () => {
  it('rejects bad paths, duplicates, case collisions and file/folder conflicts, listing them all', () => {
    const e = pathError(() =>
      DatasetTree.fromEntries([file('ok'), file('../up'), file('dup'), file('dup'), file('X/1'), file('x/2'), file('f'), file('f/g')]),
    );
    expect(e.problems.map((p) => p.code)).toEqual(['path_traversal', 'path_conflict', 'path_case_collision', 'path_conflict']);
  });

  it('rejects malformed hashes and sizes', () => {
    expect(pathError(() => DatasetTree.fromEntries([{ path: 'a', sha256: 'ABC', size: 1 }])).code).toBe('path_invalid');
    expect(pathError(() => DatasetTree.fromEntries([{ path: 'a', sha256: h('a'), size: -1 }])).code).toBe('path_invalid');
    expect(pathError(() => DatasetTree.fromEntries([{ path: 'a', sha256: h('a'), size: 1.5 }])).code).toBe('path_invalid');
  });

  it('normalises paths to NFC', () => {
    const tree = DatasetTree.fromEntries([file('cafe\u0301.txt')]);
    expect(tree.entries()[0]!.path).toBe('caf\u00e9.txt');
    expect(tree.file('cafe\u0301.txt')).toBeDefined();
  });
});

describe('DatasetTree listing', () => {
  const tree = DatasetTree.fromEntries([
    file('README', '12345'),
    file('sub-01/anat/a.nii', 'aaaaaaaaaa'),
    file('sub-01/anat/b.nii', 'bbbbbbbbbb'),
    file('sub-01/func/c.nii', 'cc'),
    file('sub-02/x', ''),
  ]);

  it('lists a folder with aggregated sizes and counts', () => {
    expect(tree.list().map(({ name, kind, size, fileCount }) => ({ name, kind, size, fileCount }))).toEqual([
      { name: 'README', kind: 'file', size: 5, fileCount: 1 },
      { name: 'sub-01', kind: 'folder', size: 22, fileCount: 3 },
      { name: 'sub-02', kind: 'folder', size: 0, fileCount: 1 },
    ]);
    expect(tree.list('sub-01/').map((c) => [c.path, c.size, c.fileCount])).toEqual([
      ['sub-01/anat', 20, 2],
      ['sub-01/func', 2, 1],
    ]);
    expect(tree.size).toBe(27);
    expect(tree.fileCount).toBe(5);
  });

  it('refuses to list a file or a missing folder', () => {
    expect(pathError(() => tree.list('README')).code).toBe('path_not_found');
    expect(pathError(() => tree.list('sub-03')).code).toBe('path_not_found');
    expect(pathError(() => tree.list('../x')).code).toBe('path_traversal');
  });

  it('stats files, folders and the root', () => {
    expect(tree.stat('')).toMatchObject({ kind: 'folder', size: 27, fileCount: 5, hash: tree.rootHash });
    expect(tree.stat('README')).toMatchObject({ kind: 'file', size: 5, hash: h('12345') });
    expect(tree.stat('nope')).toBeUndefined();
    expect(tree.file('sub-01')).toBeUndefined();
  });
});

describe('DatasetTree.apply', () => {
  const base = DatasetTree.fromEntries([file('README'), file('data/a.tsv'), file('data/b.tsv'), file('data/deep/c.json')]);

  it('adds, replaces, deletes, moves and renames files and folders', () => {
    const next = base.apply([
      { op: 'put', path: 'CHANGES', sha256: h('v1'), size: 2 },
      { op: 'put', path: 'README', sha256: h('new readme'), size: 10 },
      { op: 'delete', path: 'data/b.tsv' },
      { op: 'move', from: 'data/deep', to: 'derived/deep' },
      { op: 'rename', path: 'data/a.tsv', name: 'A.tsv' },
    ]);
    expect(next.entries()).toEqual([
      { path: 'CHANGES', sha256: h('v1'), size: 2 },
      { path: 'README', sha256: h('new readme'), size: 10 },
      { ...file('data/a.tsv'), path: 'data/A.tsv' },
      { ...file('data/deep/c.json'), path: 'derived/deep/c.json' },
    ]);
    expect(next.rootHash).toBe(rootHashOf(next.entries()));
  });

  it('leaves the original tree untouched (trees are values)', () => {
    const before = base.entries();
    const hash = base.rootHash;
    base.apply([{ op: 'delete', path: 'data' }, { op: 'put', path: 'x', sha256: h('x'), size: 1 }]);
    expect(base.entries()).toEqual(before);
    expect(base.rootHash).toBe(hash);
    expect(base.list('data').length).toBe(3);
  });

  it('prunes folders that become empty', () => {
    const t = base.apply([{ op: 'delete', path: 'data/deep/c.json' }, { op: 'move', from: 'data/a.tsv', to: 'a.tsv' }]);
    expect(t.stat('data/deep')).toBeUndefined();
    expect(t.list('data').map((c) => c.name)).toEqual(['b.tsv']);
    expect(t.apply([{ op: 'delete', path: 'data/b.tsv' }]).stat('data')).toBeUndefined();
  });

  it('is all or nothing and names the failing change', () => {
    const e = pathError(() =>
      base.apply([
        { op: 'put', path: 'new', sha256: h('n'), size: 1 },
        { op: 'delete', path: 'missing' },
      ]),
    );
    expect(e.code).toBe('path_not_found');
    expect(e.message).toMatch(/^Change 1: /);
    expect(base.file('new')).toBeUndefined();
  });

  it('refuses conflicts, collisions and bad paths', () => {
    const code = (changes: TreeChange[]) => pathError(() => base.apply(changes)).code;
    expect(code([{ op: 'put', path: 'data', sha256: h('x'), size: 1 }])).toBe('path_conflict');
    expect(code([{ op: 'put', path: 'README/x', sha256: h('x'), size: 1 }])).toBe('path_conflict');
    expect(code([{ op: 'put', path: 'readme', sha256: h('x'), size: 1 }])).toBe('path_case_collision');
    expect(code([{ op: 'put', path: 'DATA/x', sha256: h('x'), size: 1 }])).toBe('path_case_collision');
    expect(code([{ op: 'put', path: '../x', sha256: h('x'), size: 1 }])).toBe('path_traversal');
    expect(code([{ op: 'put', path: 'x', sha256: 'nothex', size: 1 }])).toBe('path_invalid');
    expect(code([{ op: 'move', from: 'README', to: 'data/a.tsv' }])).toBe('path_conflict');
    expect(code([{ op: 'move', from: 'README', to: 'data' }])).toBe('path_conflict');
    expect(code([{ op: 'move', from: 'data', to: 'Readme' }])).toBe('path_case_collision');
    expect(code([{ op: 'move', from: 'nope', to: 'x' }])).toBe('path_not_found');
    expect(code([{ op: 'move', from: 'nope', to: 'nope' }])).toBe('path_not_found');
    expect(code([{ op: 'rename', path: 'README', name: 'a/b' }])).toBe('path_invalid');
    expect(code([{ op: 'rename', path: 'README', name: '..' }])).toBe('path_traversal');
    expect(code([{ op: 'delete', path: 'Data' }])).toBe('path_not_found');
    expect(code([{ op: 'frobnicate' } as unknown as TreeChange])).toBe('path_invalid');
  });

  it('allows case-only renames and moving a folder into a new folder of its own name', () => {
    const t = base.apply([{ op: 'rename', path: 'README', name: 'readme' }]);
    expect(t.file('readme')).toBeDefined();
    expect(t.file('README')).toBeUndefined();
    const nested = base.apply([{ op: 'move', from: 'data', to: 'data/v1' }]);
    expect(nested.entries().map((e) => e.path)).toEqual(['README', 'data/v1/a.tsv', 'data/v1/b.tsv', 'data/v1/deep/c.json']);
  });

  it('handles 20,000 files: build, bulk change, listing', () => {
    const entries: FileEntry[] = [];
    for (let s = 0; s < 100; s++) {
      for (let f = 0; f < 200; f++) entries.push({ path: `sub-${s}/ses-1/file-${f}.tsv`, sha256: h(`${s}/${f}`), size: f });
    }
    const tree = DatasetTree.fromEntries(entries);
    expect(tree.fileCount).toBe(20_000);
    const changes: TreeChange[] = entries.map((e) => ({ op: 'put', path: e.path, sha256: h(`v2 ${e.path}`), size: e.size + 1 }));
    const next = tree.apply(changes);
    expect(next.fileCount).toBe(20_000);
    expect(next.size).toBe(tree.size + 20_000);
    expect(next.rootHash).toBe(rootHashOf(next.entries()));
    const moved = next.apply([{ op: 'move', from: 'sub-7', to: 'excluded/sub-7' }]);
    expect(moved.list('excluded')[0]).toMatchObject({ name: 'sub-7', fileCount: 200 });
    // Untouched subtrees keep their hashes.
    expect(moved.stat('sub-8')?.hash).toBe(next.stat('sub-8')?.hash);
  });
});

/**
 * Model-based check: random change sequences over a tiny alphabet (so collisions and conflicts are
 * frequent) must behave exactly like a naive flat-map model, and the incrementally maintained hash
 * must always equal a fresh build's.
 */
describe('DatasetTree against a flat model', () => {
  const seg = fc.constantFrom('a', 'A', 'b', 'c');
  const pathArb = fc.array(seg, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
  const changeArb: fc.Arbitrary<TreeChange> = fc.oneof(
    fc.record({ op: fc.constant('put' as const), path: pathArb, sha256: fc.constantFrom(h('1'), h('2')), size: fc.nat(5) }),
    fc.record({ op: fc.constant('delete' as const), path: pathArb }),
    fc.record({ op: fc.constant('move' as const), from: pathArb, to: pathArb }),
  );

  type Model = Map<string, FileEntry>;
  function modelApply(m: Model, c: TreeChange): Model | undefined {
    const next = new Map(m);
    const isFolder = (p: string) => [...m.keys()].some((k) => k.startsWith(`${p}/`));
    const valid = (mm: Model) => findTreeConflicts(mm.keys()).length === 0;
    if (c.op === 'put') {
      next.set(c.path, { path: c.path, sha256: c.sha256, size: c.size });
      return valid(next) ? next : undefined;
    }
    if (c.op === 'delete') {
      if (m.has(c.path)) {
        next.delete(c.path);
      } else if (isFolder(c.path)) {
        for (const k of m.keys()) if (k.startsWith(`${c.path}/`)) next.delete(k);
      } else {
        return undefined;
      }
      return next;
    }
    if (c.op === 'move') {
      const moved: FileEntry[] = [];
      for (const [k, e] of m) {
        if (k === c.from) moved.push({ ...e, path: c.to });
        else if (k.startsWith(`${c.from}/`)) moved.push({ ...e, path: c.to + k.slice(c.from.length) });
        if (k === c.from || k.startsWith(`${c.from}/`)) next.delete(k);
      }
      if (moved.length === 0) return undefined;
      if (next.has(c.to) || [...next.keys()].some((k) => k.startsWith(`${c.to}/`))) return undefined;
      for (const e of moved) next.set(e.path, e);
      return valid(next) ? next : undefined;
    }
    return undefined;
  }

  it('matches the model on random change sequences', () => {
    fc.assert(
      fc.property(fc.array(changeArb, { maxLength: 25 }), (changes) => {
        let model: Model = new Map();
        let tree = DatasetTree.empty();
        for (const c of changes) {
          const expected = modelApply(model, c);
          if (expected === undefined) {
            const before = tree.rootHash;
            expect(() => (tree = tree.apply([c]))).toThrow(PathError);
            expect(tree.rootHash).toBe(before);
          } else {
            tree = tree.apply([c]);
            model = expected;
          }
          const sorted = [...model.values()].sort((x, y) => compareNames(x.path, y.path));
          expect([...tree.entries()].sort((x, y) => compareNames(x.path, y.path))).toEqual(sorted);
          expect(tree.rootHash).toBe(rootHashOf(sorted));
          expect(tree.fileCount).toBe(model.size);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('applying a batch equals applying its changes one by one', () => {
    fc.assert(
      fc.property(fc.array(changeArb, { maxLength: 15 }), (changes) => {
        let one = DatasetTree.empty();
        let ok = true;
        for (const c of changes) {
          try {
            one = one.apply([c]);
          } catch {
            ok = false;
            break;
          }
        }
        if (ok) expect(DatasetTree.empty().apply(changes).rootHash).toBe(one.rootHash);
        else expect(() => DatasetTree.empty().apply(changes)).toThrow(PathError);
      }),
      { numRuns: 300 },
    );
  });
});
