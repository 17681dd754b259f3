import { SandboxError } from './sandbox.types.js';

/** Seconds a client is told to wait (Retry-After) when the sandbox is saturated. */
export const BUSY_RETRY_AFTER_SECONDS = 5;

export const busyError = (what: string) => new SandboxError('sandbox_busy', `${what}; retry in ${BUSY_RETRY_AFTER_SECONDS} s`, BUSY_RETRY_AFTER_SECONDS);

/**
 * Hands out up to `size` slots, first come first served. A caller that waits longer than
 * `timeoutMs` fails instead of piling up behind a saturated sandbox: with `maxWaiting` set (the
 * slots are the concurrency cap itself, as the JavaScript workers are), a full queue refuses at
 * once and a timed-out wait fails, both with `sandbox_busy`; without it, with `view_unavailable`.
 */
export class SlotQueue<T> {
  private readonly idle: T[] = [];
  private readonly waiters: { resolve: (slot: T) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  private closed = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly maxWaiting?: number,
  ) {}

  acquire(): Promise<T> {
    if (this.closed) return Promise.reject(new SandboxError('view_unavailable', 'The sandbox is closed'));
    const slot = this.idle.shift();
    if (slot !== undefined) return Promise.resolve(slot);
    if (this.maxWaiting !== undefined && this.waiters.length >= this.maxWaiting) {
      return Promise.reject(busyError(`All sandbox workers are busy and ${this.maxWaiting} runs are already waiting`));
    }
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(this.maxWaiting !== undefined ? busyError('All sandbox workers stayed busy') : new SandboxError('view_unavailable', 'All sandbox workers are busy; try again later'));
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

export interface RunGateOptions {
  /** Runs at once. */
  maxRuns: number;
  /** Memory all running runs may reserve together, in MiB. */
  memoryBudgetMb: number;
  /** Runs that may wait for their turn; one more is refused at once with `sandbox_busy`. */
  maxQueued: number;
  /** How long a run may wait for its turn before failing with `sandbox_busy`. */
  timeoutMs: number;
}

/**
 * Admission for runs that each cost a process and memory (Python views): at most `maxRuns` at
 * once, and the memory they reserve together stays within `memoryBudgetMb`. Others wait in a
 * bounded first-come-first-served queue (a large run at the head is not overtaken, so it cannot
 * starve); a full queue or a wait past `timeoutMs` answers `sandbox_busy` with a retry delay.
 * A run reserving more than the whole budget is admitted alone.
 */
export class RunGate {
  private running = 0;
  private reservedMb = 0;
  private readonly waiters: { costMb: number; resolve: (release: () => void) => void; timer: NodeJS.Timeout }[] = [];

  constructor(private readonly o: RunGateOptions) {}

  get stats() {
    return { running: this.running, reservedMb: this.reservedMb, queued: this.waiters.length };
  }

  enter(costMb: number): Promise<() => void> {
    const cost = Math.min(costMb, this.o.memoryBudgetMb);
    if (this.waiters.length === 0 && this.fits(cost)) return Promise.resolve(this.admit(cost));
    if (this.waiters.length >= this.o.maxQueued) {
      return Promise.reject(busyError(`${this.running} views are running and ${this.waiters.length} are waiting`));
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        costMb: cost,
        resolve,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(busyError('The view waited too long for its turn'));
          this.drain();
        }, this.o.timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  private fits(cost: number): boolean {
    return this.running < this.o.maxRuns && (this.running === 0 || this.reservedMb + cost <= this.o.memoryBudgetMb);
  }

  private admit(cost: number): () => void {
    this.running++;
    this.reservedMb += cost;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.reservedMb -= cost;
      this.drain();
    };
  }

  private drain(): void {
    while (this.waiters.length && this.fits(this.waiters[0]!.costMb)) {
      const w = this.waiters.shift()!;
      clearTimeout(w.timer);
      w.resolve(this.admit(w.costMb));
    }
  }
}
