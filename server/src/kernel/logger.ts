import pino, { type Logger } from 'pino';

/**
 * Secrets never reach the logs: these paths are censored wherever they appear in a log object,
 * and request logging never includes bodies.
 */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'req.headers["x-cairn-review"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.secret',
  '*.token',
  '*.totp',
  '*.clientSecret',
  '*.accessToken',
  '*.refreshToken',
  'password',
  'secret',
];

const CENSOR = '[redacted]';

/**
 * Query parameters that carry a credential: reviewer links (`?review=`, the documented way) and
 * bearer tokens or secrets that a client wrongly put in a URL. Compared case-insensitively.
 */
const SECRET_PARAMS = /^(review|token|access_token|refresh_token|id_token|api_key|apikey|key|secret|client_secret|password|passwd|pwd|code|totp|jwt|auth|authorization|signature|sig|x-amz-signature|x-amz-credential|x-amz-security-token)$/i;

/**
 * Cairn's own secret formats and JWTs, wherever they appear in logged text (a token pasted into a
 * path segment, an error message quoting a URL). Prefixes from auth/, apps/ and datasets/.
 */
const SECRET_VALUES = /\b(cairn_(?:pat|rev|app|cs|assoc)_[A-Za-z0-9_-]+|cs_[A-Za-z0-9_-]{20,}|eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)/g;

/** Text with secret-looking values replaced, for messages and stacks. */
export function redactText(text: string): string {
  return text.replace(SECRET_VALUES, CENSOR).replace(/([?&;])([^=&;#\s'"]+)=([^&;#\s'"]*)/g, (m, sep: string, name: string) => {
    let decoded = name;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      // keep the raw name
    }
    return SECRET_PARAMS.test(decoded) ? `${sep}${name}=${CENSOR}` : m;
  });
}

/**
 * A URL as it may be logged: the value of every credential-carrying query parameter and any
 * Cairn secret or JWT anywhere in it replaced by `[redacted]`; everything else kept, so the log
 * still says which route and which filters were asked for.
 */
export function redactUrl(url: string): string {
  if (typeof url !== 'string') return url;
  return redactText(url);
}

const errSerializer = (err: unknown) => {
  const e = pino.stdSerializers.err(err as Error) as Record<string, unknown> | undefined;
  if (!e || typeof e !== 'object') return e;
  for (const k of ['message', 'stack', 'url']) if (typeof e[k] === 'string') e[k] = redactText(e[k] as string);
  return e;
};

/** What a logged request says about itself: never headers (Authorization, Cookie), never bodies. */
const reqSerializer = (req: { method?: string; url?: string; id?: unknown; ip?: string }) => ({
  id: req.id,
  method: req.method,
  url: typeof req.url === 'string' ? redactUrl(req.url) : req.url,
  ip: req.ip,
});

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    redact: { paths: redactPaths, censor: CENSOR },
    serializers: { url: (u: string) => redactUrl(u), req: reqSerializer, request: reqSerializer, err: errSerializer, error: errSerializer },
    hooks: {
      // Free-text messages too: an error message may quote the URL it choked on.
      logMethod(args, method) {
        const redacted = args.map((a) => (typeof a === 'string' ? redactText(a) : a)) as typeof args;
        return method.apply(this, redacted);
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
export type { Logger };
