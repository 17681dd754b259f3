/**
 * The sandbox's vocabulary (limits, requests, results, errors), apart from the sandbox itself so
 * the pools can use it without importing the module that creates them (no import cycle).
 */
export type ViewRuntime = 'javascript' | 'python';

export interface SandboxLimits {
  /** Heap the view may allocate, in MiB. */
  memoryMb: number;
  /** Wall-clock budget of one run in ms, awaits on the host included. */
  cpuMs: number;
  /** Size of the JSON-encoded result, in UTF-8 bytes. */
  maxResultBytes: number;
  /** Largest page one `events.query` may ask for (and the default page size). */
  maxQueryLimit: number;
}

export const DEFAULT_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  memoryMb: 64,
  cpuMs: 2_000,
  maxResultBytes: 1024 * 1024,
  maxQueryLimit: 1_000,
});

/** What a template may ask for at most; a request above is clamped, never honoured. */
export const MAX_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  memoryMb: 256,
  cpuMs: 30_000,
  maxResultBytes: 16 * 1024 * 1024,
  maxQueryLimit: 10_000,
});

const MIN_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  memoryMb: 8,
  cpuMs: 10,
  maxResultBytes: 1024,
  maxQueryLimit: 1,
});

/** Per-template limits: missing or invalid values take the default, and nothing exceeds the hard maxima. */
export function clampLimits(requested: Partial<SandboxLimits> | null | undefined = {}): SandboxLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof SandboxLimits)[]) {
    const v = requested?.[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    out[key] = Math.min(MAX_LIMITS[key], Math.max(MIN_LIMITS[key], Math.floor(v)));
  }
  return out;
}

export interface EventsQuery {
  type: string;
  from?: string;
  to?: string;
  after?: string;
  limit?: number;
  /** Only events whose data contains this JSON object (PostgreSQL's jsonb `@>`). */
  filter?: Record<string, unknown>;
}

/**
 * A page of events: either as values, or already serialised (`eventsJson`, a JSON array of
 * `count` events) so a reader that gets JSON text from the database hands it on untouched.
 */
export type EventsPage = { events: unknown[]; next: string | null } | { eventsJson: string; count: number; next: string | null };

export interface RunRequest {
  runtime: ViewRuntime;
  /** Up to 20 files; the entry point is `main.js` or `main.py`. */
  files: Record<string, string>;
  configuration: unknown;
  input: unknown;
  limits: SandboxLimits;
  /** Host-side reader, already scoped by the caller to the event types the app was granted. */
  queryEvents: (q: EventsQuery) => Promise<EventsPage>;
}

export interface RunResult {
  result: unknown;
  /** The result exactly as the view serialised it (what a cache should store). */
  resultJson: string;
  stats: { durationMs: number; eventsRead: number };
}

export const sandboxErrorCodes = [
  'view_timeout',
  'view_memory_exceeded',
  'view_output_too_large',
  'view_runtime_error',
  'view_invalid_result',
  'view_compile_error',
  'view_query_invalid',
  'view_unavailable',
  'sandbox_busy',
] as const;
export type SandboxErrorCode = (typeof sandboxErrorCodes)[number];

export class SandboxError extends Error {
  override readonly name = 'SandboxError';
  constructor(
    readonly code: SandboxErrorCode,
    message: string,
    /** With `sandbox_busy`: when to try again (the HTTP answer's Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const isSandboxError = (e: unknown): e is SandboxError => e instanceof SandboxError;

/** What a pool gets for one run: everything already JSON text, nothing by reference. */
export interface RunPayload {
  files: Record<string, string>;
  configurationJson: string;
  inputJson: string;
  limits: SandboxLimits;
}

/** Host-side events reader as the pools see it: query object in, page as JSON text out. */
export type HostQuery = (query: unknown) => Promise<string>;
