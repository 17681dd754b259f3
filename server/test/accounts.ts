import { afterAll, beforeAll } from 'vitest';
import { generate } from 'otplib';
import type pg from 'pg';
import type { App } from '../src/app.js';
import type { Services } from '../src/services.js';
import type { Clock } from '../src/kernel/clock.js';
import { createTestApp, setupAdmin } from './harness.js';

export interface AdminApp {
  app: App;
  services: Services;
  pool: pg.Pool;
  /** The first admin's bearer header. */
  admin: string;
  adminId: string;
}

/**
 * An in-process app with its first admin, created before the file's tests and stopped after:
 * the fields are filled in by beforeAll, so read them inside tests.
 */
export function useAdminApp(env: Record<string, string> = {}, opts: { clock?: Clock } = {}): AdminApp {
  const t = {} as AdminApp;
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const made = await createTestApp({ CAIRN_LOGIN_RATE_LIMIT: '1000', ...env }, opts);
    stop = made.stop;
    const a = await setupAdmin(made.app);
    Object.assign(t, { app: made.app, services: made.services, pool: made.pool, admin: a.authorization, adminId: a.userId });
  });
  afterAll(() => stop?.());
  return t;
}

/** Creates a member (password "<username> password 1") and signs them in: their id and bearer header. */
export async function addUser(app: App, admin: string, username: string, extra: { displayName?: string; role?: 'admin' | 'member' } = {}): Promise<{ id: string; authorization: string }> {
  const password = `${username} password 1`;
  const created = await app.inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: admin }, payload: { username, password, role: extra.role ?? 'member', ...(extra.displayName ? { displayName: extra.displayName } : {}) } });
  if (created.statusCode !== 201) throw new Error(`creating ${username}: ${created.statusCode} ${created.body}`);
  const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
  return { id: created.json().user.id as string, authorization: `Bearer ${login.json().accessToken}` };
}

/**
 * A server clock that runs ahead of real time by a step each time a TOTP code is taken, so every
 * code is fresh (a code works once), as a person types the next code their app shows.
 */
export function steppingTotpClock(): { clock: Clock; nextCode(secret: string): Promise<string> } {
  let offset = 0;
  return {
    clock: { now: () => new Date(Date.now() + offset) },
    nextCode(secret: string) {
      offset += 30_000;
      return generate({ secret, epoch: Math.floor((Date.now() + offset) / 1000) });
    },
  };
}
