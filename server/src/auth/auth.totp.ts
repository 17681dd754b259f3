import { generateSecret, generateURI, verify } from 'otplib';

export const newTotpSecret = () => generateSecret({ length: 20 });

export const totpUri = (secret: string, account: string, issuer: string) => generateURI({ strategy: 'totp', issuer, label: account, secret });

/** Accepts the current code and one step either side, for clock drift. */
export async function checkTotp(secret: string, code: string): Promise<boolean> {
  if (!/^\d{6}$/.test(code)) return false;
  try {
    const r = await verify({ secret, token: code, epochTolerance: 30 } as Parameters<typeof verify>[0]);
    return r.valid;
  } catch {
    return false;
  }
}
