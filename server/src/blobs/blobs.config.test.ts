import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../kernel/config.js';
import { LazyS3BlobStore, createBlobStore, loadBlobConfig } from './blobs.config.js';
import { LocalBlobStore } from './blobs.local.js';
import { S3BlobStore } from './blobs.s3.js';

const s3 = { CAIRN_BLOB_STORE: 's3', CAIRN_S3_BUCKET: 'my-bucket' };

function configError(env: Record<string, string>): string {
  try {
    loadBlobConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('expected a ConfigError');
}

describe('loadBlobConfig', () => {
  it('defaults to the local store under the data directory', () => {
    const c = loadBlobConfig({});
    expect(c).toEqual({ store: 'local' });
    const store = createBlobStore(c, '/var/lib/cairn');
    expect(store).toBeInstanceOf(LocalBlobStore);
    expect((store as LocalBlobStore).root).toBe(path.resolve('/var/lib/cairn/blobs'));
  });

  it('lets the local directory be moved elsewhere', () => {
    const c = loadBlobConfig({ CAIRN_BLOB_DIR: '/mnt/big/blobs' });
    expect((createBlobStore(c, '/data') as LocalBlobStore).root).toBe(path.resolve('/mnt/big/blobs'));
  });

  it('reads a full S3 configuration', async () => {
    const c = loadBlobConfig({
      ...s3,
      CAIRN_S3_ENDPOINT: 'http://127.0.0.1:9000',
      CAIRN_S3_REGION: 'eu-west-1',
      CAIRN_S3_ACCESS_KEY_ID: 'AK',
      CAIRN_S3_SECRET_ACCESS_KEY: 'SK',
      CAIRN_S3_FORCE_PATH_STYLE: 'false',
      CAIRN_S3_PREFIX: 'cairn/prod',
    });
    expect(c).toEqual({
      store: 's3',
      bucket: 'my-bucket',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
      forcePathStyle: false,
      prefix: 'cairn/prod',
    });
    const lazy = createBlobStore(c, '/data') as LazyS3BlobStore;
    expect(lazy).toBeInstanceOf(LazyS3BlobStore);
    expect(lazy.kind).toBe('s3');
    // The AWS SDK loads on first use only; the store it makes has the configuration.
    const store = await lazy.s3();
    expect(store).toBeInstanceOf(S3BlobStore);
    expect(store.prefix).toBe('cairn/prod/');
    expect(store.bucket).toBe('my-bucket');
    store.client.destroy();
  });

  it('uses path-style addressing by default only with a custom endpoint', () => {
    expect(loadBlobConfig(s3)).toMatchObject({ forcePathStyle: false, region: 'us-east-1', prefix: '' });
    expect(loadBlobConfig({ ...s3, CAIRN_S3_ENDPOINT: 'https://minio.local' })).toMatchObject({ forcePathStyle: true });
    expect(loadBlobConfig(s3)).not.toHaveProperty('credentials');
  });

  it('names the bad setting and what is allowed', () => {
    expect(configError({ CAIRN_BLOB_STORE: 'gcs' })).toMatch(/^CAIRN_BLOB_STORE=.*expected one of local, s3/);
    expect(configError({ CAIRN_BLOB_STORE: 's3' })).toMatch(/^CAIRN_S3_BUCKET .*bucket name/);
    expect(configError({ ...s3, CAIRN_S3_BUCKET: 'My_Bucket' })).toMatch(/^CAIRN_S3_BUCKET=/);
    expect(configError({ ...s3, CAIRN_S3_ENDPOINT: 'minio:9000' })).toMatch(/^CAIRN_S3_ENDPOINT=.*http: or https:/);
    expect(configError({ ...s3, CAIRN_S3_ENDPOINT: 'ftp://x' })).toMatch(/^CAIRN_S3_ENDPOINT=/);
    expect(configError({ ...s3, CAIRN_S3_REGION: 'EU West' })).toMatch(/^CAIRN_S3_REGION=/);
    expect(configError({ ...s3, CAIRN_S3_FORCE_PATH_STYLE: 'maybe' })).toMatch(/^CAIRN_S3_FORCE_PATH_STYLE=.*true or false/);
    expect(configError({ ...s3, CAIRN_S3_PREFIX: '/abs' })).toMatch(/^CAIRN_S3_PREFIX=/);
    expect(configError({ ...s3, CAIRN_S3_PREFIX: 'a/../b' })).toMatch(/^CAIRN_S3_PREFIX=/);
    expect(configError({ ...s3, CAIRN_S3_PREFIX: 'a//b' })).toMatch(/^CAIRN_S3_PREFIX=/);
    expect(configError({ ...s3, CAIRN_S3_ACCESS_KEY_ID: 'AK' })).toMatch(/^CAIRN_S3_SECRET_ACCESS_KEY /);
    expect(configError({ ...s3, CAIRN_S3_SECRET_ACCESS_KEY: 'SK' })).toMatch(/^CAIRN_S3_ACCESS_KEY_ID /);
    expect(configError({ CAIRN_S3_BUCKET: 'my-bucket' })).toMatch(/^CAIRN_S3_BUCKET is set but CAIRN_BLOB_STORE is not s3/);
  });
});
