import { Aes128Gcm, CipherSuite, DhkemP256HkdfSha256, HkdfSha256 } from '@hpke/core';
import { sha, solveChallenge } from 'altcha/lib';
import type { FormInstrument, Localised } from '@cairn/sdk/instruments';

/** The participant's side of the gateway: the proof of work, opening the link, sealed parts. */
export interface OpenedAssignment {
  language: string;
  title: Localised;
  expiresAt: string;
  publicKey: string;
  parts: { name: string; edition: number; definition: FormInstrument; done: boolean }[];
}

export class GatewayProblem extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
  ) {
    super(code);
  }
}

/** No answer from the gateway at all (down, or no network): the answers wait in the browser. */
export class Unreachable extends Error {}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { 'content-type': 'application/json' }, credentials: 'omit', referrerPolicy: 'no-referrer' });
  } catch {
    throw new Unreachable();
  }
  if (res.status >= 502 && res.status <= 504) throw new Unreachable();
  const body = (await res.json().catch(() => ({}))) as T & { error?: { code: string } };
  if (!res.ok) throw new GatewayProblem(body.error?.code ?? 'error', res.status);
  return body;
}

/** The ALTCHA check: solve the gateway's challenge (SHA-256 proof of work) in this browser. */
export async function openAssignment(linkId: string): Promise<{ token: string; assignment: OpenedAssignment }> {
  const challenge = await call<Parameters<typeof solveChallenge>[0]['challenge']>('/api/p/v1/challenge');
  const solution = await solveChallenge({ challenge, deriveKey: sha.deriveKey });
  if (!solution) throw new GatewayProblem('pow_failed', 403);
  const altcha = btoa(JSON.stringify({ challenge, solution }));
  return call(`/api/p/v1/assignments/${linkId}/open`, { method: 'POST', body: JSON.stringify({ altcha }) });
}

// The same suite and associated data as server/src/assignments/assignments.crypto.ts (RFC 9180).
const suite = new CipherSuite({ kem: new DhkemP256HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });
const b64url = (b: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const fromB64url = (s: string) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

export interface SealedPart {
  part: number;
  enc: string;
  ct: string;
}

export async function sealAnswers(publicKey: string, linkId: string, part: number, answers: unknown): Promise<SealedPart> {
  const recipientPublicKey = await suite.kem.deserializePublicKey(fromB64url(publicKey));
  const aad = new TextEncoder().encode(`cairn-remote-capture:v1:${linkId}:${part}`);
  const r = await suite.seal({ recipientPublicKey }, new TextEncoder().encode(JSON.stringify({ answers })), aad);
  return { part, enc: b64url(r.enc), ct: b64url(r.ct) };
}

export function sendPart(linkId: string, token: string, s: SealedPart): Promise<{ status: string }> {
  return call(`/api/p/v1/assignments/${linkId}/parts/${s.part}`, { method: 'POST', body: JSON.stringify({ token, enc: s.enc, ct: s.ct }) });
}

/** Sealed parts not sent yet, kept in this browser (ciphertext only) until the gateway answers. */
const pendingKey = (linkId: string) => `cairn.gateway.pending.${linkId}`;
export const pending = {
  read(linkId: string): SealedPart[] {
    try {
      return JSON.parse(localStorage.getItem(pendingKey(linkId)) ?? '[]') as SealedPart[];
    } catch {
      return [];
    }
  },
  write(linkId: string, parts: SealedPart[]) {
    if (parts.length) localStorage.setItem(pendingKey(linkId), JSON.stringify(parts));
    else localStorage.removeItem(pendingKey(linkId));
  },
};
