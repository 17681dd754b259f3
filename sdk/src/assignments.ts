import { seg, type HttpClient } from './http.js';

/** Remote capture (docs/remote-capture.md): assignments a participant fills through the gateway. */
export type AssignmentStatus = 'sent' | 'opened' | 'partly_done' | 'completed' | 'expired' | 'cancelled';
export const ASSIGNMENT_STATUSES: AssignmentStatus[] = ['sent', 'opened', 'partly_done', 'completed', 'expired', 'cancelled'];

export interface Assignment {
  id: string;
  workspaceId: string;
  subject: { id: string; identifier: string | null; label?: string | null };
  batchId: string | null;
  instrument: { name: string; edition: number; kind: 'form' | 'series' };
  parts: number;
  partsReceived: number;
  invalidParts: number;
  language: string;
  status: AssignmentStatus;
  link: string;
  expiresAt: string;
  createdAt: string;
  openedAt: string | null;
  completedAt: string | null;
  cancelledAt: string | null;
  emailedAt: string | null;
  sessionId: string | null;
}
export interface AssignmentPart {
  part: number;
  instrument: { name: string; edition: number };
  status: 'waiting' | 'recorded' | 'invalid';
  recordId: string | null;
  receivedAt: string | null;
  problem: 'undecryptable' | 'invalid_submission' | 'instrument_unavailable' | 'unexpected_part' | null;
  errors: { field: string; code: string; message: string }[] | null;
  data: unknown;
}
export interface AssignInput {
  instrument: { name: string; edition: number };
  language?: string;
  expiresInDays?: number;
  expiresAt?: string;
}
export interface RemoteCaptureStatus {
  enabled: boolean;
  gatewayUrl: string | null;
  mail: boolean;
  pullIntervalMs: number;
  lastPull: { at: string; ok: boolean; error: string | null } | null;
}

export class AssignmentsApi {
  constructor(private readonly http: HttpClient) {}

  status(): Promise<RemoteCaptureStatus> {
    return this.http.get('/api/v1/remote-capture');
  }
  create(subjectId: string, input: AssignInput & { email?: string }): Promise<{ assignment: Assignment; mail: { sent: boolean; error: string | null } | null }> {
    return this.http.post(`/api/v1/subjects/${seg(subjectId)}/assignments`, input);
  }
  bulk(workspaceId: string, input: AssignInput & { subjectIds: string[] }): Promise<{ batchId: string; created: Assignment[]; failed: { subjectId: string; code: string; message: string }[] }> {
    return this.http.post(`/api/v1/workspaces/${seg(workspaceId)}/assignments`, input);
  }
  async forSubject(subjectId: string): Promise<Assignment[]> {
    return (await this.http.get<{ assignments: Assignment[] }>(`/api/v1/subjects/${seg(subjectId)}/assignments`)).assignments;
  }
  forWorkspace(workspaceId: string, q: { status?: AssignmentStatus; limit?: number } = {}): Promise<{ assignments: Assignment[]; counts: Partial<Record<AssignmentStatus, number>> }> {
    return this.http.get(`/api/v1/workspaces/${seg(workspaceId)}/assignments`, q);
  }
  get(id: string): Promise<{ assignment: Assignment; parts: AssignmentPart[] }> {
    return this.http.get(`/api/v1/assignments/${seg(id)}`);
  }
  async cancel(id: string): Promise<Assignment> {
    return (await this.http.post<{ assignment: Assignment }>(`/api/v1/assignments/${seg(id)}/cancel`)).assignment;
  }
  pull(): Promise<{ recorded: number; invalid: number; skipped: boolean }> {
    return this.http.post('/api/v1/remote-capture/pull');
  }
}
