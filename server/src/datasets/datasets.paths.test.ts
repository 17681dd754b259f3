import { describe, expect, it } from 'vitest';
import {
  checkPath,
  compareNames,
  findTreeConflicts,
  normalizeFolderPath,
  normalizePath,
  normalizePaths,
  PathError,
  type PathErrorCode,
} from './datasets.paths.js';

const codeOf = (input: unknown): PathErrorCode | 'ok' => {
  const r = checkPath(input);
  return 'problem' in r ? r.problem.code : 'ok';
};

describe('checkPath', () => {
  it.each([
    'README',
    'sub-01/anat/sub-01_T1w.nii.gz',
    '.bidsignore',
    'derivatives/..hidden/x',
    'a/...b',
    'names with spaces/ok.txt',
    'ünïcödé/文件.txt',
    'emoji/😀.json',
    'x'.repeat(255),
    `${'a/'.repeat(511)}b`,
  ])('accepts %j', (p) => {
    expect(codeOf(p)).toBe('ok');
  });

  it.each<[unknown, PathErrorCode]>([
    ['', 'path_invalid'],
    [undefined, 'path_invalid'],
    [42, 'path_invalid'],
    ['/etc/passwd', 'path_traversal'],
    ['C:/Windows', 'path_traversal'],
    ['c:x', 'path_traversal'],
    ['..', 'path_traversal'],
    ['../x', 'path_traversal'],
    ['a/../../x', 'path_traversal'],
    ['a/..', 'path_traversal'],
    ['.', 'path_invalid'],
    ['./a', 'path_invalid'],
    ['a/./b', 'path_invalid'],
    ['a//b', 'path_invalid'],
    ['a/', 'path_invalid'],
    ['a\\b', 'path_invalid'],
    ['..\\..\\x', 'path_invalid'],
    ['a\u0000b', 'path_invalid'],
    ['a\nb', 'path_invalid'],
    ['a\u007fb', 'path_invalid'],
    ['a\u0085b', 'path_invalid'],
    ['bad\ud800surrogate', 'path_invalid'],
    ['what?.txt', 'path_invalid'],
    ['a/b:c', 'path_invalid'],
    ['a|b', 'path_invalid'],
    ['trailing.', 'path_invalid'],
    ['trailing /x', 'path_invalid'],
    ['CON', 'path_invalid'],
    ['sub/nul.txt', 'path_invalid'],
    ['Com1.tar.gz', 'path_invalid'],
    ['lpt9', 'path_invalid'],
    ['x'.repeat(256), 'path_too_long'],
    ['é'.repeat(128), 'path_too_long'],
    [`${'a/'.repeat(512)}b`, 'path_too_long'],
  ])('rejects %j as %s', (p, code) => {
    expect(codeOf(p)).toBe(code);
  });

  it('does not treat names merely starting like a device as reserved', () => {
    expect(codeOf('console.log')).toBe('ok');
    expect(codeOf('auxiliary/nullable.txt')).toBe('ok');
  });

  it('normalises to NFC so both spellings of é address one file', () => {
    const nfd = 'cafe\u0301/x';
    const nfc = 'caf\u00e9/x';
    expect(normalizePath(nfd)).toBe(nfc);
    expect(normalizePath(nfc)).toBe(nfc);
  });

  it('counts length limits in UTF-8 bytes, not characters', () => {
    expect(codeOf('é'.repeat(127))).toBe('ok');
    expect(codeOf('😀'.repeat(63))).toBe('ok');
    expect(codeOf('😀'.repeat(64))).toBe('path_too_long');
  });

  it('throws a PathError with code and path from normalizePath', () => {
    try {
      normalizePath('../secret');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PathError);
      expect(e).toMatchObject({ code: 'path_traversal', path: '../secret' });
    }
  });

  it('normalises folder paths, root included', () => {
    for (const root of ['', '/', '.', undefined]) expect(normalizeFolderPath(root)).toBe('');
    expect(normalizeFolderPath('a/b/')).toBe('a/b');
    expect(() => normalizeFolderPath('a//')).toThrow(PathError);
    expect(() => normalizeFolderPath('/a')).toThrow(PathError);
  });
});

describe('findTreeConflicts', () => {
  it('finds nothing in a clean tree', () => {
    expect(findTreeConflicts(['a/b.txt', 'a/c.txt', 'b', 'A-c/x', 'a-b'])).toEqual([]);
    // A folder and a file that differ only by case still conflict.
    expect(findTreeConflicts(['A-b/x', 'a-b'])[0]).toMatchObject({ code: 'path_conflict' });
  });

  it('finds case collisions between files', () => {
    expect(findTreeConflicts(['a/B.txt', 'a/b.txt'])).toEqual([
      expect.objectContaining({ code: 'path_case_collision', path: 'a/b.txt', other: 'a/B.txt' }),
    ]);
    expect(findTreeConflicts(['STRASSE.txt', 'straße.txt'])[0]).toMatchObject({ code: 'path_case_collision' });
  });

  it('finds case collisions between folders', () => {
    expect(findTreeConflicts(['Sub/x', 'sub/y'])).toEqual([
      expect.objectContaining({ code: 'path_case_collision', path: 'sub/y', other: 'Sub' }),
    ]);
  });

  it('finds a path used both as file and folder, in either order and either case', () => {
    expect(findTreeConflicts(['a', 'a/b'])).toEqual([expect.objectContaining({ code: 'path_conflict', path: 'a', other: 'a' })]);
    expect(findTreeConflicts(['a/b/c', 'a/b'])).toEqual([expect.objectContaining({ code: 'path_conflict', path: 'a/b' })]);
    expect(findTreeConflicts(['A', 'a/b'])).toEqual([expect.objectContaining({ code: 'path_conflict', path: 'A', other: 'a' })]);
  });

  it('finds exact duplicates', () => {
    expect(findTreeConflicts(['x', 'x'])).toEqual([expect.objectContaining({ code: 'path_conflict', path: 'x' })]);
  });

  it('caps the number of problems', () => {
    const paths = Array.from({ length: 500 }, (_, i) => [`f${i}`, `F${i}`]).flat();
    expect(findTreeConflicts(paths, 10)).toHaveLength(10);
  });
});

describe('normalizePaths', () => {
  it('reports every problem of a list at once', () => {
    try {
      normalizePaths(['ok', '../x', '/abs', 'fine/too']);
      expect.unreachable();
    } catch (e) {
      expect((e as PathError).problems.map((p) => p.code)).toEqual(['path_traversal', 'path_traversal']);
    }
    expect(() => normalizePaths(['a/B', 'a/b'])).toThrow(expect.objectContaining({ code: 'path_case_collision' }));
    expect(normalizePaths(['cafe\u0301', 'b'])).toEqual(['caf\u00e9', 'b']);
  });
});

describe('compareNames', () => {
  it('orders by code point, also for astral characters', () => {
    const names = ['\uffff', '😀', 'a', 'B', 'a/b', 'a-b', '\ue000'];
    const sorted = [...names].sort(compareNames);
    const byBytes = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(sorted).toEqual(byBytes);
    expect(sorted.indexOf('😀')).toBeGreaterThan(sorted.indexOf('\uffff'));
  });
});
