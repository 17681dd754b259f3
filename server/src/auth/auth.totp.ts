import { generateSecret, generateURI, verify } from 'otplib';

export const newTotpSecret = () => generateSecret({ length: 20 });

export const totpUri = (secret: string, account: string, issuer: string) => generateURI({ strategy: 'totp', issuer, label: account, secret });

/**
 * Accepts the current code and one step either side, for clock drift. Answers the RFC 6238 time
 * step the code matched (the caller refuses a step already used), or null.
 */
export async function checkTotp(secret: string, code: string, now: Date): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  try {
    const r = await verify({ secret, token: code, epochTolerance: 30, epoch: Math.floor(now.getTime() / 1000) } as Parameters<typeof verify>[0]);
    return r.valid && 'timeStep' in r ? r.timeStep : null;
  } catch {
    return null;
  }
}
