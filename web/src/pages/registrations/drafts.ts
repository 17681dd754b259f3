import { vault } from '../../offline/store.js';

/**
 * Declaration drafts, kept on this device while the person types, in their encrypted vault
 * (web/src/offline/, docs/offline.md): only the signed-in person's drafts are readable, so two
 * people sharing a field device never see each other's declarations; one person can have several
 * declarations under way (keyed by draft id). A draft keeps its transactionId: a submit that
 * reached the server just before the session expired is applied once when retried after signing
 * in again. The vault keeps drafts in memory once opened, so these calls stay synchronous; each
 * change is written through to IndexedDB at once.
 */
export interface Draft {
  id: string;
  type: string;
  /** The type version the form was rendered from; a restored draft is shown with the same one. */
  typeVersion?: number;
  data: Record<string, unknown>;
  transactionId: string;
  page: number;
  savedAt: string;
}

const KEY = 'registration.';

function parse(raw: unknown): Draft | undefined {
  const d = raw as Partial<Draft> | null | undefined;
  if (!d || typeof d.id !== 'string' || typeof d.type !== 'string' || typeof d.transactionId !== 'string' || !d.data || typeof d.data !== 'object') return undefined;
  return { id: d.id, type: d.type, typeVersion: d.typeVersion, data: d.data, transactionId: d.transactionId, page: typeof d.page === 'number' ? d.page : 0, savedAt: d.savedAt ?? '' };
}

/** The vault of `userId`, if it is the one open (it always is inside the signed-in app). */
const mine = (userId: string) => {
  const v = vault();
  return v?.userId === userId ? v : undefined;
};

export function readDraft(userId: string, id: string): Draft | undefined {
  return parse(mine(userId)?.get('draft', KEY + id));
}

/** Returns false when the device refused to store it (storage full or disabled). */
export function writeDraft(userId: string, draft: Draft): boolean {
  const v = mine(userId);
  if (!v || v.failed) return false;
  void v.put('draft', KEY + draft.id, draft);
  return true;
}

export function removeDraft(userId: string, id: string): void {
  void mine(userId)?.remove('draft', KEY + id);
}

/** This user's drafts, newest first. */
export function listDrafts(userId: string): Draft[] {
  const out: Draft[] = [];
  for (const [k, raw] of mine(userId)?.list('draft') ?? []) {
    if (!k.startsWith(KEY)) continue;
    const d = parse(raw);
    if (d) out.push(d);
  }
  return out.sort((a, b) => b.savedAt.localeCompare(a.savedAt));
}

export function newDraft(type: string, typeVersion?: number): Draft {
  return { id: crypto.randomUUID(), type, typeVersion, data: {}, transactionId: crypto.randomUUID(), page: 0, savedAt: new Date().toISOString() };
}
