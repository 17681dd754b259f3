import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { CairnClient, CairnError, type RegistrationTypeDocument } from '@cairn/sdk';
import type { TestServer } from '../../test/harness.js';
import { birthAnswers, registrationWorld, today, type RegistrationTree } from '../../test/registration-world.js';
import { newId } from '../kernel/ids.js';
import { BIRTH } from './registrations.shipped.js';

const PASSWORD = 'correct horse battery staple';
let server: TestServer;
let admin: CairnClient;
type Client = CairnClient & { userId: string };
let users: Record<'agent' | 'validator' | 'registrar' | 'registrar2' | 'other' | 'national' | 'none', Client>;
let tree: RegistrationTree;

async function expectError(p: Promise<unknown>, status: number, code: string): Promise<CairnError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `expected ${status} ${code}`).toBeInstanceOf(CairnError);
  const err = e as CairnError;
  expect({ status: err.status, code: err.code }).toEqual({ status, code });
  return err;
}

const birthData = (over: Record<string, unknown> = {}) => birthAnswers(tree.district1, over);

beforeAll(async () => {
  const world = await registrationWorld(PASSWORD);
  ({ server, admin, tree } = world);
  // These tests drive the workflow's de-duplication seam with a checker of their own (most of their
  // births are the same child on purpose); the real de-duplication is tested in search/search.test.ts.
  server.services.registrations.duplicateCheckers.length = 0;
  users = await world.users({
    agent: ['field-agent', 'field-agent', tree.office1],
    validator: ['reg-agent', 'registration-agent', tree.office1],
    registrar: ['registrar', 'local-registrar', tree.office1],
    registrar2: ['registrar-b', 'local-registrar', tree.office1],
    other: ['other-registrar', 'local-registrar', tree.office2],
    national: ['national', 'national-registrar', tree.office2],
    none: ['no-role', null, null],
  });
});
afterAll(async () => {
  await server?.stop();
});

async function declared(over: Record<string, unknown> = {}) {
  return users.agent.registrations.create({ type: 'birth', action: 'declare', data: birthData(over) });
}

describe('registration types', () => {
  it('ships birth and death, and documents them with a schema the server checks', async () => {
    const types = await users.agent.registrationTypes.list();
    expect(types.map((t) => [t.id, t.version])).toEqual([['birth', 1], ['death', 1]]);
    const birth = await users.agent.registrationTypes.get('birth');
    const ids = birth.document.form.pages.flatMap((p) => p.fields.map((f) => f.name));
    for (const id of ['child.firstName', 'child.lastName', 'child.sex', 'child.dob', 'child.placeOfBirth', 'mother.firstName', 'mother.lastName', 'mother.dob', 'mother.nationalId', 'father.firstName', 'father.lastName', 'informant.phone']) expect(ids).toContain(id);
    const death = await users.agent.registrationTypes.get('death');
    const dids = death.document.form.pages.flatMap((p) => p.fields.map((f) => f.name));
    for (const id of ['deceased.firstName', 'deceased.lastName', 'deceased.sex', 'deceased.dob', 'deceased.nationalId', 'deceased.dateOfDeath', 'deceased.placeOfDeath', 'informant.phone']) expect(dids).toContain(id);
  });

  it('refuses a document that does not validate, pointing into it, and a template with scripts', async () => {
    const bad = { ...BIRTH, id: 'marriage', eventDateField: 'mother.firstName' };
    const e = await expectError(admin.registrationTypes.put('marriage', bad), 422, 'invalid_registration_type');
    expect(JSON.stringify(e.details)).toContain('/eventDateField');
    const script = { ...BIRTH, id: 'marriage', certificates: [{ id: 'c', label: { en: 'C', fr: 'C' }, svg: '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>' }] };
    const e2 = await expectError(admin.registrationTypes.put('marriage', script), 422, 'invalid_registration_type');
    expect(JSON.stringify(e2.details)).toContain('/certificates/0/svg');
    const external = { ...BIRTH, id: 'marriage', certificates: [{ id: 'c', label: { en: 'C', fr: 'C' }, svg: '<svg xmlns="http://www.w3.org/2000/svg"><image href="https://evil.example/x.png"/></svg>' }] };
    await expectError(admin.registrationTypes.put('marriage', external), 422, 'invalid_registration_type');
    const unknownKind = { ...BIRTH, id: 'marriage', form: { pages: [{ id: 'a', title: 'A', fields: [{ kind: 'hologram', name: 'x.y', label: 'X' }] }] } };
    await expectError(admin.registrationTypes.put('marriage', unknownKind as never), 422, 'invalid_registration_type');
    await expectError(users.registrar.registrationTypes.put('marriage', { ...BIRTH, id: 'marriage' }), 403, 'forbidden');
    // A de-duplication model naming what it does not compare would fail every later declare.
    const dedup = (deduplication: unknown) => ({ ...BIRTH, id: 'marriage', deduplication } as never);
    const e3 = await expectError(admin.registrationTypes.put('marriage', dedup({ scored: { fields: [{ id: 'child.shoeSize', kind: 'name' }, { id: 'child.dob', kind: 'colour' }] } })), 422, 'invalid_registration_type');
    expect((e3.details as { errors: Array<{ pointer: string }> }).errors.map((x) => x.pointer)).toEqual(['/deduplication/scored/fields/0/id', '/deduplication/scored/fields/1/kind']);
    const e4 = await expectError(admin.registrationTypes.put('marriage', dedup({ scored: { fields: [{ id: 'child.dob', kind: 'date' }], distinct: [{ same: ['child.dob'], differ: ['child.firstName'] }] } })), 422, 'invalid_registration_type');
    expect(JSON.stringify(e4.details)).toContain('child.firstName');
    await expectError(admin.registrationTypes.put('marriage', dedup({ mode: 'magic', scored: { threshold: 2 } })), 422, 'invalid_registration_type');
  });

  it('saves an admin-defined type with versions; registrations keep the version they were declared under', async () => {
    const marriage: RegistrationTypeDocument = {
      id: 'marriage',
      label: { en: 'Marriage', fr: 'Mariage' },
      languages: ['en', 'fr'],
      eventDateField: 'marriage.date',
      eventLocationField: 'marriage.place',
      form: {
        pages: [
          {
            id: 'spouses',
            title: { en: 'Spouses', fr: 'Époux' },
            fields: [
              { kind: 'personName', name: 'groom.lastName', label: { en: 'Groom', fr: 'Époux' }, required: true },
              { kind: 'personName', name: 'bride.lastName', label: { en: 'Bride', fr: 'Épouse' }, required: true },
              { kind: 'nationalId', name: 'bride.nationalId', label: { en: 'ID', fr: 'NI' }, pattern: '[0-9]{6}', checkDigit: 'luhn' },
              { kind: 'date', name: 'marriage.date', label: { en: 'Date', fr: 'Date' }, required: true },
              { kind: 'location', name: 'marriage.place', label: { en: 'Place', fr: 'Lieu' }, required: true },
            ],
          },
        ],
      },
      actions: { validate: { allowedWhen: { '!=': [{ var: 'data.bride.lastName' }, 'Blocked'] } }, archive: { roles: ['local-registrar'] } },
      customActions: { escalate: { label: { en: 'Escalate', fr: 'Escalader' }, fields: [{ kind: 'text', name: 'note', label: { en: 'Note', fr: 'Note' }, required: true }], addsFlags: ['escalated'] } },
    };
    const v1 = await admin.registrationTypes.put('marriage', marriage);
    expect(v1.version).toBe(1);
    expect((await admin.registrationTypes.put('marriage', marriage)).version).toBe(1);
    const data = { 'groom.lastName': 'Ba', 'bride.lastName': 'Sy', 'marriage.date': '2026-01-10', 'marriage.place': tree.district1 };
    await expectError(users.agent.registrations.create({ type: 'marriage', action: 'declare', data: { ...data, 'bride.nationalId': '123456' } }), 422, 'invalid_registration_data');
    const r = await users.agent.registrations.create({ type: 'marriage', action: 'declare', data: { ...data, 'bride.nationalId': '123455' } });
    const v2 = await admin.registrationTypes.put('marriage', { ...marriage, label: { en: 'Civil marriage', fr: 'Mariage civil' } });
    expect(v2.version).toBe(2);
    expect((await users.agent.registrations.get(r.id)).typeVersion).toBe(1);
    expect((await admin.registrationTypes.versions('marriage')).map((v) => v.version)).toEqual([1, 2]);
    // The custom action with its own small form
    await users.validator.registrations.action(r.id, 'assign');
    await expectError(users.validator.registrations.action(r.id, 'escalate', { data: {} }), 422, 'invalid_registration_data');
    const esc = await users.validator.registrations.action(r.id, 'escalate', { data: { note: 'Check the bride’s age' } });
    expect(esc.registration.flags).toContain('escalated');
    await expectError(users.validator.registrations.action(r.id, 'teleport'), 422, 'unknown_action');
    // The type's own rules: a condition on validate (409) and archive narrowed to registrars (403).
    const blocked = await users.agent.registrations.create({ type: 'marriage', action: 'declare', data: { ...data, 'bride.lastName': 'Blocked' } });
    await users.validator.registrations.action(blocked.id, 'assign');
    await expectError(users.validator.registrations.action(blocked.id, 'validate'), 409, 'action_not_allowed');
    await expectError(users.validator.registrations.action(blocked.id, 'archive'), 403, 'forbidden');
    await users.registrar.registrations.action(blocked.id, 'assign', { force: true });
    expect((await users.registrar.registrations.action(blocked.id, 'archive')).registration.status).toBe('archived');
  });
});

describe('declare → validate → register → print', () => {
  it('accepts a birth whose child has no first name and whose mother has no ID or date of birth', async () => {
    const r = await declared();
    expect(r.status).toBe('declared');
    expect(r.trackingId).toMatch(/^[ACDEFGHJKMNPQRTUVWXY34679]{7}$/);
    expect(r.flags).toEqual([]);
    expect(r.data['child.firstName']).toBeUndefined();
  });

  it('runs the whole workflow with roles, assignment, a numbered registration, printing and history', async () => {
    const r = await declared({ 'child.firstName': 'Fatou', 'mother.nationalId': '0123456789', 'mother.dob': { age: 27 } });
    await expectError(users.validator.registrations.action(r.id, 'validate'), 409, 'registration_not_assigned');
    await expectError(users.agent.registrations.action(r.id, 'validate'), 403, 'forbidden');
    await users.validator.registrations.action(r.id, 'assign');
    await expectError(users.registrar.registrations.action(r.id, 'assign'), 409, 'registration_assigned_elsewhere');
    const v = await users.validator.registrations.action(r.id, 'validate', { data: { 'informant.phone': '+221 77 123 45 67' } });
    expect(v.registration.status).toBe('validated');
    expect(v.registration.assignedTo).toBeNull();
    expect(v.registration.data['informant.phone']).toBe('+221771234567');
    await users.registrar.registrations.action(r.id, 'assign');
    const reg = await users.registrar.registrations.action(r.id, 'register');
    expect(reg.registration.status).toBe('registered');
    expect(reg.registration.registrationNumber).toMatch(new RegExp(`^B${new Date().getUTCFullYear()}\\d{7}$`));
    await expectError(users.registrar.registrations.action(r.id, 'print-certificate', { data: {} }), 409, 'registration_not_assigned');
    await users.registrar.registrations.action(r.id, 'assign');
    await expectError(users.registrar.registrations.action(r.id, 'print-certificate', { data: {} }), 400, 'validation_failed');
    const printed = await users.registrar.registrations.action(r.id, 'print-certificate', { data: { collector: { relation: 'mother', name: 'Awa Diallo', idType: 'passport', idNumber: 'A123' }, copies: 2 } });
    expect(printed.registration.flags).toContain('printed');
    expect(printed.registration.printedCopies).toBe(2);
    await expectError(users.registrar.registrations.action(r.id, 'archive'), 409, 'action_not_allowed');

    const detail = await users.registrar.registrations.get(r.id);
    expect(detail.actions.find((a) => a.action === 'print-certificate')).toEqual({ action: 'print-certificate', allowed: true });
    expect(detail.actions.find((a) => a.action === 'validate')).toMatchObject({ allowed: false, reason: 'action_not_allowed' });
    const history = await users.registrar.registrations.history(r.trackingId);
    const actions = history.filter((h) => h.action !== 'read');
    expect(actions.map((h) => [h.action, h.actor.username, h.actor.role, h.statusAfter])).toEqual([
      ['declare', 'field-agent', 'field-agent', 'declared'],
      ['assign', 'reg-agent', 'registration-agent', 'declared'],
      ['validate', 'reg-agent', 'registration-agent', 'validated'],
      ['assign', 'registrar', 'local-registrar', 'validated'],
      ['register', 'registrar', 'local-registrar', 'registered'],
      ['assign', 'registrar', 'local-registrar', 'registered'],
      ['print-certificate', 'registrar', 'local-registrar', 'registered'],
    ]);
    expect(actions[0]!.actor.officeName).toBe('Office One');
    expect(actions[2]!.changes).toEqual([{ field: 'informant.phone', from: null, to: '+221771234567' }]);
    expect(actions[6]!.details).toMatchObject({ collector: { name: 'Awa Diallo' }, copies: 2 });
    // Opening it was audited, once per opening, with who opened it.
    expect(history.filter((h) => h.action === 'read').map((h) => h.actor.username)).toEqual(['registrar']);
  });

  it('accepts a notification with incomplete data and flags it; declaring it needs the missing answers', async () => {
    const n = await users.agent.registrations.create({ type: 'birth', action: 'notify', data: { 'child.lastName': 'Ndiaye' } });
    expect(n.status).toBe('notified');
    expect(n.flags).toEqual(['incomplete']);
    await users.agent.registrations.action(n.id, 'assign');
    const e = await expectError(users.agent.registrations.action(n.id, 'declare'), 422, 'invalid_registration_data');
    expect(JSON.stringify(e.details)).toContain('child.dob');
    const d = await users.agent.registrations.action(n.id, 'declare', { data: birthData({ 'child.lastName': 'Ndiaye' }) });
    expect(d.registration.status).toBe('declared');
    expect(d.registration.flags).toEqual([]);
  });

  it('refuses malformed answers with a pointer to the field, and actions out of order', async () => {
    const e = await expectError(users.agent.registrations.create({ type: 'birth', action: 'declare', data: birthData({ 'mother.nationalId': '12345', 'child.sex': 'x', 'child.colour': 'red' }) }), 422, 'invalid_registration_data');
    const fields = (e.details as { errors: { field: string }[] }).errors.map((x) => x.field).sort();
    expect(fields).toEqual(['child.colour', 'child.sex', 'mother.nationalId']);
    await expectError(users.agent.registrations.create({ type: 'birth', action: 'declare', data: birthData({ 'child.placeOfBirth': newId() }) }), 422, 'invalid_registration_data');
    await expectError(users.agent.registrations.create({ type: 'nope', action: 'declare', data: {} }), 400, 'validation_failed');
    const n = await users.agent.registrations.create({ type: 'birth', action: 'notify', data: {} });
    await users.registrar.registrations.action(n.id, 'assign');
    await expectError(users.registrar.registrations.action(n.id, 'register'), 409, 'action_not_allowed');
    await expectError(users.registrar.registrations.action(n.id, 'reject'), 400, 'validation_failed');
    const rej = await users.registrar.registrations.action(n.id, 'reject', { reason: 'Missing everything' });
    expect(rej.registration.flags).toEqual(['incomplete', 'rejected']);
    await expectError(users.none.registrations.list(), 403, 'registration_role_required');
  });

  it('flags a late registration from the type’s rule', async () => {
    const r = await declared({ 'child.dob': '2020-02-01' });
    expect(r.flags).toEqual(['late-registration']);
  });

  it('applies a repeated transactionId once', async () => {
    const transactionId = `tx-${newId()}`;
    const a = await users.agent.registrations.create({ type: 'birth', action: 'declare', data: birthData(), transactionId });
    const b = await users.agent.registrations.create({ type: 'birth', action: 'declare', data: birthData(), transactionId });
    expect(b.id).toBe(a.id);
    expect(b.replayed).toBe(true);
    await users.validator.registrations.action(a.id, 'assign', { transactionId: `${transactionId}-assign` });
    const again = await users.validator.registrations.action(a.id, 'assign', { transactionId: `${transactionId}-assign` });
    expect(again.replayed).toBe(true);
    expect((await users.validator.registrations.history(a.id)).filter((h) => h.action === 'assign')).toHaveLength(1);
  });

  it('dates work captured offline when the person confirmed it (occurredAt), once, and refuses a clock in the future (issue 14)', async () => {
    const declaredAt = new Date(Date.now() - 3 * 3600_000).toISOString();
    const transactionId = `tx-${newId()}`;
    const a = await users.agent.registrations.create({ type: 'birth', action: 'declare', data: birthData(), transactionId, occurredAt: declaredAt });
    expect(a.createdAt).toBe(declaredAt);
    // A retry from the outbox answers the original, even if it carries another time.
    const again = await users.agent.registrations.create({ type: 'birth', action: 'declare', data: birthData(), transactionId, occurredAt: new Date().toISOString() });
    expect({ id: again.id, createdAt: again.createdAt, replayed: again.replayed }).toEqual({ id: a.id, createdAt: declaredAt, replayed: true });
    const assignedAt = new Date(Date.now() - 3600_000).toISOString();
    await users.validator.registrations.action(a.id, 'assign', { occurredAt: assignedAt });
    const history = await users.validator.registrations.history(a.id);
    expect(history.map((h) => [h.action, h.at])).toEqual([['declare', declaredAt], ['assign', assignedAt]]);
    const future = new Date(Date.now() + 3600_000).toISOString();
    const e = await expectError(users.agent.registrations.create({ type: 'birth', action: 'declare', data: birthData(), occurredAt: future }), 400, 'validation_failed');
    expect(e.details).toEqual([{ pointer: '/occurredAt', message: 'in the future' }]);
    await expectError(users.validator.registrations.action(a.id, 'validate', { occurredAt: 'yesterday' }), 400, 'validation_failed');
    await expectError(users.validator.registrations.action(a.id, 'validate', { occurredAt: '2001-01-01T00:00:00Z' }), 400, 'validation_failed');
    expect((await users.validator.registrations.history(a.id)).length).toBe(2);
  });

  it('replays a transactionId only into its own target: 409 idempotency_conflict elsewhere (issue 10, item 5)', async () => {
    const transactionId = `tx-${newId()}`;
    const a = await users.agent.registrations.create({ type: 'birth', action: 'declare', data: birthData(), transactionId });
    const other = await declared();
    // The create's id sent with an action on another registration, or the action's with a create.
    await expectError(users.agent.registrations.action(other.id, 'assign', { transactionId }), 409, 'idempotency_conflict');
    await users.validator.registrations.action(a.id, 'assign', { transactionId: `${transactionId}-assign` });
    await expectError(users.validator.registrations.action(other.id, 'assign', { transactionId: `${transactionId}-assign` }), 409, 'idempotency_conflict');
    await expectError(users.validator.registrations.create({ type: 'birth', action: 'declare', data: birthData(), transactionId: `${transactionId}-assign` }), 409, 'idempotency_conflict');
    expect((await users.validator.registrations.history(other.id)).filter((h) => h.action === 'assign')).toHaveLength(0);
  });

  it('lets a supervisor take over an assignment, not an agent', async () => {
    const r = await declared();
    await users.validator.registrations.action(r.id, 'assign');
    await expectError(users.agent.registrations.action(r.id, 'assign', { force: true }), 409, 'registration_assigned_elsewhere');
    await expectError(users.agent.registrations.action(r.id, 'unassign'), 409, 'registration_assigned_elsewhere');
    const taken = await users.registrar2.registrations.action(r.id, 'assign', { force: true });
    expect(taken.registration.assignedTo?.id).toBe(users.registrar2.userId);
    await expectError(users.validator.registrations.action(r.id, 'validate'), 409, 'registration_not_assigned');
  });
});

describe('jurisdictions', () => {
  it('hides registrations outside the jurisdiction as if they did not exist, and shows the country to a national registrar', async () => {
    const r = await declared();
    await expectError(users.other.registrations.get(r.id), 404, 'not_found');
    await expectError(users.other.registrations.get(r.trackingId), 404, 'not_found');
    await expectError(users.other.registrations.history(r.id), 404, 'not_found');
    await expectError(users.other.registrations.action(r.id, 'assign'), 404, 'not_found');
    const theirs = await users.other.registrations.list({ limit: 200 });
    expect(theirs.items.map((x) => x.id)).not.toContain(r.id);
    expect((await users.national.registrations.get(r.id)).id).toBe(r.id);
    const mine = await users.registrar.registrations.list({ limit: 200 });
    expect(mine.items.map((x) => x.id)).toContain(r.id);
    expect((await users.agent.registrations.profile()).jurisdiction?.name).toBe('District One');
  });

  it('lists with filters and a cursor, and counts workqueues', async () => {
    const all: string[] = [];
    let after: string | undefined;
    do {
      const page = await users.registrar.registrations.list({ type: 'birth', limit: 2, after });
      all.push(...page.items.map((x) => x.id));
      after = page.next ?? undefined;
    } while (after);
    expect(new Set(all).size).toBe(all.length);
    const counted = await users.registrar.registrations.list({ type: 'birth', limit: 200 });
    expect(all).toEqual(counted.items.map((x) => x.id));
    const q = await users.registrar.registrations.workqueues();
    const review = await users.registrar.registrations.list({ queue: 'ready-for-review', limit: 200 });
    expect(q['ready-for-review']).toBe(review.items.length);
    expect(q['in-progress']).toBe((await users.registrar.registrations.list({ queue: 'in-progress', limit: 200 })).items.length);
    const r = await declared();
    await users.registrar.registrations.action(r.id, 'assign');
    const q2 = await users.registrar.registrations.workqueues();
    expect(q2['assigned-to-me']).toBe(q['assigned-to-me'] + 1);
    expect(q2['ready-for-review']).toBe(q['ready-for-review'] + 1);
    expect((await users.other.registrations.workqueues())['ready-for-review']).toBe(0);
    const flagged = await users.registrar.registrations.list({ flag: 'late-registration' });
    expect(flagged.items.every((x) => x.flags.includes('late-registration'))).toBe(true);
    await expectError(users.registrar.registrations.list({ after: 'garbage' }), 400, 'invalid_cursor');
  });
});

describe('de-duplication seam', () => {
  it('flags a potential duplicate on declare; it blocks validate and register until resolved', async () => {
    const first = await declared({ 'child.firstName': 'Twin' });
    server.services.registrations.duplicateCheckers.push(async (_db, reg) => ({ matches: reg.data['child.firstName'] === 'Dupe' ? [first.id] : [] }));
    const dup = await declared({ 'child.firstName': 'Dupe' });
    expect(dup.flags).toContain('potential-duplicate');
    expect(dup.duplicateOf).toEqual([first.id]);
    await users.registrar.registrations.action(dup.id, 'assign');
    await expectError(users.registrar.registrations.action(dup.id, 'register'), 409, 'potential_duplicate_unresolved');
    await expectError(users.registrar.registrations.action(dup.id, 'mark-not-duplicate'), 400, 'validation_failed');
    const cleared = await users.registrar.registrations.action(dup.id, 'mark-not-duplicate', { reason: 'Different mothers' });
    expect(cleared.registration.flags).not.toContain('potential-duplicate');
    // Before register the seam runs again and finds the same match: recorded, and refused.
    await expectError(users.registrar.registrations.action(dup.id, 'register'), 409, 'potential_duplicate_unresolved');
    const again = await users.registrar.registrations.get(dup.id);
    expect(again.flags).toContain('potential-duplicate');
    const archived = await users.registrar.registrations.action(dup.id, 'mark-as-duplicate', { reason: 'Same child', data: { duplicateOf: first.id } });
    expect(archived.registration.status).toBe('archived');
    server.services.registrations.duplicateCheckers.length = 0;
  });
});

describe('documents', () => {
  it('uploads an image, refuses the wrong type or content, and serves it to those who may see the registration', async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('rest of a tiny png')]);
    const up = await users.agent.registrations.uploadDocument(png, 'image/png');
    expect(up).toMatchObject({ mediaType: 'image/png', size: png.length });
    await expectError(users.agent.registrations.uploadDocument(Buffer.from('not a png'), 'image/png'), 415, 'unsupported_media_type');
    await expectError(users.agent.registrations.uploadDocument(Buffer.from('hello'), 'text/plain'), 415, 'unsupported_media_type');
    const r = await declared({ documents: [{ ...up, documentType: 'proof-of-birth' }] });
    const res = await fetch(users.agent.registrations.documentUrl(r.id, up.documentId), { headers: { authorization: `Bearer ${users.agent.http.getToken()}` } });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(png);
    const other = await fetch(users.other.registrations.documentUrl(r.id, up.documentId), { headers: { authorization: `Bearer ${users.other.http.getToken()}` } });
    expect(other.status).toBe(404);
    await expectError(declared({ documents: [{ documentId: 'a'.repeat(64), mediaType: 'image/png', size: 10 }] }), 422, 'invalid_registration_data');
  });
});

describe('action hooks', () => {
  let external: http.Server;
  let url = '';
  let secret = '';
  let mode: 'number' | 'pending' | 'refuse' | 'fail' | 'slow' = 'number';
  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    external = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        const send = (status: number, json: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
        if (mode === 'number') send(200, { registrationNumber: `EXT-${received.length}` });
        else if (mode === 'pending') send(202, {});
        else if (mode === 'refuse') send(422, { reason: 'Mother unknown to the population register' });
        else if (mode === 'fail') send(500, { error: 'boom' });
        else setTimeout(() => send(200, { registrationNumber: 'TOO-LATE' }), 1500);
      });
    });
    await new Promise<void>((r) => external.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(external.address() as AddressInfo).port}/hook`;
    const doc = (await admin.registrationTypes.get('death')).document;
    await admin.registrationTypes.put('death', { ...doc, hooks: { register: { url, timeoutMs: 500 } } });
    secret = (await admin.registrationTypes.rotateHookSecret('death')).secret;
  });
  afterAll(async () => {
    await new Promise((r) => external.close(r));
  });

  async function readyDeath() {
    const r = await users.agent.registrations.create({
      type: 'death',
      action: 'declare',
      data: { 'deceased.firstName': 'Moussa', 'deceased.lastName': 'Sow', 'deceased.sex': 'male', 'deceased.dateOfDeath': today(), 'deceased.placeOfDeath': tree.district1 },
    });
    await users.registrar.registrations.action(r.id, 'assign');
    return r;
  }

  it('registers with the number the external system answers, on a signed request', async () => {
    mode = 'number';
    const r = await readyDeath();
    const done = await users.registrar.registrations.action(r.id, 'register');
    expect(done.registration.status).toBe('registered');
    expect(done.registration.registrationNumber).toMatch(/^EXT-\d+$/);
    const last = received[received.length - 1]!;
    const payload = new Webhook(secret).verify(last.body, last.headers as Record<string, string>) as { action: string; registration: { id: string } };
    expect(payload).toMatchObject({ action: 'register', registration: { id: r.id } });
  });

  it('rejects with the reason a 4xx gives', async () => {
    mode = 'refuse';
    const r = await readyDeath();
    const out = await users.registrar.registrations.action(r.id, 'register');
    expect(out.registration.status).toBe('declared');
    expect(out.registration.flags).toContain('rejected');
    const h = await users.registrar.registrations.history(r.id);
    expect(h[h.length - 1]).toMatchObject({ action: 'reject', reason: 'Mother unknown to the population register' });
  });

  it('waits after a 202 until the external system calls back, signed', async () => {
    mode = 'pending';
    const r = await readyDeath();
    const out = await users.registrar.registrations.action(r.id, 'register');
    expect(out.registration.flags).toContain('waiting-for-external-validation');
    expect((await users.registrar.registrations.workqueues())['waiting-for-external-validation']).toBeGreaterThan(0);
    const body = JSON.stringify({ registrationNumber: 'CALLBACK-1' });
    const forged = await fetch(`${server.url}/api/v1/registrations/${r.id}/external-validation`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(forged.status).toBe(401);
    const id = `msg_${newId()}`;
    const now = new Date();
    const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign(id, now, body) };
    const ok = await fetch(`${server.url}/api/v1/registrations/${r.id}/external-validation`, { method: 'POST', headers, body });
    expect(ok.status).toBe(200);
    const got = await users.registrar.registrations.get(r.id);
    expect(got.status).toBe('registered');
    expect(got.registrationNumber).toBe('CALLBACK-1');
  });

  it('lets a declare hook refuse a declaration, and records nothing then', async () => {
    const doc = (await admin.registrationTypes.get('death')).document;
    await admin.registrationTypes.put('death', { ...doc, hooks: { ...doc.hooks, declare: { url, timeoutMs: 500 } } });
    try {
      mode = 'refuse';
      const before = (await users.registrar.registrations.list({ type: 'death', limit: 200 })).items.length;
      const e = await expectError(readyDeath(), 422, 'hook_rejected');
      expect(e.message).toContain('Mother unknown to the population register');
      expect((await users.registrar.registrations.list({ type: 'death', limit: 200 })).items.length).toBe(before);
      mode = 'number';
      const ok = await readyDeath();
      expect(ok.status).toBe('declared');
      expect(JSON.parse(received[received.length - 1]!.body)).toMatchObject({ action: 'declare', type: 'death' });
    } finally {
      await admin.registrationTypes.put('death', doc);
    }
  });

  it('writes nothing when the external system fails or is too slow, and holds no transaction open meanwhile', async () => {
    for (const m of ['fail', 'slow'] as const) {
      mode = m;
      const r = await readyDeath();
      const before = await users.registrar.registrations.get(r.id);
      let idleInTx = -1;
      const call = users.registrar.registrations.action(r.id, 'register');
      if (m === 'slow') {
        await new Promise((res) => setTimeout(res, 250));
        idleInTx = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`.execute(server.services.db)).rows[0]!.n);
      }
      await expectError(call, 502, 'registration_hook_failed');
      if (m === 'slow') expect(idleInTx).toBe(0);
      const after = await users.registrar.registrations.get(r.id);
      expect(after.version).toBe(before.version);
      expect(after.status).toBe('declared');
    }
  });
});

describe('certificates and verification', () => {
  it('answers only valid/not valid, the number and the date', async () => {
    const r = await declared();
    await users.registrar.registrations.action(r.id, 'assign');
    const reg = await users.registrar.registrations.action(r.id, 'register');
    const code = server.services.registrations.verificationCode(r.id);
    const v = await new CairnClient({ baseUrl: server.url }).registrations.verify(code);
    expect(v).toEqual({ valid: true, registrationNumber: reg.registration.registrationNumber, date: today() });
    expect(await admin.registrations.verify(`${r.id}.AAAAAAAAAAAAAAAAAAAAAA`)).toEqual({ valid: false, registrationNumber: null, date: null });
    expect(await admin.registrations.verify('anything')).toEqual({ valid: false, registrationNumber: null, date: null });
    // The certificate: a PDF whose text is selectable, with the record's number and names.
    const pdf = await fetch(users.registrar.registrations.certificateUrl(r.id), { headers: { authorization: `Bearer ${users.registrar.http.getToken()}` } });
    expect(pdf.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'self'");
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const file = path.join(os.tmpdir(), `cert-${r.id}.pdf`);
    fs.writeFileSync(file, Buffer.from(await pdf.arrayBuffer()));
    const text = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' });
    fs.rmSync(file);
    expect(text).toContain(reg.registration.registrationNumber!);
    expect(text).toContain('Awa');
    // The page the QR opens says only valid or not, the number and the date.
    const page = await (await fetch(`${server.url}/verify/${code}`)).text();
    expect(page).toContain('Valid certificate');
    expect(page).toContain(reg.registration.registrationNumber!);
    expect(page).not.toContain('Diallo');
    expect(await (await fetch(`${server.url}/verify/nope`)).text()).toContain('Not a valid certificate');
    await expectError(fetch(users.other.registrations.certificateUrl(r.id), { headers: { authorization: `Bearer ${users.other.http.getToken()}` } }).then(async (res) => {
      if (!res.ok) throw new CairnError(res.status, ((await res.json()) as { error: { code: string } }).error.code, '');
    }), 404, 'not_found');
    const unregistered = await declared();
    await expectError(fetch(users.registrar.registrations.certificateUrl(unregistered.id), { headers: { authorization: `Bearer ${users.registrar.http.getToken()}` } }).then(async (res) => {
      if (!res.ok) throw new CairnError(res.status, ((await res.json()) as { error: { code: string } }).error.code, '');
    }), 409, 'not_registered');
  });
});

describe('the stored state is a projection of the ledger', () => {
  const snapshot = async () => (await sql<{ id: string; status: string }>`SELECT * FROM registrations ORDER BY id`.execute(server.services.db)).rows;

  it('rebuilds every registration from the ledger identically, and repairs a tampered row', async () => {
    const before = await snapshot();
    expect(before.length).toBeGreaterThan(10);
    await server.services.projector.rebuildNow('registrations');
    expect(await snapshot()).toEqual(before);
    const victim = before.find((r) => r.status === 'registered')!;
    await sql`UPDATE registrations SET status = 'archived', flags = '{}' WHERE id = ${victim.id}`.execute(server.services.db);
    expect(await snapshot()).not.toEqual(before);
    await server.services.projector.rebuildNow('registrations');
    expect(await snapshot()).toEqual(before);
  });
});
