import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from './logger.js';

/**
 * Everything the server keeps on disk (blobs, staged uploads, the instance secret, temporary
 * files) is private to the server's OS user: directories 0700, files 0600. New files get it from
 * the process umask (0077, set at start) and from explicit modes where files are created; files an
 * older version left readable are fixed at start.
 *
 * Two exceptions, both owned by the embedded PostgreSQL: `<data dir>/pg` (its cluster, kept 0700
 * by PostgreSQL itself and owned by the `cairn-pg` user when Cairn runs as root) and
 * `<data dir>/run` (its socket directory). When PostgreSQL runs as `cairn-pg`, the data directory
 * itself is 0711 (that user must traverse it to reach its own directory; nobody can list it).
 */
export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;
const MARKER = '.private-modes';
const MARKER_VERSION = '1';

/** The process's file-creation mask: nothing it creates is readable by group or others. */
export function setPrivateUmask(): void {
  try {
    process.umask(0o077);
  } catch {
    // Worker threads cannot change the umask; their files get explicit modes.
  }
}

export interface PrivateRoots {
  dataDir: string;
  /** Further directories the server writes to (a blob directory or upload directory elsewhere). */
  others: string[];
  /** The embedded PostgreSQL runs as another OS user: the data dir must stay traversable (0711). */
  sharedDataDir: boolean;
}

/**
 * Makes the roots private at every start (cheap, and a 0700 directory alone hides everything
 * below it from other users), and once per data directory walks them to fix every older file.
 */
export async function makePrivate(roots: PrivateRoots, log?: Logger): Promise<{ fixed: number }> {
  const uid = process.getuid?.();
  await fs.mkdir(roots.dataDir, { recursive: true, mode: PRIVATE_DIR });
  await chmodIfOwned(roots.dataDir, roots.sharedDataDir ? 0o711 : PRIVATE_DIR, uid);
  const all = [...new Set(roots.others.map((d) => path.resolve(d)))];
  for (const dir of all) {
    await fs.mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
    await chmodIfOwned(dir, PRIVATE_DIR, uid);
  }
  const others = all.filter((d) => !inside(d, roots.dataDir));
  const marker = path.join(roots.dataDir, MARKER);
  const done = await fs.readFile(marker, 'utf8').then((t) => t.trim() === MARKER_VERSION, () => false);
  let fixed = 0;
  if (!done) {
    const skip = new Set([path.join(roots.dataDir, 'pg'), path.join(roots.dataDir, 'run')]);
    for (const dir of [roots.dataDir, ...others]) fixed += await walk(dir, skip, uid);
    await fs.writeFile(marker, `${MARKER_VERSION}\n`, { mode: PRIVATE_FILE });
    if (fixed) log?.info({ fixed }, 'made older data files private to the server user');
  }
  return { fixed };
}

async function walk(dir: string, skip: Set<string>, uid: number | undefined): Promise<number> {
  let fixed = 0;
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (skip.has(p)) continue;
    // Symbolic links are neither followed nor changed: chmod would act on what they point to.
    if (e.isDirectory()) {
      if (await chmodIfOwned(p, PRIVATE_DIR, uid)) fixed++;
      fixed += await walk(p, skip, uid);
    } else if (e.isFile()) {
      if (await chmodIfOwned(p, PRIVATE_FILE, uid)) fixed++;
    }
  }
  return fixed;
}

async function chmodIfOwned(p: string, mode: number, uid: number | undefined): Promise<boolean> {
  try {
    const st = await fs.lstat(p);
    if (st.isSymbolicLink() || (uid !== undefined && st.uid !== uid)) return false;
    if ((st.mode & 0o777) === mode) return false;
    await fs.chmod(p, mode);
    return true;
  } catch {
    return false;
  }
}

const inside = (p: string, dir: string) => p === dir || p.startsWith(dir + path.sep);
