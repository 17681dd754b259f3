/**
 * Declaration drafts, kept on this device while the person types. Keyed by user, so two people
 * sharing a field device never see each other's declarations, and by draft id, so one person can
 * have several declarations under way. A draft keeps its transactionId: a submit that reached the
 * server just before the session expired is applied once when retried after signing in again.
 *
 * localStorage rather than IndexedDB: drafts are small (documents are uploaded as soon as they
 * are picked and the draft holds only their references; a signature is a few kilobytes of PNG),
 * and a synchronous write on every change cannot be lost to a tab closed mid-transaction.
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

const PREFIX = 'cairn.registration-draft.';
const key = (userId: string, id: string) => `${PREFIX}${userId}.${id}`;

function parse(raw: string | null): Draft | undefined {
  if (!raw) return undefined;
  try {
    const d = JSON.parse(raw) as Partial<Draft> | null;
    if (!d || typeof d.id !== 'string' || typeof d.type !== 'string' || typeof d.transactionId !== 'string' || !d.data || typeof d.data !== 'object') return undefined;
    return { id: d.id, type: d.type, typeVersion: d.typeVersion, data: d.data, transactionId: d.transactionId, page: typeof d.page === 'number' ? d.page : 0, savedAt: d.savedAt ?? '' };
  } catch {
    return undefined;
  }
}

export function readDraft(userId: string, id: string): Draft | undefined {
  return parse(localStorage.getItem(key(userId, id)));
}

/** Returns false when the device refused to store it (storage full or disabled). */
export function writeDraft(userId: string, draft: Draft): boolean {
  try {
    localStorage.setItem(key(userId, draft.id), JSON.stringify(draft));
    return true;
  } catch {
    return false;
  }
}

export function removeDraft(userId: string, id: string): void {
  localStorage.removeItem(key(userId, id));
}

/** This user's drafts, newest first. */
export function listDrafts(userId: string): Draft[] {
  const out: Draft[] = [];
  const prefix = `${PREFIX}${userId}.`;
  for (let i = 0; i < localStorage.length; i++) {
    const k = localStorage.key(i);
    if (!k?.startsWith(prefix)) continue;
    const d = parse(localStorage.getItem(k));
    if (d) out.push(d);
  }
  return out.sort((a, b) => b.savedAt.localeCompare(a.savedAt));
}

export function newDraft(type: string, typeVersion?: number): Draft {
  return { id: crypto.randomUUID(), type, typeVersion, data: {}, transactionId: crypto.randomUUID(), page: 0, savedAt: new Date().toISOString() };
}
