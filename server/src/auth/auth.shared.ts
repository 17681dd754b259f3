import { createHmac, randomInt } from 'node:crypto';
import type { Db } from '../database/database.js';
import type { Clock } from '../kernel/clock.js';
import { fail } from '../kernel/errors.js';
import { SecretBox, deriveKey } from '../kernel/crypto.js';
import type { User } from '@cairn/sdk';
import { requireScope, requireUser, type AuthContext } from '../kernel/access.js';
import type { LedgerService } from '../ledger/ledger.service.js';
import { authStore, type UserRow } from './auth.store.js';
import { checkTotp } from './auth.totp.js';

/**
 * What the auth services (sessions, setup, credentials, accounts, API tokens, TOTP, recovery
 * codes) share: the keys derived from the server secret, the audit entry, the caller's own row,
 * the second-factor check and the issuing of recovery codes.
 */

export const SESSION_COOKIE = 'cairn_session';
export const CSRF_COOKIE = 'cairn_csrf';
export const API_TOKEN_PREFIX = 'cairn_pat_';
export const RECOVERY_CODE_COUNT = 10;
// Letters and digits without 0/o, 1/l/i: a code is read off paper and typed back.
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
/** "xxxxx-xxxxx": 10 characters of a 31-letter alphabet, about 49.5 random bits. */
function newRecoveryCode(): string {
  let c = '';
  for (let i = 0; i < 10; i++) c += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  return `${c.slice(0, 5)}-${c.slice(5)}`;
}

/** A user as the API presents them: the SDK's type, declared once for both sides. */
export type PublicUser = User;

export interface LoginResult {
  accessToken: string;
  expiresIn: number;
  user: PublicUser;
  /** For the route to set as cookies; never in the JSON body. */
  session: { token: string; csrf: string; maxAge: number };
}

/** The keys derived from the server secret, one per use; made once (services.ts). */
export class AuthKeys {
  /** Signs and verifies access tokens. */
  readonly jwt: Uint8Array;
  /** Seals TOTP seeds at rest. */
  readonly totpBox: SecretBox;
  private readonly csrf: Uint8Array;
  private readonly loginFailures: Uint8Array;
  private readonly recovery: Uint8Array;

  constructor(secret: string) {
    this.jwt = deriveKey(secret, 'jwt-access');
    this.csrf = deriveKey(secret, 'csrf');
    this.totpBox = new SecretBox(secret, 'totp');
    this.loginFailures = deriveKey(secret, 'login-failures');
    this.recovery = deriveKey(secret, 'recovery-codes');
  }

  /** Double-submit token bound to the session, so a planted cookie from another session is useless. */
  csrfFor(sessionId: string): string {
    return createHmac('sha256', this.csrf).update(sessionId).digest('base64url');
  }

  /**
   * HMAC of the lower-cased submitted username: the key failed sign-ins are counted under, for
   * accounts that exist and names that do not alike (a lock must not reveal which names exist).
   */
  loginKey(username: string): Buffer {
    return createHmac('sha256', this.loginFailures).update(username.toLowerCase()).digest();
  }

  /** Case, spaces and dashes do not matter when a person types a code back (docs/security.md, "Recovery codes"). */
  recoveryHash(code: string): Buffer {
    return createHmac('sha256', this.recovery).update(code.toLowerCase().replace(/[^a-z0-9]/g, '')).digest();
  }
}

export function audit(ledger: LedgerService, ctx: AuthContext, type: string, stream: string | null, data: Record<string, unknown>, db?: Db) {
  // Outside a caller's transaction the ledger opens its own: the stream lock that orders
  // concurrent entries of one user's stream (two failed sign-ins at once) holds only in one.
  return ledger.append(ctx, ledger.prepare(ctx, [{ type, stream, data }], { allowSystemTypes: true }), db ? { db } : {});
}

/** The signed-in user's own row, for changes to their own account. */
export async function accountUser(db: Db, ctx: AuthContext): Promise<UserRow> {
  requireScope(ctx, 'account');
  const actor = requireUser(ctx);
  return (await authStore.userById(db, actor.userId))!;
}

/** Checks a second-factor code for a signed-in action and uses it up (a code works once). */
export async function useTotp(db: Db, keys: AuthKeys, clock: Clock, u: UserRow, code: string, message: string): Promise<void> {
  const step = await checkTotp(keys.totpBox.open(u.totp_secret_enc!), String(code), clock.now());
  if (step === null) throw fail('totp_invalid', message);
  if (!(await authStore.consumeTotpStep(db, u.id, step))) throw fail('totp_reused', 'That code was already used; wait for the next one');
}

/** A fresh set of RECOVERY_CODE_COUNT codes for the user, stored hashed; answered once, in clear. */
export async function issueRecoveryCodes(db: Db, keys: AuthKeys, userId: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  await authStore.replaceRecoveryCodes(db, userId, codes.map((c) => keys.recoveryHash(c)));
  return codes;
}
