import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import semver from 'semver';
import type { Kysely } from 'kysely';
import type { Database, Db } from '../database/database.js';
import { fail } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { can, requireUser, type AuthContext } from '../kernel/access.js';
import type { Logger } from '../kernel/logger.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import type { JobRunner } from '../jobs/jobs.runner.js';
import type { BlobStore } from '../blobs/blobs.store.js';
import { isSha256 } from '../blobs/blobs.store.js';
import { DatasetTree, type FileEntry, type TreeChange } from './datasets.tree.js';
import { normalizePath } from './datasets.paths.js';
import { diffEntries, lineDiff, LINE_DIFF_DEFAULTS } from './datasets.diff.js';
import { datasetsStore, type DatasetsTable, type VersionsTable } from './datasets.store.js';
import { requireDatasetRole, type DatasetCaller, type DatasetRole } from './datasets.access.js';
import { runBuiltinChecks, type Issue } from './datasets.checks.js';
import { runBidsValidator, type BidsOptions } from './datasets.bids.js';
import { mapErrors } from './datasets.errors.js';
import { recordDatasetEntry } from './datasets.shared.js';
import { jsonProblem } from '../kernel/request-text.js';

export const VALIDATE_TASK = 'datasets:validate';
/** Largest change set one commit takes (a 20,000-file upload is one commit). */
export const MAX_CHANGES = 200_000;
export const PREVIEW_MAX_BYTES = 256 * 1024;

export interface DatasetsConfig {
  datasetQuotaBytes: number;
  bidsValidator: boolean;
  /** Where the validator module is, when not `bids-validator` beside the server. */
  bidsValidatorPath?: string;
  bidsValidatorTimeoutMs: number;
}

export const presentVersion = (v: VersionsTable) => ({
  id: v.id,
  kind: v.kind,
  tag: v.tag,
  changelog: v.changelog,
  rootHash: v.root_hash,
  fileCount: v.file_count,
  size: v.size,
  revision: v.revision,
  validation: { status: v.validated_revision === v.revision ? v.validation_status : 'pending', revision: v.validated_revision },
  createdAt: v.created_at.toISOString(),
  updatedAt: v.updated_at.toISOString(),
  deprecated: v.deprecated_at ? { at: v.deprecated_at.toISOString(), reason: v.deprecated_reason ?? '' } : null,
});
export type PublicVersion = ReturnType<typeof presentVersion>;

/**
 * A dataset's versions: the draft (the one mutable version) and its commits, which apply change
 * sets atomically under a row lock on the dataset (so concurrent commits are serialised, never
 * interleaved), write a ledger entry in the same transaction and enqueue validation; snapshots;
 * trees, files, previews and diffs of any version; validation.
 */
export class DatasetVersionsService {
  /** Recently used trees, keyed by version id and root hash (a hash names one exact content). */
  private readonly trees = new Map<string, DatasetTree>();

  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    readonly blobs: BlobStore,
    private readonly jobs: JobRunner,
    private readonly config: DatasetsConfig,
    private readonly log: Logger,
  ) {}

  private access(caller: DatasetCaller, key: string, min: DatasetRole) {
    return requireDatasetRole(this.db, caller, key, min);
  }

  private record(trx: Kysely<Database>, ctx: AuthContext, datasetId: string, type: string, data: Record<string, unknown>) {
    return recordDatasetEntry(this.ledger, trx, ctx, datasetId, type, data);
  }

  // --- versions and trees ------------------------------------------------------------------------
  /** Resolves `draft`, a tag (`1.0.0` or `v1.0.0`) or a version id; readers cannot see the draft. */
  async version(caller: DatasetCaller, key: string, ver: string) {
    const { ds, role } = await this.access(caller, key, 'read');
    const v = typeof ver === 'string' && ver.length <= 80 ? await datasetsStore.version(this.db, ds.id, ver) : undefined;
    if (!v || (v.kind === 'draft' && role === 'read')) throw fail('not_found', `No version ${JSON.stringify(ver)} of ${ds.accession}`);
    return { ds, role, version: v };
  }

  /** The files of a version the caller has already been allowed to read (versions.version). */
  async archiveEntries(v: VersionsTable) {
    return (await this.treeOf(this.db, v)).entries();
  }

  async treeOf(db: Kysely<Database>, v: VersionsTable): Promise<DatasetTree> {
    const k = `${v.id}:${v.root_hash}`;
    const hit = this.trees.get(k);
    if (hit) {
      this.trees.delete(k);
      this.trees.set(k, hit);
      return hit;
    }
    const tree = DatasetTree.fromEntries(await datasetsStore.files(db, v.id), { trusted: true });
    if (tree.rootHash !== v.root_hash) this.log.error({ versionId: v.id }, 'stored files do not match the version root hash');
    this.cacheTree(v.id, tree);
    return tree;
  }

  /** Each content of the draft as it is now, with its size (editors may reference it freely: it is this dataset's). */
  async draftContent(datasetId: string): Promise<Map<string, number>> {
    const tree = await this.treeOf(this.db, await datasetsStore.draft(this.db, datasetId));
    const out = new Map<string, number>();
    for (const e of tree.entries()) out.set(e.sha256, e.size);
    return out;
  }

  private cacheTree(versionId: string, tree: DatasetTree) {
    this.trees.set(`${versionId}:${tree.rootHash}`, tree);
    while (this.trees.size > 16) this.trees.delete(this.trees.keys().next().value!);
  }

  async tree(caller: DatasetCaller, key: string, ver: string, folder = '') {
    const { version } = await this.version(caller, key, ver);
    const tree = await this.treeOf(this.db, version);
    return mapErrors(async () => ({ version: presentVersion(version), path: folder, children: tree.list(folder) }));
  }

  async files(caller: DatasetCaller, key: string, ver: string, folder = '') {
    const { version } = await this.version(caller, key, ver);
    const tree = await this.treeOf(this.db, version);
    return mapErrors(async () => ({ version: presentVersion(version), files: tree.entries(folder) }));
  }

  async file(caller: DatasetCaller, key: string, ver: string, filePath: string): Promise<{ entry: FileEntry; version: VersionsTable; ds: DatasetsTable }> {
    const { ds, version } = await this.version(caller, key, ver);
    const tree = await this.treeOf(this.db, version);
    const entry = await mapErrors(async () => tree.file(filePath));
    if (!entry) throw fail('path_not_found', `No file ${JSON.stringify(filePath)} in this version`);
    return { entry, version, ds };
  }

  async readSmall(entry: FileEntry, max: number): Promise<Buffer> {
    if (entry.size > max) throw fail('payload_too_large', 'File too large');
    const chunks: Buffer[] = [];
    for await (const c of await mapErrors(() => this.blobs.get(entry.sha256))) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async preview(caller: DatasetCaller, key: string, ver: string, filePath: string) {
    const { entry } = await this.file(caller, key, ver, filePath);
    const base = { path: entry.path, size: entry.size, sha256: entry.sha256 };
    if (entry.size > PREVIEW_MAX_BYTES) return { ...base, kind: 'too_large' as const, limit: PREVIEW_MAX_BYTES };
    const bytes = await this.readSmall(entry, PREVIEW_MAX_BYTES);
    let text: string;
    try {
      if (bytes.includes(0)) throw new Error('binary');
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return { ...base, kind: 'binary' as const };
    }
    if (/\.json$/i.test(entry.path)) {
      try {
        const json = JSON.parse(text) as unknown;
        // Answering a parsed tree means serialising it, and JSON.stringify overflows the stack
        // a few thousand levels down (a 500): deeper files preview as their text.
        if (jsonProblem(json, { strings: false })) return { ...base, kind: 'text' as const, text };
        return { ...base, kind: 'json' as const, text, json };
      } catch {
        return { ...base, kind: 'text' as const, text };
      }
    }
    if (/\.tsv$/i.test(entry.path)) {
      const rows = text.split('\n').filter((l, i, a) => !(i === a.length - 1 && l === '')).slice(0, 1001).map((l) => l.replace(/\r$/, '').split('\t'));
      return { ...base, kind: 'tsv' as const, text, rows };
    }
    return { ...base, kind: 'text' as const, text };
  }

  async diff(caller: DatasetCaller, key: string, from: string, to: string) {
    const a = await this.version(caller, key, from);
    const b = await this.version(caller, key, to);
    const [ta, tb] = [await this.treeOf(this.db, a.version), await this.treeOf(this.db, b.version)];
    return { from: presentVersion(a.version), to: presentVersion(b.version), ...diffEntries(ta.entries(), tb.entries()) };
  }

  /** A line diff of one file between two versions (`oldPath` for a renamed file). */
  async lineDiff(caller: DatasetCaller, key: string, from: string, to: string, filePath: string, oldPath?: string) {
    const a = await this.version(caller, key, from);
    const b = await this.version(caller, key, to);
    const before = (await this.treeOf(this.db, a.version)).file(normalizePath(oldPath ?? filePath));
    const after = (await this.treeOf(this.db, b.version)).file(normalizePath(filePath));
    if (!before && !after) throw fail('path_not_found', `No file ${JSON.stringify(filePath)} in either version`);
    const max = LINE_DIFF_DEFAULTS.maxBytes;
    if ((before?.size ?? 0) > max || (after?.size ?? 0) > max) return { path: filePath, oldPath: oldPath ?? filePath, diff: { kind: 'too_large' as const } };
    const bb = before ? await this.readSmall(before, max) : Buffer.alloc(0);
    const ab = after ? await this.readSmall(after, max) : Buffer.alloc(0);
    return { path: filePath, oldPath: oldPath ?? filePath, diff: lineDiff(bb, ab) };
  }

  // --- commits ----------------------------------------------------------------------------------
  /**
   * Applies a change set to the draft atomically. `trustedHashes` are blobs the caller just proved
   * (uploaded in its session); any other `put` must name content the caller can already read.
   */
  async applyChanges(
    caller: DatasetCaller,
    key: string,
    changes: TreeChange[],
    opts: { baseRevision?: number; message?: string; trustedHashes?: Map<string, number>; sessionId?: string; onCommitted?: (trx: Kysely<Database>) => Promise<void> } = {},
  ) {
    const { ds } = await this.access(caller, key, 'edit');
    const user = requireUser(caller.auth);
    if (!Array.isArray(changes) || changes.length === 0) throw fail('validation_failed', 'Send at least one change', [{ pointer: '/changes', message: 'empty' }]);
    if (changes.length > MAX_CHANGES) throw fail('payload_too_large', `A commit holds at most ${MAX_CHANGES} changes`);
    const wanted = new Map<string, number>();
    changes.forEach((c, i) => {
      if (c.op !== 'put') return;
      if (!isSha256(c.sha256)) throw fail('blob_invalid_hash', `Change ${i}: sha256 must be 64 lowercase hexadecimal characters`, [{ pointer: `/changes/${i}/sha256`, message: 'invalid hash' }]);
      if (!Number.isSafeInteger(c.size) || c.size < 0) throw fail('validation_failed', `Change ${i}: size must be a non-negative integer`, [{ pointer: `/changes/${i}/size`, message: 'invalid size' }]);
      wanted.set(c.sha256, c.size);
    });
    // Content already in the draft needs no lookup: an unchanged re-upload puts 20,000 of those.
    const inDraft = wanted.size ? await this.draftContent(ds.id) : new Map<string, number>();
    const unknown = [...wanted.keys()].filter((h) => !opts.trustedHashes?.has(h) && !inDraft.has(h));
    const known = await datasetsStore.knownBlobs(this.db, unknown, { datasetId: ds.id, userId: user.userId, everything: can(caller.auth, 'datasets:manage'), sessionId: opts.sessionId });
    for (const [h, s] of opts.trustedHashes ?? []) known.set(h, s);
    for (const h of wanted.keys()) if (inDraft.has(h)) known.set(h, inDraft.get(h)!);
    const missing = [...wanted.keys()].filter((h) => !known.has(h));
    if (missing.length) {
      throw fail('upload_missing', `${missing.length} file(s) reference content that was not uploaded; upload them first`, { missing: missing.slice(0, 100) });
    }
    changes.forEach((c, i) => {
      if (c.op === 'put' && known.get(c.sha256) !== c.size) {
        throw fail('blob_size_mismatch', `Change ${i}: ${c.path} announces ${c.size} bytes, its content has ${known.get(c.sha256)}`, [{ pointer: `/changes/${i}/size`, message: 'size mismatch' }]);
      }
    });

    await this.jobs.ready();
    const result = await mapErrors(() =>
      this.db.transaction().execute(async (trx) => {
        // The row lock serialises commits (and snapshots) on one dataset; different datasets proceed in parallel.
        const locked = await datasetsStore.lock(trx, ds.id);
        const draft = await datasetsStore.draft(trx, ds.id);
        if (opts.baseRevision !== undefined && opts.baseRevision !== draft.revision) {
          throw fail('draft_conflict', `The draft is at revision ${draft.revision}, not ${opts.baseRevision}: someone else committed; review and retry`, { revision: draft.revision, rootHash: draft.root_hash });
        }
        await opts.onCommitted?.(trx);
        const before = await this.treeOf(trx, draft);
        const after = before.apply(changes);
        if (after.rootHash === before.rootHash) return { draft, tree: before, changed: false, summary: diffEntries([], []).summary };
        const quota = locked.quota_bytes ?? this.config.datasetQuotaBytes;
        if (after.size > quota) throw fail('quota_exceeded', `The draft would hold ${after.size} bytes, over this dataset's quota of ${quota}`, { size: after.size, quota });
        const old = new Map(before.entries().map((e) => [e.path, e]));
        const removed: string[] = [];
        const added: FileEntry[] = [];
        const nextEntries = after.entries();
        const nextPaths = new Set<string>();
        for (const e of nextEntries) {
          nextPaths.add(e.path);
          const o = old.get(e.path);
          if (!o) added.push(e);
          else if (o.sha256 !== e.sha256 || o.size !== e.size) {
            removed.push(e.path);
            added.push(e);
          }
        }
        for (const p of old.keys()) if (!nextPaths.has(p)) removed.push(p);
        await datasetsStore.writeFiles(trx, draft.id, removed, added);
        const updated = await datasetsStore.updateVersion(trx, draft.id, {
          root_hash: after.rootHash,
          file_count: after.fileCount,
          size: after.size,
          revision: draft.revision + 1,
          validation_status: 'pending',
        });
        const summary = diffEntries(before.entries(), nextEntries).summary;
        await this.record(trx, caller.auth, ds.id, 'dataset.committed', {
          revision: updated.revision,
          rootHash: after.rootHash,
          fileCount: after.fileCount,
          size: after.size,
          summary,
          ...(opts.message ? { message: opts.message.slice(0, 2000) } : {}),
          ...(opts.sessionId ? { sessionId: opts.sessionId } : {}),
          // Small change sets are recorded whole; large ones by their count (entries stay under 1 MiB).
          ...(changes.length <= 500 ? { changes } : { changeCount: changes.length }),
        });
        await this.jobs.enqueue(trx, VALIDATE_TASK, { datasetId: ds.id }, { jobKey: `validate:${ds.id}`, maxAttempts: 3 });
        return { draft: updated, tree: after, changed: true, summary };
      }),
    );
    if (result.changed) {
      this.cacheTree(result.draft.id, result.tree);
      this.ledger.notifyAppended();
    }
    return { draft: presentVersion(result.draft), changed: result.changed, summary: result.summary };
  }

  // --- snapshots ------------------------------------------------------------------------------
  async snapshot(caller: DatasetCaller, key: string, input: { bump?: 'major' | 'minor' | 'patch'; version?: string; changelog: string }) {
    const { ds } = await this.access(caller, key, 'edit');
    const user = requireUser(caller.auth);
    const changelog = (input.changelog ?? '').trim();
    if (!changelog) throw fail('validation_failed', 'A snapshot needs a changelog', [{ pointer: '/changelog', message: 'empty' }]);
    if ((input.bump === undefined) === (input.version === undefined)) throw fail('validation_failed', 'Give either bump (major, minor, patch) or version', [{ pointer: '/bump', message: 'one of bump or version' }]);
    let draft = await datasetsStore.draft(this.db, ds.id);
    if (draft.file_count === 0) throw fail('draft_invalid', 'The draft is empty: upload files before taking a snapshot');
    // Never snapshot on a stale verdict: validate now if the background job has not caught up.
    if (draft.validated_revision !== draft.revision) {
      await this.validate(ds.id);
      draft = await datasetsStore.draft(this.db, ds.id);
    }
    const snap = await this.db.transaction().execute(async (trx) => {
      await datasetsStore.lock(trx, ds.id);
      const d = await datasetsStore.draft(trx, ds.id);
      if (d.revision !== draft.revision || d.validated_revision !== d.revision) throw fail('draft_conflict', 'The draft changed while it was being validated; retry');
      if (d.validation_status === 'failed') {
        const errors = (await datasetsStore.issues(trx, d.id)).filter((i) => i.severity === 'error');
        throw fail('draft_invalid', `The draft has ${errors.length} validation error(s); fix them before taking a snapshot`, { issues: errors.slice(0, 50).map(presentIssue) });
      }
      const tags = await datasetsStore.snapshotTags(trx, ds.id);
      const latest = tags.sort(semver.rcompare)[0];
      let tag: string;
      if (input.version !== undefined) {
        const v = semver.valid(input.version.replace(/^v/, ''));
        if (!v) throw fail('validation_failed', `${JSON.stringify(input.version)} is not a semantic version such as 1.2.0`, [{ pointer: '/version', message: 'not semver' }]);
        if (tags.includes(v)) throw fail('version_exists', `Version ${v} already exists`);
        if (latest && !semver.gt(v, latest)) throw fail('version_exists', `Version ${v} must be greater than the latest snapshot ${latest}`);
        tag = v;
      } else {
        tag = latest ? semver.inc(latest, input.bump!)! : input.bump === 'patch' ? '0.0.1' : input.bump === 'minor' ? '0.1.0' : '1.0.0';
      }
      const v = await datasetsStore.insertVersion(trx, {
        id: newId(),
        dataset_id: ds.id,
        kind: 'snapshot',
        tag,
        changelog,
        root_hash: d.root_hash,
        file_count: d.file_count,
        size: d.size,
        revision: 0,
        validated_revision: 0,
        validation_status: d.validation_status,
        created_by: user.userId,
      });
      await datasetsStore.copyFiles(trx, d.id, v.id);
      const issues = await datasetsStore.issues(trx, d.id);
      await datasetsStore.replaceIssues(trx, v.id, 0, issues.map((i) => ({ code: i.code, severity: i.severity, file: i.file, message: i.message })));
      await this.record(trx, caller.auth, ds.id, 'dataset.snapshot_created', { versionId: v.id, tag, changelog, rootHash: v.root_hash, fileCount: v.file_count, size: v.size });
      return v;
    });
    this.ledger.notifyAppended();
    return presentVersion(snap);
  }

  async deprecate(caller: DatasetCaller, key: string, tag: string, reason: string) {
    const { ds, version } = await this.version(caller, key, tag);
    await this.access(caller, ds.id, 'admin');
    if (version.kind !== 'snapshot') throw fail('validation_failed', 'Only snapshots can be deprecated');
    if (!reason?.trim()) throw fail('validation_failed', 'Give a reason for the deprecation', [{ pointer: '/reason', message: 'empty' }]);
    if (version.deprecated_at) throw fail('conflict', `${version.tag} is already deprecated`);
    const v = await this.db.transaction().execute(async (trx) => {
      const u = await datasetsStore.updateVersion(trx, version.id, { deprecated_at: new Date(), deprecated_reason: reason.trim().slice(0, 2000) });
      await this.record(trx, caller.auth, ds.id, 'dataset.snapshot_deprecated', { versionId: version.id, tag: version.tag, reason: u.deprecated_reason });
      return u;
    });
    this.ledger.notifyAppended();
    return presentVersion(v);
  }

  // --- validation -----------------------------------------------------------------------------
  async enqueueValidation(datasetId: string) {
    await this.jobs.ready();
    await this.jobs.enqueue(this.db, VALIDATE_TASK, { datasetId }, { jobKey: `validate:${datasetId}`, maxAttempts: 3 });
  }

  async validationOf(caller: DatasetCaller, key: string, ver: string) {
    const { version } = await this.version(caller, key, ver);
    const current = version.validated_revision === version.revision;
    return {
      version: presentVersion(version),
      status: current ? version.validation_status : 'pending',
      issues: current ? (await datasetsStore.issues(this.db, version.id)).map(presentIssue) : [],
    };
  }

  async requestValidation(caller: DatasetCaller, key: string) {
    const { ds } = await this.access(caller, key, 'edit');
    await this.enqueueValidation(ds.id);
  }

  /** Validates the draft as it is now; a result for a revision that has since changed is dropped. */
  async validate(datasetId: string): Promise<void> {
    const draft = await datasetsStore.draft(this.db, datasetId);
    const ds = (await datasetsStore.byIdOrAccession(this.db, datasetId))!;
    const entries = (await this.treeOf(this.db, draft)).entries();
    const issues: Issue[] = await mapErrors(() => runBuiltinChecks(entries, ds.profile, (e) => this.readSmall(e, Number.MAX_SAFE_INTEGER)));
    if (this.config.bidsValidator) {
      const options = { ignoreEmptyFiles: ds.bids_ignore_empty_files, ignoreNiftiHeaders: ds.bids_ignore_nifti_headers, modulePath: this.config.bidsValidatorPath, timeoutMs: this.config.bidsValidatorTimeoutMs };
      issues.push(...(await this.runBids(entries, ds.profile === 'bids' || entries.some((e) => e.path === 'dataset_description.json'), options)));
    }
    const status = issues.some((i) => i.severity === 'error') ? 'failed' : issues.length ? 'warnings' : 'passed';
    await this.db.transaction().execute(async (trx) => {
      if ((await datasetsStore.lockVersionRevision(trx, draft.id)) !== draft.revision) return;
      await datasetsStore.replaceIssues(trx, draft.id, draft.revision, issues);
      await datasetsStore.updateVersion(trx, draft.id, { validated_revision: draft.revision, validation_status: status });
    });
  }

  private async runBids(entries: FileEntry[], applies: boolean, options: BidsOptions): Promise<Issue[]> {
    if (!applies) return [];
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cairn-bids-'));
    try {
      for (const e of entries) {
        const target = path.join(dir, ...e.path.split('/'));
        await fs.mkdir(path.dirname(target), { recursive: true });
        await pipeline(await this.blobs.get(e.sha256), (await fs.open(target, 'w')).createWriteStream());
      }
      return await runBidsValidator(dir, options);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
}


export const presentIssue = (i: { code: string; severity: string; file: string | null; message: string }) => ({ code: i.code, severity: i.severity, file: i.file, message: i.message });
