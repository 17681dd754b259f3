import path from 'node:path';
import { ConfigError } from '../kernel/config.js';
import { LocalBlobStore } from './blobs.local.js';
import type { S3BlobStore } from './blobs.s3.js';
import type { BlobInfo, BlobStore, ByteRange, PutFileOptions, PutOptions, ReadOptions } from './blobs.store.js';

type Env = Record<string, string | undefined>;

export type BlobConfig =
  | { store: 'local'; dir?: string }
  | {
      store: 's3';
      bucket: string;
      prefix: string;
      region: string;
      endpoint?: string;
      forcePathStyle: boolean;
      credentials?: { accessKeyId: string; secretAccessKey: string };
    };

const set = (env: Env, name: string): string | undefined => {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
};

/**
 * Reads the blob store settings. Everything S3-specific is ignored for the local store except a
 * stray bucket, which most likely means CAIRN_BLOB_STORE was forgotten, so that fails loudly.
 */
export function loadBlobConfig(env: Env = process.env): BlobConfig {
  const kind = set(env, 'CAIRN_BLOB_STORE') ?? 'local';
  if (kind !== 'local' && kind !== 's3') {
    throw new ConfigError(`CAIRN_BLOB_STORE=${JSON.stringify(env.CAIRN_BLOB_STORE)} is not allowed: expected one of local, s3`);
  }
  if (kind === 'local') {
    if (set(env, 'CAIRN_S3_BUCKET')) {
      throw new ConfigError('CAIRN_S3_BUCKET is set but CAIRN_BLOB_STORE is not s3: expected CAIRN_BLOB_STORE=s3, or unset CAIRN_S3_BUCKET');
    }
    const dir = set(env, 'CAIRN_BLOB_DIR');
    return dir ? { store: 'local', dir: path.resolve(dir) } : { store: 'local' };
  }

  const bucket = set(env, 'CAIRN_S3_BUCKET');
  if (!bucket) throw new ConfigError('CAIRN_S3_BUCKET is not allowed to be empty when CAIRN_BLOB_STORE=s3: expected a bucket name');
  // S3's own bucket naming rules (3-63 chars, lowercase letters, digits, dots, hyphens).
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
    throw new ConfigError(`CAIRN_S3_BUCKET=${JSON.stringify(bucket)} is not allowed: expected 3-63 lowercase letters, digits, dots or hyphens`);
  }

  const endpoint = set(env, 'CAIRN_S3_ENDPOINT');
  if (endpoint !== undefined) {
    let u: URL | undefined;
    try {
      u = new URL(endpoint);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
      throw new ConfigError(`CAIRN_S3_ENDPOINT=${JSON.stringify(endpoint)} is not allowed: expected a URL starting with http: or https:`);
    }
  }

  const region = set(env, 'CAIRN_S3_REGION') ?? 'us-east-1';
  if (!/^[a-z0-9-]{1,64}$/.test(region)) {
    throw new ConfigError(`CAIRN_S3_REGION=${JSON.stringify(region)} is not allowed: expected a region name such as us-east-1`);
  }

  const fps = set(env, 'CAIRN_S3_FORCE_PATH_STYLE');
  let forcePathStyle: boolean;
  if (fps === undefined) {
    // Custom endpoints are mostly MinIO-like servers without wildcard DNS: path-style works there.
    forcePathStyle = endpoint !== undefined;
  } else if (['1', 'true', 'yes', 'on'].includes(fps.toLowerCase())) {
    forcePathStyle = true;
  } else if (['0', 'false', 'no', 'off'].includes(fps.toLowerCase())) {
    forcePathStyle = false;
  } else {
    throw new ConfigError(`CAIRN_S3_FORCE_PATH_STYLE=${JSON.stringify(fps)} is not allowed: expected true or false`);
  }

  const prefix = set(env, 'CAIRN_S3_PREFIX') ?? '';
  if (prefix.startsWith('/') || prefix.includes('//') || prefix.split('/').some((s) => s === '.' || s === '..') || /[\u0000-\u001f\\]/.test(prefix) || prefix.length > 512) {
    throw new ConfigError(`CAIRN_S3_PREFIX=${JSON.stringify(prefix)} is not allowed: expected a relative key prefix such as cairn/ (no leading slash, no empty, . or .. segments)`);
  }

  const accessKeyId = set(env, 'CAIRN_S3_ACCESS_KEY_ID');
  const secretAccessKey = set(env, 'CAIRN_S3_SECRET_ACCESS_KEY');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const missing = accessKeyId === undefined ? 'CAIRN_S3_ACCESS_KEY_ID' : 'CAIRN_S3_SECRET_ACCESS_KEY';
    throw new ConfigError(`${missing} is not allowed to be empty when the other S3 key is set: expected both or neither (neither uses the AWS default credential chain)`);
  }

  return {
    store: 's3',
    bucket,
    prefix,
    region,
    ...(endpoint !== undefined ? { endpoint } : {}),
    forcePathStyle,
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
  };
}

export function createBlobStore(config: BlobConfig, dataDir: string): BlobStore {
  if (config.store === 'local') return new LocalBlobStore(config.dir ?? path.join(dataDir, 'blobs'));
  return new LazyS3BlobStore({
    bucket: config.bucket,
    prefix: config.prefix,
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials: config.credentials,
  });
}

/**
 * The S3 store, loaded on first use: the AWS SDK costs a noticeable part of start-up, which a
 * server with local blobs (the default) never needs to pay.
 */
export class LazyS3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  private store: Promise<S3BlobStore> | undefined;

  constructor(private readonly options: ConstructorParameters<typeof S3BlobStore>[0]) {}

  /** The S3 store itself, loading the SDK on the first call. */
  s3(): Promise<S3BlobStore> {
    return (this.store ??= import('./blobs.s3.js').then((m) => new m.S3BlobStore(this.options)));
  }

  has(sha256: string) {
    return this.s3().then((s) => s.has(sha256));
  }
  stat(sha256: string) {
    return this.s3().then((s) => s.stat(sha256));
  }
  put(body: Parameters<BlobStore['put']>[0], options?: PutOptions) {
    return this.s3().then((s) => s.put(body, options));
  }
  putFile(file: string, options?: PutFileOptions) {
    return this.s3().then((s) => s.putFile(file, options));
  }
  // Read sizes tune local file reads; S3 streams at its own pace.
  get(sha256: string, range?: ByteRange, _options?: ReadOptions) {
    return this.s3().then((s) => s.get(sha256, range));
  }
  delete(sha256: string) {
    return this.s3().then((s) => s.delete(sha256));
  }
  async *list(): AsyncIterable<BlobInfo> {
    yield* (await this.s3()).list();
  }
  sweep(olderThan: Date) {
    return this.s3().then((s) => s.sweep(olderThan));
  }
}
