/** Every non-2xx answer from Cairn, with the server's stable error code. */
export class CairnError extends Error {
  override readonly name = 'CairnError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

export const isCairnError = (e: unknown): e is CairnError => e instanceof CairnError;

/** True for errors that mean "the credentials are gone or stale", which a refresh may fix. */
export const isAuthExpired = (e: unknown): boolean =>
  isCairnError(e) && e.status === 401 && (e.code === 'unauthenticated' || e.code === 'token_expired');

/**
 * Builds a CairnError from a response. Bodies that are not Cairn's JSON error shape (a proxy's
 * HTML page, an empty 502) still become a CairnError with a code derived from the status, so
 * callers can always rely on `code`.
 */
export async function errorFromResponse(res: Response): Promise<CairnError> {
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const err = (body as { error?: { code?: unknown; message?: unknown; details?: unknown; requestId?: unknown } } | undefined)?.error;
  const requestId = typeof err?.requestId === 'string' ? err.requestId : res.headers.get('x-request-id') ?? undefined;
  if (err && typeof err.code === 'string') {
    const message = typeof err.message === 'string' && err.message ? err.message : `HTTP ${res.status}`;
    return new CairnError(res.status, err.code, message, err.details, requestId);
  }
  return new CairnError(res.status, fallbackCode(res.status), `The server answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`, undefined, requestId);
}

function fallbackCode(status: number): string {
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 413) return 'payload_too_large';
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'unavailable';
  if (status >= 500) return 'server_error';
  return 'http_error';
}

/** Network failure, DNS, refused connection: no HTTP answer at all. */
export function networkError(baseUrl: string, cause: unknown): CairnError {
  const reason = (cause as { cause?: { code?: string }; message?: string })?.cause?.code ?? (cause as Error)?.message ?? 'network error';
  return new CairnError(0, 'network_error', `Cannot reach ${baseUrl} (${reason})`);
}
