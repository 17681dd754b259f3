import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { CairnError, type CairnClient, type RegistrationTypeDocument } from '@cairn/sdk';
import type { TestServer } from '../../test/harness.js';
import { birthAnswers, hookReceiver, registrationWorld, today, type RegistrationClient, type RegistrationTree } from '../../test/registration-world.js';
import { newId } from '../kernel/ids.js';

/**
 * Paths of the workflow beyond the happy one, over real HTTP against the real database: printing
 * with a fee (the type's and a template's), corrections requested then approved or rejected, and
 * action hooks on reject, archive and print answered by a real receiver on loopback (200, 4xx,
 * 202, too slow). Every refusal is checked to have written nothing: same version, same history.
 */
const PASSWORD = 'correct horse battery staple';
let server: TestServer;
let admin: CairnClient;
let tree: RegistrationTree;
const users = {} as Record<'agent' | 'regAgent' | 'registrar' | 'other', RegistrationClient>;

let receiver: Awaited<ReturnType<typeof hookReceiver>>;
let hookUrl = '';
let secret = '';
let mode: 'accept' | 'pending' | 'refuse' | 'slow' = 'accept';


async function expectError(p: Promise<unknown>, status: number, code: string): Promise<CairnError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e, `expected ${status} ${code}`).toBeInstanceOf(CairnError);
  expect({ status: (e as CairnError).status, code: (e as CairnError).code }).toEqual({ status, code });
  return e as CairnError;
}

/** What a registration has written: its version and its history without the audited reads. */
async function written(id: string) {
  const r = await users.registrar.registrations.get(id);
  const h = (await users.registrar.registrations.history(id)).filter((x) => x.action !== 'read');
  return { version: r.version, status: r.status, flags: r.flags, printedCopies: r.printedCopies, data: r.data, actions: h.map((x) => x.entryId) };
}

beforeAll(async () => {
  let user: Awaited<ReturnType<typeof registrationWorld>>['user'];
  ({ server, admin, tree, user } = await registrationWorld(PASSWORD));
  server.services.registrations.duplicateCheckers.length = 0;
  users.agent = await user('agent', 'field-agent', tree.office1);
  users.regAgent = await user('reg-agent', 'registration-agent', tree.office1);
  users.registrar = await user('registrar', 'local-registrar', tree.office1);
  users.other = await user('other-registrar', 'local-registrar', tree.office2);

  // Birth: a fee for every copy, and a cheaper extract with its own fee.
  const birth = (await admin.registrationTypes.get('birth')).document;
  const template = birth.certificates![0]!;
  await admin.registrationTypes.put('birth', {
    ...birth,
    printFee: { amount: 250, currency: 'XOF' },
    certificates: [template, { id: 'extract', label: { en: 'Extract', fr: 'Extrait' }, svg: template.svg, fee: { amount: 100, currency: 'XOF' } }],
  });

  receiver = await hookReceiver(() =>
    mode === 'accept' ? { status: 200, json: { ok: true } }
    : mode === 'pending' ? { status: 202, json: {} }
    : mode === 'refuse' ? { status: 403, json: { reason: 'The population register holds this person as alive' } }
    : { status: 200, json: { ok: true }, delayMs: 1500 });
  hookUrl = receiver.url;
}, 120_000);
afterAll(async () => {
  await receiver?.close();
  await server?.stop();
});

const birthData = (over: Record<string, unknown> = {}) => birthAnswers(tree.district1, { 'child.firstName': 'Fatou', ...over });

/** A registered birth, assigned to the registrar (registering releases the assignment). */
async function registeredBirth(over: Record<string, unknown> = {}) {
  const r = await users.agent.registrations.create({ type: 'birth', action: 'declare', data: birthData(over) });
  await users.registrar.registrations.action(r.id, 'assign');
  await users.registrar.registrations.action(r.id, 'register');
  await users.registrar.registrations.action(r.id, 'assign');
  return r;
}

async function certificateText(client: RegistrationClient, id: string, template?: string): Promise<string> {
  const res = await fetch(client.registrations.certificateUrl(id, template), { headers: { authorization: `Bearer ${client.token}` } });
  expect(res.status).toBe(200);
  const file = path.join(os.tmpdir(), `cert-${newId()}.pdf`);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  try {
    return execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' });
  } finally {
    fs.rmSync(file);
  }
}

const collector = { relation: 'mother', name: 'Awa Diallo' };

describe('printing a certificate with a fee', () => {
  it('records the fee (amount × copies, currency, paid) on the print action and in the history', async () => {
    const r = await registeredBirth();
    const done = await users.registrar.registrations.action(r.id, 'print-certificate', { data: { collector, copies: 3, fee: { amount: 750, currency: 'XOF', paid: true } } });
    expect(done.registration.printedCopies).toBe(3);
    expect(done.registration.flags).toEqual(['printed']);
    const h = (await users.registrar.registrations.history(r.id)).filter((x) => x.action !== 'read');
    const last = h[h.length - 1]!;
    expect(last.action).toBe('print-certificate');
    expect(last.details).toEqual({ collector: { relation: 'mother', name: 'Awa Diallo' }, copies: 3, fee: { amount: 750, currency: 'XOF', paid: true } });
    expect(last.changes).toEqual([]);
    expect(last.actor).toMatchObject({ username: 'registrar', role: 'local-registrar' });
  });

  it('refuses a missing, negative, unpaid, wrong-currency or wrong-amount fee with a pointer, and writes nothing', async () => {
    const r = await registeredBirth();
    const before = await written(r.id);
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['missing', { collector }, '/data/fee'],
      ['not an object', { collector, fee: 250 }, '/data/fee'],
      ['negative', { collector, fee: { amount: -250, currency: 'XOF', paid: true } }, '/data/fee'],
      ['wrong currency', { collector, fee: { amount: 250, currency: 'EUR', paid: true } }, '/data/fee'],
      ['unpaid', { collector, fee: { amount: 250, currency: 'XOF', paid: false } }, '/data/fee'],
      ['one copy’s fee for two', { collector, copies: 2, fee: { amount: 250, currency: 'XOF', paid: true } }, '/data/fee'],
      ['the extract’s fee for the certificate', { collector, fee: { amount: 100, currency: 'XOF', paid: true } }, '/data/fee'],
      ['an unknown property', { collector, fee: { amount: 250, currency: 'XOF', paid: true, receipt: '<script>' } }, '/data/fee/receipt'],
      ['no collector', { fee: { amount: 250, currency: 'XOF', paid: true } }, '/data/collector'],
      ['zero copies', { collector, copies: 0, fee: { amount: 0, currency: 'XOF', paid: true } }, '/data/copies'],
      ['an unknown template', { collector, template: 'nope', fee: { amount: 250, currency: 'XOF', paid: true } }, '/data/template'],
    ];
    for (const [name, data, pointer] of cases) {
      const e = await expectError(users.registrar.registrations.action(r.id, 'print-certificate', { data }), 400, 'validation_failed');
      expect(e.details, name).toEqual([{ pointer, message: expect.any(String) }]);
    }
    expect(await written(r.id)).toEqual(before);
    expect(before.printedCopies).toBe(0);
  });

  it('charges a template’s own fee when that template is printed', async () => {
    const r = await registeredBirth();
    await expectError(users.registrar.registrations.action(r.id, 'print-certificate', { data: { collector, template: 'extract', copies: 2, fee: { amount: 500, currency: 'XOF', paid: true } } }), 400, 'validation_failed');
    const done = await users.registrar.registrations.action(r.id, 'print-certificate', { data: { collector, template: 'extract', copies: 2, fee: { amount: 200, currency: 'XOF', paid: true } } });
    expect(done.registration.printedCopies).toBe(2);
    const h = await users.registrar.registrations.history(r.id);
    expect(h[h.length - 1]!.details).toEqual({ collector, copies: 2, template: 'extract', fee: { amount: 200, currency: 'XOF', paid: true } });
  });

  it('refuses a fee on a type that charges none, before any hook is asked', async () => {
    const death = (await admin.registrationTypes.get('death')).document;
    expect(death.printFee).toBeUndefined();
    const r = await users.agent.registrations.create({ type: 'death', action: 'declare', data: { 'deceased.firstName': 'Ibrahima', 'deceased.lastName': 'Fall', 'deceased.sex': 'male', 'deceased.dateOfDeath': today(), 'deceased.placeOfDeath': tree.district1 } });
    await users.registrar.registrations.action(r.id, 'assign');
    await users.registrar.registrations.action(r.id, 'register');
    await users.registrar.registrations.action(r.id, 'assign');
    const before = await written(r.id);
    const e = await expectError(users.registrar.registrations.action(r.id, 'print-certificate', { data: { collector, fee: { amount: 1, currency: 'XOF', paid: true } } }), 400, 'validation_failed');
    expect(e.details).toEqual([{ pointer: '/data/fee', message: 'this type charges no fee' }]);
    expect(await written(r.id)).toEqual(before);
  });
});

describe('corrections', () => {
  it('requests a correction, approved by a registrar only: the data changes, the history shows both, the certificate is corrected', async () => {
    const r = await registeredBirth();
    await users.registrar.registrations.action(r.id, 'print-certificate', { data: { collector, fee: { amount: 250, currency: 'XOF', paid: true } } });
    expect(await certificateText(users.registrar, r.id)).toContain('Fatou');
    await users.registrar.registrations.action(r.id, 'unassign');

    // A field agent may not request a correction; a registration agent may.
    await expectError(users.agent.registrations.action(r.id, 'request-correction', { reason: 'Misspelt', data: { 'child.firstName': 'Mariama' } }), 403, 'forbidden');
    await users.regAgent.registrations.action(r.id, 'assign');
    const before = await written(r.id);
    await expectError(users.regAgent.registrations.action(r.id, 'request-correction', { data: { 'child.firstName': 'Mariama' } }), 400, 'validation_failed');
    const noData = await expectError(users.regAgent.registrations.action(r.id, 'request-correction', { reason: 'Misspelt' }), 400, 'validation_failed');
    expect(noData.details).toEqual([{ pointer: '/data', message: 'required' }]);
    const bad = await expectError(users.regAgent.registrations.action(r.id, 'request-correction', { reason: 'Misspelt', data: { 'child.sex': 'x' } }), 422, 'invalid_registration_data');
    expect((bad.details as { errors: Array<{ pointer: string }> }).errors.map((x) => x.pointer)).toEqual(['/child.sex']);
    expect(await written(r.id)).toEqual(before);

    const requested = await users.regAgent.registrations.action(r.id, 'request-correction', { reason: 'Misspelt at the declaration', data: { 'child.firstName': 'Mariama' } });
    expect(requested.registration.flags).toEqual(['correction-requested', 'printed']);
    expect(requested.registration.data['child.firstName']).toBe('Fatou');
    expect(requested.registration.correction?.data['child.firstName']).toBe('Mariama');
    // Nothing is printed while a correction is pending, and a second one waits for the first.
    await expectError(users.regAgent.registrations.action(r.id, 'print-certificate', { data: { collector, fee: { amount: 250, currency: 'XOF', paid: true } } }), 409, 'action_not_allowed');
    await expectError(users.regAgent.registrations.action(r.id, 'request-correction', { reason: 'Again', data: { 'child.firstName': 'Binta' } }), 409, 'action_not_allowed');

    // Only a registrar decides: an agent is forbidden, a registrar elsewhere does not see it.
    await expectError(users.regAgent.registrations.action(r.id, 'approve-correction'), 403, 'forbidden');
    await expectError(users.regAgent.registrations.action(r.id, 'reject-correction', { reason: 'No' }), 403, 'forbidden');
    await expectError(users.other.registrations.action(r.id, 'approve-correction'), 404, 'not_found');
    await expectError(users.registrar.registrations.action(r.id, 'approve-correction'), 409, 'registration_not_assigned');
    const pending = await written(r.id);

    await users.registrar.registrations.action(r.id, 'assign', { force: true });
    const approved = await users.registrar.registrations.action(r.id, 'approve-correction');
    expect(approved.registration.data['child.firstName']).toBe('Mariama');
    expect(approved.registration.data['child.lastName']).toBe('Diallo');
    expect(approved.registration.status).toBe('registered');
    // The printed certificates are out of date: printing is due again.
    expect(approved.registration.flags).toEqual([]);
    expect(approved.registration.correction).toBeUndefined();
    expect(approved.registration.version).toBe(pending.version + 2);
    await expectError(users.registrar.registrations.action(r.id, 'approve-correction'), 409, 'action_not_allowed');
    await expectError(users.registrar.registrations.action(r.id, 'reject-correction', { reason: 'Too late' }), 409, 'action_not_allowed');
    expect((await users.registrar.registrations.get(r.id)).version).toBe(approved.registration.version);

    const h = (await users.registrar.registrations.history(r.id)).filter((x) => x.action !== 'read');
    expect(h.slice(-3).map((x) => [x.action, x.actor.username, x.reason, x.changes, x.details, x.flagsAfter])).toEqual([
      ['request-correction', 'reg-agent', 'Misspelt at the declaration', [], { correction: [{ field: 'child.firstName', from: 'Fatou', to: 'Mariama' }] }, ['correction-requested', 'printed']],
      ['assign', 'registrar', null, [], { tookOverFrom: users.regAgent.userId }, ['correction-requested', 'printed']],
      ['approve-correction', 'registrar', null, [{ field: 'child.firstName', from: 'Fatou', to: 'Mariama' }], {}, []],
    ]);
    const text = await certificateText(users.registrar, r.id);
    expect(text).toContain('Mariama');
    expect(text).not.toContain('Fatou');
    expect(text).toContain(approved.registration.registrationNumber!);
  });

  it('rejects a requested correction: the data is unchanged and the reason kept', async () => {
    const r = await registeredBirth({ 'child.firstName': 'Khady' });
    const requested = await users.registrar.registrations.action(r.id, 'request-correction', { reason: 'The mother says Khadija', data: { 'child.firstName': 'Khadija', 'mother.lastName': 'Ba' } });
    expect(requested.registration.flags).toEqual(['correction-requested']);
    const before = await written(r.id);
    const noReason = await expectError(users.registrar.registrations.action(r.id, 'reject-correction'), 400, 'validation_failed');
    expect(noReason.details).toEqual([{ pointer: '/reason', message: 'required' }]);
    expect(await written(r.id)).toEqual(before);
    const rejected = await users.registrar.registrations.action(r.id, 'reject-correction', { reason: 'The birth notification says Khady' });
    expect(rejected.registration.data).toEqual(before.data);
    expect(rejected.registration.data['child.firstName']).toBe('Khady');
    expect(rejected.registration.flags).toEqual([]);
    expect(rejected.registration.correction).toBeUndefined();
    await expectError(users.registrar.registrations.action(r.id, 'approve-correction'), 409, 'action_not_allowed');
    const h = (await users.registrar.registrations.history(r.id)).filter((x) => x.action !== 'read');
    expect(h.slice(-2).map((x) => [x.action, x.reason, x.changes, x.statusAfter, x.flagsAfter])).toEqual([
      ['request-correction', 'The mother says Khadija', [], 'registered', ['correction-requested']],
      ['reject-correction', 'The birth notification says Khady', [], 'registered', []],
    ]);
    expect(h[h.length - 2]!.details).toEqual({ correction: [{ field: 'child.firstName', from: 'Khady', to: 'Khadija' }, { field: 'mother.lastName', from: 'Diallo', to: 'Ba' }] });
    // Printing is possible again, with the data as it was.
    await users.registrar.registrations.action(r.id, 'print-certificate', { data: { collector, fee: { amount: 250, currency: 'XOF', paid: true } } });
    expect(await certificateText(users.registrar, r.id)).toContain('Khady');
  });

  it('corrects only registered records', async () => {
    const r = await users.agent.registrations.create({ type: 'birth', action: 'declare', data: birthData() });
    await users.registrar.registrations.action(r.id, 'assign');
    await expectError(users.registrar.registrations.action(r.id, 'request-correction', { reason: 'x', data: { 'child.firstName': 'Y' } }), 409, 'action_not_allowed');
    await expectError(users.registrar.registrations.action(r.id, 'approve-correction'), 409, 'action_not_allowed');
  });
});

describe('action hooks on reject, archive and print', () => {
  const deathData = () => ({ 'deceased.firstName': 'Moussa', 'deceased.lastName': 'Sow', 'deceased.sex': 'male', 'deceased.dateOfDeath': today(), 'deceased.placeOfDeath': tree.district1 });
  let deathDoc: RegistrationTypeDocument;

  beforeAll(async () => {
    deathDoc = (await admin.registrationTypes.get('death')).document;
    const hook = { url: hookUrl, timeoutMs: 500 };
    await admin.registrationTypes.put('death', { ...deathDoc, hooks: { reject: hook, archive: hook, 'print-certificate': hook } });
    secret = (await admin.registrationTypes.rotateHookSecret('death')).secret;
  });

  /** A declared death assigned to the registrar (no hook on declare or register). */
  async function declaredDeath() {
    const r = await users.agent.registrations.create({ type: 'death', action: 'declare', data: deathData() });
    await users.registrar.registrations.action(r.id, 'assign');
    return r;
  }
  async function registeredDeath() {
    const r = await declaredDeath();
    await users.registrar.registrations.action(r.id, 'register');
    await users.registrar.registrations.action(r.id, 'assign');
    return r;
  }
  const take: Record<'reject' | 'archive' | 'print-certificate', { ready: () => Promise<{ id: string }>; input: { reason?: string; data?: Record<string, unknown> } }> = {
    reject: { ready: declaredDeath, input: { reason: 'No medical certificate' } },
    archive: { ready: declaredDeath, input: { reason: 'Declared twice' } },
    'print-certificate': { ready: registeredDeath, input: { data: { collector: { relation: 'informant', name: 'Aminata Sow' } } } },
  };
  const ACTIONS = Object.keys(take) as Array<keyof typeof take>;

  function verified(i: number): { type: string; action: string; registration: { id: string; status: string } } {
    const got = receiver.received[i]!;
    return new Webhook(secret).verify(got.body, got.headers as Record<string, string>) as ReturnType<typeof verified>;
  }

  it('refuses a hook on an action that has none (validate, corrections), pointing into the document', async () => {
    const versions = (await admin.registrationTypes.versions('death')).length;
    for (const action of ['validate', 'request-correction', 'approve-correction']) {
      const e = await expectError(admin.registrationTypes.put('death', { ...deathDoc, hooks: { [action]: { url: hookUrl } } as never }), 422, 'invalid_registration_type');
      expect(JSON.stringify(e.details), action).toContain('/hooks');
    }
    await expectError(admin.registrationTypes.put('death', { ...deathDoc, hooks: { reject: { url: hookUrl, timeoutMs: 30_001 } } }), 422, 'invalid_registration_type');
    expect((await admin.registrationTypes.versions('death')).length).toBe(versions);
  });

  it('asks the receiver with a signed request before each action, which then happens', async () => {
    mode = 'accept';
    for (const action of ACTIONS) {
      const r = await take[action].ready();
      const at = receiver.received.length;
      const done = await users.registrar.registrations.action(r.id, action, take[action].input);
      expect(receiver.received.length, action).toBe(at + 1);
      const payload = verified(at);
      expect(payload, action).toMatchObject({ type: 'death', action, registration: { id: r.id } });
      // Signed with the type's secret, not with any other.
      const got = receiver.received[at]!;
      expect(got.headers['webhook-id']).toMatch(/^msg_/);
      expect(() => new Webhook(Buffer.from('another secret entirely').toString('base64')).verify(got.body, got.headers as Record<string, string>)).toThrow();
      expect(() => new Webhook(secret).verify(got.body.replace('"death"', '"birth"'), got.headers as Record<string, string>)).toThrow();
      const expected = { reject: ['declared', ['rejected']], archive: ['archived', []], 'print-certificate': ['registered', ['printed']] }[action];
      expect([done.registration.status, done.registration.flags], action).toEqual(expected);
      const h = await users.registrar.registrations.history(r.id);
      expect(h[h.length - 1]!.action).toBe(action);
    }
    const ids = receiver.received.map((x) => x.headers['webhook-id']);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('a 4xx blocks the action with the receiver’s reason and writes nothing', async () => {
    for (const action of ACTIONS) {
      mode = 'accept';
      const r = await take[action].ready();
      const before = await written(r.id);
      mode = 'refuse';
      const at = receiver.received.length;
      const e = await expectError(users.registrar.registrations.action(r.id, action, take[action].input), 422, 'hook_rejected');
      expect(receiver.received.length, action).toBe(at + 1);
      expect(e.message).toBe('The external system refused: The population register holds this person as alive');
      expect(e.details).toEqual({ reason: 'The population register holds this person as alive' });
      expect(await written(r.id), action).toEqual(before);
    }
  });

  it('a receiver slower than the timeout answers 502 registration_hook_failed and writes nothing', async () => {
    for (const action of ACTIONS) {
      mode = 'accept';
      const r = await take[action].ready();
      const before = await written(r.id);
      mode = 'slow';
      const started = Date.now();
      await expectError(users.registrar.registrations.action(r.id, action, take[action].input), 502, 'registration_hook_failed');
      expect(Date.now() - started, action).toBeLessThan(1400);
      expect(await written(r.id), action).toEqual(before);
    }
    mode = 'accept';
  });

  it('a 202 lets reject, archive and print proceed at once (only register waits); a callback then has nothing to decide', async () => {
    for (const action of ACTIONS) {
      mode = 'accept';
      const r = await take[action].ready();
      mode = 'pending';
      const done = await users.registrar.registrations.action(r.id, action, take[action].input);
      expect(done.registration.flags, action).not.toContain('waiting-for-external-validation');
      const expected = { reject: ['declared', ['rejected']], archive: ['archived', []], 'print-certificate': ['registered', ['printed']] }[action];
      expect([done.registration.status, done.registration.flags], action).toEqual(expected);
      const before = await written(r.id);
      const body = JSON.stringify({ registrationNumber: 'LATE-1' });
      const id = `msg_${newId()}`;
      const now = new Date();
      const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign(id, now, body) };
      const res = await fetch(`${server.url}/api/v1/registrations/${r.id}/external-validation`, { method: 'POST', headers, body });
      expect(res.status, action).toBe(409);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('action_not_allowed');
      expect(await written(r.id), action).toEqual(before);
    }
    mode = 'accept';
  });
});
