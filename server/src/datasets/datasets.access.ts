import { createHash } from 'node:crypto';
import type { Db } from '../database/database.js';
import { can, type AuthContext } from '../kernel/access.js';
import { fail } from '../kernel/errors.js';
import { DATASET_ROLES, datasetRole, datasetRoleAtLeast, type DatasetResource, type DatasetRole } from '../policies/policies.js';
import { datasetsStore, type DatasetsTable } from './datasets.store.js';

export { DATASET_ROLES, type DatasetRole };
export const roleAtLeast = datasetRoleAtLeast;

/** Who is asking: the usual auth context plus, optionally, an anonymous reviewer link's token. */
export interface DatasetCaller {
  auth: AuthContext;
  review?: string;
}

export const REVIEW_PREFIX = 'cairn_rev_';
export const hashReviewToken = (token: string) => createHash('sha256').update(token).digest();

/**
 * The caller's effective role on a dataset, or null: the facts are loaded here, the rule is the
 * policy module's (policies/policies.ts). A membership is looked up only when it could matter, a
 * reviewer link only when nothing else gives access.
 */
export async function roleOn(db: Db, caller: DatasetCaller, ds: DatasetsTable): Promise<DatasetRole | null> {
  const { auth } = caller;
  const facts: DatasetResource = { kind: 'dataset', ownerId: ds.owner_id, public: ds.public, memberRole: null, reviewLink: false };
  if (auth.actor.kind === 'user' && !can(auth, 'datasets:manage') && ds.owner_id !== auth.actor.userId) {
    facts.memberRole = ((await datasetsStore.memberRole(db, ds.id, auth.actor.userId)) as DatasetRole | undefined) ?? null;
  }
  const role = datasetRole(auth, facts);
  if (role || !caller.review) return role;
  const link = await datasetsStore.linkByHash(db, hashReviewToken(caller.review));
  facts.reviewLink = !!link && link.dataset_id === ds.id && !link.revoked_at && link.expires_at > new Date();
  return datasetRole(auth, facts);
}

/** Not found (never forbidden) for callers who cannot read: private datasets do not leak their existence. */
export async function requireDatasetRole(db: Db, caller: DatasetCaller, key: string, min: DatasetRole): Promise<{ ds: DatasetsTable; role: DatasetRole }> {
  const ds = typeof key === 'string' && key.length <= 64 ? await datasetsStore.byIdOrAccession(db, key) : undefined;
  const role = ds ? await roleOn(db, caller, ds) : null;
  if (!ds || !role) {
    if (caller.review) {
      // The same answer, after the same lookups, whether the dataset exists or not: accessions
      // are sequential, so a different answer for a missing one would list the private ones.
      if (!ds) await datasetsStore.linkByHash(db, hashReviewToken(caller.review));
      throw fail('unauthenticated', 'This reviewer link is not valid for this dataset, has expired or was revoked');
    }
    throw fail('not_found', 'No such dataset');
  }
  if (!roleAtLeast(role, min)) {
    if (caller.auth.actor.kind === 'anonymous') throw fail('unauthenticated', 'Sign in to change this dataset');
    throw fail('forbidden', `This needs the ${min} role on the dataset`);
  }
  return { ds, role };
}
