import { SandboxError } from './sandbox.js';

/**
 * Hands out up to `size` slots, first come first served. A caller that waits longer than
 * `timeoutMs` fails with view_unavailable instead of piling up behind a saturated sandbox.
 */
export class SlotQueue<T> {
  private readonly idle: T[] = [];
  private readonly waiters: { resolve: (slot: T) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  private closed = false;

  constructor(private readonly timeoutMs: number) {}

  acquire(): Promise<T> {
    if (this.closed) return Promise.reject(new SandboxError('view_unavailable', 'The sandbox is closed'));
    const slot = this.idle.shift();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new SandboxError('view_unavailable', 'All sandbox workers are busy; try again later'));
        }, this.timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  release(slot: T): void {
    if (this.closed) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(slot);
    } else {
      this.idle.push(slot);
    }
  }

  close(): T[] {
    this.closed = true;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new SandboxError('view_unavailable', 'The sandbox is closed'));
    }
    return this.idle.splice(0);
  }
}
