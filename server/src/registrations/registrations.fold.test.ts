import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allFlags, apply, fold, refusal, type EntryData, type FoldEntry, type RegState } from './registrations.fold.js';

/**
 * Status and flags are a pure fold over a registration's actions. These properties drive it with
 * random action sequences (only the actions the workflow allows at each step are applied, as the
 * service does) and check what must always hold. FUZZ_SEED=<n> replays a failing run.
 */
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
console.log(`registrations.fold properties: FUZZ_SEED=${seed}`);

const ID = '0190a0a0-0000-7000-8000-000000000001';
const OTHER = '0190a0a0-0000-7000-8000-000000000002';
const USERS = ['u1', 'u2', 'u3'];
const ACTIONS = [
  'declare', 'validate', 'register', 'reject', 'archive', 'print-certificate', 'request-correction', 'approve-correction', 'reject-correction',
  'assign', 'unassign', 'duplicate-detected', 'mark-not-duplicate', 'mark-as-duplicate', 'escalate', 'read',
] as const;

type Step = { action: (typeof ACTIONS)[number]; user: number; pending: boolean; system: boolean; value: number };
const step = fc.record({ action: fc.constantFrom(...ACTIONS), user: fc.nat(2), pending: fc.boolean(), system: fc.boolean(), value: fc.nat(1000) });

/** The entry the service would write for a step (its data is what the service decided). */
function entryFor(s: RegState, st: Step, n: number): FoldEntry {
  const data: EntryData = { registrationId: ID };
  switch (st.action) {
    case 'declare':
    case 'validate':
      data.data = { ...s.data, 'child.lastName': `name-${st.value}` };
      data.ruleFlags = st.value % 3 === 0 ? ['late-registration'] : [];
      break;
    case 'register':
      if (st.pending && !s.coreFlags.includes('waiting-for-external-validation')) data.pending = true;
      else data.registrationNumber = `B${n}`;
      break;
    case 'reject':
    case 'mark-not-duplicate':
    case 'mark-as-duplicate':
      data.reason = 'why';
      break;
    case 'print-certificate':
      data.copies = 1 + (st.value % 3);
      break;
    case 'request-correction':
      data.correction = { data: { ...s.data, 'child.firstName': `fix-${st.value}` }, derived: {} };
      break;
    case 'assign':
      data.assignee = USERS[st.user];
      break;
    case 'duplicate-detected':
      data.matches = [OTHER];
      break;
    case 'escalate':
      data.addsFlags = ['escalated'];
      break;
  }
  return { action: st.action, at: new Date(Date.UTC(2026, 0, 1) + n * 1000), actorId: USERS[st.user]!, data };
}

/** Runs steps through the workflow's own gate; answers the entries it accepted and the states after each. */
function run(create: 'notify' | 'declare', steps: Step[]) {
  const first: FoldEntry = {
    action: create,
    at: new Date(Date.UTC(2026, 0, 1)),
    actorId: 'u1',
    data: { registrationId: ID, create: { trackingId: 'ACDEFGH', type: 'birth', typeVersion: 1, officeId: OTHER, officePath: '/a/b/' }, data: { 'child.lastName': 'x' } },
  };
  const entries = [first];
  const states = [apply(null, first)];
  steps.forEach((st, i) => {
    const s = states[states.length - 1]!;
    const system = st.system && st.action === 'register';
    if (refusal(s, st.action, { system }) !== null) return;
    const e = entryFor(s, st, i + 1);
    entries.push(e);
    states.push(apply(s, e));
  });
  return { entries, states };
}

const runs = fc.tuple(fc.constantFrom('notify' as const, 'declare' as const), fc.array(step, { maxLength: 40 }));

describe('the registration fold', () => {
  it('is the same whether folded at once or applied entry by entry (what the writer stores and a rebuild computes)', () => {
    fc.assert(
      fc.property(runs, ([create, steps]) => {
        const { entries, states } = run(create, steps);
        expect(fold(entries)).toEqual(states[states.length - 1]);
        // Folding any prefix gives the state the writer stored after that entry.
        for (let k = 1; k <= entries.length; k++) expect(fold(entries.slice(0, k))).toEqual(states[k - 1]);
      }),
      { seed, numRuns: 300 },
    );
  });

  it('keeps the workflow’s invariants over any sequence of allowed actions', () => {
    fc.assert(
      fc.property(runs, ([create, steps]) => {
        const { entries, states } = run(create, steps);
        let wasRegistered = false;
        let wasArchived = false;
        states.forEach((s, i) => {
          const flags = allFlags(s);
          expect(new Set(flags).size).toBe(flags.length);
          expect([...flags].sort()).toEqual(flags);
          // Registered means a number, and once registered it never goes back.
          if (s.status === 'registered') expect(s.registrationNumber).not.toBeNull();
          if (wasRegistered) expect(s.status).toBe('registered');
          if (wasArchived) expect(s.status).toBe('archived');
          wasRegistered ||= s.status === 'registered';
          wasArchived ||= s.status === 'archived';
          // incomplete only ever on notified records; printed only on registered ones.
          if (flags.includes('incomplete')) expect(s.status === 'notified' || s.status === 'archived' || flags.includes('rejected')).toBe(true);
          if (flags.includes('printed')) expect(s.status).toBe('registered');
          if (flags.includes('potential-duplicate')) expect(s.duplicateOf.length).toBeGreaterThan(0);
          // Reads change nothing; every other action counts.
          if (i > 0) {
            const e = entries[i]!;
            const prev = states[i - 1]!;
            expect(s.version).toBe(e.action === 'read' ? prev.version : prev.version + 1);
            // A flagged potential duplicate was never validated or registered while flagged.
            if (allFlags(prev).includes('potential-duplicate')) expect(['validate', 'register'].includes(e.action) && !prev.coreFlags.includes('waiting-for-external-validation')).toBe(false);
          }
          expect(s.printedCopies).toBeGreaterThanOrEqual(0);
        });
      }),
      { seed, numRuns: 300 },
    );
  });

  it('refuses what the workflow forbids', () => {
    const { states } = run('notify', []);
    const notified = states[0]!;
    expect(notified.status).toBe('notified');
    expect(allFlags(notified)).toEqual(['incomplete']);
    expect(refusal(notified, 'register')?.code).toBe('action_not_allowed');
    expect(refusal(notified, 'validate')?.code).toBe('action_not_allowed');
    expect(refusal(notified, 'declare')).toBeNull();
    const flagged = apply(apply(notified, entryFor(notified, { action: 'declare', user: 0, pending: false, system: false, value: 1 }, 1)), {
      action: 'duplicate-detected',
      at: new Date(),
      actorId: null,
      data: { registrationId: ID, matches: [OTHER] },
    });
    expect(refusal(flagged, 'register')?.code).toBe('potential_duplicate_unresolved');
    expect(refusal(flagged, 'validate')?.code).toBe('potential_duplicate_unresolved');
    expect(() => apply(null, { action: 'validate', at: new Date(), actorId: null, data: { registrationId: ID } })).toThrow();
  });
});
