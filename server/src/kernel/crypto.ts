import { createCipheriv, createDecipheriv, randomBytes, hkdfSync } from 'node:crypto';

/**
 * Symmetric encryption for secrets we must be able to read back (TOTP seeds): AES-256-GCM under a
 * key derived from the instance secret, so a database dump alone does not reveal them.
 */
export class SecretBox {
  private readonly key: Buffer;
  constructor(instanceSecret: string, purpose: string) {
    this.key = Buffer.from(hkdfSync('sha256', instanceSecret, 'cairn', `secretbox:${purpose}`, 32));
  }
  seal(plain: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return ['v1', iv.toString('base64url'), body.toString('base64url'), c.getAuthTag().toString('base64url')].join('.');
  }
  open(sealed: string): string {
    const [v, iv, body, tag] = sealed.split('.');
    if (v !== 'v1' || !iv || !body || !tag) throw new Error('malformed sealed value');
    const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8');
  }
}

/** Derives an independent key for a purpose (JWT signing, CSRF binding...) from the instance secret. */
export function deriveKey(instanceSecret: string, purpose: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', instanceSecret, 'cairn', purpose, 32));
}
