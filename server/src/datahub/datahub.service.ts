import type { Db } from '../database/database.js';
import { fail } from '../kernel/errors.js';
import type { AuthContext } from '../kernel/access.js';
import type { Clock } from '../kernel/clock.js';
import type { InstrumentsService } from '../instruments/instruments.service.js';
import type { WorkspacesService } from '../workspaces/workspaces.service.js';
import { validateSubmission, type FormInstrument } from '@cairn/sdk/instruments';
import { datahubStore } from './datahub.store.js';
import type { SubjectsService } from './subjects.service.js';
import type { AcceptedRow, ImportsService } from './imports.service.js';

const DEMO_SUBJECTS = 24;

/** A small deterministic PRNG so demo data looks the same on every instance (mulberry32). */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Workspace dashboards, and demo data so a new instance shows a living system. */
export class DatahubService {
  constructor(
    private readonly db: Db,
    private readonly workspaces: WorkspacesService,
    private readonly subjects: SubjectsService,
    private readonly imports: ImportsService,
    private readonly instruments: InstrumentsService,
    private readonly clock: Clock,
  ) {}

  async summary(ctx: AuthContext, workspaceId: string) {
    await this.workspaces.requireRole(ctx, workspaceId, 'viewer');
    const since = new Date(this.clock.now().getTime() - 26 * 7 * 86400_000);
    const s = await datahubStore.summary(this.db, workspaceId, since);
    return {
      subjects: s.counts.subjects,
      sessions: s.counts.sessions,
      activeSessions: s.counts.active_sessions,
      records: s.counts.records,
      byInstrument: s.byInstrument.map((r) => ({ instrument: { name: r.instrument_name, edition: r.instrument_edition }, records: r.n, lastRecordAt: r.last.toISOString() })),
      weekly: s.weekly.map((w) => ({ week: w.week, records: w.n })),
    };
  }

  /**
   * Fake subjects (DEMO-001...) with PHQ-9 and GAD-7 scores over the last six months, trending
   * the way a treated cohort might, written exactly like an import. Only into an empty workspace,
   * so it can never mix with real data.
   */
  async demo(ctx: AuthContext, workspaceId: string) {
    await this.workspaces.requireRole(ctx, workspaceId, 'manager');
    const { counts } = await datahubStore.summary(this.db, workspaceId, this.clock.now());
    if (counts.subjects > 0) throw fail('conflict', 'Demo data only goes into an empty workspace');
    const rand = prng(42);
    const now = this.clock.now().getTime();
    const sexes = ['female', 'male', 'female', 'male', 'other'] as const;
    for (let i = 1; i <= DEMO_SUBJECTS; i++) {
      const year = 1950 + Math.floor(rand() * 55);
      const dob = `${year}-${String(1 + Math.floor(rand() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rand() * 28)).padStart(2, '0')}`;
      await this.subjects.create(ctx, workspaceId, { identifier: `DEMO-${String(i).padStart(3, '0')}`, identifierKind: 'custom', dateOfBirth: dob, sex: sexes[i % sexes.length] });
    }
    let records = 0;
    for (const [name, items] of [['phq-9', 9], ['gad-7', 7]] as const) {
      const form = (await this.instruments.formForCapture(name, 1)) as FormInstrument;
      const rows: AcceptedRow[] = [];
      for (let i = 1; i <= DEMO_SUBJECTS; i++) {
        const severity = rand() * 2.6; // mean item score at the first visit
        const improvement = 0.3 + rand() * 0.7;
        const visits = 3 + Math.floor(rand() * 5);
        for (let v = 0; v < visits; v++) {
          const daysAgo = Math.round(165 - (v * 160) / Math.max(visits - 1, 1) + rand() * 5);
          const level = Math.max(0, severity * (1 - (improvement * v) / visits));
          const symptoms: Record<string, number> = {};
          for (let q = 1; q <= items; q++) symptoms[`q${q}`] = Math.max(0, Math.min(3, Math.round(level + (rand() - 0.5) * 1.2)));
          const answers: Record<string, unknown> = { symptoms };
          if (Object.values(symptoms).some((x) => x > 0)) answers.difficulty = Math.min(3, Math.round(level));
          const result = validateSubmission(form, answers);
          if (!result.ok) continue;
          rows.push({ subject: `DEMO-${String(i).padStart(3, '0')}`, date: new Date(now - daysAgo * 86400_000), data: result.data, measures: result.measures });
        }
      }
      await this.imports.write(ctx, workspaceId, form, rows, 'demo');
      records += rows.length;
    }
    return { subjects: DEMO_SUBJECTS, records };
  }
}
