import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { CairnError, type CairnClient } from '@cairn/sdk';
import type { TestServer } from '../../test/harness.js';
import { hookReceiver, registrationWorld, today, type RegistrationClient, type RegistrationTree } from '../../test/registration-world.js';

/**
 * The action hooks other than register's (tested in registrations.test.ts): notify, print (with
 * its fee), reject and archive, each against a real HTTP server playing the external system. A hook
 * is asked before anything is written: its 2xx lets the action happen, its 4xx refuses it with the
 * reason, a failure or a silence past the timeout records nothing.
 */
const PASSWORD = 'correct horse battery staple';
let server: TestServer;
let admin: CairnClient;
let tree: RegistrationTree;
const users = {} as Record<'agent' | 'registrar', RegistrationClient>;
let external: Awaited<ReturnType<typeof hookReceiver>>;
let secret = '';
let mode: 'accept' | 'refuse' | 'fail' | 'slow' = 'accept';

const death = { 'deceased.firstName': 'Moussa', 'deceased.lastName': 'Sow', 'deceased.sex': 'male', 'deceased.dateOfDeath': today(), 'deceased.placeOfDeath': '' };

/** The last request the external system external.received, its signature checked with the type's secret. */
function lastPayload(): { type: string; action: string; registration: { id?: string; status: string; flags: string[]; printedCopies: number } } {
  const last = external.received[external.received.length - 1]!;
  return new Webhook(secret).verify(last.body, last.headers as Record<string, string>) as ReturnType<typeof lastPayload>;
}

async function expectError(p: Promise<unknown>, status: number, code: string): Promise<CairnError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e, `expected ${status} ${code}`).toBeInstanceOf(CairnError);
  expect({ status: (e as CairnError).status, code: (e as CairnError).code }).toEqual({ status, code });
  return e as CairnError;
}

beforeAll(async () => {
  let user: Awaited<ReturnType<typeof registrationWorld>>['user'];
  ({ server, admin, tree, user } = await registrationWorld(PASSWORD));
  server.services.registrations.duplicateCheckers.length = 0;
  death['deceased.placeOfDeath'] = tree.district1;
  users.agent = await user('agent', 'field-agent', tree.office1);
  users.registrar = await user('registrar', 'local-registrar', tree.office1);
  external = await hookReceiver(() =>
    mode === 'accept' ? { status: 200, json: { ok: true } }
    : mode === 'refuse' ? { status: 409, json: { reason: 'The civil status office has closed this file' } }
    : mode === 'fail' ? { status: 503, json: { error: 'down' } }
    : { status: 200, json: { ok: true }, delayMs: 1500 });
  const url = external.url;
  const doc = (await admin.registrationTypes.get('death')).document;
  const hook = { url, timeoutMs: 500 };
  await admin.registrationTypes.put('death', { ...doc, printFee: { amount: 500, currency: 'XOF' }, hooks: { notify: hook, reject: hook, archive: hook, 'print-certificate': hook } });
  secret = (await admin.registrationTypes.rotateHookSecret('death')).secret;
}, 120_000);
afterAll(async () => {
  await external?.close();
  await server?.stop();
});

async function registeredDeath() {
  mode = 'accept';
  const r = await users.agent.registrations.create({ type: 'death', action: 'declare', data: death });
  await users.registrar.registrations.action(r.id, 'assign');
  await users.registrar.registrations.action(r.id, 'register');
  // Registering releases the assignment: printing is the next step, taken up again.
  await users.registrar.registrations.action(r.id, 'assign');
  return r;
}

const print = { collector: { relation: 'informant', name: 'Aminata Sow' }, copies: 2, fee: { amount: 1000, currency: 'XOF', paid: true } };

describe('action hooks for notify, print, reject and archive', () => {
  it('asks the external system before a notification, and a refusal creates nothing', async () => {
    mode = 'accept';
    const n = await users.agent.registrations.create({ type: 'death', action: 'notify', data: { 'deceased.lastName': 'Keita' } });
    expect(n.status).toBe('notified');
    expect(lastPayload()).toMatchObject({ type: 'death', action: 'notify', registration: { status: 'created' } });
    mode = 'refuse';
    const before = (await users.registrar.registrations.list({ type: 'death', limit: 200 })).items.length;
    const e = await expectError(users.agent.registrations.create({ type: 'death', action: 'notify', data: { 'deceased.lastName': 'Traore' } }), 422, 'hook_rejected');
    expect(e.message).toContain('has closed this file');
    expect((await users.registrar.registrations.list({ type: 'death', limit: 200 })).items.length).toBe(before);
  });

  it('prints with the fee once the external system accepts, signed, and prints nothing when it refuses, fails or is too slow', async () => {
    const r = await registeredDeath();
    for (const [m, status, code] of [['refuse', 422, 'hook_rejected'], ['fail', 502, 'registration_hook_failed'], ['slow', 502, 'registration_hook_failed']] as const) {
      mode = m;
      await expectError(users.registrar.registrations.action(r.id, 'print-certificate', { data: print }), status, code);
      const now = await users.registrar.registrations.get(r.id);
      expect(now.printedCopies, m).toBe(0);
      expect(now.flags, m).not.toContain('printed');
    }
    mode = 'accept';
    const done = await users.registrar.registrations.action(r.id, 'print-certificate', { data: print });
    expect(done.registration.printedCopies).toBe(2);
    expect(done.registration.flags).toContain('printed');
    // The external system saw the record as it will be once printed.
    expect(lastPayload()).toMatchObject({ type: 'death', action: 'print-certificate', registration: { id: r.id, status: 'registered', printedCopies: 2 } });
    const h = await users.registrar.registrations.history(r.id);
    expect(h[h.length - 1]).toMatchObject({ action: 'print-certificate', details: { fee: { amount: 1000, currency: 'XOF', paid: true }, collector: { name: 'Aminata Sow' } } });
    // The fee is checked before the external system is asked.
    const asked = external.received.length;
    await expectError(users.registrar.registrations.action(r.id, 'print-certificate', { data: { ...print, fee: { amount: 1, currency: 'XOF', paid: true } } }), 400, 'validation_failed');
    expect(external.received.length).toBe(asked);
  });

  it('rejects and archives only when the external system agrees', async () => {
    const r = await users.agent.registrations.create({ type: 'death', action: 'declare', data: death });
    await users.registrar.registrations.action(r.id, 'assign');
    mode = 'refuse';
    await expectError(users.registrar.registrations.action(r.id, 'reject', { reason: 'Missing the doctor’s certificate' }), 422, 'hook_rejected');
    expect((await users.registrar.registrations.get(r.id)).flags).not.toContain('rejected');
    mode = 'accept';
    const rejected = await users.registrar.registrations.action(r.id, 'reject', { reason: 'Missing the doctor’s certificate' });
    expect(rejected.registration.flags).toContain('rejected');
    expect(lastPayload()).toMatchObject({ action: 'reject', registration: { id: r.id } });

    await users.registrar.registrations.action(r.id, 'assign');
    mode = 'fail';
    await expectError(users.registrar.registrations.action(r.id, 'archive', { reason: 'Declared in error' }), 502, 'registration_hook_failed');
    expect((await users.registrar.registrations.get(r.id)).status).toBe('declared');
    mode = 'accept';
    const archived = await users.registrar.registrations.action(r.id, 'archive', { reason: 'Declared in error' });
    expect(archived.registration.status).toBe('archived');
    expect(lastPayload()).toMatchObject({ action: 'archive', registration: { id: r.id, status: 'declared' } });
  });
});
