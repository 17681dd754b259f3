import type { CreateDatasetRequest } from '@cairn/sdk';
import { Readable } from 'node:stream';
import semver from 'semver';
import type { Kysely } from 'kysely';
import type { Database, Db } from '../database/database.js';
import { fail } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import { actorRef, can, requireUser, type AuthContext } from '../kernel/access.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import type { JobRunner } from '../jobs/jobs.runner.js';
import type { BlobStore } from '../blobs/blobs.store.js';
import { EMPTY_TREE_HASH } from './datasets.tree.js';
import { datasetsStore, type DatasetsTable } from './datasets.store.js';
import { requireDatasetRole, roleOn, type DatasetCaller, type DatasetRole } from './datasets.access.js';
import { recordDatasetEntry } from './datasets.shared.js';
import { presentVersion, type DatasetVersionsService } from './dataset-versions.service.js';

/** What creating a dataset takes: the API's own shape (`CreateDatasetRequest` in the SDK). */
export type CreateDatasetInput = CreateDatasetRequest;

export type UpdateDatasetInput = Partial<Omit<CreateDatasetInput, 'readme' | 'profile'>> & { quotaBytes?: number | null };

const presentDataset = (d: DatasetsTable, role: DatasetRole | null) => ({
  id: d.id,
  accession: d.accession,
  title: d.title,
  description: d.description,
  license: d.license,
  authors: d.authors as string[],
  modalities: d.modalities,
  profile: d.profile,
  public: d.public,
  ownerId: d.owner_id,
  quotaBytes: d.quota_bytes,
  bidsOptions: { ignoreEmptyFiles: d.bids_ignore_empty_files, ignoreNiftiHeaders: d.bids_ignore_nifti_headers },
  role,
  createdAt: d.created_at.toISOString(),
  updatedAt: d.updated_at.toISOString(),
});

const cleanList = (xs: string[] | undefined, max: number) => (xs ? [...new Set(xs.map((x) => x.trim()).filter(Boolean))].slice(0, max) : undefined);

/**
 * Datasets: creating one (with its empty draft), reading, updating its description and
 * visibility, listing and searching, and its history. Versions, commits, snapshots and
 * validation are DatasetVersionsService's; members and reviewer links DatasetSharingService's.
 */
export class DatasetsService {
  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
    private readonly blobs: BlobStore,
    private readonly jobs: JobRunner,
    /** A README given at creation is the draft's first commit; changes to validator options re-validate. */
    private readonly versions: DatasetVersionsService,
  ) {}

  access(caller: DatasetCaller, key: string, min: DatasetRole) {
    return requireDatasetRole(this.db, caller, key, min);
  }

  private record(trx: Kysely<Database>, ctx: AuthContext, datasetId: string, type: string, data: Record<string, unknown>) {
    return recordDatasetEntry(this.ledger, trx, ctx, datasetId, type, data);
  }

  // --- datasets ------------------------------------------------------------------------------
  async create(ctx: AuthContext, input: CreateDatasetInput) {
    const user = requireUser(ctx);
    if (!can(ctx, 'datasets:write')) throw fail('forbidden', 'This needs the datasets:write permission');
    const title = input.title.trim();
    if (!title) throw fail('validation_failed', 'A dataset needs a title', [{ pointer: '/title', message: 'empty' }]);
    const id = newId();
    await this.jobs.ready();
    const created = await this.db.transaction().execute(async (trx) => {
      const accession = await datasetsStore.nextAccession(trx);
      const ds = await datasetsStore.insert(trx, {
        id,
        accession,
        title,
        description: input.description ?? '',
        license: input.license?.trim() ?? '',
        authors: cleanList(input.authors, 200) ?? [],
        modalities: (cleanList(input.modalities, 50) ?? []).map((m) => m.toLowerCase()),
        profile: input.profile ?? 'generic',
        public: input.public ?? false,
        owner_id: user.userId,
        quota_bytes: null,
        bids_ignore_empty_files: input.bidsOptions?.ignoreEmptyFiles ?? false,
        bids_ignore_nifti_headers: input.bidsOptions?.ignoreNiftiHeaders ?? false,
      });
      const draft = await datasetsStore.insertVersion(trx, {
        id: newId(),
        dataset_id: id,
        kind: 'draft',
        tag: null,
        changelog: null,
        root_hash: EMPTY_TREE_HASH,
        file_count: 0,
        size: 0,
        revision: 0,
        validated_revision: null,
        validation_status: 'pending',
        created_by: user.userId,
      });
      await this.record(trx, ctx, id, 'dataset.created', { accession, title, public: ds.public, profile: ds.profile });
      return { ds, draft };
    });
    this.ledger.notifyAppended();
    if (input.readme !== undefined && input.readme !== '') {
      const r = await this.blobs.put(Readable.from([Buffer.from(input.readme, 'utf8')]));
      await this.versions.applyChanges({ auth: ctx }, id, [{ op: 'put', path: 'README.md', sha256: r.sha256, size: r.size }], { trustedHashes: new Map([[r.sha256, r.size]]) });
    } else {
      await this.versions.enqueueValidation(created.ds.id);
    }
    return this.get({ auth: ctx }, id);
  }

  async get(caller: DatasetCaller, key: string) {
    const { ds, role } = await this.access(caller, key, 'read');
    const versions = await datasetsStore.versions(this.db, ds.id);
    const draft = versions.find((v) => v.kind === 'draft')!;
    const snapshots = versions.filter((v) => v.kind === 'snapshot');
    const latest = snapshots.map((s) => s.tag!).sort(semver.rcompare)[0] ?? null;
    return {
      ...presentDataset(ds, role),
      // Readers who cannot edit see the draft only when there is no snapshot yet? No: drafts are work in progress for editors.
      draft: role === 'read' ? null : presentVersion(draft),
      snapshots: snapshots.map(presentVersion).sort((a, b) => semver.rcompare(a.tag!, b.tag!)),
      latestSnapshot: latest,
    };
  }

  async update(caller: DatasetCaller, key: string, input: UpdateDatasetInput) {
    const { ds, role } = await this.access(caller, key, 'edit');
    if ((input.public !== undefined && input.public !== ds.public) || input.quotaBytes !== undefined) {
      if (role !== 'admin') throw fail('forbidden', 'Only dataset admins can change visibility');
      if (input.quotaBytes !== undefined && !can(caller.auth, 'datasets:manage')) throw fail('forbidden', 'Only instance administrators can change a quota');
    }
    const patch: Partial<DatasetsTable> = {};
    if (input.title !== undefined) {
      if (!input.title.trim()) throw fail('validation_failed', 'A dataset needs a title', [{ pointer: '/title', message: 'empty' }]);
      patch.title = input.title.trim();
    }
    if (input.description !== undefined) patch.description = input.description;
    if (input.license !== undefined) patch.license = input.license.trim();
    if (input.authors !== undefined) patch.authors = cleanList(input.authors, 200);
    if (input.modalities !== undefined) patch.modalities = cleanList(input.modalities, 50)!.map((m) => m.toLowerCase());
    if (input.public !== undefined) patch.public = input.public;
    if (input.quotaBytes !== undefined) patch.quota_bytes = input.quotaBytes;
    if (input.bidsOptions?.ignoreEmptyFiles !== undefined) patch.bids_ignore_empty_files = input.bidsOptions.ignoreEmptyFiles;
    if (input.bidsOptions?.ignoreNiftiHeaders !== undefined) patch.bids_ignore_nifti_headers = input.bidsOptions.ignoreNiftiHeaders;
    if (Object.keys(patch).length === 0) return this.get(caller, ds.id);
    await this.db.transaction().execute(async (trx) => {
      await datasetsStore.update(trx, ds.id, patch);
      const data: Record<string, unknown> = { ...patch };
      if (input.public !== undefined && input.public !== ds.public) await this.record(trx, caller.auth, ds.id, input.public ? 'dataset.published' : 'dataset.unpublished', {});
      await this.record(trx, caller.auth, ds.id, 'dataset.updated', { changes: data });
    });
    this.ledger.notifyAppended();
    // The validator's options changed: the draft's BIDS issues are re-checked with them.
    if (patch.bids_ignore_empty_files !== undefined || patch.bids_ignore_nifti_headers !== undefined) await this.versions.enqueueValidation(ds.id);
    return this.get(caller, ds.id);
  }

  async search(ctx: AuthContext, q: { q?: string; author?: string; modality?: string; license?: string; scope?: 'public' | 'mine' | 'all'; limit?: number; offset?: number }) {
    const a = actorRef(ctx);
    const userId = ctx.actor.kind === 'user' && (can(ctx, 'datasets:read') || can(ctx, 'datasets:write')) ? a.id : null;
    const scope = q.scope ?? 'all';
    if (scope === 'mine' && !userId) throw fail('unauthenticated', 'Sign in to list your datasets');
    const r = await datasetsStore.search(this.db, {
      text: q.q?.trim() || undefined,
      author: q.author?.trim() || undefined,
      modality: q.modality?.toLowerCase(),
      license: q.license,
      scope,
      userId,
      everything: can(ctx, 'datasets:manage'),
      limit: Math.min(Math.max(q.limit ?? 50, 1), 200),
      offset: Math.max(q.offset ?? 0, 0),
    });
    const datasets = [];
    for (const d of r.rows) datasets.push(presentDataset(d, await roleOn(this.db, { auth: ctx }, d)));
    return { datasets, total: r.total, facets: r.facets };
  }

  async history(caller: DatasetCaller, key: string, after?: string, limit?: number) {
    const { ds } = await this.access(caller, key, 'read');
    return this.ledger.listScoped({ kind: 'all' }, { stream: `dataset:${ds.id}`, after, limit });
  }
}
