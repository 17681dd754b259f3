import { seg, type HttpClient } from './http.js';

/**
 * Views (docs/views.md): administrators register templates (code), apps create instances and
 * run them. Use it as `new ViewsApi(client.http)` (or `client.views` once the client has it).
 */
export type ViewRuntime = 'javascript' | 'python';

export interface ViewLimits {
  /** Heap the view may allocate, MiB (default 64, max 256). */
  memoryMb: number;
  /** Wall-clock budget of one run, ms, waiting for events included (default 2,000, max 30,000). */
  cpuMs: number;
  /** Size of the JSON result in bytes (default 1 MiB, max 16 MiB). */
  maxResultBytes: number;
  /** Largest page one events.query may ask for (default 1,000, max 10,000). */
  maxQueryLimit: number;
}

export interface RegisterViewTemplate {
  name: string;
  runtime: ViewRuntime;
  /** File name → source; the entry is `main.js` (default export) or `main.py` (`main`). */
  files: Record<string, string>;
  eventTypes?: string[];
  description?: string;
  limits?: Partial<ViewLimits>;
}

export interface ViewTemplateVersion {
  version: number;
  runtime: ViewRuntime;
  description: string;
  eventTypes: string[];
  limits: ViewLimits;
  /** File names. */
  files: string[];
  createdAt: string;
  /** Instances pinned to this version (administrators only). */
  instances?: number;
}

export interface RegisteredViewTemplate extends ViewTemplateVersion {
  id: string;
  name: string;
  latestVersion: number;
}

export interface ViewTestRun {
  /** Default: the latest version. */
  version?: number;
  configuration?: unknown;
  input?: unknown;
  /** What `events.query` answers during the run: only these, of the template's types. `occurredAt` defaults to one a minute from 2026-01-01. */
  events?: { type: string; occurredAt?: string; data: unknown }[];
}

export interface ViewTestRunResult {
  version: number;
  result: unknown;
  stats: { durationMs: number; eventsRead: number };
}

export interface ViewTemplateSummary {
  id: string;
  name: string;
  latestVersion: number;
  runtime: ViewRuntime;
  description: string;
  eventTypes: string[];
  limits: ViewLimits;
  createdAt: string;
  updatedAt: string;
  instances?: number;
}

export interface ViewTemplateDetail {
  id: string;
  name: string;
  latestVersion: number;
  createdAt: string;
  versions: ViewTemplateVersion[];
  /** The latest version's sources (administrators only). */
  sources?: Record<string, string>;
}

export interface ViewTemplateVersionDetail extends ViewTemplateVersion {
  id: string;
  name: string;
  sources: Record<string, string>;
}

export interface ViewRunStats {
  runs: number;
  cacheHits: number;
  failures: number;
  eventsRead: number;
  averageDurationMs: number | null;
  lastRunAt: string | null;
  lastDurationMs: number | null;
  lastErrorCode: string | null;
}

export interface ViewInstance {
  id: string;
  appId: string;
  appName?: string;
  templateId: string;
  templateName: string;
  templateVersion: number;
  runtime: ViewRuntime;
  eventTypes: string[];
  configuration: unknown;
  /** `ready` once every type the template reads has an approved read grant. */
  status: 'ready' | 'awaiting_approval';
  missingGrants: string[];
  permissionRequests: { eventType: string; requestId: string | null; status: string }[];
  createdAt: string;
  stats: ViewRunStats;
}

export interface ViewRunResult<R = unknown> {
  result: R;
  stats: { durationMs: number; eventsRead: number; cached: boolean };
}

export class ViewsApi {
  constructor(private readonly http: HttpClient) {}

  // --- templates (administrators; apps may list and read summaries) ---

  /** Registers a template, or a new version of the one with this name (identical sources: no new version). */
  registerTemplate(req: RegisterViewTemplate): Promise<RegisteredViewTemplate> {
    return this.http.post<RegisteredViewTemplate>('/api/v1/view-templates', req);
  }
  async templates(): Promise<ViewTemplateSummary[]> {
    return (await this.http.get<{ templates: ViewTemplateSummary[] }>('/api/v1/view-templates')).templates;
  }
  template(id: string): Promise<ViewTemplateDetail> {
    return this.http.get<ViewTemplateDetail>(`/api/v1/view-templates/${seg(id)}`);
  }
  templateVersion(id: string, version: number): Promise<ViewTemplateVersionDetail> {
    return this.http.get<ViewTemplateVersionDetail>(`/api/v1/view-templates/${seg(id)}/versions/${seg(String(version))}`);
  }
  /**
   * Runs a template version on sample events, configuration and input in the sandbox (same limits
   * as an app's run), before any app uses it. Only the samples are read; nothing is cached.
   */
  testRun(id: string, req: ViewTestRun = {}): Promise<ViewTestRunResult> {
    return this.http.post<ViewTestRunResult>(`/api/v1/view-templates/${seg(id)}/test-run`, req);
  }
  /** Refused with 409 view_template_in_use while an instance uses it. */
  deleteTemplate(id: string): Promise<void> {
    return this.http.delete(`/api/v1/view-templates/${seg(id)}`);
  }

  // --- instances (apps; administrators may list, read and delete) ---

  /** Creates an instance for the calling app and files the read requests its template needs. */
  create(req: { templateId: string; templateVersion?: number; configuration?: unknown }): Promise<ViewInstance> {
    return this.http.post<ViewInstance>('/api/v1/views', req);
  }
  async list(query: { appId?: string; templateId?: string; limit?: number } = {}): Promise<ViewInstance[]> {
    return (await this.http.get<{ views: ViewInstance[] }>('/api/v1/views', query)).views;
  }
  get(id: string): Promise<ViewInstance> {
    return this.http.get<ViewInstance>(`/api/v1/views/${seg(id)}`);
  }
  delete(id: string): Promise<void> {
    return this.http.delete(`/api/v1/views/${seg(id)}`);
  }
  /** Runs the view; failures throw a CairnError with the view's code (view_timeout, view_runtime_error, ...). */
  run<R = unknown>(id: string, input?: unknown): Promise<ViewRunResult<R>> {
    return this.http.post<ViewRunResult<R>>(`/api/v1/views/${seg(id)}/run`, input === undefined ? {} : { input });
  }
}
