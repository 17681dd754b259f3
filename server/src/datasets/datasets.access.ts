import { createHash } from 'node:crypto';
import type { Db } from '../database/database.js';
import { can, type AuthContext } from '../kernel/access.js';
import { fail } from '../kernel/errors.js';
import { datasetsStore, type DatasetsTable } from './datasets.store.js';

/** Roles on one dataset, weakest first. */
export const DATASET_ROLES = ['read', 'edit', 'admin'] as const;
export type DatasetRole = (typeof DATASET_ROLES)[number];
export const roleAtLeast = (role: DatasetRole | null, min: DatasetRole) => role !== null && DATASET_ROLES.indexOf(role) >= DATASET_ROLES.indexOf(min);

/** Who is asking: the usual auth context plus, optionally, an anonymous reviewer link's token. */
export interface DatasetCaller {
  auth: AuthContext;
  review?: string;
}

export const REVIEW_PREFIX = 'cairn_rev_';
export const hashReviewToken = (token: string) => createHash('sha256').update(token).digest();

/**
 * The caller's effective role on a dataset, or null. Membership is capped by the token's scopes
 * (a read-only API token of an editor stays read-only); public datasets and valid reviewer links
 * give read access to anyone, signed in or not.
 */
export async function roleOn(db: Db, caller: DatasetCaller, ds: DatasetsTable): Promise<DatasetRole | null> {
  const { auth } = caller;
  let role: DatasetRole | null = null;
  if (auth.actor.kind === 'user' || auth.actor.kind === 'system') {
    if (can(auth, 'datasets:manage')) role = 'admin';
    else if (auth.actor.kind === 'user') {
      const own: DatasetRole | null = ds.owner_id === auth.actor.userId ? 'admin' : ((await datasetsStore.memberRole(db, ds.id, auth.actor.userId)) as DatasetRole | undefined) ?? null;
      if (own && can(auth, 'datasets:write')) role = own;
      else if (own && can(auth, 'datasets:read')) role = 'read';
    }
  }
  if (role) return role;
  if (ds.public) return 'read';
  if (caller.review) {
    const link = await datasetsStore.linkByHash(db, hashReviewToken(caller.review));
    if (link && link.dataset_id === ds.id && !link.revoked_at && link.expires_at > new Date()) return 'read';
  }
  return null;
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
