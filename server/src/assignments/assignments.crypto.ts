import { Aes128Gcm, CipherSuite, DhkemP256HkdfSha256, HkdfSha256 } from '@hpke/core';

/**
 * HPKE (RFC 9180) for remote capture: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base
 * mode. P-256 rather than X25519 because every phone browser's WebCrypto has it. The browser seals
 * each part to the assignment's public key with `aad` binding it to its link and part, so a sealed
 * part copied to another assignment or another part does not open.
 */
export const suite = new CipherSuite({ kem: new DhkemP256HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });

const b64 = (b: ArrayBuffer) => Buffer.from(b).toString('base64url');
export const partAad = (linkId: string, part: number) => new TextEncoder().encode(`cairn-remote-capture:v1:${linkId}:${part}`);

export async function generateAssignmentKeys(): Promise<{ publicKey: string; privateKey: string }> {
  const pair = await suite.kem.generateKeyPair();
  return { publicKey: b64(await suite.kem.serializePublicKey(pair.publicKey)), privateKey: b64(await suite.kem.serializePrivateKey(pair.privateKey)) };
}

/** Opens one sealed part; throws when it was not sealed to this key for this link and part. */
export async function openPart(privateKey: string, linkId: string, part: number, enc: string, ct: string): Promise<string> {
  const recipientKey = await suite.kem.deserializePrivateKey(Buffer.from(privateKey, 'base64url'));
  const pt = await suite.open({ recipientKey, enc: Buffer.from(enc, 'base64url') }, Buffer.from(ct, 'base64url'), partAad(linkId, part));
  return new TextDecoder('utf-8', { fatal: true }).decode(pt);
}

/** What a browser does (tests use it to play a participant, or a forger). */
export async function sealPart(publicKey: string, linkId: string, part: number, plaintext: string): Promise<{ enc: string; ct: string }> {
  const recipientPublicKey = await suite.kem.deserializePublicKey(Buffer.from(publicKey, 'base64url'));
  const r = await suite.seal({ recipientPublicKey }, new TextEncoder().encode(plaintext), partAad(linkId, part));
  return { enc: b64(r.enc), ct: b64(r.ct) };
}
