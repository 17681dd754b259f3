import { generate } from 'otplib';

const PERIOD_MS = 30_000;
const lastStep = new Map<string, number>();

/**
 * A TOTP code that a server on the real clock accepts and has not seen yet: a code works once
 * (its time step is used up, docs/security.md), so each call answers the code of a later step
 * than the previous call for the same secret. The server accepts the current step and the next
 * one, so two codes are ready per 30-second step; a third waits for the next step. (Tests with
 * their own clock step it instead: see auth.test.ts.)
 */
export async function freshTotpCode(secret: string): Promise<string> {
  for (;;) {
    const now = Math.floor(Date.now() / PERIOD_MS);
    const step = Math.max((lastStep.get(secret) ?? -1) + 1, now);
    if (step <= now + 1) {
      lastStep.set(secret, step);
      return generate({ secret, epoch: step * (PERIOD_MS / 1000) });
    }
    await new Promise((r) => setTimeout(r, (now + 1) * PERIOD_MS - Date.now() + 50));
  }
}
