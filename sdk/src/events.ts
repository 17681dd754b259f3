import { CairnError, errorFromResponse, isCairnError } from './errors.js';
import { seg, type HttpClient } from './http.js';
import { readSse, SseParser } from './sse.js';

export type JsonObject = { [key: string]: unknown };

export interface AppendEvent<D extends JsonObject = JsonObject> {
  /** Dotted lower-case name, e.g. `note.created`. */
  type: string;
  /** What the event is about; entries of one stream form a hash chain. */
  stream?: string | null;
  data: D;
  occurredAt?: string | Date;
  /** Client idempotency key: a retry with the same id is applied once and answers the original result. */
  transactionId?: string;
}

export interface AppendResult {
  id: string;
  position: number;
  /** Resume point just after this entry. */
  cursor: string;
  /** True when this was a retry of an already-applied transactionId. */
  replayed: boolean;
}

export interface Actor {
  kind: 'user' | 'app' | 'system' | string;
  id: string | null;
}

export interface LedgerEntry<D = unknown> {
  id: string;
  position: number;
  type: string;
  typeVersion: number | null;
  stream: string | null;
  streamSeq: number | null;
  data: D;
  actor: Actor;
  occurredAt: string;
  recordedAt: string;
  transactionId: string | null;
  /** Hex sha256 of the entry in its stream's chain. */
  hash: string;
}

export interface ListEventsQuery {
  type?: string;
  stream?: string;
  /** Opaque cursor from a previous page's `next` or an append result. */
  after?: string;
  /** Only entries that occurred at or after this time. */
  from?: string | Date;
  /** Only entries that occurred before this time. */
  to?: string | Date;
  limit?: number;
}

export interface EventPage<D = unknown> {
  events: LedgerEntry<D>[];
  /** Cursor for the next page, null at the end (for now: new entries may arrive later). */
  next: string | null;
}

export type TailStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface TailOptions {
  /** Start after this cursor; without it the tail starts at the live end (minus `backlog`). */
  after?: string;
  type?: string;
  stream?: string;
  /** Without `after`: also send the last N entries (at most 1000) before going live. */
  backlog?: number;
  signal?: AbortSignal;
  /** First reconnect delay (doubles up to maxReconnectDelayMs); the server's `retry:` overrides. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** Stop after this many failed reconnects in a row (default: never). */
  maxRetries?: number;
  onStatus?: (status: TailStatus, error?: CairnError) => void;
}

/** Errors a reconnect cannot fix: bad request, no permission, unknown cursor. */
const isFatal = (e: CairnError) => e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429;

/**
 * A live tail of the ledger over Server-Sent Events. Iterate it with `for await`; it reconnects
 * on network errors and server restarts, resuming from the last cursor (Last-Event-ID), so no
 * entry is skipped or repeated. `cursor` is always the resume point after the last yielded entry.
 */
export class EventTail<D = unknown> implements AsyncIterable<LedgerEntry<D>> {
  private _cursor: string | undefined;
  private readonly controller = new AbortController();

  constructor(
    private readonly http: HttpClient,
    private readonly opts: TailOptions,
  ) {
    this._cursor = opts.after;
    if (opts.signal) {
      if (opts.signal.aborted) this.controller.abort();
      else opts.signal.addEventListener('abort', () => this.controller.abort(), { once: true });
    }
  }

  get cursor(): string | undefined {
    return this._cursor;
  }

  close(): void {
    this.controller.abort();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LedgerEntry<D>> {
    const signal = this.controller.signal;
    const base = this.opts.reconnectDelayMs ?? 1000;
    const max = this.opts.maxReconnectDelayMs ?? 30_000;
    let delay = base;
    let serverRetry: number | undefined;
    let failures = 0;
    let first = true;
    try {
      while (!signal.aborted) {
        if (first) this.opts.onStatus?.('connecting');
        first = false;
        let lastError: CairnError | undefined;
        try {
          const headers: Record<string, string> = { Accept: 'text/event-stream', 'Cache-Control': 'no-cache' };
          if (this._cursor) headers['Last-Event-ID'] = this._cursor;
          const res = await this.http.raw('GET', '/api/v1/events/stream', {
            query: { after: this._cursor, type: this.opts.type, stream: this.opts.stream, backlog: this._cursor ? undefined : this.opts.backlog },
            headers,
            signal,
          });
          if (!res.ok) {
            const err = await errorFromResponse(res);
            if (isFatal(err)) throw err;
            lastError = err;
          } else if (!res.body) {
            lastError = new CairnError(res.status, 'invalid_response', 'The event stream has no body');
          } else {
            this.opts.onStatus?.('open');
            failures = 0;
            delay = base;
            const parser = new SseParser(this._cursor);
            for await (const msg of readSse(res.body, parser, signal)) {
              if (msg.retry !== undefined) serverRetry = msg.retry;
              if (msg.event !== 'entry') continue;
              let entry: LedgerEntry<D>;
              try {
                entry = JSON.parse(msg.data) as LedgerEntry<D>;
              } catch {
                throw new CairnError(200, 'invalid_response', 'The event stream sent an entry that is not JSON');
              }
              if (msg.id !== undefined) this._cursor = msg.id;
              yield entry;
            }
            // The server ended the stream (restart, deploy): reconnect from the cursor after the
            // base delay, without counting it as a failure.
            if (signal.aborted) break;
            this.opts.onStatus?.('reconnecting');
            await sleep(serverRetry ?? base, signal);
            continue;
          }
        } catch (e) {
          if (signal.aborted) break;
          if (isCairnError(e) && (isFatal(e) || e.code === 'invalid_response')) throw e;
          lastError = isCairnError(e) ? e : new CairnError(0, 'network_error', (e as Error)?.message ?? String(e));
        }
        failures++;
        if (this.opts.maxRetries !== undefined && failures > this.opts.maxRetries) throw lastError;
        this.opts.onStatus?.('reconnecting', lastError);
        await sleep(serverRetry ?? delay, signal);
        delay = Math.min(delay * 2, max);
      }
    } finally {
      this.opts.onStatus?.('closed');
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class EventsApi {
  constructor(private readonly http: HttpClient) {}

  /** Appends a batch atomically: all entries are written or none. */
  async append<D extends JsonObject>(events: AppendEvent<D>[], opts: { signal?: AbortSignal } = {}): Promise<AppendResult[]> {
    const body = {
      events: events.map((e) => ({ ...e, occurredAt: e.occurredAt instanceof Date ? e.occurredAt.toISOString() : e.occurredAt })),
    };
    return (await this.http.post<{ events: AppendResult[] }>('/api/v1/events', body, opts.signal ? { signal: opts.signal } : {})).events;
  }

  async appendOne<D extends JsonObject>(event: AppendEvent<D>): Promise<AppendResult> {
    const [r] = await this.append([event]);
    return r!;
  }

  list<D = unknown>(query: ListEventsQuery = {}, opts: { signal?: AbortSignal } = {}): Promise<EventPage<D>> {
    return this.http.get('/api/v1/events', { ...query }, opts.signal ? { signal: opts.signal } : {});
  }

  get<D = unknown>(id: string): Promise<LedgerEntry<D>> {
    return this.http.get(`/api/v1/events/${seg(id)}`);
  }

  /**
   * The current version of an event from the id of any of its versions: keep the first id (the
   * root) and read the latest modification with it. A deleted event answers not_found.
   */
  current<D = unknown>(id: string): Promise<LedgerEntry<D>> {
    return this.http.get(`/api/v1/events/${seg(id)}`, { current: true });
  }

  /** Every page from `query.after` to the current end of the ledger. */
  async *pages<D = unknown>(query: ListEventsQuery = {}, opts: { signal?: AbortSignal } = {}): AsyncGenerator<EventPage<D>> {
    let after = query.after;
    for (;;) {
      const page = await this.list<D>({ ...query, after }, opts);
      yield page;
      if (!page.next || page.events.length === 0) return;
      after = page.next;
    }
  }

  /** Every entry matching `query`, paging transparently: `for await (const e of client.events.iterate({ type }))`. */
  async *iterate<D = unknown>(query: ListEventsQuery = {}, opts: { signal?: AbortSignal } = {}): AsyncGenerator<LedgerEntry<D>> {
    for await (const page of this.pages<D>(query, opts)) yield* page.events;
  }

  /** Follows the ledger live over SSE; see EventTail. */
  tail<D = unknown>(opts: TailOptions = {}): EventTail<D> {
    return new EventTail<D>(this.http, opts);
  }
}
