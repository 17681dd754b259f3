import { SandboxError, type HostQuery, type RunPayload } from './sandbox.js';
export class PythonPool {
  constructor(private readonly opts: { size: number; queueTimeoutMs: number }) {}
  async run(_p: RunPayload, _q: HostQuery): Promise<string> { throw new SandboxError('view_unavailable', 'todo'); }
  async check(_f: Record<string, string>): Promise<void> {}
  async close(): Promise<void> {}
}
