import { CairnError, errorFromResponse, isAuthExpired, networkError } from './errors.js';

export type FetchLike = typeof globalThis.fetch;
/** Same values as the DOM's RequestCredentials (declared here so Node-only builds type-check). */
export type Credentials = 'include' | 'same-origin' | 'omit';

export interface CairnClientOptions {
  /** Where Cairn runs, e.g. http://localhost:8080. In the browser, '' means "this origin". */
  baseUrl: string;
  /** Access token or personal API token, sent as `Authorization: Bearer`. */
  token?: string;
  /** A fetch implementation; defaults to the global one. */
  fetch?: FetchLike;
  /**
   * 'include' puts the client in cookie mode (the web app): the httpOnly session cookie
   * authenticates, writes carry the CSRF header, and a stale session is refreshed once.
   */
  credentials?: Credentials;
  /** Reads the CSRF cookie; defaults to parsing `document.cookie` for `cairn_csrf`. */
  csrfToken?: () => string | undefined;
  /** Refresh the session once on 401 unauthenticated/token_expired; defaults to on in cookie mode. */
  autoRefresh?: boolean;
  /** Extra headers on every request (e.g. a user agent for the CLI). */
  headers?: Record<string, string>;
}

export type Query = Record<string, string | number | boolean | Date | null | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Skip the refresh-and-retry dance (used by the refresh call itself and by login). */
  noRefresh?: boolean;
}

export const CSRF_COOKIE = 'cairn_csrf';
export const CSRF_HEADER = 'X-CSRF-Token';

function readCookie(name: string): string | undefined {
  const doc = (globalThis as { document?: { cookie?: string } }).document;
  if (!doc?.cookie) return undefined;
  for (const part of doc.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

export function buildQuery(query: Query | undefined): string {
  if (!query) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    p.set(k, v instanceof Date ? v.toISOString() : String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Path segments are user data (ids); never let one add a slash or a query. */
export const seg = (s: string) => encodeURIComponent(s);

/**
 * The transport every domain module shares: base URL, auth header or cookie+CSRF, JSON in and
 * out, CairnError on failure, and one shared refresh when a browser session went stale.
 */
export class HttpClient {
  readonly baseUrl: string;
  private token: string | undefined;
  private readonly fetchImpl: FetchLike;
  private readonly credentials: Credentials | undefined;
  private readonly csrf: () => string | undefined;
  private readonly autoRefresh: boolean;
  private readonly extraHeaders: Record<string, string>;
  private refreshing: Promise<boolean> | undefined;
  /** Called after a successful silent refresh with the refreshed body (the web app updates its user). */
  onRefresh: ((body: unknown) => void) | undefined;
  /** Called when a refresh failed: the session is over (the web app goes to the login page). */
  onSessionExpired: (() => void) | undefined;
  /** Sees every CairnError before it is thrown (the web app reacts to totp_enrolment_required). */
  onError: ((error: CairnError) => void) | undefined;

  constructor(opts: CairnClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token;
    // Bind: browsers throw "Illegal invocation" when fetch is called with another `this`.
    const f = opts.fetch ?? globalThis.fetch;
    this.fetchImpl = (input, init) => f(input, init);
    this.credentials = opts.credentials;
    this.csrf = opts.csrfToken ?? (() => readCookie(CSRF_COOKIE));
    this.autoRefresh = opts.autoRefresh ?? opts.credentials === 'include';
    this.extraHeaders = opts.headers ?? {};
  }

  setToken(token: string | undefined): void {
    this.token = token;
  }

  getToken(): string | undefined {
    return this.token;
  }

  url(path: string, query?: Query): string {
    return `${this.baseUrl}${path}${buildQuery(query)}`;
  }

  /** Sends one request with auth applied; answers the raw Response (used for streams). */
  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const attempt = async () => {
      const headers: Record<string, string> = { Accept: 'application/json', ...this.extraHeaders, ...opts.headers };
      let body: string | undefined;
      if (opts.body !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(opts.body);
      }
      if (this.token) headers.Authorization = `Bearer ${this.token}`;
      else if (method !== 'GET' && method !== 'HEAD') {
        const csrf = this.csrf();
        if (csrf) headers[CSRF_HEADER] = csrf;
      }
      const init: RequestInit = { method, headers };
      if (body !== undefined) init.body = body;
      if (opts.signal) init.signal = opts.signal;
      if (this.credentials) init.credentials = this.credentials;
      try {
        return await this.fetchImpl(this.url(path, opts.query), init);
      } catch (e) {
        if ((e as Error)?.name === 'AbortError') throw e;
        throw networkError(this.baseUrl || 'the server', e);
      }
    };
    let res = await attempt();
    if (res.ok || opts.noRefresh || !this.autoRefresh || this.token) return res;
    if (res.status !== 401) return res;
    const err = await errorFromResponse(res.clone());
    if (!isAuthExpired(err)) return res;
    if (!(await this.refreshOnce())) return res;
    res = await attempt();
    return res;
  }

  /** One refresh at a time: concurrent 401s wait for the same refresh instead of racing. */
  private refreshOnce(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = (async () => {
        try {
          const res = await this.raw('POST', '/api/v1/auth/refresh', { noRefresh: true });
          if (!res.ok) {
            this.onSessionExpired?.();
            return false;
          }
          const body: unknown = await res.json().catch(() => undefined);
          this.onRefresh?.(body);
          return true;
        } catch {
          return false;
        } finally {
          // Let the next expiry (minutes later) trigger a fresh refresh.
          setTimeout(() => (this.refreshing = undefined), 0);
        }
      })();
    }
    return this.refreshing;
  }

  /**
   * POSTs a body as it is (CSV, an image, a stream: Node sends a stream with duplex half) and
   * answers the JSON reply. Signed with the token when there is one, else with the session cookie
   * and its CSRF header. Throws CairnError when refused.
   */
  async upload<T>(path: string, body: string | Blob | Uint8Array | ReadableStream<Uint8Array>, o: { contentType: string; query?: Query; signal?: AbortSignal }): Promise<T> {
    const stream = typeof ReadableStream !== 'undefined' && body instanceof ReadableStream;
    const attempt = async () => {
      const headers: Record<string, string> = { 'Content-Type': o.contentType, Accept: 'application/json' };
      const token = this.token;
      if (token) headers.Authorization = `Bearer ${token}`;
      else {
        const csrf = readCookie(CSRF_COOKIE);
        if (csrf) headers[CSRF_HEADER] = csrf;
      }
      const init: RequestInit & { duplex?: 'half' } = { method: 'POST', headers, body: body as unknown as NonNullable<RequestInit['body']>, credentials: token ? undefined : 'include', signal: o.signal };
      if (stream) init.duplex = 'half';
      try {
        return await fetch(this.url(path, o.query), init);
      } catch (e) {
        // As request(): a server that cannot be reached is network_error, not a bare TypeError.
        if ((e as Error)?.name === 'AbortError') throw e;
        throw networkError(this.baseUrl || 'the server', e);
      }
    };
    let res = await attempt();
    // A stale cookie session is refreshed once, as for request(); a stream cannot be sent twice.
    if (res.status === 401 && !stream && this.autoRefresh && !this.token && isAuthExpired(await errorFromResponse(res.clone())) && (await this.refreshOnce())) res = await attempt();
    if (!res.ok) throw await errorFromResponse(res);
    return (await res.json()) as T;
  }

  /** JSON request; answers the parsed body (undefined for 204) or throws CairnError. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, opts);
    if (!res.ok) {
      const err = await errorFromResponse(res);
      this.onError?.(err);
      throw err;
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CairnError(res.status, 'invalid_response', `The server answered HTTP ${res.status} with a body that is not JSON`, undefined, res.headers.get('x-request-id') ?? undefined);
    }
  }

  get<T>(path: string, query?: Query, opts: Omit<RequestOptions, 'query'> = {}) {
    return this.request<T>('GET', path, { ...opts, query });
  }
  post<T>(path: string, body?: unknown, opts: RequestOptions = {}) {
    return this.request<T>('POST', path, { ...opts, body });
  }
  put<T>(path: string, body?: unknown, opts: RequestOptions = {}) {
    return this.request<T>('PUT', path, { ...opts, body });
  }
  patch<T>(path: string, body?: unknown, opts: RequestOptions = {}) {
    return this.request<T>('PATCH', path, { ...opts, body });
  }
  delete<T = void>(path: string, opts: RequestOptions = {}) {
    return this.request<T>('DELETE', path, opts);
  }
}
