import { hash, verify } from '@node-rs/argon2';

// OWASP's argon2id baseline (19 MiB, 2 passes): ~20 ms here, expensive enough for offline
// attackers, cheap enough that logins are not a denial-of-service lever.
// algorithm 2 is Argon2id (a const enum in the typings, which isolated modules cannot read).
const PARAMS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 1024;

export const hashPassword = (password: string) => hash(password, PARAMS);

export async function verifyPassword(hashed: string, password: string): Promise<boolean> {
  try {
    return await verify(hashed, password);
  } catch {
    return false;
  }
}

// Verifying against this when the user does not exist keeps "no such user" and "wrong password"
// indistinguishable by timing.
let dummy: Promise<string> | undefined;
export const dummyHash = () => (dummy ??= hashPassword('cairn-dummy-password-for-timing'));

export function passwordProblem(password: string, username?: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `Passwords need at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `Passwords may have at most ${MAX_PASSWORD_LENGTH} characters`;
  if (username && password.toLowerCase() === username.toLowerCase()) return 'The password must not be the username';
  return undefined;
}
