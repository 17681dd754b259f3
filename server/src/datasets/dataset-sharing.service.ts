import { randomBytes } from 'node:crypto';
import type { Db } from '../database/database.js';
import { fail } from '../kernel/errors.js';
import { isUuid, newId } from '../kernel/ids.js';
import { requireUser } from '../kernel/access.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import { authStore } from '../auth/auth.store.js';
import { datasetsStore } from './datasets.store.js';
import { DATASET_ROLES, hashReviewToken, requireDatasetRole, REVIEW_PREFIX, type DatasetCaller } from './datasets.access.js';
import { recordDatasetEntry } from './datasets.shared.js';

/**
 * Who may see and change a dataset besides its owner: members with a role, and reviewer links
 * (read-only bearer links for anonymous reviewers, expiring, revocable). See docs/datasets.md.
 */
export class DatasetSharingService {
  constructor(
    private readonly db: Db,
    private readonly ledger: LedgerService,
  ) {}

  async members(caller: DatasetCaller, key: string) {
    const { ds } = await requireDatasetRole(this.db, caller, key, 'read');
    if (caller.auth.actor.kind === 'anonymous') throw fail('unauthenticated', 'Sign in to see who has access');
    const owner = await authStore.userById(this.db, ds.owner_id);
    const members = (await datasetsStore.members(this.db, ds.id)).map((m) => ({ userId: m.user_id, username: m.username, role: m.role }));
    return { owner: { userId: ds.owner_id, username: owner?.username ?? '' }, members };
  }

  async setMember(caller: DatasetCaller, key: string, userId: string, role: string) {
    const { ds } = await requireDatasetRole(this.db, caller, key, 'admin');
    if (!(DATASET_ROLES as readonly string[]).includes(role)) throw fail('validation_failed', `role must be one of ${DATASET_ROLES.join(', ')}`, [{ pointer: '/role', message: 'invalid role' }]);
    if (!isUuid(userId) || !(await authStore.userById(this.db, userId))) throw fail('not_found', 'No such user');
    if (userId === ds.owner_id) throw fail('conflict', 'The owner is always an admin of the dataset');
    await this.db.transaction().execute(async (trx) => {
      await datasetsStore.setMember(trx, ds.id, userId, role);
      await recordDatasetEntry(this.ledger, trx, caller.auth, ds.id, 'dataset.member_set', { userId, role });
    });
    this.ledger.notifyAppended();
  }

  async removeMember(caller: DatasetCaller, key: string, userId: string) {
    const { ds } = await requireDatasetRole(this.db, caller, key, 'admin');
    await this.db.transaction().execute(async (trx) => {
      if (!isUuid(userId) || !(await datasetsStore.removeMember(trx, ds.id, userId))) throw fail('not_found', 'That user is not a member');
      await recordDatasetEntry(this.ledger, trx, caller.auth, ds.id, 'dataset.member_removed', { userId });
    });
    this.ledger.notifyAppended();
  }

  async createReviewerLink(caller: DatasetCaller, key: string, input: { expiresInDays?: number; note?: string }) {
    const { ds } = await requireDatasetRole(this.db, caller, key, 'admin');
    const user = requireUser(caller.auth);
    const days = input.expiresInDays ?? 30;
    if (!Number.isInteger(days) || days < 1 || days > 365) throw fail('validation_failed', 'expiresInDays must be 1-365', [{ pointer: '/expiresInDays', message: 'out of range' }]);
    const token = REVIEW_PREFIX + randomBytes(24).toString('base64url');
    const id = newId();
    const link = await this.db.transaction().execute(async (trx) => {
      const l = await datasetsStore.insertLink(trx, { id, dataset_id: ds.id, token_hash: hashReviewToken(token), note: (input.note ?? '').slice(0, 500), created_by: user.userId, expires_at: new Date(Date.now() + days * 86_400_000) });
      // The token itself never reaches the ledger: it is a bearer secret.
      await recordDatasetEntry(this.ledger, trx, caller.auth, ds.id, 'dataset.reviewer_link_created', { linkId: id, expiresAt: l.expires_at.toISOString() });
      return l;
    });
    this.ledger.notifyAppended();
    return { ...presentLink(link), token };
  }

  async reviewerLinks(caller: DatasetCaller, key: string) {
    const { ds } = await requireDatasetRole(this.db, caller, key, 'admin');
    return (await datasetsStore.links(this.db, ds.id)).map(presentLink);
  }

  async revokeReviewerLink(caller: DatasetCaller, key: string, linkId: string) {
    const { ds } = await requireDatasetRole(this.db, caller, key, 'admin');
    await this.db.transaction().execute(async (trx) => {
      if (!isUuid(linkId) || !(await datasetsStore.revokeLink(trx, ds.id, linkId))) throw fail('not_found', 'No such active reviewer link');
      await recordDatasetEntry(this.ledger, trx, caller.auth, ds.id, 'dataset.reviewer_link_revoked', { linkId });
    });
    this.ledger.notifyAppended();
  }
}

const presentLink = (l: { id: string; note: string; created_at: Date; expires_at: Date; revoked_at: Date | null }) => ({
  id: l.id,
  note: l.note,
  createdAt: l.created_at.toISOString(),
  expiresAt: l.expires_at.toISOString(),
  revokedAt: l.revoked_at?.toISOString() ?? null,
  active: !l.revoked_at && l.expires_at > new Date(),
});
