/** Shared by the sandbox tests: the example views and an in-memory events reader. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { DEFAULT_LIMITS, SandboxError, type EventsPage, type EventsQuery, type RunRequest, type SandboxLimits } from './sandbox.js';

const EXAMPLES = fileURLToPath(new URL('./examples/', import.meta.url));

/** The files of one example view, as a template would register them. */
export function loadExample(name: string): Record<string, string> {
  const root = join(EXAMPLES, name);
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(root, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(root);
  return files;
}

export interface StoredEvent {
  id: string;
  type: string;
  occurredAt: string;
  data: Record<string, unknown>;
}

/**
 * The reader contract the views module will implement over the ledger: events of one type in
 * [from, to) by occurredAt, in (occurredAt, id) order, `limit` at a time, `next` an opaque
 * cursor for the following page or null at the end.
 */
export function memoryEvents(all: StoredEvent[]) {
  const sorted = [...all].sort((a, b) => a.occurredAt.localeCompare(b.occurredAt) || a.id.localeCompare(b.id));
  const queries: EventsQuery[] = [];
  const queryEvents = async (q: EventsQuery): Promise<EventsPage> => {
    queries.push(q);
    const from = q.from ? Date.parse(q.from) : -Infinity;
    const to = q.to ? Date.parse(q.to) : Infinity;
    const matching = sorted.filter((e) => {
      const t = Date.parse(e.occurredAt);
      return e.type === q.type && t >= from && t < to;
    });
    let start = 0;
    if (q.after) {
      start = matching.findIndex((e) => e.id === q.after) + 1;
      if (start === 0) throw new Error('invalid cursor');
    }
    const limit = q.limit ?? 1000;
    const events = matching.slice(start, start + limit);
    const last = events[events.length - 1];
    return { events, next: start + limit < matching.length && last ? last.id : null };
  };
  return { queryEvents, queries };
}

/** Deterministic activity-tracker events spread over `days` days from `start`. */
export function activityEvents(count: number, start: string, days: number, type = 'activity.steps'): StoredEvent[] {
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const t0 = Date.parse(start);
  const out: StoredEvent[] = [];
  for (let i = 0; i < count; i++) {
    const t = t0 + Math.floor(random() * days * 86_400_000);
    out.push({
      id: `e${String(i).padStart(7, '0')}`,
      type: i % 7 === 0 ? 'activity.sleep' : type,
      occurredAt: new Date(t).toISOString(),
      data: { steps: Math.floor(random() * 5000) },
    });
  }
  return out;
}

/** The per-day counts computed directly, as the examples should compute them. */
export function expectedDailyCounts(events: StoredEvent[], type: string, from: string, to: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let t = Date.parse(from); t < Date.parse(to); t += 86_400_000) counts[new Date(t).toISOString().slice(0, 10)] = 0;
  for (const e of events) {
    const t = Date.parse(e.occurredAt);
    if (e.type === type && t >= Date.parse(from) && t < Date.parse(to)) counts[e.occurredAt.slice(0, 10)]! += 1;
  }
  return counts;
}

/** A run request for a one-file view: `main` is the entry file's source. */
export function viewRequest(runtime: 'javascript' | 'python', main: string, extra: Partial<RunRequest> = {}, limits: Partial<SandboxLimits> = {}): RunRequest {
  return {
    runtime,
    files: { [runtime === 'javascript' ? 'main.js' : 'main.py']: main },
    configuration: null,
    input: null,
    limits: { ...DEFAULT_LIMITS, ...limits },
    queryEvents: async () => ({ events: [], next: null }),
    ...extra,
  };
}

/** The SandboxError a run fails with; fails the test if the run succeeds or throws anything else. */
export async function sandboxFailure(p: Promise<unknown>): Promise<SandboxError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SandboxError);
    return e as SandboxError;
  }
  throw new Error('expected the run to fail');
}
