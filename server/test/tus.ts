import * as tus from 'tus-js-client';

/**
 * A tus-js-client upload over real HTTP; resolves with its URL and how it ended. Retries are off,
 * so a server killed under it ends it at once (tests that kill servers resume it themselves).
 */
export function tusUpload(endpoint: string, token: string, data: Buffer, meta: Record<string, string>, opts: Partial<tus.UploadOptions> = {}): Promise<{ url: string | null; ok: boolean; error?: string }> {
  return new Promise((resolve) => {
    const u: tus.Upload = new tus.Upload(data as never, {
      endpoint,
      headers: { authorization: `Bearer ${token}` },
      metadata: meta,
      retryDelays: [],
      onSuccess: () => resolve({ url: u.url, ok: true }),
      onError: (e) => resolve({ url: u.url, ok: false, error: String(e) }),
      ...opts,
    });
    u.start();
  });
}
