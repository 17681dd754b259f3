import path from 'node:path';
import { ConfigError, bool, int, metricsToken, oneOf, url, type Env } from './kernel/config.js';
import { loadBlobConfig } from './blobs/blobs.config.js';
import { loadRemoteCaptureConfig } from './assignments/assignments.config.js';

export { ConfigError };

/**
 * Typed configuration, read once from the environment and validated at boot. A bad value stops
 * the process with one line naming the setting and what it accepts (see main.ts). It lives beside
 * app.ts and services.ts, not in kernel/, because it gathers the domains' settings too.
 */
export function loadConfig(env: Env = process.env) {
  const dataDir = path.resolve(env.CAIRN_DATA_DIR || './.cairn');
  const secret = env.CAIRN_SECRET;
  if (secret !== undefined && secret !== '' && secret.length < 32) {
    throw new ConfigError('CAIRN_SECRET is not allowed: expected at least 32 characters of random text');
  }
  return {
    port: int(env, 'PORT', 8080, 0, 65535),
    host: env.HOST || 'localhost',
    dataDir,
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    /** Size of the PostgreSQL pool per server process. */
    dbPoolSize: int(env, 'CAIRN_DB_POOL_SIZE', 20, 1, 500),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    secret: secret || undefined,
    publicUrl: url(env, 'CAIRN_PUBLIC_URL', ['http:', 'https:']),
    accessTokenTtlSeconds: int(env, 'CAIRN_ACCESS_TOKEN_TTL', 900, 30, 86_400),
    sessionTtlSeconds: int(env, 'CAIRN_SESSION_TTL', 14 * 86_400, 300, 365 * 86_400),
    /** Login attempts per IP per minute before 429. */
    loginRateLimit: int(env, 'CAIRN_LOGIN_RATE_LIMIT', 20, 1, 100_000),
    /** Consecutive failed logins before the account locks, and for how long. */
    lockoutThreshold: int(env, 'CAIRN_LOCKOUT_THRESHOLD', 5, 1, 1000),
    lockoutSeconds: int(env, 'CAIRN_LOCKOUT_SECONDS', 900, 1, 86_400),
    /** Largest request body accepted, in bytes. */
    bodyLimit: int(env, 'CAIRN_BODY_LIMIT', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    /** How often the ledger seals a checkpoint over new entries, in ms. */
    checkpointIntervalMs: int(env, 'CAIRN_CHECKPOINT_INTERVAL_MS', 5000, 100, 3_600_000),
    /** Serve the built web app from web/dist. */
    serveWeb: bool(env, 'CAIRN_SERVE_WEB', true),
    /** Run background workers in this process. */
    workers: bool(env, 'CAIRN_WORKERS', true),
    /**
     * Cache per-request lookups in this process (kernel/cache.ts). Needs LISTEN/NOTIFY to reach
     * PostgreSQL: switch it off behind a transaction-mode pooler, which does not carry them.
     */
    cache: bool(env, 'CAIRN_CACHE', true),
    /** Where dataset file contents live (docs/datasets.md). */
    blobs: loadBlobConfig(env),
    /** Default largest total size of one dataset's draft, in bytes (per dataset overridable). */
    datasetQuotaBytes: int(env, 'CAIRN_DATASET_QUOTA_BYTES', 1024 ** 4, 0, Number.MAX_SAFE_INTEGER),
    /** Largest total of bytes one user may have staged in open upload sessions. */
    userUploadQuotaBytes: int(env, 'CAIRN_USER_UPLOAD_QUOTA_BYTES', 1024 ** 4, 0, Number.MAX_SAFE_INTEGER),
    /** Where unfinished resumable uploads are staged; default: inside the local blob directory (same filesystem). */
    uploadDir: env.CAIRN_UPLOAD_DIR ? path.resolve(env.CAIRN_UPLOAD_DIR) : undefined,
    /** Unreferenced blobs are deleted after this many seconds of being unreferenced. */
    blobGcGraceSeconds: int(env, 'CAIRN_BLOB_GC_GRACE_SECONDS', 86_400, 0, 365 * 86_400),
    /** Python view runs at once, and the memory they may reserve together in MiB (docs/views.md). */
    viewsPythonMaxRuns: int(env, 'CAIRN_VIEWS_PYTHON_MAX_RUNS', 2, 1, 256),
    viewsPythonMemoryMb: int(env, 'CAIRN_VIEWS_PYTHON_MEMORY_MB', 1536, 256, 1_048_576),
    /** View runs of each runtime that may wait for their turn before 503 sandbox_busy. */
    viewsMaxQueued: int(env, 'CAIRN_VIEWS_MAX_QUEUED', 16, 0, 10_000),
    /** Bearer token for GET /metrics; unset, the endpoint answers 404 (docs/operations.md, "Observability"). */
    metricsToken: metricsToken(env),
    /** Enables the BIDS validator plugin (needs `bids-validator` 1.x installed, see docs/datasets.md). */
    bidsValidator: bool(env, 'CAIRN_BIDS_VALIDATOR', false),
    /** The validator module (a package folder or file) when not `bids-validator` beside the server. */
    bidsValidatorPath: env.CAIRN_BIDS_VALIDATOR_PATH ? path.resolve(env.CAIRN_BIDS_VALIDATOR_PATH) : undefined,
    /** A validation run that takes longer is stopped and reported as failed. */
    bidsValidatorTimeoutMs: int(env, 'CAIRN_BIDS_VALIDATOR_TIMEOUT_MS', 600_000, 1_000, 86_400_000),
    /** Remote capture through a gateway, and mail for its links (docs/remote-capture.md). */
    remoteCapture: loadRemoteCaptureConfig(env),
  };
}

export type Config = ReturnType<typeof loadConfig>;
