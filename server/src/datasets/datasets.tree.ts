import { createHash } from 'node:crypto';
import type { DatasetChange, TreeChild } from '@cairn/sdk';
import {
  foldCase,
  normalizeFolderPath,
  normalizePath,
  PathError,
  type PathErrorCode,
  type PathProblem,
  sortNames,
} from './datasets.paths.js';

/**
 * A dataset version as a Merkle tree. Only files are stored (a folder exists while it contains a
 * file); a folder's hash covers its children's names, kinds, hashes and sizes, so the root hash
 * identifies the whole version and equal subtrees can be recognised by hash alone.
 *
 * Trees are persistent values: `apply` copies only the folders along changed paths and shares the
 * rest with the original, which stays valid. That makes a commit of k changes to a version of n files
 * cost O(k·depth) plus hashing of the touched folders, not O(n).
 *
 * Folder hash (format v1, documented in docs/datasets.md):
 *   sha256( "cairn-tree-v1\n" + for each child in code-point order of name:
 *           ("f" | "d") + " " + hex hash + " " + size + " " + name + "\n" )
 */

export interface FileEntry {
  path: string;
  sha256: string;
  size: number;
}

/** A change to a draft's tree: the API's own shape (`DatasetChange` in the SDK). */
export type TreeChange = DatasetChange;

/** One entry of a folder listing: the API's own shape (`TreeChild` in the SDK). */
export type FolderChild = TreeChild;

export const TREE_FORMAT = 'cairn-tree-v1';
export const EMPTY_TREE_HASH = createHash('sha256').update(`${TREE_FORMAT}\n`).digest('hex');

const SHA256 = /^[0-9a-f]{64}$/;

interface FileNode {
  readonly kind: 'file';
  readonly sha256: string;
  readonly size: number;
}

class DirNode {
  readonly kind = 'dir' as const;
  /** name → child */
  readonly children: Map<string, Node>;
  /** folded name → actual name, to refuse names a case-insensitive filesystem would merge */
  readonly folded: Map<string, string>;
  hash: string | undefined;
  /** Child names in code-point order; computed with the hash. */
  sorted: string[] = [];
  size = 0;
  fileCount = 0;
  constructor(from?: DirNode) {
    this.children = new Map(from?.children);
    this.folded = new Map(from?.folded);
  }
}

type Node = FileNode | DirNode;

function seal(dir: DirNode): string {
  if (dir.hash !== undefined) return dir.hash;
  const names = sortNames([...dir.children.keys()]);
  dir.sorted = names;
  const h = createHash('sha256');
  let text = `${TREE_FORMAT}\n`;
  let size = 0;
  let files = 0;
  for (const name of names) {
    const c = dir.children.get(name)!;
    if (c.kind === 'file') {
      text += `f ${c.sha256} ${c.size} ${name}\n`;
      size += c.size;
      files++;
    } else {
      const ch = seal(c);
      text += `d ${ch} ${c.size} ${name}\n`;
      size += c.size;
      files += c.fileCount;
    }
    // Hash in ~64 KiB slices: one huge string per folder of 100k files would be wasteful.
    if (text.length > 65_536) {
      h.update(text);
      text = '';
    }
  }
  h.update(text);
  dir.size = size;
  dir.fileCount = files;
  dir.hash = h.digest('hex');
  return dir.hash;
}

function fail(code: PathErrorCode, path: string, message: string, other?: string): never {
  const p: PathProblem = other === undefined ? { code, path, message } : { code, path, message, other };
  throw new PathError(p);
}

function checkContent(path: string, sha256: unknown, size: unknown): void {
  if (typeof sha256 !== 'string' || !SHA256.test(sha256)) {
    fail('path_invalid', path, `File ${JSON.stringify(path)} needs a lowercase hex sha256`);
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    fail('path_invalid', path, `File ${JSON.stringify(path)} needs a non-negative integer size`);
  }
}

/**
 * Mutation context for one `apply` (or build): folders cloned during it are owned and may be
 * changed in place; anything else is shared with older trees and is copied first.
 */
class Editor {
  private readonly owned = new Set<DirNode>();
  readonly root: DirNode;
  constructor(root: DirNode | undefined) {
    this.root = this.own(root);
  }

  private own(dir: DirNode | undefined): DirNode {
    if (dir && this.owned.has(dir)) return dir;
    const copy = new DirNode(dir);
    this.owned.add(copy);
    return copy;
  }

  /** The (owned) folder for `segments`, creating folders when `create`. Undefined when missing. */
  private folder(segments: string[], path: string, create: boolean): DirNode | undefined {
    let dir = this.root;
    dir.hash = undefined;
    for (let i = 0; i < segments.length; i++) {
      const name = segments[i]!;
      const child = dir.children.get(name);
      let next: DirNode;
      if (child === undefined) {
        if (!create) return undefined;
        const clash = dir.folded.get(foldCase(name));
        if (clash !== undefined) {
          const at = [...segments.slice(0, i), clash].join('/');
          fail('path_case_collision', path, `Folder ${JSON.stringify(segments.slice(0, i + 1).join('/'))} differs only by case from ${JSON.stringify(at)}`, at);
        }
        next = this.own(undefined);
        dir.folded.set(foldCase(name), name);
      } else if (child.kind === 'file') {
        if (!create) return undefined;
        const at = segments.slice(0, i + 1).join('/');
        fail('path_conflict', path, `${JSON.stringify(at)} is a file, so it cannot contain ${JSON.stringify(path)}`, at);
      } else {
        next = this.own(child);
      }
      dir.children.set(name, next);
      next.hash = undefined;
      dir = next;
    }
    return dir;
  }

  private attach(path: string, node: Node, replace: boolean): void {
    const segments = path.split('/');
    const name = segments.pop()!;
    const dir = this.folder(segments, path, true)!;
    const existing = dir.children.get(name);
    if (existing !== undefined) {
      if (existing.kind === 'dir' || node.kind === 'dir') {
        fail('path_conflict', path, `${JSON.stringify(path)} already exists as a ${existing.kind === 'dir' ? 'folder' : 'file'}`, path);
      }
      if (!replace) fail('path_conflict', path, `${JSON.stringify(path)} already exists`, path);
    } else {
      const key = foldCase(name);
      const clash = dir.folded.get(key);
      if (clash !== undefined) {
        const at = [...segments, clash].join('/');
        fail('path_case_collision', path, `${JSON.stringify(path)} differs only by case from ${JSON.stringify(at)}`, at);
      }
      dir.folded.set(key, name);
    }
    dir.children.set(name, node);
  }

  /** Removes and returns the node at `path`, pruning folders left empty. */
  private detach(path: string): Node {
    const segments = path.split('/');
    const name = segments.pop()!;
    // Walk without creating to find it first, so a miss changes nothing.
    let probe: Node | undefined = this.root;
    for (const s of segments) {
      probe = probe.kind === 'dir' ? probe.children.get(s) : undefined;
      if (probe === undefined) break;
    }
    const found = probe?.kind === 'dir' ? probe.children.get(name) : undefined;
    if (found === undefined) fail('path_not_found', path, `Nothing exists at ${JSON.stringify(path)}`);
    const chain: DirNode[] = [this.root];
    let dir = this.root;
    dir.hash = undefined;
    for (const s of segments) {
      const next = this.own(dir.children.get(s) as DirNode);
      next.hash = undefined;
      dir.children.set(s, next);
      chain.push(next);
      dir = next;
    }
    dir.children.delete(name);
    dir.folded.delete(foldCase(name));
    for (let i = chain.length - 1; i > 0; i--) {
      if (chain[i]!.children.size > 0) break;
      const parent = chain[i - 1]!;
      const s = segments[i - 1]!;
      parent.children.delete(s);
      parent.folded.delete(foldCase(s));
    }
    return found;
  }

  put(path: string, sha256: string, size: number, replace: boolean): void {
    checkContent(path, sha256, size);
    this.attach(path, { kind: 'file', sha256, size }, replace);
  }

  delete(path: string): void {
    this.detach(path);
  }

  move(from: string, to: string): void {
    const node = this.detach(from);
    this.attach(to, node, false);
  }
}

function pathForChange(change: TreeChange, key: 'path' | 'from' | 'to', index: number): string {
  const raw = (change as Record<string, unknown>)[key];
  try {
    return normalizePath(raw);
  } catch (e) {
    if (e instanceof PathError) throw new PathError({ code: e.code, path: e.path, message: `Change ${index}: ${e.message}` });
    throw e;
  }
}

export class DatasetTree {
  private constructor(private readonly root: DirNode) {
    seal(root);
  }

  static empty(): DatasetTree {
    return new DatasetTree(new DirNode());
  }

  /**
   * Builds a tree from a flat list, validating every path. Throws one PathError listing up to 100
   * problems (duplicates, case collisions, file/folder conflicts, invalid paths).
   */
  static fromEntries(entries: Iterable<FileEntry>, options: { trusted?: boolean } = {}): DatasetTree {
    const ed = new Editor(undefined);
    const problems: PathProblem[] = [];
    for (const e of entries) {
      try {
        // Entries read back from our own storage were validated on the way in.
        const path = options.trusted ? e.path : normalizePath(e.path);
        ed.put(path, e.sha256, e.size, false);
      } catch (err) {
        if (!(err instanceof PathError)) throw err;
        problems.push(...err.problems);
        if (problems.length >= 100) break;
      }
    }
    if (problems.length > 0) throw new PathError(problems[0]!, problems.slice(0, 100));
    return new DatasetTree(ed.root);
  }

  /**
   * Applies changes in order and returns the new tree; all or nothing (on error this tree is
   * untouched and nothing is returned). Errors are PathErrors naming the change index.
   */
  apply(changes: Iterable<TreeChange>): DatasetTree {
    const ed = new Editor(this.root);
    let i = 0;
    for (const c of changes) {
      try {
        switch (c.op) {
          case 'put':
            ed.put(pathForChange(c, 'path', i), c.sha256, c.size, true);
            break;
          case 'delete':
            ed.delete(pathForChange(c, 'path', i));
            break;
          case 'move':
            ed.move(pathForChange(c, 'from', i), pathForChange(c, 'to', i));
            break;
          case 'rename': {
            const from = pathForChange(c, 'path', i);
            if (typeof c.name !== 'string' || c.name.includes('/')) {
              fail('path_invalid', from, `A new name must be a single segment, not ${JSON.stringify(c.name)}`);
            }
            const slash = from.lastIndexOf('/');
            const to = normalizePath(slash === -1 ? c.name : `${from.slice(0, slash)}/${c.name}`);
            ed.move(from, to);
            break;
          }
          default:
            fail('path_invalid', '', `Change ${i}: unknown op ${JSON.stringify((c as { op?: unknown }).op)}`);
        }
      } catch (e) {
        if (e instanceof PathError && !e.message.startsWith('Change ')) {
          throw new PathError({ code: e.code, path: e.path, message: `Change ${i}: ${e.message}`, ...(e.other ? { other: e.other } : {}) });
        }
        throw e;
      }
      i++;
    }
    return new DatasetTree(ed.root);
  }

  get rootHash(): string {
    return this.root.hash!;
  }

  /** Total bytes of all files. */
  get size(): number {
    return this.root.size;
  }

  get fileCount(): number {
    return this.root.fileCount;
  }

  /** The flat list in canonical order: depth first, children in code-point order of name. */
  entries(folder = ''): FileEntry[] {
    const out: FileEntry[] = [];
    const start = this.node(normalizeFolderPath(folder));
    if (start === undefined) return out;
    if (start.kind === 'file') return [{ path: normalizeFolderPath(folder), sha256: start.sha256, size: start.size }];
    const base = normalizeFolderPath(folder);
    const walk = (dir: DirNode, prefix: string) => {
      for (const name of dir.sorted) {
        const c = dir.children.get(name)!;
        const p = prefix + name;
        if (c.kind === 'file') out.push({ path: p, sha256: c.sha256, size: c.size });
        else walk(c, `${p}/`);
      }
    };
    walk(start, base === '' ? '' : `${base}/`);
    return out;
  }

  /** The file at `path`, or undefined (also when `path` is a folder). */
  file(path: string): FileEntry | undefined {
    const p = normalizePath(path);
    const n = this.node(p);
    return n?.kind === 'file' ? { path: p, sha256: n.sha256, size: n.size } : undefined;
  }

  /** What is at a path: a file, a folder (with totals), or nothing. `''` is the root folder. */
  stat(path: string): FolderChild | undefined {
    const p = normalizeFolderPath(path);
    const n = this.node(p);
    if (n === undefined) return undefined;
    const name = p.slice(p.lastIndexOf('/') + 1);
    return n.kind === 'file'
      ? { name, path: p, kind: 'file', hash: n.sha256, size: n.size, fileCount: 1 }
      : { name, path: p, kind: 'folder', hash: n.hash!, size: n.size, fileCount: n.fileCount };
  }

  /** A folder's direct children in code-point order of name; throws path_not_found for a missing folder or a file. */
  list(folder = ''): FolderChild[] {
    const base = normalizeFolderPath(folder);
    const dir = this.node(base);
    if (dir === undefined || dir.kind !== 'dir') fail('path_not_found', base, `No folder ${JSON.stringify(base)}`);
    const prefix = base === '' ? '' : `${base}/`;
    return dir.sorted.map((name) => {
      const c = dir.children.get(name)!;
      return c.kind === 'file'
        ? { name, path: prefix + name, kind: 'file' as const, hash: c.sha256, size: c.size, fileCount: 1 }
        : { name, path: prefix + name, kind: 'folder' as const, hash: c.hash!, size: c.size, fileCount: c.fileCount };
    });
  }

  private node(path: string): Node | undefined {
    if (path === '') return this.root;
    let n: Node | undefined = this.root;
    for (const s of path.split('/')) {
      if (n.kind !== 'dir') return undefined;
      n = n.children.get(s);
      if (n === undefined) return undefined;
    }
    return n;
  }
}

/** Root hash of a flat list (validating it); the hash a client can recompute to check a download. */
export function rootHashOf(entries: Iterable<FileEntry>): string {
  return DatasetTree.fromEntries(entries).rootHash;
}
