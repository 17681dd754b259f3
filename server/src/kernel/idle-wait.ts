import type { Logger } from './logger.js';

/**
 * The idle wait of a background loop that follows the ledger (the projector, the webhook feed):
 * sleep up to `ms`, or less if `wake()` is called, e.g. by an append in this process.
 */
export class IdleWait {
  private wakeUp: (() => void) | undefined;

  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

/**
 * The background loop itself: while started, runs `round` again at once after a round that did
 * some work (answered true), else after an idle wait of `pollMs()` that `wake()` cuts short. A round
 * that throws is logged with `failure` and the loop waits before the next.
 */
export class PollLoop {
  private active = false;
  private done: Promise<void> | undefined;
  private readonly idle = new IdleWait();

  constructor(private readonly opts: { round: () => Promise<boolean>; pollMs: () => number; log: Logger; failure: string }) {}

  /** True from start() until stop(); a round checks it to stop early. */
  get running(): boolean {
    return this.active;
  }

  start(): void {
    if (this.active) return;
    this.active = true;
    this.done = this.run();
  }

  /** Stops after the current round; resolves when it has ended. */
  async stop(): Promise<void> {
    this.active = false;
    this.wake();
    await this.done;
  }

  wake(): void {
    this.idle.wake();
  }

  private async run(): Promise<void> {
    while (this.active) {
      let busy = false;
      try {
        busy = await this.opts.round();
      } catch (err) {
        this.opts.log.warn({ err }, this.opts.failure);
      }
      if (!busy && this.active) await this.idle.sleep(this.opts.pollMs());
    }
  }
}
