import { isCairnError, type CairnError } from '@cairn/sdk';
import { api } from '../api.js';
import { onVaultChange, vault } from './store.js';
import { AttachmentFailure, attachmentsOf, forgetUnreferenced, localDocument, uploadPending, withUploaded, type Attachment } from './attachments.js';

/**
 * The outbox (docs/offline.md, "The outbox"): what a person confirmed on this device, waiting for
 * the server. Each item is one request carrying the client's transactionId (a retry is applied
 * once) and occurredAt (when the person confirmed it). Items go in the order they were made; an
 * item leaves the outbox only when the server has answered 2xx for it.
 */
export type OutboxState = 'waiting' | 'sending' | 'failed' | 'conflict';

export interface OutboxItem {
  /** The transactionId: the same on every try. */
  id: string;
  seq: number;
  kind: 'registration.create' | 'registration.action' | 'record.create';
  path: string;
  body: Record<string, unknown> & { transactionId: string; occurredAt: string };
  /** What the list shows: what it is and about whom. */
  title: string;
  detail?: string;
  occurredAt: string;
  state: OutboxState;
  error?: { status: number; code: string; message: string; attachment?: string };
  attempts: number;
  /**
   * Files kept on this device that go before the request (photos of documents picked offline):
   * each records the server's documentId as soon as its upload is acknowledged, so a later try
   * sends only the rest. Their local references in `body` are replaced when the request is sent.
   */
  attachments?: Attachment[];
  /** While sending: the attachment being uploaded (0-based). */
  uploading?: number;
  /** The draft it was made from, removed with it once the server has it. */
  draft?: string;
  /** A page of the app about what it acts on (the registration). */
  link?: string;
}

export interface SentNote {
  id: string;
  title: string;
  detail?: string;
  answer: unknown;
}

/** Answers that say "not now" rather than "never": the item waits and is tried again. */
const TRANSIENT = new Set([401, 408, 425, 429, 500, 502, 503, 504]);
const MIN_DELAY_MS = 2_000;
const MAX_DELAY_MS = 60_000;

let running = false;
let again = false;
let timer: ReturnType<typeof setTimeout> | undefined;
let delay = MIN_DELAY_MS;
const sent: SentNote[] = [];
const sentListeners = new Set<() => void>();

export function outboxItems(): OutboxItem[] {
  const v = vault();
  if (!v) return [];
  return v
    .list<OutboxItem>('outbox')
    .map(([, item]) => item)
    .sort((a, b) => a.seq - b.seq);
}

/** Items sent since this page opened, newest first (they are no longer in the outbox). */
export function recentlySent(): SentNote[] {
  return sent;
}
export function onSent(fn: () => void): () => void {
  sentListeners.add(fn);
  return () => sentListeners.delete(fn);
}

/** Adds an item and tries to send it now. Resolves once it is stored on this device. */
export async function enqueue(item: Omit<OutboxItem, 'seq' | 'state' | 'attempts'>): Promise<void> {
  const v = vault();
  if (!v) throw new Error('No signed-in person to keep this for');
  const seq = Math.max(0, ...outboxItems().map((i) => i.seq)) + 1;
  const attachments = attachmentsOf(item.body.data);
  await v.put('outbox', item.id, { ...item, seq, state: 'waiting', attempts: 0, ...(attachments.length ? { attachments } : {}) } satisfies OutboxItem);
  void syncNow();
}

/** The person asks to try a failed or conflicting item again (after fixing what was wrong). */
export async function retry(id: string): Promise<void> {
  const v = vault();
  const item = v?.get<OutboxItem>('outbox', id);
  if (!v || !item) return;
  await v.put('outbox', id, { ...item, state: 'waiting', error: undefined } satisfies OutboxItem);
  delay = MIN_DELAY_MS;
  void syncNow();
}

/** The person gives an item up (after copying its data out, for a conflict). */
export async function discard(id: string): Promise<void> {
  const v = vault();
  const item = v?.get<OutboxItem>('outbox', id);
  if (!v || !item) return;
  await v.remove('outbox', id);
  if (item.attachments) await forgetUnreferenced(v, item.attachments.map((a) => a.local));
}

function schedule(ms: number) {
  clearTimeout(timer);
  timer = setTimeout(() => void syncNow(), ms);
}

function asError(e: unknown): CairnError | undefined {
  return isCairnError(e) ? e : undefined;
}

/**
 * Sends waiting items in order. It stops at the first item that cannot be sent now (no network,
 * session expired, server busy) so nothing overtakes it, and tries again with back-off; an item the
 * server refuses for good (4xx) or in conflict (409) is marked and left for the person, and the
 * rest carry on.
 */
export async function syncNow(): Promise<void> {
  if (running) {
    again = true;
    return;
  }
  const v = vault();
  if (!v) return;
  running = true;
  try {
    const work = async () => {
      for (const item of outboxItems()) {
        if (vault() !== v) return;
        if (item.state === 'failed' || item.state === 'conflict') continue;
        // What is stored as it goes: the attachments' acknowledgements must survive a failed try.
        let current: OutboxItem = { ...item, state: 'sending', attempts: item.attempts + 1, error: undefined };
        const save = async (change: Partial<OutboxItem>) => {
          current = { ...current, ...change };
          await v.put('outbox', item.id, current);
        };
        await v.put('outbox', item.id, current);
        try {
          let body = item.body;
          if (current.attachments?.length) {
            const attachments = await uploadPending(current.attachments, {
              read: (a) => localDocument(a.local, a.mediaType),
              upload: (file, mediaType) => api.registrations.uploadDocument(file, mediaType),
              starting: (index) => save({ uploading: index }),
              saved: (list) => save({ attachments: list }),
            });
            await save({ uploading: undefined });
            body = { ...body, data: withUploaded(body.data, attachments) };
          }
          const answer = await api.http.request<unknown>('POST', item.path, { body });
          await v.remove('outbox', item.id);
          if (item.draft) await v.remove('draft', item.draft);
          // Only now that the server has the declaration: its photos leave the device.
          if (item.attachments) await forgetUnreferenced(v, item.attachments.map((a) => a.local));
          sent.unshift({ id: item.id, title: item.title, detail: item.detail, answer });
          sent.splice(20);
          sentListeners.forEach((fn) => fn());
          delay = MIN_DELAY_MS;
        } catch (e) {
          const failure = e instanceof AttachmentFailure ? e : undefined;
          const err = asError(failure ? failure.cause : e);
          const status = err?.status ?? 0;
          const error = { status, code: err?.code ?? 'unexpected', message: err?.message ?? String(e), ...(failure ? { attachment: failure.attachment.name ?? `#${failure.index + 1}` } : {}) };
          // `current`: with the attachments acknowledged during this try.
          const item = { ...current, uploading: undefined };
          if (!err || err.code === 'network_error' || TRANSIENT.has(status)) {
            await v.put('outbox', item.id, { ...item, state: 'waiting', error } satisfies OutboxItem);
            // Signed out by expiry: sending resumes when the person signs in again (session.tsx).
            if (status !== 401) schedule(delay);
            delay = Math.min(delay * 2, MAX_DELAY_MS);
            return;
          }
          await v.put('outbox', item.id, { ...item, state: status === 409 ? 'conflict' : 'failed', error } satisfies OutboxItem);
        }
      }
    };
    // One tab sends at a time; another tab's retry of the same item would be a harmless replay.
    if (navigator.locks) await navigator.locks.request(`cairn-outbox-${v.userId}`, work);
    else await work();
  } finally {
    running = false;
  }
  if (again) {
    again = false;
    void syncNow();
  }
}

/** Starts sending when the vault opens and whenever the browser says the network is back. */
export function startOutbox(): () => void {
  const online = () => {
    delay = MIN_DELAY_MS;
    void syncNow();
  };
  window.addEventListener('online', online);
  let lastUser: string | undefined;
  const off = onVaultChange(() => {
    const v = vault();
    if (v && v.userId !== lastUser) {
      lastUser = v.userId;
      // An item left "sending" by a closed tab was never acknowledged: it waits again.
      for (const [id, item] of v.list<OutboxItem>('outbox')) if (item.state === 'sending') void v.put('outbox', id, { ...item, state: 'waiting', uploading: undefined });
      // Files kept for drafts or items that are gone (a draft started over, a declaration sent online).
      void forgetUnreferenced(v).catch(() => undefined);
      void syncNow();
    }
    if (!v) lastUser = undefined;
  });
  return () => {
    window.removeEventListener('online', online);
    clearTimeout(timer);
    off();
  };
}

/** True when a call failed because the server could not be reached (not because it refused). */
export function unreachable(e: unknown): boolean {
  return isCairnError(e) && e.code === 'network_error';
}
